"""Host aggregates (`os-aggregates`): an administrator's named groups of compute hosts with
metadata. A host is a cluster (its `nova-compute` service's host name is the cluster's name).

An aggregate with an availability zone puts its hosts in that zone: `ClusterService.zone_of`
reads the zones of aggregates before `[compute] cluster_zones` and the default, so the
scheduler, `os-services`, `os-availability-zone` and server views follow at once. As in Nova a
host is never in two zones: adding it to an aggregate whose zone differs from one it is already
in, or giving an aggregate a zone one of its hosts' other aggregates contradicts, is refused;
so is changing the zone of hosts that run servers (their servers would silently change zone),
and unsetting a zone (Nova has no "no zone" value to go back to; delete the aggregate instead).

Every change runs in one transaction under the aggregates' lock (see `db/aggregates.py`) and
checks everything before writing, so a refusal leaves nothing half-done. Messages are Nova's,
with what to do next where Nova's own leave it unsaid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import aggregates as queries
from vistack.compute.db import services as service_queries
from vistack.compute.db.aggregate_tables import AggregateRow
from vistack.compute.db.store import Collision, ComputeStore, ComputeUnit
from vistack.compute.domain.clusters import COMPUTE, INTERNAL_ZONE, ClusterService

ZONE_KEY = "availability_zone"
#: Nova's metadata keys: letters, digits and `-_:. `, 1 to 255 of them.
METADATA_KEY = re.compile(r"[a-zA-Z0-9\-_:. ]{1,255}")
#: Aggregate ids are integers stored as 32-bit ones: a bigger number names no aggregate.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Aggregate:
    """An aggregate as the API shows it; `metadata` carries the zone too, as Nova's does."""

    id: int
    name: str
    availability_zone: str | None
    hosts: tuple[str, ...]
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime | None


class AggregateService:
    """Create, read, change and delete aggregates; keep hosts' zones consistent."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, clusters: ClusterService) -> None:
        self._store = store
        self._policy = policy
        self._clusters = clusters
        self._prepared = False

    # ------------------------------------------------------------------ reads

    def list_aggregates(self, context: RequestContext) -> list[Aggregate]:
        self._authorize(context, "index")
        with self._store.transaction() as unit:
            return _views(unit, queries.listing(unit))

    def show(self, context: RequestContext, aggregate_id: str) -> Aggregate:
        """:raises BadRequest: the id is not an integer. :raises NotFound: no such aggregate."""
        self._authorize(context, "show")
        number = _number(aggregate_id)
        with self._store.transaction() as unit:
            return _views(unit, [_get(unit, number, aggregate_id)])[0]

    # ------------------------------------------------------------------ changes

    def create(self, context: RequestContext, body: Any) -> Aggregate:
        """`{"aggregate": {"name", "availability_zone"?}}`.

        :raises BadRequest: malformed body, name or zone.
        :raises Conflict: the name is taken.
        """
        self._authorize(context, "create")
        fields = _fields(body, "aggregate", ("name", ZONE_KEY), required=("name",))
        name = _name(fields["name"], strict=True)
        zone = fields.get(ZONE_KEY)
        if zone is not None:
            zone = _zone(zone, ZONE_KEY)
        try:
            with self._locked() as unit:
                row = queries.add(unit, name, zone)
                return _views(unit, [row])[0]
        except Collision as exc:
            raise Conflict(f"Aggregate {name} already exists.") from exc

    def update(self, context: RequestContext, aggregate_id: str, body: Any) -> Aggregate:
        """`{"aggregate": {"name"?, "availability_zone"?}}` (at least one).

        :raises BadRequest: malformed body, bad id, or a zone change Nova refuses.
        :raises NotFound: no such aggregate. :raises Conflict: the new name is taken.
        """
        self._authorize(context, "update")
        fields = _fields(body, "aggregate", ("name", ZONE_KEY), required=())
        if not fields:
            raise BadRequest(
                "Invalid input for field/attribute aggregate. Give 'name', 'availability_zone' "
                "or both."
            )
        changes: dict[str, str | None] = {}
        if "name" in fields:
            changes["name"] = _name(fields["name"], strict=False)
        if ZONE_KEY in fields and fields[ZONE_KEY] is not None:
            changes[ZONE_KEY] = _zone(fields[ZONE_KEY], ZONE_KEY)
        elif ZONE_KEY in fields:
            changes[ZONE_KEY] = None
        number = _number(aggregate_id)
        try:
            with self._locked() as unit:
                row = _get(unit, number, aggregate_id)
                if ZONE_KEY in changes:
                    prefix = f"Cannot update aggregate {row.id}"
                    _check_zone(unit, row, changes[ZONE_KEY], prefix)
                queries.update(unit, row, **changes)
                view = _views(unit, [row])[0]
        except Collision as exc:
            raise Conflict(f"Aggregate {changes.get('name')} already exists.") from exc
        finally:
            self._clusters.forget_aggregate_zones()
        return view

    def set_metadata(self, context: RequestContext, aggregate_id: str, body: Any) -> Aggregate:
        """`{"set_metadata": {"metadata": {key: value or null}}}`; null deletes the
        item (a missing one is no error), `availability_zone` sets the zone.

        :raises BadRequest: malformed body, bad id, or a zone change Nova refuses.
        :raises NotFound: no such aggregate.
        """
        self._authorize(context, "set_metadata")
        items = _metadata(_fields(body, "set_metadata", ("metadata",), required=("metadata",)))
        number = _number(aggregate_id)
        try:
            with self._locked() as unit:
                row = _get(unit, number, aggregate_id)
                if ZONE_KEY in items:
                    prefix = f"Cannot update metadata of aggregate {row.id}"
                    zone = items.pop(ZONE_KEY)
                    _check_zone(unit, row, zone, prefix)
                    row.availability_zone = zone
                queries.set_metadata(unit, row.id, items)
                queries.touch(unit, row)
                return _views(unit, [row])[0]
        finally:
            self._clusters.forget_aggregate_zones()

    def add_host(self, context: RequestContext, aggregate_id: str, body: Any) -> Aggregate:
        """`{"add_host": {"host": name}}`, a compute host (a cluster).

        :raises BadRequest: malformed body or bad id.
        :raises NotFound: unknown host or aggregate.
        :raises Conflict: the host is already in it, or in another zone.
        """
        self._authorize(context, "add_host")
        host = _host(_fields(body, "add_host", ("host",), required=("host",))["host"])
        number = _number(aggregate_id)
        try:
            with self._locked() as unit:
                if service_queries.by_host(unit, COMPUTE, host) is None:
                    raise NotFound(
                        f"Compute host {host} could not be found. Compute hosts are the "
                        "clusters `openstack compute service list --service nova-compute` shows."
                    )
                row = _get(unit, number, aggregate_id)
                zone = row.availability_zone
                others = _conflicting_zones(unit, row, [host], zone) if zone else []
                if others:
                    raise Conflict(
                        f"Cannot add host to aggregate {row.id}. Reason: One or more hosts "
                        f"already in availability zone(s) {others}."
                    )
                if host in queries.hosts_of(unit, [row.id])[row.id]:
                    raise Conflict(f"Aggregate {row.id} already has host {host}.")
                queries.add_host(unit, row.id, host)
                queries.touch(unit, row)
                return _views(unit, [row])[0]
        finally:
            self._clusters.forget_aggregate_zones()

    def remove_host(self, context: RequestContext, aggregate_id: str, body: Any) -> Aggregate:
        """`{"remove_host": {"host": name}}`. A host whose service was deleted meanwhile can
        still be removed (nothing else could take it out).

        :raises BadRequest: malformed body or bad id.
        :raises NotFound: no such aggregate, or the host is not in it.
        """
        self._authorize(context, "remove_host")
        host = _host(_fields(body, "remove_host", ("host",), required=("host",))["host"])
        number = _number(aggregate_id)
        missing = NotFound(f"Cannot remove host {host} in aggregate {aggregate_id}")
        try:
            with self._locked() as unit:
                row = queries.get(unit, number) if number is not None else None
                if row is None or not queries.remove_host(unit, row.id, host):
                    raise missing
                queries.touch(unit, row)
                return _views(unit, [row])[0]
        finally:
            self._clusters.forget_aggregate_zones()

    def delete(self, context: RequestContext, aggregate_id: str) -> None:
        """:raises BadRequest: bad id, or the aggregate still has hosts.
        :raises NotFound: no such aggregate."""
        self._authorize(context, "delete")
        number = _number(aggregate_id)
        try:
            with self._locked() as unit:
                row = _get(unit, number, aggregate_id)
                hosts = queries.hosts_of(unit, [row.id])[row.id]
                if hosts:
                    raise BadRequest(
                        f"Cannot remove host from aggregate {row.id}. Reason: Host aggregate is "
                        f"not empty. Remove its hosts ({', '.join(hosts)}) first."
                    )
                queries.remove(unit, row)
        finally:
            self._clusters.forget_aggregate_zones()

    # ------------------------------------------------------------------ internals

    def _authorize(self, context: RequestContext, rule: str) -> None:
        self._policy.authorize(f"os_compute_api:os-aggregates:{rule}", context, {})

    @contextmanager
    def _locked(self) -> Iterator[ComputeUnit]:
        """A transaction whose first statement takes the aggregates' lock."""
        if not self._prepared:
            queries.prepare(self._store)
            self._prepared = True
        with self._store.transaction() as unit:
            queries.lock(unit)
            yield unit


def _views(unit: ComputeUnit, rows: list[AggregateRow]) -> list[Aggregate]:
    ids = [r.id for r in rows]
    hosts = queries.hosts_of(unit, ids)
    metadata = queries.metadata_of(unit, ids)
    found = []
    for row in rows:
        items = dict(metadata[row.id])
        if row.availability_zone is not None:
            items[ZONE_KEY] = row.availability_zone
        found.append(
            Aggregate(
                id=row.id,
                name=row.name,
                availability_zone=row.availability_zone,
                hosts=tuple(hosts[row.id]),
                metadata=items,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    return found


def _get(unit: ComputeUnit, number: int | None, given: str) -> AggregateRow:
    row = queries.get(unit, number) if number is not None else None
    if row is None:
        raise NotFound(f"Aggregate {given} could not be found.")
    return row


def _conflicting_zones(
    unit: ComputeUnit, row: AggregateRow, hosts: list[str], zone: str | None
) -> list[str]:
    """The zones other aggregates put `hosts` in that are not `zone`."""
    held = queries.zones_holding(unit, hosts)
    return sorted({z for other, z in held if other != row.id and z != zone})


def _check_zone(unit: ComputeUnit, row: AggregateRow, zone: str | None, prefix: str) -> None:
    """Nova's checks of a zone given to an aggregate that may already have hosts.

    :raises BadRequest: an empty zone, a host another aggregate puts in another zone, or a
        host running servers when the zone changes.
    """
    if not zone:
        raise BadRequest(
            f"{prefix}. Reason: Aggregate {row.name} does not support empty named availability "
            "zone. To take its hosts out of the zone, remove them or delete the aggregate."
        )
    hosts = queries.hosts_of(unit, [row.id])[row.id]
    others = _conflicting_zones(unit, row, hosts, zone)
    if others:
        raise BadRequest(
            f"{prefix}. Reason: One or more hosts already in availability zone(s) {others}."
        )
    if zone != row.availability_zone:
        busy = [h for h in hosts if service_queries.count_on(unit, h)]
        if busy:
            raise BadRequest(
                f"{prefix}. Reason: One or more hosts contain instances in this zone "
                f"({', '.join(busy)}): their servers would change zone."
            )


def _number(text: str) -> int | None:
    """An aggregate id as Nova reads it: any integer (None for one no aggregate can have).

    :raises BadRequest: not an integer.
    """
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", stripped):
        raise BadRequest("Invalid input received: id must be an integer")
    number = int(stripped)
    return number if 0 < number <= MAX_ID else None


def _fields(
    body: Any, key: str, allowed: tuple[str, ...], *, required: tuple[str, ...]
) -> dict[str, Any]:
    """`{key: {...}}` with only `allowed` fields inside, `required` ones present.

    :raises BadRequest: in the words of Nova's schema checks.
    """
    if not isinstance(body, Mapping):
        raise BadRequest("Invalid input for field/attribute body. The body must be an object.")
    extra = sorted(str(k) for k in body if k != key)
    if key not in body:
        raise BadRequest(
            f"Invalid input for field/attribute {key}. Value: {dict(body)}. '{key}' is a "
            "required property"
        )
    if extra:
        raise _unexpected(extra)
    inner = body[key]
    if not isinstance(inner, Mapping):
        raise BadRequest(
            f"Invalid input for field/attribute {key}. Value: {inner}. {inner!r} is not of type "
            "'object'"
        )
    unknown = sorted(str(k) for k in inner if k not in allowed)
    if unknown:
        raise _unexpected(unknown)
    for name in required:
        if name not in inner:
            raise BadRequest(
                f"Invalid input for field/attribute {key}. Value: {dict(inner)}. '{name}' is a "
                "required property"
            )
    return dict(inner)


def _unexpected(names: list[str]) -> BadRequest:
    named = ", ".join(repr(n) for n in names)
    verb = "was" if len(names) == 1 else "were"
    return BadRequest(f"Additional properties are not allowed ({named} {verb} unexpected)")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {value}. It must be a string of "
            "1 to 255 characters."
        )
    if not all(c.isprintable() for c in value):
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {value!r}. It must be printable "
            "characters."
        )
    return value


def _name(value: Any, *, strict: bool) -> str:
    """An aggregate name. Nova 2.1 refuses leading or trailing spaces when creating but takes
    (and strips) them when renaming."""
    name = _text(value, "name")
    if strict and name != name.strip():
        raise BadRequest(
            f"Invalid input for field/attribute name. Value: {name}. An invalid 'name' value was "
            "provided. The name must be: printable characters. Can not start or end with "
            "whitespace."
        )
    if not name.strip():
        raise BadRequest(
            "Invalid input for field/attribute name. An invalid 'name' value was provided. The "
            "name must be: printable characters with at least one non space character"
        )
    return name.strip()


def _zone(value: Any, field: str) -> str:
    """A zone name: Nova's (printable, no `:`, no surrounding spaces), and not `internal`,
    the zone of the control services, which no cluster can be in."""
    zone = _text(value, field)
    if ":" in zone or zone != zone.strip():
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {zone}. An invalid 'name' value "
            "was provided. The name must be: printable characters except :.Can not start or end "
            "with whitespace."
        )
    if zone == INTERNAL_ZONE:
        raise BadRequest(
            f"Invalid input for field/attribute {field}. Value: {zone}. '{INTERNAL_ZONE}' is the "
            "zone of the control services (nova-scheduler, nova-conductor); give compute hosts "
            "another zone."
        )
    return zone


def _host(value: Any) -> str:
    """A host name: a cluster's name, which (unlike Nova's host names) may hold spaces."""
    return _text(value, "host")


def _metadata(fields: dict[str, Any]) -> dict[str, str | None]:
    raw = fields["metadata"]
    if not isinstance(raw, Mapping):
        raise BadRequest(
            f"Invalid input for field/attribute metadata. Value: {raw}. {raw!r} is not of type "
            "'object'"
        )
    items: dict[str, str | None] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not METADATA_KEY.fullmatch(key):
            raise BadRequest(
                f"Invalid input for field/attribute metadata. Value: {dict(raw)}. Key {key!r} "
                "must be 1 to 255 letters, digits, spaces or '-_:.'."
            )
        if key == ZONE_KEY and isinstance(value, str) and value:
            value = _zone(value, ZONE_KEY)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise BadRequest(
                f"Invalid input for field/attribute {key}. Value: {value}. It must be a string of "
                "at most 255 characters, or null to delete the item."
            )
        items[key] = value
    return items
