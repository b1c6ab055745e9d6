"""QoS specs (`/qos-specs`): named sets of keys a volume type carries, and what they do here.

What vSphere can honour is one IO allocation per attached disk (`storageIOAllocation`): an IOPS
limit and shares. So:
- a spec whose consumer is `front-end` or `both` (applied by the hypervisor, here the VM's disk)
  accepts only those keys: `total_iops_sec` (or its aliases `maxIOPS`, `limit`), the IOPS limit,
  and `shares` (`low`, `normal`, `high`, or a number of custom shares). Any other key (read or
  write IOPS apart, bytes-per-second limits, bursts) is refused with a 400 naming the supported
  keys: vSphere has no such knob, and accepting them would promise a limit nobody enforces.
- a `back-end` spec is Cinder's opaque set of driver keys and is stored as given; this cloud's
  back-end reads none of them (documented as stored-only), exactly as a Cinder back-end ignores
  keys it does not know.
The allocation is applied when a volume of an associated type is attached to a server (the
attach reads it through `disk_io_of_type`); a spec changed later applies from the next attach.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.drivers.models import DiskIo
from vistack.volume.db import qos_queries
from vistack.volume.db.qos_tables import QosSpecRow, VolumeTypeQosRow
from vistack.volume.db.store import Collision, VolumeStore, VolumeUnit
from vistack.volume.domain import listing, requests
from vistack.volume.domain.types import VolumeTypeService

CONSUMERS = ("front-end", "back-end", "both")
DEFAULT_CONSUMER = "back-end"
#: The keys naming the IOPS limit (Cinder's front-end name, and the VMware-style aliases).
IOPS_KEYS = ("total_iops_sec", "maxIOPS", "limit")
SHARES_KEY = "shares"
SHARE_LEVELS = ("low", "normal", "high")
SUPPORTED_KEYS = (*IOPS_KEYS, SHARES_KEY)
SORT_KEYS = ("id", "name", "consumer", "created_at")
RULE = "volume_extension:qos_specs_manage"


@dataclass(frozen=True)
class QosSpec:
    id: str
    name: str
    consumer: str
    specs: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Association:
    """A volume type carrying the spec (Cinder's `qos_associations` item)."""

    id: str
    name: str
    association_type: str = "volume_type"


def applied(consumer: str) -> bool:
    """Whether this cloud's hypervisor applies specs of `consumer`."""
    return consumer in ("front-end", "both")


def disk_io(consumer: str, specs: Mapping[str, str]) -> DiskIo | None:
    """The disk IO allocation a spec asks for; None when it asks for none here (a back-end
    spec, or one with neither a limit nor shares). The spec was checked when stored."""
    if not applied(consumer):
        return None
    limit = next((int(specs[k]) for k in IOPS_KEYS if k in specs), None)
    shares = specs.get(SHARES_KEY)
    level: str | None = None
    number: int | None = None
    if shares is not None:
        if shares.lower() in SHARE_LEVELS:
            level = shares.lower()
        else:
            level, number = "custom", int(shares)
    if limit is None and level is None:
        return None
    return DiskIo(iops_limit=limit, shares_level=level, shares=number)


def disk_io_of_type(unit: VolumeUnit, type_id: str) -> DiskIo | None:
    """What a volume of this type gets on the VM it is attached to."""
    spec = qos_queries.qos_of_type(unit, type_id)
    return disk_io(spec.consumer, spec.specs or {}) if spec is not None else None


def check_specs(consumer: str, specs: Mapping[str, str]) -> None:
    """:raises BadRequest: a front-end (or both) spec with a key vSphere cannot apply, or a
    bad limit or shares value."""
    if not applied(consumer):
        return
    unknown = sorted(set(specs) - set(SUPPORTED_KEYS))
    if unknown:
        raise BadRequest(
            f"Invalid input received: QoS key(s) {', '.join(unknown)} cannot be applied by "
            f"vSphere for consumer '{consumer}'; the supported keys are "
            f"{', '.join(SUPPORTED_KEYS)} (an IOPS limit and disk shares). Use consumer "
            "'back-end' to store other keys without effect."
        )
    limits = {k: specs[k] for k in IOPS_KEYS if k in specs}
    for key, value in limits.items():
        if not value.isdigit() or int(value) <= 0:
            raise BadRequest(f"Invalid input received: QoS key {key} must be a positive integer.")
    if len({int(v) for v in limits.values()}) > 1:
        raise BadRequest(
            f"Invalid input received: {', '.join(sorted(limits))} all set the IOPS limit and "
            "disagree; give one."
        )
    shares = specs.get(SHARES_KEY)
    bad_number = shares is not None and (not shares.isdigit() or int(shares) <= 0)
    if shares is not None and shares.lower() not in SHARE_LEVELS and bad_number:
        raise BadRequest(
            "Invalid input received: QoS key shares must be low, normal, high or a positive "
            "number of shares."
        )


def _consumer(value: Any) -> str:
    if value not in CONSUMERS:
        raise BadRequest(
            f"Invalid input received: Value {value} is not valid for consumer; it must be "
            f"one of {', '.join(CONSUMERS)}."
        )
    return str(value)


def _specs(fields: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        if not isinstance(key, str) or not 0 < len(key) <= requests.MAX_NAME:
            raise BadRequest(f"QoS spec key {key!r} must be 1 to 255 characters.")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadRequest(f"QoS spec {key!r} must be a string, not {type(value).__name__}.")
        text = str(value)
        if len(text) > requests.MAX_NAME:
            raise BadRequest(f"QoS spec {key!r} must be at most 255 characters.")
        out[key] = text
    return out


def _view(row: QosSpecRow) -> QosSpec:
    return QosSpec(row.id, row.name, row.consumer, dict(row.specs or {}), row.created_at)


class QosSpecService:
    """Create, read, update and delete QoS specs and associate them with volume types."""

    def __init__(self, store: VolumeStore, policy: PolicyEngine, types: VolumeTypeService) -> None:
        self._store = store
        self._policy = policy
        self._types = types

    def _authorize(self, action: str, context: RequestContext) -> None:
        self._policy.authorize(f"{RULE}:{action}", context, {})

    def _find(self, unit: VolumeUnit, qos_id: str) -> QosSpecRow:
        row = qos_queries.qos_spec(unit, qos_id)
        if row is None:
            raise NotFound(f"QoS spec {qos_id} could not be found.")
        return row

    def create(self, context: RequestContext, body: Any) -> QosSpec:
        self._authorize("create", context)
        fields = dict(requests.body_of(body, "qos_specs"))
        name = fields.pop("name", None)
        if not isinstance(name, str) or not name.strip() or len(name) > requests.MAX_NAME:
            raise BadRequest("QoS specs name must be a non-blank string of at most 255 characters.")
        consumer = _consumer(fields.pop("consumer", DEFAULT_CONSUMER))
        specs = _specs(fields)
        check_specs(consumer, specs)
        try:
            with self._store.transaction() as unit:
                if qos_queries.qos_spec_named(unit, name.strip()) is not None:
                    raise Collision(name)
                row = QosSpecRow(
                    id=str(uuid.uuid4()),
                    name=name.strip(),
                    consumer=consumer,
                    specs=specs,
                    created_at=utcnow(),
                )
                unit.add(row)
                return _view(row)
        except Collision:
            raise Conflict(f"QoS Specs {name} already exists.") from None

    def list_specs(
        self, context: RequestContext, query: Mapping[str, str]
    ) -> tuple[list[QosSpec], bool]:
        self._authorize("get_all", context)
        params = listing.parse_params(query, SORT_KEYS)
        with self._store.transaction() as unit:
            found = [_view(r) for r in qos_queries.qos_specs(unit)]
        return listing.page(found, params, lambda q, key: getattr(q, key), lambda q: q.id)

    def show(self, context: RequestContext, qos_id: str) -> QosSpec:
        self._authorize("get", context)
        with self._store.transaction() as unit:
            return _view(self._find(unit, qos_id))

    def update(self, context: RequestContext, qos_id: str, body: Any) -> dict[str, str]:
        """Set keys (and `consumer`), checked together with the keys kept; returns what the
        body set, as Cinder answers."""
        self._authorize("update", context)
        fields = dict(requests.body_of(body, "qos_specs"))
        if not fields:
            raise BadRequest("qos_specs must name at least one key to set.")
        if "name" in fields:
            raise BadRequest("A QoS spec's name cannot be changed.")
        consumer = _consumer(fields.pop("consumer")) if "consumer" in fields else None
        specs = _specs(fields)
        with self._store.transaction() as unit:
            row = self._find(unit, qos_id)
            merged = {**(row.specs or {}), **specs}
            check_specs(consumer or row.consumer, merged)
            row.specs = merged
            if consumer is not None:
                row.consumer = consumer
            row.updated_at = utcnow()
            unit.flush()
        answer = dict(specs)
        if consumer is not None:
            answer["consumer"] = consumer
        return answer

    def delete(self, context: RequestContext, qos_id: str, *, force: bool) -> None:
        """Delete the spec; while a type carries it only with `force` (the types lose it)."""
        self._authorize("delete", context)
        with self._store.transaction() as unit:
            row = self._find(unit, qos_id)
            if qos_queries.associated_types(unit, row.id):
                if not force:
                    raise BadRequest(
                        f"QoS Specs {qos_id} is still associated with entities; disassociate "
                        "them first, or delete with force=True."
                    )
                qos_queries.disassociate_all(unit, row.id)
            unit.delete(row)

    def delete_keys(self, context: RequestContext, qos_id: str, body: Any) -> None:
        self._authorize("delete", context)
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise BadRequest("Missing required element 'keys' (a list of key names) in body.")
        with self._store.transaction() as unit:
            row = self._find(unit, qos_id)
            specs = dict(row.specs or {})
            for key in keys:
                if key not in specs:
                    raise NotFound(f"QoS spec {qos_id} has no key {key}.")
                del specs[key]
            row.specs = specs
            row.updated_at = utcnow()

    # -- associations --------------------------------------------------------------------------

    def associations(self, context: RequestContext, qos_id: str) -> list[Association]:
        self._authorize("get", context)
        with self._store.transaction() as unit:
            row = self._find(unit, qos_id)
            return [Association(t.id, t.name) for t in qos_queries.associated_types(unit, row.id)]

    def associate(self, context: RequestContext, qos_id: str, type_id: str | None) -> None:
        """Give the type this spec; refused (400) when it carries another one."""
        self._authorize("update", context)
        type_ref = _type_ref(type_id)
        with self._store.transaction() as unit:
            row = self._find(unit, qos_id)
            type_row = self._types.find(unit, context, type_ref)
            current = qos_queries.association(unit, type_row.id)
            if current is not None and current.qos_id != row.id:
                raise BadRequest(
                    f"Type {type_row.id} is already associated with another qos specs: "
                    f"{current.qos_id}"
                )
            if current is None:
                unit.add(VolumeTypeQosRow(type_id=type_row.id, qos_id=row.id))

    def disassociate(self, context: RequestContext, qos_id: str, type_id: str | None) -> None:
        self._authorize("update", context)
        type_ref = _type_ref(type_id)
        with self._store.transaction() as unit:
            row = self._find(unit, qos_id)
            type_row = self._types.find(unit, context, type_ref)
            current = qos_queries.association(unit, type_row.id)
            if current is not None and current.qos_id == row.id:
                unit.delete(current)

    def disassociate_all(self, context: RequestContext, qos_id: str) -> None:
        self._authorize("update", context)
        with self._store.transaction() as unit:
            qos_queries.disassociate_all(unit, self._find(unit, qos_id).id)


def _type_ref(type_id: str | None) -> str:
    if not type_id:
        raise BadRequest("Missing required query parameter vol_type_id (the volume type's id).")
    return type_id
