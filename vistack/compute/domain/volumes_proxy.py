"""Nova's proxy to Cinder (`os-volumes`, `os-snapshots`, before 2.36): the same volumes and
snapshots as the block storage API, in Nova's old shapes (camelCase, `displayName`, ...).

Nova never reads Cinder's tables; the proxy calls the volume service's own operations through
the two narrow protocols below, which `vistack.volume`'s `VolumeService` and `SnapshotService`
satisfy as they are (the composition root connects them). Cinder's checks, quotas and
messages apply unchanged; without the service every call answers Nova's 503.

Both proxies are one `CinderProxy` over a (service, `Kind`) pair: the two differ only in
Cinder's service, Nova's view of what it holds, the create fields Nova takes and the policy
rules, so list/show/create/delete are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, ServiceUnavailable
from vistack.common.policy import PolicyEngine
from vistack.compute.domain.volume_link import NO_VOLUME_SERVICE


class ProxiedAttachment(Protocol):
    @property
    def server_id(self) -> str | None: ...

    @property
    def device(self) -> str | None: ...


class ProxiedItem(Protocol):
    """The fields Cinder's volumes and snapshots share that the proxy shows."""

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
    def created_at(self) -> datetime: ...


class ProxiedVolume(ProxiedItem, Protocol):
    """The fields of Cinder's volume the proxy shows."""

    @property
    def availability_zone(self) -> str: ...

    @property
    def volume_type_name(self) -> str: ...

    @property
    def snapshot_id(self) -> str | None: ...

    @property
    def metadata(self) -> dict[str, str]: ...

    @property
    def attachments(self) -> Sequence[ProxiedAttachment]: ...


class ProxiedSnapshot(ProxiedItem, Protocol):
    @property
    def volume_id(self) -> str: ...


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Backend(Protocol[T_co]):
    """What either proxy calls on a Cinder service besides its listing (whose name differs)."""

    def get(self, context: RequestContext, item_id: str, /) -> T_co: ...

    def create(self, context: RequestContext, body: Any, /) -> T_co: ...

    def delete(self, context: RequestContext, item_id: str, /) -> None: ...


class VolumeBackend(Backend[ProxiedVolume], Protocol):
    """What the proxy calls on Cinder's volume service."""

    def list_volumes(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[Sequence[ProxiedVolume], bool]: ...


class SnapshotBackend(Backend[ProxiedSnapshot], Protocol):
    """What the proxy calls on Cinder's snapshot service."""

    def list_snapshots(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[Sequence[ProxiedSnapshot], bool]: ...


B = TypeVar("B", bound=Backend[Any])
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


@dataclass(frozen=True)
class Kind(Generic[T, B]):
    """What sets one proxy apart: the body key (`volume`), Nova's create fields (the one it
    requires first), the policy rule prefix, Nova's view and Cinder's listing call."""

    key: str
    plural: str
    required: str
    fields: frozenset[str]
    rule: str
    view: Callable[[T], dict[str, Any]]
    listing: Callable[[B, RequestContext, Mapping[str, str]], tuple[Sequence[T], bool]]


VOLUMES: Kind[ProxiedVolume, VolumeBackend] = Kind(
    key="volume",
    plural="volumes",
    required="size",
    fields=frozenset(
        {
            "size",
            "display_name",
            "display_description",
            "volume_type",
            "metadata",
            "availability_zone",
            "snapshot_id",
            "imageRef",
        }
    ),
    rule=RULE,
    view=volume_view,
    listing=lambda service, context, query: service.list_volumes(context, query),
)
SNAPSHOTS: Kind[ProxiedSnapshot, SnapshotBackend] = Kind(
    key="snapshot",
    plural="snapshots",
    required="volume_id",
    fields=frozenset({"volume_id", "force", "display_name", "display_description"}),
    rule=f"{RULE}:snapshots",
    view=snapshot_view,
    listing=lambda service, context, query: service.list_snapshots(context, query),
)
#: Nova's old field names for what Cinder calls `name` and `description`.
RENAMED = {"display_name": "name", "display_description": "description"}


def _page(query: Mapping[str, str]) -> dict[str, str]:
    """Nova's `limit` and `offset` as Cinder's paging."""
    return {k: v for k, v in query.items() if k in ("limit", "offset")}


def cinder_body(kind: Kind[Any, Any], body: Any) -> dict[str, Any]:
    """Nova's create body (`{"volume": {size, display_name, ...}}`, `{"snapshot": {volume_id,
    force, display_name, ...}}`) as Cinder's: checked against Nova's schema, old names renamed,
    nulls left out for Cinder's defaults."""
    key = kind.key
    if not isinstance(body, Mapping) or not isinstance(body.get(key), Mapping):
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    fields: Mapping[str, Any] = body[key]
    unknown = sorted(set(fields) - kind.fields)
    if unknown:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
            "were unexpected)"
        )
    if kind.required not in fields:
        raise BadRequest(
            f"Invalid input for field/attribute {key}. '{kind.required}' is a required property"
        )
    cinder: dict[str, Any] = {kind.required: fields[kind.required]}
    for name, value in fields.items():
        if name != kind.required and value is not None:
            cinder[RENAMED.get(name, name)] = value
    return {key: cinder}


class CinderProxy(Generic[T, B]):
    """One of Nova's proxies: a Cinder service (None: not connected, Nova's 503) shown through
    its `Kind`."""

    def __init__(self, policy: PolicyEngine, kind: Kind[T, B]) -> None:
        self._policy = policy
        self.kind = kind
        self._service: B | None = None

    def connect(self, service: B | None) -> None:
        self._service = service

    def _authorize(self, action: str, context: RequestContext) -> None:
        self._policy.authorize(
            f"{self.kind.rule}:{action}", context, {"project_id": context.project_id}
        )

    def _connected(self) -> B:
        if self._service is None:
            raise ServiceUnavailable(NO_VOLUME_SERVICE)
        return self._service

    def index(
        self, context: RequestContext, query: Mapping[str, str], *, detail: bool
    ) -> list[dict[str, Any]]:
        self._authorize("detail" if detail else "list", context)
        found, _ = self.kind.listing(self._connected(), context, _page(query))
        return [self.kind.view(item) for item in found]

    def show(self, context: RequestContext, item_id: str) -> dict[str, Any]:
        self._authorize("show", context)
        return self.kind.view(self._connected().get(context, item_id))

    def create(self, context: RequestContext, body: Any) -> dict[str, Any]:
        self._authorize("create", context)
        cinder = cinder_body(self.kind, body)
        return self.kind.view(self._connected().create(context, cinder))

    def delete(self, context: RequestContext, item_id: str) -> None:
        self._authorize("delete", context)
        self._connected().delete(context, item_id)


class VolumeProxy:
    """`os-volumes` and `os-snapshots` through Cinder's own services."""

    def __init__(self, policy: PolicyEngine) -> None:
        self.volumes = CinderProxy(policy, VOLUMES)
        self.snapshots = CinderProxy(policy, SNAPSHOTS)

    def connect(self, volumes: VolumeBackend | None, snapshots: SnapshotBackend | None) -> None:
        self.volumes.connect(volumes)
        self.snapshots.connect(snapshots)
