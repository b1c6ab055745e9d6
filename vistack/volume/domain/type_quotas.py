"""Per-volume-type quotas: for every volume type, `volumes_<type name>`,
`snapshots_<type name>` and `gigabytes_<type name>`, as Cinder names them.

They are unlimited (-1) unless the `default` quota class sets them, or the project has its own
(`os-quota-sets`). The rows behind them are keyed by the type's id
(`db/quota_class_tables.py`): renaming a type renames the keys shown and keeps the limits,
deleting it drops them. What a type uses counts the project's volumes of that type and their
snapshots (a snapshot has the type of its volume, and a retype takes them along).
"""

from __future__ import annotations

from collections.abc import Iterable

from vistack.common.errors import BadRequest
from vistack.volume.db import queries
from vistack.volume.db import quota_class_tables as qct
from vistack.volume.db.quota_class_tables import TypeLimits
from vistack.volume.db.store import VolumeUnit

#: The quota class every project follows (Cinder's `default`): it overrides the configured
#: defaults; other classes are stored and shown, as Cinder keeps them, but nothing uses them.
DEFAULT_CLASS = "default"
TYPE_RESOURCES = ("volumes", "snapshots", "gigabytes")
UNLIMITED = -1


def key(resource: str, type_name: str) -> str:
    return f"{resource}_{type_name}"


def all_keys(unit: VolumeUnit) -> dict[str, tuple[str, str]]:
    """Every per-type key -> (type id, resource), every type's (private ones too: quotas are
    an administrator's matter), ordered by type name."""
    out: dict[str, tuple[str, str]] = {}
    for row in queries.volume_types(unit, None):
        for resource in TYPE_RESOURCES:
            out[key(resource, row.name)] = (row.id, resource)
    return out


def parse(unit: VolumeUnit, names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The per-type keys named -> (type id, resource).

    :raises BadRequest: a name that is no resource of any existing type (Cinder's Bad key).
    """
    wanted = list(names)
    if not wanted:
        return {}
    known = all_keys(unit)
    bad = sorted(name for name in wanted if name not in known)
    if bad:
        raise BadRequest(f"Bad key(s) in quota set: {', '.join(bad)}")
    return {name: known[name] for name in wanted}


def shown(unit: VolumeUnit, limits: TypeLimits) -> dict[str, int]:
    """Every type's keys with these limits (-1 where none is set)."""
    return {name: limits.get(ref, UNLIMITED) for name, ref in all_keys(unit).items()}


def class_limits(unit: VolumeUnit, class_name: str) -> TypeLimits:
    """A class's per-type limits: the default class's, overridden by the class's own."""
    out = qct.class_type_limits(unit, DEFAULT_CLASS)
    if class_name != DEFAULT_CLASS:
        out.update(qct.class_type_limits(unit, class_name))
    return out


def project_limits(unit: VolumeUnit, project_id: str, type_id: str | None = None) -> TypeLimits:
    """The project's per-type limits (one type's only with `type_id`): the default class's,
    overridden by the project's own."""
    out = qct.class_type_limits(unit, DEFAULT_CLASS, type_id)
    out.update(qct.type_limits(unit, project_id, type_id))
    return out


def usage(unit: VolumeUnit, project_id: str) -> dict[str, int]:
    """Every per-type key -> what the project uses of it."""
    used = qct.usage_by_type(unit, project_id)
    return {
        name: used.get(type_id, {}).get(resource, 0)
        for name, (type_id, resource) in all_keys(unit).items()
    }
