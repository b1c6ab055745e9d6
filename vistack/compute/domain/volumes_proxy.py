"""Nova's proxy to Cinder (`os-volumes`, `os-snapshots`, before 2.36): the same volumes and
snapshots as the block storage API, in Nova's old shapes (camelCase, `displayName`, ...).

Nova never reads Cinder's tables; the proxy calls the volume service's own operations through
the two narrow protocols below, which `vistack.volume`'s `VolumeService` and `SnapshotService`
satisfy as they are (the composition root connects them). Cinder's checks, quotas and
messages apply unchanged; without the service every call answers Nova's 503.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, ServiceUnavailable
from vistack.common.policy import PolicyEngine
from vistack.compute.domain.volume_link import NO_VOLUME_SERVICE


class ProxiedAttachment(Protocol):
    @property
    def server_id(self) -> str | None: ...

    @property
    def device(self) -> str | None: ...


class ProxiedVolume(Protocol):
    """The fields of Cinder's volume the proxy shows."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    @property
    def description(self) -> str | None: ...

    @property
    def size_gb(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def availability_zone(self) -> str: ...

    @property
    def volume_type_name(self) -> str: ...

    @property
    def snapshot_id(self) -> str | None: ...

    @property
    def metadata(self) -> dict[str, str]: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def attachments(self) -> Sequence[ProxiedAttachment]: ...


class ProxiedSnapshot(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def volume_id(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    @property
    def description(self) -> str | None: ...

    @property
    def size_gb(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


class VolumeBackend(Protocol):
    """What the proxy calls on Cinder's volume service."""

    def get(self, context: RequestContext, volume_id: str) -> ProxiedVolume: ...

    def list_volumes(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[Sequence[ProxiedVolume], bool]: ...

    def create(self, context: RequestContext, body: Any) -> ProxiedVolume: ...

    def delete(
        self, context: RequestContext, volume_id: str, *, cascade: bool = False, force: bool = False
    ) -> None: ...


class SnapshotBackend(Protocol):
    """What the proxy calls on Cinder's snapshot service."""

    def get(self, context: RequestContext, snapshot_id: str) -> ProxiedSnapshot: ...

    def list_snapshots(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[Sequence[ProxiedSnapshot], bool]: ...

    def create(self, context: RequestContext, body: Any) -> ProxiedSnapshot: ...

    def delete(self, context: RequestContext, snapshot_id: str, *, force: bool = False) -> None: ...


RULE = "os_compute_api:os-volumes"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def volume_view(volume: ProxiedVolume) -> dict[str, Any]:
    """Nova's `volume` (its proxy view: the same for list, detail and show)."""
    attachments: list[dict[str, Any]] = [
        {"id": volume.id, "volumeId": volume.id, "serverId": a.server_id, "device": a.device}
        for a in volume.attachments
        if a.server_id
    ]
    return {
        "id": volume.id,
        "status": volume.status,
        "size": volume.size_gb,
        "availabilityZone": volume.availability_zone,
        "createdAt": _stamp(volume.created_at),
        "attachments": attachments or [{}],
        "displayName": volume.name,
        "displayDescription": volume.description,
        "volumeType": volume.volume_type_name,
        "snapshotId": volume.snapshot_id,
        "metadata": dict(volume.metadata),
    }


def snapshot_view(snapshot: ProxiedSnapshot) -> dict[str, Any]:
    """Nova's `snapshot`."""
    return {
        "id": snapshot.id,
        "volumeId": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.size_gb,
        "createdAt": _stamp(snapshot.created_at),
        "displayName": snapshot.name,
        "displayDescription": snapshot.description,
    }


def _fields(body: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping) or not isinstance(body.get(key), Mapping):
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    found: Mapping[str, Any] = body[key]
    return found


def _page(query: Mapping[str, str]) -> dict[str, str]:
    """Nova's `limit` and `offset` as Cinder's paging."""
    return {k: v for k, v in query.items() if k in ("limit", "offset")}


class VolumeProxy:
    """`os-volumes` and `os-snapshots` through Cinder's own services."""

    def __init__(self, policy: PolicyEngine) -> None:
        self._policy = policy
        self._volumes: VolumeBackend | None = None
        self._snapshots: SnapshotBackend | None = None

    def connect(self, volumes: VolumeBackend | None, snapshots: SnapshotBackend | None) -> None:
        self._volumes, self._snapshots = volumes, snapshots

    def _authorize(self, rule: str, context: RequestContext) -> None:
        self._policy.authorize(f"{RULE}:{rule}", context, {"project_id": context.project_id})

    def _volume_service(self) -> VolumeBackend:
        if self._volumes is None:
            raise ServiceUnavailable(NO_VOLUME_SERVICE)
        return self._volumes

    def _snapshot_service(self) -> SnapshotBackend:
        if self._snapshots is None:
            raise ServiceUnavailable(NO_VOLUME_SERVICE)
        return self._snapshots

    # ------------------------------------------------------------------ volumes

    def list_volumes(
        self, context: RequestContext, query: Mapping[str, str], *, detail: bool
    ) -> list[dict[str, Any]]:
        self._authorize("detail" if detail else "list", context)
        found, _ = self._volume_service().list_volumes(context, _page(query))
        return [volume_view(v) for v in found]

    def get_volume(self, context: RequestContext, volume_id: str) -> dict[str, Any]:
        self._authorize("show", context)
        return volume_view(self._volume_service().get(context, volume_id))

    def create_volume(self, context: RequestContext, body: Any) -> dict[str, Any]:
        """Nova's `{"volume": {size, display_name, display_description, volume_type,
        metadata, availability_zone, snapshot_id, imageRef}}` as Cinder's create."""
        self._authorize("create", context)
        fields = _fields(body, "volume")
        unknown = sorted(
            set(fields)
            - {
                "size",
                "display_name",
                "display_description",
                "volume_type",
                "metadata",
                "availability_zone",
                "snapshot_id",
                "imageRef",
            }
        )
        if unknown:
            raise BadRequest(
                f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                "were unexpected)"
            )
        if "size" not in fields:
            raise BadRequest(
                "Invalid input for field/attribute volume. 'size' is a required property"
            )
        cinder: dict[str, Any] = {"size": fields["size"]}
        renamed = {"display_name": "name", "display_description": "description"}
        for key, value in fields.items():
            if key != "size" and value is not None:
                cinder[renamed.get(key, key)] = value
        made = self._volume_service().create(context, {"volume": cinder})
        return volume_view(made)

    def delete_volume(self, context: RequestContext, volume_id: str) -> None:
        self._authorize("delete", context)
        self._volume_service().delete(context, volume_id)

    # ------------------------------------------------------------------ snapshots

    def list_snapshots(
        self, context: RequestContext, query: Mapping[str, str], *, detail: bool
    ) -> list[dict[str, Any]]:
        self._authorize("snapshots:detail" if detail else "snapshots:list", context)
        found, _ = self._snapshot_service().list_snapshots(context, _page(query))
        return [snapshot_view(s) for s in found]

    def get_snapshot(self, context: RequestContext, snapshot_id: str) -> dict[str, Any]:
        self._authorize("snapshots:show", context)
        return snapshot_view(self._snapshot_service().get(context, snapshot_id))

    def create_snapshot(self, context: RequestContext, body: Any) -> dict[str, Any]:
        """Nova's `{"snapshot": {volume_id, force, display_name, display_description}}`."""
        self._authorize("snapshots:create", context)
        fields = _fields(body, "snapshot")
        allowed = {"volume_id", "force", "display_name", "display_description"}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise BadRequest(
                f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                "were unexpected)"
            )
        if "volume_id" not in fields:
            raise BadRequest(
                "Invalid input for field/attribute snapshot. 'volume_id' is a required property"
            )
        cinder: dict[str, Any] = {"volume_id": fields["volume_id"]}
        if fields.get("force") is not None:
            cinder["force"] = fields["force"]
        if fields.get("display_name") is not None:
            cinder["name"] = fields["display_name"]
        if fields.get("display_description") is not None:
            cinder["description"] = fields["display_description"]
        return snapshot_view(self._snapshot_service().create(context, {"snapshot": cinder}))

    def delete_snapshot(self, context: RequestContext, snapshot_id: str) -> None:
        self._authorize("snapshots:delete", context)
        self._snapshot_service().delete(context, snapshot_id)
