"""Nova's `same_host` and `different_host` scheduler hints (its SameHostFilter and
DifferentHostFilter), with the cluster as the host, as everywhere in this cloud: a compute node
is a vSphere cluster, and inside it DRS places and moves VMs between ESXi hosts.

`same_host` keeps the clusters where at least one of the named servers runs; `different_host`
keeps the clusters where none of them runs. Servers that do not exist, are deleted or are not
placed yet count nowhere, as in Nova (so `same_host` naming only such servers finds no valid
host). The create records the hints in the server's `system_metadata`; the filter applies them
to the first build and to every later move (resize, migration, unshelve), as Nova keeps them in
the server's request spec.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.errors import BadRequest
from vistack.compute.db import servers as server_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.clusters import ClusterCapacity
from vistack.compute.domain.models import Server

#: The hints, by name, in the create's `os:scheduler_hints` and in `system_metadata`.
HINTS = ("same_host", "different_host")


def _server_ids(name: str, value: Any) -> list[str]:
    """Nova's schema: one server UUID as a string, or an array of them."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequest(
            f"Invalid input for field/attribute {name}. Value: {value}. It must be a server "
            "UUID or a list of server UUIDs."
        )
    for item in values:
        try:
            uuid.UUID(item)
        except ValueError:
            raise BadRequest(
                f"Invalid input for field/attribute {name}. Value: {item}. {item!r} is not a 'uuid'"
            ) from None
    return list(dict.fromkeys(values))


def host_hints(body: Any) -> dict[str, list[str]]:
    """The `same_host`/`different_host` hints of a create body, checked (empty when none).

    :raises BadRequest: a hint is not a server UUID or a list of them.
    """
    hints = None
    if isinstance(body, Mapping):
        hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints"))
    if not isinstance(hints, Mapping):
        return {}  # absent, or refused as not an object by `request.scheduler_group`
    return {name: _server_ids(name, hints[name]) for name in HINTS if name in hints}


class HostHints:
    """`ServerWork.placement_filters` hook applying a server's recorded host hints."""

    def __init__(self, store: ComputeStore) -> None:
        self._store = store

    def narrow(self, server: Server, candidates: list[ClusterCapacity]) -> list[ClusterCapacity]:
        same = [s for s in server.system_metadata.get("same_host") or () if s != server.id]
        different = [
            s for s in server.system_metadata.get("different_host") or () if s != server.id
        ]
        if not same and not different:
            return candidates
        with self._store.transaction() as unit:
            near = server_queries.live_clusters(unit, same) if same else None
            apart = server_queries.live_clusters(unit, different)
        return [c for c in candidates if (near is None or c.name in near) and c.name not in apart]
