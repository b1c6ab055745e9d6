"""What Cinder says about its backend: availability zones, services and pools.

vistack runs one volume backend per vCenter, named `<host>@vmware`, whose pools are the
datastores volumes may use (the same list placement chooses from), each reported with the
capacity vCenter gives and what volumes there are allocated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import (
    BadRequest,
    NotFound,
    NotImplementedByBackend,
    ServiceUnavailable,
)
from vistack.common.policy import PolicyEngine
from vistack.config import VolumeSettings
from vistack.drivers.errors import DriverError
from vistack.drivers.volumes import VolumeDriver
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain import placement

BACKEND = placement.BACKEND


def host_of(host: str, datastore: str | None = None) -> str:
    """Cinder's host string: `host@backend#pool`."""
    base = f"{host}@{BACKEND}"
    return f"{base}#{datastore}" if datastore else base


class BackendInfo:
    """Availability zones, `os-services` and the scheduler's pool statistics."""

    def __init__(
        self,
        store: VolumeStore,
        policy: PolicyEngine,
        settings: VolumeSettings,
        driver: VolumeDriver | None,
        host: str,
    ) -> None:
        self._store = store
        self._policy = policy
        self._settings = settings
        self._driver = driver
        self.host = host
        self._started = utcnow()

    def zones(self, context: RequestContext) -> list[dict[str, Any]]:
        self._policy.authorize("volume_extension:availability_zone_list", context, {})
        return [
            {
                "zoneName": self._settings.default_availability_zone,
                "zoneState": {"available": self._driver is not None},
            }
        ]

    def services(
        self, context: RequestContext, binary: str | None = None, host: str | None = None
    ) -> list[dict[str, Any]]:
        self._policy.authorize("volume_extension:services:index", context, {})
        now = utcnow()
        out = [
            _service("cinder-scheduler", self.host, self._settings, now, up=True),
            _service(
                "cinder-volume",
                host_of(self.host),
                self._settings,
                now,
                up=self._driver is not None,
            ),
        ]
        return [
            s
            for s in out
            if (binary is None or s["binary"] == binary) and (host is None or _on(s["host"], host))
        ]

    def service_action(self, context: RequestContext, action: str, body: Any) -> None:
        """`PUT /os-services/{action}`: the request is checked as Cinder checks it (400 for a
        missing reason or an unknown host), then refused with 501: this cloud runs one volume
        backend per vCenter and does not disable, freeze or fail over its services."""
        self._policy.authorize("volume_extension:services:update", context, {})
        known = ("enable", "disable", "disable-log-reason", "freeze", "thaw", "failover_host")
        if action not in known:
            raise NotFound(f"Unknown action {action!r}.")
        fields = body if isinstance(body, dict) else {}
        host = fields.get("host")
        if not isinstance(host, str) or not host:
            raise BadRequest("Missing required element 'host' in request body.")
        if action == "disable-log-reason":
            reason = fields.get("disabled_reason")
            if not isinstance(reason, str) or not reason.strip() or len(reason) > 255:
                raise BadRequest("Disabled reason contains invalid characters or is too long")
        binary = fields.get("binary")
        matching = [
            s
            for s in self.services(context)
            if _on(s["host"], host) and (binary is None or s["binary"] == binary)
        ]
        if not matching:
            if action in ("freeze", "thaw", "failover_host"):
                raise BadRequest(f"Invalid host: host {host} is not running a volume service.")
            raise NotFound(f"Service {binary or 'any'} on host {host} could not be found.")
        raise NotImplementedByBackend(
            f"Services cannot be {action}d here: vistack runs one volume backend per vCenter, "
            "always enabled."
        )

    def hosts(self, context: RequestContext) -> list[dict[str, Any]]:
        """`GET /os-hosts`: the hosts of the services, in Cinder's older shape."""
        self._policy.authorize("volume_extension:hosts", context, {})
        return [
            {
                "service-status": "available" if s["state"] == "up" else "unavailable",
                "service": s["binary"],
                "zone": s["zone"],
                "service-state": s["status"],
                "host_name": s["host"],
                "last-update": s["updated_at"],
            }
            for s in self.services(context)
        ]

    def host_usage(self, context: RequestContext, host: str) -> list[dict[str, Any]]:
        """`GET /os-hosts/{host}`: volume and snapshot usage on a cinder-volume host, in
        total and per project (every volume is on this cloud's one backend).

        :raises NotFound: `host` runs no cinder-volume service.
        """
        self._policy.authorize("volume_extension:hosts", context, {})
        if host not in [s["host"] for s in self.services(context, binary="cinder-volume")]:
            raise NotFound(f"Host {host} could not be found.")
        with self._store.transaction() as unit:
            totals = queries.totals_by_project(unit)
        rows = [("(total)", [sum(t[i] for t in totals.values()) for i in range(4)])]
        rows += sorted(totals.items())
        return [
            {
                "resource": {
                    "project": project,
                    "host": host,
                    "volume_count": str(values[0]),
                    "total_volume_gb": str(values[1]),
                    "snapshot_count": str(values[2]),
                    "total_snapshot_gb": str(values[3]),
                }
            }
            for project, values in rows
        ]

    def pools(self, context: RequestContext, *, detail: bool) -> list[dict[str, Any]]:
        self._policy.authorize("scheduler_extension:scheduler_stats:get_pools", context, {})
        if self._driver is None:
            return []
        try:
            datastores = placement.allowed(
                self._driver.list_datastores(), self._settings.datastores, None
            )
        except DriverError as exc:
            raise ServiceUnavailable(f"vCenter did not answer: {exc}") from exc
        with self._store.transaction() as unit:
            allocated = queries.datastore_allocated(unit)
        pools = []
        for ds in sorted(datastores, key=lambda d: d.name):
            pool: dict[str, Any] = {"name": host_of(self.host, ds.name)}
            if detail:
                pool["capabilities"] = {
                    **placement.capabilities(ds),  # what volume types are matched against
                    "allocated_capacity_gb": allocated.get(ds.name, 0),
                    "timestamp": _iso(utcnow()),
                }
            pools.append(pool)
        return pools

    def capabilities(self, context: RequestContext, host: str) -> dict[str, Any]:
        """`GET /capabilities/{host}`: what the backend (`host@vmware`) or one of its pools
        (`host@vmware#datastore`) offers, and the volume type extra specs it understands,
        in the form Horizon and the client show when an operator builds a volume type.

        :raises NotFound: `host` names no backend or pool of this cloud.
        """
        self._policy.authorize("volume_extension:capabilities", context, {})
        backend, _, pool = host.partition("#")
        if backend != host_of(self.host):
            raise NotFound(f"Host {host} could not be found.")
        if pool and pool not in [
            p["name"].partition("#")[2] for p in self.pools(context, detail=False)
        ]:
            raise NotFound(f"Pool {pool} could not be found on host {backend}.")
        return {
            "namespace": f"OS::Storage::Capabilities::{host}",
            "vendor_name": "VMware",
            "volume_backend_name": BACKEND,
            "pool_name": pool or None,
            "driver_version": "1.0.0",
            "storage_protocol": "vmdk",
            "display_name": "vSphere datastores",
            "description": "Volumes are VMDKs on the vCenter's datastores, attached to VMs by "
            "reconfiguring them.",
            "visibility": None,
            "replication_targets": [],
            "properties": {name: dict(info) for name, info in EXTRA_SPECS.items()},
        }


#: The volume type extra specs this backend reads (`vistack.volume.domain.types`).
EXTRA_SPECS: dict[str, dict[str, str]] = {
    "vmware:vmdk_type": {
        "title": "VMDK type",
        "description": "The disk's allocation: thin (default), thick or eagerZeroedThick.",
        "type": "string",
    },
    "vmware:datastore_regex": {
        "title": "Datastore regex",
        "description": "Only datastores whose name matches this regular expression.",
        "type": "string",
    },
    "multiattach": {
        "title": "Multiattach",
        "description": "'<is> True': volumes may be attached to several servers at once "
        "(multi-writer disks, eagerZeroedThick).",
        "type": "string",
    },
}


def _on(service_host: str, host: str) -> bool:
    """Cinder's host filter: the host itself, or any backend on it (`host@backend`)."""
    return service_host == host or service_host.startswith(host + "@")


def _service(
    binary: str, host: str, settings: VolumeSettings, now: datetime, *, up: bool
) -> dict[str, Any]:
    return {
        "binary": binary,
        "host": host,
        "zone": settings.default_availability_zone,
        "status": "enabled",
        "state": "up" if up else "down",
        "updated_at": _iso(now),
        "disabled_reason": None,
    }


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")
