"""Cinder's quotas: volumes, snapshots and gigabytes per project, enforced exactly.

A create checks and records in one transaction that first takes the project's lock row
(`VolumeUnit.lock_project`), so concurrent creates of one project queue there and each counts
what the ones before it committed: the limit can never be passed, even by a burst. Gigabytes
count volumes and snapshots together, as Cinder does by default. Exceeding a limit is Cinder's
413 `overLimit`.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, PayloadTooLarge
from vistack.common.policy import PolicyEngine
from vistack.config import VolumeSettings
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore, VolumeUnit

#: The resources `os-quota-sets` shows, in Cinder's order; only the first three have usage.
RESOURCES = (
    "volumes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "per_volume_gigabytes",
    "groups",
)
COUNTED = ("volumes", "snapshots", "gigabytes")


class QuotaExceeded(PayloadTooLarge):
    """Cinder's VolumeLimitExceeded / VolumeSizeExceedsAvailableQuota (413)."""


class VolumeQuotas:
    """Limits (configured defaults, overridden per project) and their checks."""

    def __init__(self, store: VolumeStore, settings: VolumeSettings, policy: PolicyEngine) -> None:
        self._store = store
        self._settings = settings
        self._policy = policy

    def defaults(self) -> dict[str, int]:
        return {name: int(getattr(self._settings, f"quota_{name}")) for name in RESOURCES}

    def limits(self, unit: VolumeUnit, project_id: str) -> dict[str, int]:
        return {**self.defaults(), **queries.quota_limits(unit, project_id)}

    def check(
        self,
        unit: VolumeUnit,
        project_id: str,
        *,
        volumes: int = 0,
        snapshots: int = 0,
        gigabytes: int = 0,
        volume_size: int | None = None,
    ) -> None:
        """Room for these additions; call after `unit.lock_project(project_id)`.
        `volume_size` is the size a created or extended volume will have (checked against
        `per_volume_gigabytes`; a create's is its `gigabytes`).

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
        used = queries.usage(unit, project_id)
        for resource, wanted in (("volumes", volumes), ("snapshots", snapshots)):
            limit = limits[resource]
            if wanted and 0 <= limit < used[resource] + wanted:
                kind = "Volume" if resource == "volumes" else "Snapshot"
                raise QuotaExceeded(
                    f"{kind}LimitExceeded: Maximum number of {resource} allowed ({limit}) "
                    f"exceeded for quota '{resource}'."
                )
        limit = limits["gigabytes"]
        if gigabytes and 0 <= limit < used["gigabytes"] + gigabytes:
            kind = "Volume" if volumes else "Snapshot"
            raise QuotaExceeded(
                f"{kind}SizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
                f"gigabytes quota. Requested {gigabytes}G, quota is {limit}G and "
                f"{used['gigabytes']}G has been consumed."
            )

    # -- os-quota-sets -----------------------------------------------------------------------

    def show(self, context: RequestContext, project_id: str, *, usage: bool) -> dict[str, Any]:
        self._policy.authorize("volume_extension:quotas:show", context, {"project_id": project_id})
        with self._store.transaction() as unit:
            limits = self.limits(unit, project_id)
            used = queries.usage(unit, project_id) if usage else {}
        if not usage:
            return dict(limits)
        return {
            name: {
                "limit": limits[name],
                "in_use": used.get(name, 0),
                "reserved": 0,
                "allocated": 0,
            }
            for name in RESOURCES
        }

    def update(self, context: RequestContext, project_id: str, body: Any) -> dict[str, int]:
        """Set some of the project's limits; a limit below what is in use is refused (400), as
        Cinder does unless told otherwise."""
        self._policy.authorize(
            "volume_extension:quotas:update", context, {"project_id": project_id}
        )
        if not isinstance(body, dict) or not isinstance(body.get("quota_set"), dict):
            raise BadRequest("Missing required element 'quota_set' in request body.")
        wanted: dict[str, int] = {}
        for name, value in body["quota_set"].items():
            if name in ("tenant_id", "id"):
                continue
            if name not in RESOURCES:
                raise BadRequest(f"Bad key(s) in quota set: {name}")
            wanted[name] = _limit(name, value)
        self._store.ensure_project(project_id)
        with self._store.transaction() as unit:
            unit.lock_project(project_id)
            used = queries.usage(unit, project_id)
            for name, limit in wanted.items():
                if name in COUNTED and 0 <= limit < used[name]:
                    raise BadRequest(
                        f"Quota {name} limit must be equal or greater than existing resources. "
                        f"Current usage is {used[name]} and the requested limit is {limit}."
                    )
                queries.set_quota_limit(unit, project_id, name, limit)
            return self.limits(unit, project_id)

    def delete(self, context: RequestContext, project_id: str) -> None:
        self._policy.authorize(
            "volume_extension:quotas:delete", context, {"project_id": project_id}
        )
        with self._store.transaction() as unit:
            queries.delete_quota_limits(unit, project_id)

    def absolute_limits(self, context: RequestContext) -> dict[str, int]:
        """`GET /limits`: the caller's project's limits and what it uses, Cinder's names."""
        project_id = context.project_id or ""
        self._policy.authorize("limits_extension:used_limits", context, {"project_id": project_id})
        with self._store.transaction() as unit:
            limits = self.limits(unit, project_id)
            used = queries.usage(unit, project_id)
        return {
            "totalSnapshotsUsed": used["snapshots"],
            "maxTotalBackups": limits["backups"],
            "maxTotalVolumeGigabytes": limits["gigabytes"],
            "maxTotalSnapshots": limits["snapshots"],
            "maxTotalBackupGigabytes": limits["backup_gigabytes"],
            "totalBackupGigabytesUsed": 0,
            "maxTotalVolumes": limits["volumes"],
            "totalVolumesUsed": used["volumes"],
            "totalBackupsUsed": 0,
            "totalGigabytesUsed": used["gigabytes"],
        }


def _limit(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"Quota {name} must be an integer, not {value!r}.")
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Quota {name} must be an integer, not {value!r}.") from None
    if limit < -1:
        raise BadRequest(f"Quota limit {name} must be -1 or greater.")
    return limit
