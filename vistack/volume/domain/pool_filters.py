"""Filters on the scheduler's pool list (`GET /scheduler-stats/get_pools`): `name` from 3.28
and `volume_type` from 3.35, the pools a type's volumes may be placed on (its
`vmware:datastore_regex`, matched against the datastore as placement does). From 3.31 any
other filter is refused, for administrators too (Cinder's rule for pools)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.errors import BadRequest
from vistack.volume.domain.filters import RESOURCE_FILTERS, Version
from vistack.volume.domain.types import DATASTORE_REGEX

NOT_FILTERS = ("detail",)


def select(
    pools: list[dict[str, Any]],
    query: Mapping[str, str],
    version: Version,
    type_specs: Callable[[str], dict[str, str]],
) -> list[dict[str, Any]]:
    """The pools the query keeps; `type_specs` gives a type's extra specs by name or id.

    :raises BadRequest: from 3.31, a filter pools do not have.
    :raises NotFound: the `volume_type` names no type the caller may use.
    """
    wanted = {k: v for k, v in query.items() if k not in NOT_FILTERS and v != ""}
    if version < (3, 28):
        return pools
    if version >= (3, 31):
        refused = sorted(k for k in wanted if k not in RESOURCE_FILTERS["pool"])
        if refused:
            raise BadRequest(
                f"Invalid filters {','.join(refused)} are found in query options; pools "
                f"filter on {', '.join(RESOURCE_FILTERS['pool'])}."
            )
    out = pools
    if "name" in wanted:
        out = [p for p in out if p["name"] == wanted["name"]]
    if "volume_type" in wanted and version >= (3, 35):
        regex = type_specs(wanted["volume_type"]).get(DATASTORE_REGEX)
        if regex is not None:
            out = [p for p in out if re.fullmatch(regex, p["name"].partition("#")[2])]
    return out
