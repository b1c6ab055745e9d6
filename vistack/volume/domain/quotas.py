"""Cinder's quotas: volumes, snapshots and gigabytes per project, enforced exactly.

A create checks and records in one transaction that first takes the project's lock row
(`VolumeUnit.lock_project`), so concurrent creates of one project queue there and each counts
what the ones before it committed: the limit can never be passed, even by a burst. Gigabytes
count volumes and snapshots together, as Cinder does by default. Exceeding a limit is Cinder's
413 `overLimit`.

A project's limit is its own (`os-quota-sets`), else the `default` quota class's
(`os-quota-class-sets/default`, `quota_classes.py`), else the configured default. Each volume
type adds `volumes_<type>`, `snapshots_<type>` and `gigabytes_<type>` (`type_quotas.py`),
unlimited unless set, checked with the project-wide ones when an operation names the type.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, PayloadTooLarge
from vistack.common.policy import PolicyEngine
from vistack.config import VolumeSettings
from vistack.volume.db import backup_queries, group_queries, queries
from vistack.volume.db import quota_class_tables as qct
from vistack.volume.db.store import VolumeStore, VolumeUnit
from vistack.volume.domain import type_quotas
from vistack.volume.domain.type_quotas import DEFAULT_CLASS

#: The resources `os-quota-sets` shows, in Cinder's order (the first five have usage).
RESOURCES = (
    "volumes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "per_volume_gigabytes",
    "groups",
)
#: The largest limit a 32-bit integer column holds (Cinder's `db.MAX_INT`).
MAX_LIMIT = 0x7FFFFFFF
COUNTED = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups")


class QuotaExceeded(PayloadTooLarge):
    """Cinder's VolumeLimitExceeded / VolumeSizeExceedsAvailableQuota (413)."""


class VolumeQuotas:
    """Limits (configured defaults, overridden per project) and their checks."""

    def __init__(self, store: VolumeStore, settings: VolumeSettings, policy: PolicyEngine) -> None:
        self._store = store
        self._settings = settings
        self._policy = policy

    def configured(self) -> dict[str, int]:
        """The defaults of the configuration (`quota_<resource>` of the volume settings)."""
        return {name: int(getattr(self._settings, f"quota_{name}")) for name in RESOURCES}

    def default_limits(self, unit: VolumeUnit) -> dict[str, int]:
        """Every project's default limits: the configured ones, as the `default` class sets."""
        own = qct.class_limits(unit, DEFAULT_CLASS)
        return {**self.configured(), **{k: v for k, v in own.items() if k in RESOURCES}}

    def defaults(self) -> dict[str, int]:
        """`os-quota-sets/{project_id}/defaults`: the default limits, per-type ones too."""
        with self._store.transaction() as unit:
            per_type = type_quotas.shown(unit, type_quotas.class_limits(unit, DEFAULT_CLASS))
            return {**self.default_limits(unit), **per_type}

    def limits(self, unit: VolumeUnit, project_id: str) -> dict[str, int]:
        """The project's limits of the project-wide resources (per-type ones: `check_type`)."""
        return {**self.default_limits(unit), **queries.quota_limits(unit, project_id)}

    def check(
        self,
        unit: VolumeUnit,
        project_id: str,
        *,
        volumes: int = 0,
        snapshots: int = 0,
        gigabytes: int = 0,
        volume_size: int | None = None,
        volume_type_id: str | None = None,
    ) -> None:
        """Room for these additions; call after `unit.lock_project(project_id)`.
        `volume_size` is the size a created or extended volume will have (checked against
        `per_volume_gigabytes`; a create's is its `gigabytes`). With `volume_type_id` the
        additions are of that type and its own limits are checked too (`check_type`).

        :raises QuotaExceeded: a limit would be passed (the message says which and by how much).
        """
        limits = self.limits(unit, project_id)
        per_volume = limits["per_volume_gigabytes"]
        size = volume_size if volume_size is not None else (gigabytes if volumes else None)
        if size is not None and 0 <= per_volume < size:
            raise QuotaExceeded(
                f"VolumeSizeExceedsLimit: Requested volume size {size}G is larger than "
                f"maximum allowed limit {per_volume}G."
            )
        wanted = {"volumes": volumes, "snapshots": snapshots, "gigabytes": gigabytes}
        _room(limits, queries.usage(unit, project_id), wanted, "")
        if volume_type_id is not None:
            self.check_type(
                unit,
                project_id,
                volume_type_id,
                volumes=volumes,
                snapshots=snapshots,
                gigabytes=gigabytes,
            )

    def check_type(
        self,
        unit: VolumeUnit,
        project_id: str,
        type_id: str,
        *,
        volumes: int = 0,
        snapshots: int = 0,
        gigabytes: int = 0,
    ) -> None:
        """Room for these additions of one volume type (a retype's only check: the
        project-wide counts do not change); call after `unit.lock_project(project_id)`.

        :raises QuotaExceeded: a `<resource>_<type name>` limit would be passed.
        """
        wanted = {"volumes": volumes, "snapshots": snapshots, "gigabytes": gigabytes}
        own = type_quotas.project_limits(unit, project_id, type_id)
        limits = {resource: own.get((type_id, resource), -1) for resource in wanted}
        if not any(amount and limits[r] >= 0 for r, amount in wanted.items()):
            return  # unlimited: nothing to count
        used = qct.usage_by_type(unit, project_id, [type_id]).get(type_id, {})
        row = queries.volume_type(unit, type_id)
        _room(limits, used, wanted, f"_{row.name if row is not None else type_id}")

    def check_each_type(
        self,
        unit: VolumeUnit,
        project_id: str,
        sizes: Iterable[tuple[str, int]],
        *,
        snapshots: bool = False,
    ) -> None:
        """`check_type` for several new volumes of mixed types (a group's), or with
        `snapshots` several new snapshots: one (volume type id, size) each."""
        totals: dict[str, tuple[int, int]] = {}
        for type_id, size in sizes:
            count, gigabytes = totals.get(type_id, (0, 0))
            totals[type_id] = (count + 1, gigabytes + size)
        for type_id, (count, gigabytes) in sorted(totals.items()):
            self.check_type(
                unit,
                project_id,
                type_id,
                volumes=0 if snapshots else count,
                snapshots=count if snapshots else 0,
                gigabytes=gigabytes,
            )

    # -- os-quota-sets -----------------------------------------------------------------------

    def show(self, context: RequestContext, project_id: str, *, usage: bool) -> dict[str, Any]:
        self._policy.authorize("volume_extension:quotas:show", context, {"project_id": project_id})
        with self._store.transaction() as unit:
            limits = self._all_limits(unit, project_id)
            used = (
                {**_usage(unit, project_id), **type_quotas.usage(unit, project_id)} if usage else {}
            )
        if not usage:
            return limits
        return {
            name: {
                "limit": limit,
                "in_use": used.get(name, 0),
                "reserved": 0,
                "allocated": 0,
            }
            for name, limit in limits.items()
        }

    def _all_limits(self, unit: VolumeUnit, project_id: str) -> dict[str, int]:
        """The project-wide limits, then every volume type's."""
        per_type = type_quotas.shown(unit, type_quotas.project_limits(unit, project_id))
        return {**self.limits(unit, project_id), **per_type}

    def update(self, context: RequestContext, project_id: str, body: Any) -> dict[str, int]:
        """Set some of the project's limits (per-type ones of existing types too); a limit
        below what is in use is refused (400), as Cinder does unless told otherwise."""
        self._policy.authorize(
            "volume_extension:quotas:update", context, {"project_id": project_id}
        )
        if not isinstance(body, dict) or not isinstance(body.get("quota_set"), dict):
            raise BadRequest("Missing required element 'quota_set' in request body.")
        wanted: dict[str, int] = {}
        for name, value in body["quota_set"].items():
            if name in ("tenant_id", "id"):
                continue
            wanted[name] = limit_value(name, value)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            per_type = type_quotas.parse(unit, [n for n in wanted if n not in RESOURCES])
            used = _usage(unit, project_id)
            if per_type:
                used.update(type_quotas.usage(unit, project_id))
            for name, limit in wanted.items():
                if (name in COUNTED or name in per_type) and 0 <= limit < used[name]:
                    raise BadRequest(
                        f"Quota {name} limit must be equal or greater than existing resources. "
                        f"Current usage is {used[name]} and the requested limit is {limit}."
                    )
                if name in per_type:
                    type_id, resource = per_type[name]
                    qct.set_type_limit(unit, project_id, type_id, resource, limit)
                else:
                    queries.set_quota_limit(unit, project_id, name, limit)
            return self._all_limits(unit, project_id)

    def delete(self, context: RequestContext, project_id: str) -> None:
        self._policy.authorize(
            "volume_extension:quotas:delete", context, {"project_id": project_id}
        )
        with self._store.transaction() as unit:
            queries.delete_quota_limits(unit, project_id)
            qct.delete_type_limits(unit, project_id)

    def absolute_limits(
        self, context: RequestContext, project_id: str | None = None
    ) -> dict[str, int]:
        """`GET /limits`: the caller's project's limits and what it uses, Cinder's names; from
        3.39 an administrator may name another `project_id` (others get 403 for it)."""
        project_id = project_id or context.project_id or ""
        self._policy.authorize("limits_extension:used_limits", context, {"project_id": project_id})
        with self._store.transaction() as unit:
            limits = self.limits(unit, project_id)
            used = _usage(unit, project_id)
        return {
            "totalSnapshotsUsed": used["snapshots"],
            "maxTotalBackups": limits["backups"],
            "maxTotalVolumeGigabytes": limits["gigabytes"],
            "maxTotalSnapshots": limits["snapshots"],
            "maxTotalBackupGigabytes": limits["backup_gigabytes"],
            "totalBackupGigabytesUsed": used["backup_gigabytes"],
            "maxTotalVolumes": limits["volumes"],
            "totalVolumesUsed": used["volumes"],
            "totalBackupsUsed": used["backups"],
            "totalGigabytesUsed": used["gigabytes"],
        }


def _room(
    limits: dict[str, int], used: dict[str, int], wanted: dict[str, int], suffix: str
) -> None:
    """Raise Cinder's 413 for the first of volumes, snapshots, gigabytes whose limit the
    additions would pass; `suffix` is `_<type name>` for a type's own quotas."""
    for resource in ("volumes", "snapshots"):
        limit, amount = limits[resource], wanted[resource]
        if amount and 0 <= limit < used.get(resource, 0) + amount:
            kind = "Volume" if resource == "volumes" else "Snapshot"
            raise QuotaExceeded(
                f"{kind}LimitExceeded: Maximum number of {resource} allowed ({limit}) "
                f"exceeded for quota '{resource}{suffix}'."
            )
    limit, amount, consumed = limits["gigabytes"], wanted["gigabytes"], used.get("gigabytes", 0)
    if amount and 0 <= limit < consumed + amount:
        kind = "Volume" if wanted["volumes"] else "Snapshot"
        raise QuotaExceeded(
            f"{kind}SizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
            f"gigabytes{suffix} quota. Requested {amount}G, quota is {limit}G and "
            f"{consumed}G has been consumed."
        )


def _usage(unit: VolumeUnit, project_id: str) -> dict[str, int]:
    """Everything counted, backups included (their table is the backup domain's)."""
    return {
        **queries.usage(unit, project_id),
        **backup_queries.usage(unit, project_id),
        "groups": group_queries.group_count(unit, project_id),
    }


def limit_value(name: str, value: Any) -> int:
    """A limit as a request gives it: an integer, -1 (unlimited) or more."""
    if isinstance(value, bool):
        raise BadRequest(f"Quota {name} must be an integer, not {value!r}.")
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Quota {name} must be an integer, not {value!r}.") from None
    if limit < -1:
        raise BadRequest(f"Quota limit {name} must be -1 or greater.")
    if limit > MAX_LIMIT:
        raise BadRequest(f"Quota limit {name} must be {MAX_LIMIT} or less.")
    return limit
