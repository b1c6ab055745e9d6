"""Neutron lists in SQL: filters, visibility, sort, marker and limit run in the database.

A list of 10,000 ports used to load every ORM row, then filter, sort and page in Python. Here
each collection is described once (`Collection`: the attributes a filter or sort may name and
their SQL expressions), and a request becomes one Core `SELECT` with a WHERE, an ORDER BY
ending in the id (a stable order, so a marker names one place) and a LIMIT. The filter
semantics are those of `vistack.network.domain.query` (values compared as rendered, lower
case; several values of one key OR, keys AND), made exact on every backend: text compares
and sorts under a binary collation (PostgreSQL's `C`, MariaDB's `utf8mb4_nopad_bin`), the
code point order Python sorts by. What cannot be said exactly here (`translate` answers None)
is left to the Python path.

Child data (a port's addresses and groups, a network's subnets) is fetched by one query per
kind for the rows of the page only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from vistack.network.db.dhcp_option_tables import PortDhcpOptionRow
from vistack.network.db.sharing_tables import SUBNETPOOL_ID
from vistack.network.db.tables import (
    IpAllocationRow,
    NetworkRow,
    PortRow,
    PortSecurityGroupRow,
    SecurityGroupRow,
    SecurityGroupRuleRow,
    SubnetRow,
)

Kind = Literal["id", "text", "bool", "int"]
#: Values an IN list carries at most (SQLite's variable limit is the lowest bound).
CHUNK = 900
#: Distinct policy keys a visibility clause spells out at most before the caller filters.
MAX_KEYS = 400
RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}
TAG_FILTERS = {"tags", "tags-any", "not-tags", "not-tags-any"}

network = NetworkRow.__table__
subnet = SubnetRow.__table__
port = PortRow.__table__
allocation = IpAllocationRow.__table__
port_group = PortSecurityGroupRow.__table__
group = SecurityGroupRow.__table__
rule = SecurityGroupRuleRow.__table__


#: The SQL a domain list passes along without building it: conditions, column expressions,
#: column selections and the session they run on.
Clause = ColumnElement[bool]
Column = ColumnElement[Any]
Columns = Select[Any]
DbSession = Session
#: The condition every row meets (an admin's visibility).
EVERYTHING: Clause = true()


def fetch(session: Session, query: Columns) -> list[Any]:
    return list(session.execute(query).all())


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


@dataclass(frozen=True)
class Attr:
    """A filterable, sortable attribute: its expression and how its rendering compares.

    `id`: an identifier this cloud generates (lower-case UUIDs), compared as is so its index
    serves; `text`: any other string, compared lower-cased; `bool`, `int` as rendered."""

    expr: ColumnElement[Any]
    kind: Kind
    nullable: bool = False


#: A filter on child data: (the wanted values, the dialect's name) -> a condition.
Special = Callable[[list[str], str], ColumnElement[bool]]


@dataclass(frozen=True)
class Collection:
    source: FromClause
    id: ColumnElement[str]
    #: Attributes a filter and a sort may name in SQL.
    attrs: Mapping[str, Attr]
    #: Filters on list-valued attributes, answered by subqueries.
    special: Mapping[str, Special] = field(default_factory=dict)
    #: Every attribute the view renders: a filter on one neither above falls back to Python;
    #: a filter on a name not rendered at all is ignored (as the Python path does).
    rendered: frozenset[str] = frozenset()


def binary(expr: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """`expr` under code point order and exact equality (SQLite's default already)."""
    if dialect == "postgresql":
        return expr.collate("C")
    if dialect in {"mysql", "mariadb"}:
        return expr.collate("utf8mb4_nopad_bin")
    return expr


def _sortable(attr: Attr, dialect: str) -> ColumnElement[Any]:
    expr = attr.expr
    if attr.nullable:
        default: Any = {"bool": False, "int": 0}.get(attr.kind, "")
        expr = func.coalesce(expr, default)
    if attr.kind in {"id", "text"}:
        return binary(expr, dialect)
    return expr


def _match(attr: Attr, wanted: list[str], dialect: str) -> ColumnElement[bool]:
    """`attr` rendered and lower-cased is one of `wanted` lower-cased (`query._matches`)."""
    lowered = sorted({w.lower() for w in wanted})
    null = attr.expr.is_(None) if attr.nullable and "" in lowered else None
    condition: ColumnElement[bool]
    if attr.kind == "bool":
        values = [v == "true" for v in lowered if v in {"true", "false"}]
        condition = attr.expr.in_(values) if values else false()
    elif attr.kind == "int":
        numbers = [int(v) for v in lowered if _canonical_int(v)]
        condition = attr.expr.in_(numbers) if numbers else false()
    elif attr.kind == "id":
        # The plain IN lets the index serve; the binary one makes it exact on MariaDB (whose
        # default collation would match `ID ` to `id`).
        condition = and_(attr.expr.in_(lowered), binary(attr.expr, dialect).in_(lowered))
    else:
        condition = binary(func.lower(attr.expr), dialect).in_(lowered)
    return or_(condition, null) if null is not None else condition


def _canonical_int(value: str) -> bool:
    try:
        return str(int(value)) == value
    except ValueError:
        return False


def translate(
    collection: Collection, filters: Mapping[str, list[str]], dialect: str
) -> list[ColumnElement[bool]] | None:
    """The WHERE of these filters, or None when one of them is not expressible here."""
    where: list[ColumnElement[bool]] = []
    for key, wanted in filters.items():
        if key in RESERVED:
            continue
        if key in collection.attrs:
            where.append(_match(collection.attrs[key], wanted, dialect))
        elif key in collection.special:
            where.append(collection.special[key](wanted, dialect))
        elif key in collection.rendered or key in TAG_FILTERS:
            return None
    return where


def sort_columns(
    collection: Collection, sort: Sequence[tuple[str, bool]], dialect: str
) -> list[tuple[ColumnElement[Any], bool]] | None:
    """ORDER BY expressions (expression, descending) ending in the id, or None when a key is
    not a sortable attribute. A nullable key sorts by "has a value" first: Python's order puts
    None before any value (after, descending)."""
    out: list[tuple[ColumnElement[Any], bool]] = []
    for key, descending in sort:
        attr = collection.attrs.get(key)
        if attr is None:
            return None
        if attr.nullable:
            out.append((attr.expr.is_not(None), descending))
        out.append((_sortable(attr, dialect), descending))
    out.append((binary(collection.id, dialect), False))
    return out


def _after(
    order: list[tuple[ColumnElement[Any], bool]], values: Sequence[Any], backwards: bool
) -> ColumnElement[bool]:
    """Rows strictly after the marker's `values` in `order` (before it, `backwards`)."""
    # Bound as literals of the expression's type: SQLAlchemy refuses `>` against a bare
    # True/False, and a boolean must bind as the backend spells it.
    bound = [literal(v, e.type) for (e, _d), v in zip(order, values, strict=True)]
    terms: list[ColumnElement[bool]] = []
    for index, (expr, descending) in enumerate(order):
        equal = [e == v for (e, _d), v in zip(order[:index], bound[:index], strict=True)]
        later = descending != backwards
        step = expr < bound[index] if later else expr > bound[index]
        terms.append(and_(*equal, step))
    return or_(*terms)


@dataclass
class Window:
    rows: list[Any]
    #: Rows lie beyond the window in its reading direction.
    more: bool


def window(
    session: Session,
    columns: Select[Any],
    collection: Collection,
    where: list[ColumnElement[bool]],
    order: list[tuple[ColumnElement[Any], bool]],
    limit: int,
    marker: str | None,
    reverse: bool,
) -> Window | None:
    """The page's rows in the order asked (None: the marker is not among the rows matched).

    Without a limit, every row after the marker (before it, `reverse`): Neutron then returns
    the rest of the list."""
    statement = columns.where(*where)
    if marker is not None:
        dialect = session.get_bind().dialect.name
        probe = select(*(expr for expr, _ in order)).select_from(collection.source)
        exact = and_(collection.id == marker, binary(collection.id, dialect) == marker)
        found = session.execute(probe.where(*where, exact)).first()
        if found is None:
            return None
        statement = statement.where(_after(order, tuple(found), reverse))
    backwards = reverse and bool(limit)
    statement = statement.order_by(
        *(expr.desc() if descending != backwards else expr.asc() for expr, descending in order)
    )
    if limit:
        statement = statement.limit(limit + 1)
    rows = list(session.execute(statement).all())
    more = bool(limit) and len(rows) > limit
    if more:
        rows = rows[:limit]
    if backwards:
        rows.reverse()
    return Window(rows, more)


def visibility(
    session: Session,
    collection: Collection,
    keys: Sequence[ColumnElement[Any]],
    allowed: Callable[[tuple[Any, ...]], bool],
    scope: Sequence[ColumnElement[bool]] = (),
    passing: list[tuple[Any, ...]] | None = None,
) -> ColumnElement[bool]:
    """Which rows the caller may see, as a condition: the policy decision is taken once per
    distinct key (e.g. (project, network's project)) of the rows in `scope`, never per row.
    `passing`, if given, receives the keys that passed (for decisions per visible key).

    `true()`/`false()` when every/no key passes, else the passing keys spelled out; past
    `MAX_KEYS` of them (SQLite's expression depth) the visible rows' ids instead."""
    distinct = select(*keys).select_from(collection.source).where(*scope).distinct()
    passing = [] if passing is None else passing
    failing = False
    for key in session.execute(distinct).all():
        if allowed(tuple(key)):
            passing.append(tuple(key))
        else:
            failing = True
    if not failing:
        return true()
    if not passing:
        return false()
    if len(passing) <= MAX_KEYS:
        return or_(*(and_(*(k == v for k, v in zip(keys, key, strict=True))) for key in passing))
    chosen = set(passing)
    rows = session.execute(select(collection.id, *keys).select_from(collection.source))
    ids = [row[0] for row in rows if tuple(row[1:]) in chosen]
    return or_(*(collection.id.in_(part) for part in chunks(ids)))


def chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def decode(value: Any) -> Any:
    """A JSON column read as text (as SQLite and MariaDB hand it; psycopg parses it itself):
    the common empty values without a parse."""
    if isinstance(value, str):
        if value == "[]":
            return []
        if value == "{}":
            return {}
        return json.loads(value)
    if value is None:
        return None
    return value


def raw(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON column fetched without SQLAlchemy's per-row decoding (see `decode`)."""
    return type_coerce(expr, String)


# ------------------------------------------------------------------------------ tags


def _has_tag(column: ColumnElement[Any], tag: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return cast(column, JSONB).contains([tag])
    if dialect in {"mysql", "mariadb"}:
        return func.json_contains(column, json.dumps(tag)) == 1
    each = func.json_each(column).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == tag))


def tag_filter(column: ColumnElement[Any], key: str) -> Special:
    """`tags` (all of), `tags-any`, `not-tags`, `not-tags-any`: exact, comma-separated."""

    def condition(wanted: list[str], dialect: str) -> ColumnElement[bool]:
        asked = sorted({t for value in wanted for t in value.split(",") if t})
        has = [_has_tag(column, t, dialect) for t in asked]
        if key == "tags":
            return and_(true(), *has)
        if key == "tags-any":
            return or_(false(), *has)
        if key == "not-tags":
            return ~and_(true(), *has)
        return ~or_(false(), *has)

    return condition


def _tags(column: ColumnElement[Any]) -> dict[str, Special]:
    return {key: tag_filter(column, key) for key in TAG_FILTERS}


# ------------------------------------------------------------------------------ collections


def _fixed_ips(wanted: list[str], dialect: str) -> ColumnElement[bool]:
    """Some one address of the port satisfies every `sub=value` asked (`query._matches`).

    Stored addresses and subnet ids are lower case, so a value with a capital never matches
    (and the rest compare exactly whatever the collation)."""
    asked: dict[str, set[str]] = {}
    for value in wanted:
        sub, _, one = value.partition("=")
        asked.setdefault(sub, set()).add(one)
    address = allocation.c.ip_address
    conditions: list[ColumnElement[bool]] = [allocation.c.port_id == port.c.id]
    for sub, expected in asked.items():
        usable = sorted(e for e in expected if e == e.lower())
        if sub == "ip_address_substr":
            parts = (address.contains(e, autoescape=True) for e in usable)
            conditions.append(or_(false(), *parts))
        elif sub in {"ip_address", "subnet_id"}:
            conditions.append(allocation.c[sub].in_(usable) if usable else false())
        else:
            conditions.append(false())
    return exists(select(allocation.c.port_id).where(*conditions))


def _port_groups(wanted: list[str], dialect: str) -> ColumnElement[bool]:
    lowered = sorted({w.lower() for w in wanted})
    return exists(
        select(port_group.c.port_id).where(
            port_group.c.port_id == port.c.id, port_group.c.security_group_id.in_(lowered)
        )
    )


def _network_subnets(wanted: list[str], dialect: str) -> ColumnElement[bool]:
    lowered = sorted({w.lower() for w in wanted})
    return exists(
        select(subnet.c.id).where(subnet.c.network_id == network.c.id, subnet.c.id.in_(lowered))
    )


def _common(table: Any) -> dict[str, Attr]:
    return {
        "id": Attr(table.c.id, "id"),
        "name": Attr(table.c.name, "text"),
        "description": Attr(table.c.description, "text"),
        "project_id": Attr(table.c.project_id, "text"),
        "tenant_id": Attr(table.c.project_id, "text"),
        "revision_number": Attr(table.c.revision_number, "int"),
    }


PORTS = Collection(
    source=port.join(network, port.c.network_id == network.c.id),
    id=port.c.id,
    attrs={
        **_common(port),
        "network_id": Attr(port.c.network_id, "id"),
        "mac_address": Attr(port.c.mac_address, "text"),
        "admin_state_up": Attr(port.c.admin_state_up, "bool"),
        "status": Attr(port.c.status, "text"),
        "device_owner": Attr(port.c.device_owner, "text"),
        "device_id": Attr(port.c.device_id, "text"),
        "port_security_enabled": Attr(port.c.port_security_enabled, "bool"),
        "binding:vnic_type": Attr(port.c.binding_vnic_type, "text"),
    },
    special={
        "fixed_ips": _fixed_ips,
        "security_groups": _port_groups,
        **_tags(port.c.tags),
    },
    rendered=frozenset(
        {
            "allowed_address_pairs",
            "binding:host_id",
            "binding:profile",
            "binding:vif_type",
            "binding:vif_details",
            "tags",
            "created_at",
            "updated_at",
        }
    ),
)

NETWORKS = Collection(
    source=network,
    id=network.c.id,
    attrs={
        **_common(network),
        "admin_state_up": Attr(network.c.admin_state_up, "bool"),
        "status": Attr(network.c.status, "text"),
        "shared": Attr(network.c.shared, "bool"),
        "router:external": Attr(network.c.external, "bool"),
        "mtu": Attr(network.c.mtu, "int"),
        "port_security_enabled": Attr(network.c.port_security_enabled, "bool"),
    },
    special={"subnets": _network_subnets, **_tags(network.c.tags)},
    rendered=frozenset(
        {
            "provider:network_type",
            "provider:physical_network",
            "provider:segmentation_id",
            "availability_zone_hints",
            "availability_zones",
            "ipv4_address_scope",
            "ipv6_address_scope",
            "l2_adjacency",
            "is_default",
            "tags",
            "created_at",
            "updated_at",
        }
    ),
)

SUBNETS = Collection(
    source=subnet.join(network, subnet.c.network_id == network.c.id),
    id=subnet.c.id,
    attrs={
        **_common(subnet),
        "network_id": Attr(subnet.c.network_id, "id"),
        "ip_version": Attr(subnet.c.ip_version, "int"),
        "cidr": Attr(subnet.c.cidr, "text"),
        "gateway_ip": Attr(subnet.c.gateway_ip, "text", nullable=True),
        "enable_dhcp": Attr(subnet.c.enable_dhcp, "bool"),
    },
    special=_tags(subnet.c.tags),
    rendered=frozenset(
        {
            "allocation_pools",
            "dns_nameservers",
            "host_routes",
            "ipv6_ra_mode",
            "ipv6_address_mode",
            "subnetpool_id",
            "segment_id",
            "service_types",
            "tags",
            "created_at",
            "updated_at",
        }
    ),
)


SECURITY_GROUPS = Collection(
    source=group,
    id=group.c.id,
    attrs={**_common(group), "stateful": Attr(group.c.stateful, "bool")},
    special=_tags(group.c.tags),
    rendered=frozenset({"security_group_rules", "tags", "created_at", "updated_at"}),
)

SECURITY_GROUP_RULES = Collection(
    source=rule,
    id=rule.c.id,
    attrs={
        "id": Attr(rule.c.id, "id"),
        "project_id": Attr(rule.c.project_id, "text"),
        "tenant_id": Attr(rule.c.project_id, "text"),
        "security_group_id": Attr(rule.c.security_group_id, "id"),
        "direction": Attr(rule.c.direction, "text"),
        "ethertype": Attr(rule.c.ethertype, "text"),
        "protocol": Attr(rule.c.protocol, "text", nullable=True),
        "port_range_min": Attr(rule.c.port_range_min, "int", nullable=True),
        "port_range_max": Attr(rule.c.port_range_max, "int", nullable=True),
        "remote_ip_prefix": Attr(rule.c.remote_ip_prefix, "text", nullable=True),
        "remote_group_id": Attr(rule.c.remote_group_id, "id", nullable=True),
        "description": Attr(rule.c.description, "text"),
        "revision_number": Attr(rule.c.revision_number, "int"),
    },
    # `normalized_cidr` is computed from the prefix on read: it filters and sorts in Python.
    rendered=frozenset({"remote_address_group_id", "normalized_cidr", "created_at", "updated_at"}),
)

#: A rule's columns, as the security groups' list renders them.
RULE_COLUMNS = select(
    rule.c.id,
    rule.c.project_id,
    rule.c.security_group_id,
    rule.c.direction,
    rule.c.ethertype,
    rule.c.protocol,
    rule.c.port_range_min,
    rule.c.port_range_max,
    rule.c.remote_ip_prefix,
    rule.c.remote_group_id,
    rule.c.description,
    rule.c.created_at,
    rule.c.updated_at,
    rule.c.revision_number,
)


def shaped(collection: Collection, shown: Mapping[str, Attr], absent: Iterable[str]) -> Collection:
    """`collection` for a caller who sees the attributes `shown` on every resource (so they
    filter and sort in SQL) and `absent` on none (a filter on them is ignored, as the Python
    path ignores an attribute the resources lack)."""
    return replace(
        collection,
        attrs={**collection.attrs, **shown},
        rendered=collection.rendered - set(absent),
    )


#: A port's binding attributes that filter in SQL when the caller sees them on every port.
PORT_BINDING_ATTRS = {"binding:host_id": Attr(port.c.binding_host_id, "text")}


# ------------------------------------------------------------------------------ child data


def group_rules(session: Session, group_ids: Sequence[str]) -> dict[str, list[Any]]:
    """Group id -> its rules' rows (`RULE_COLUMNS`), oldest first, as a group renders them."""
    out: dict[str, list[Any]] = {}
    for ids in chunks(group_ids):
        statement = RULE_COLUMNS.where(rule.c.security_group_id.in_(ids))
        for row in session.execute(statement.order_by(rule.c.created_at, rule.c.id)).all():
            out.setdefault(row[2], []).append(row)
    return out


def port_addresses(session: Session, port_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Port id -> its (subnet id, address) pairs, for these ports only."""
    out: dict[str, list[tuple[str, str]]] = {}
    columns = (allocation.c.port_id, allocation.c.subnet_id, allocation.c.ip_address)
    for ids in chunks(port_ids):
        for port_id, subnet_id, address in session.execute(
            select(*columns).where(allocation.c.port_id.in_(ids))
        ).all():
            out.setdefault(port_id, []).append((subnet_id, address))
    return out


def port_dhcp_options(
    session: Session, port_ids: Sequence[str]
) -> dict[str, list[tuple[str, int, str]]]:
    """Port id -> its extra DHCP options as (name, IP version, value), for these ports only."""
    out: dict[str, list[tuple[str, int, str]]] = {}
    table = PortDhcpOptionRow.__table__
    columns = (table.c.port_id, table.c.opt_name, table.c.ip_version, table.c.opt_value)
    for ids in chunks(port_ids):
        for port_id, name, version, value in session.execute(
            select(*columns).where(table.c.port_id.in_(ids))
        ).all():
            out.setdefault(port_id, []).append((name, version, value))
    return out


def port_groups(session: Session, port_ids: Sequence[str]) -> dict[str, list[str]]:
    """Port id -> its security groups' ids, sorted."""
    out: dict[str, list[str]] = {}
    columns = (port_group.c.port_id, port_group.c.security_group_id)
    for ids in chunks(port_ids):
        for port_id, group_id in session.execute(
            select(*columns).where(port_group.c.port_id.in_(ids))
        ).all():
            out.setdefault(port_id, []).append(group_id)
    for groups in out.values():
        groups.sort()
    return out


def network_subnets(session: Session, network_ids: Sequence[str]) -> dict[str, list[str]]:
    """Network id -> its subnets' ids, oldest first (as a network renders them)."""
    out: dict[str, list[tuple[Any, str]]] = {}
    columns = (subnet.c.network_id, subnet.c.id, subnet.c.created_at)
    for ids in chunks(network_ids):
        for network_id, subnet_id, created in session.execute(
            select(*columns).where(subnet.c.network_id.in_(ids))
        ).all():
            out.setdefault(network_id, []).append((created, subnet_id))
    return {key: [s for _, s in sorted(pairs)] for key, pairs in out.items()}


#: A network's columns as `_network_listing` reads them.
NETWORK_COLUMNS = select(
    network.c.id,
    network.c.name,
    network.c.description,
    network.c.project_id,
    network.c.admin_state_up,
    network.c.status,
    network.c.shared,
    network.c.external,
    network.c.mtu,
    network.c.port_security_enabled,
    network.c.network_type,
    network.c.physical_network,
    network.c.segmentation_id,
    raw(network.c.tags),
    network.c.created_at,
    network.c.updated_at,
    network.c.revision_number,
)


#: A port's columns as `_port_listing` reads them, with its network's project and port group.
PORT_COLUMNS = select(
    port.c.id,
    port.c.name,
    port.c.description,
    port.c.project_id,
    port.c.network_id,
    port.c.mac_address,
    port.c.admin_state_up,
    port.c.status,
    port.c.device_owner,
    port.c.device_id,
    raw(port.c.allowed_address_pairs),
    port.c.port_security_enabled,
    port.c.binding_host_id,
    port.c.binding_vnic_type,
    raw(port.c.binding_profile),
    raw(port.c.tags),
    port.c.created_at,
    port.c.updated_at,
    port.c.revision_number,
    network.c.project_id,
    network.c.portgroup_key,
).select_from(PORTS.source)


#: A subnet's columns as `_subnet_listed` reads them.
SUBNET_COLUMNS = select(
    subnet.c.id,
    subnet.c.name,
    subnet.c.description,
    subnet.c.project_id,
    subnet.c.network_id,
    subnet.c.ip_version,
    subnet.c.cidr,
    subnet.c.gateway_ip,
    raw(subnet.c.allocation_pools),
    raw(subnet.c.dns_nameservers),
    raw(subnet.c.host_routes),
    subnet.c.enable_dhcp,
    raw(subnet.c.tags),
    subnet.c.created_at,
    subnet.c.updated_at,
    subnet.c.revision_number,
    SUBNETPOOL_ID,
).select_from(SUBNETS.source)


#: A group's columns as `list_groups` renders them.
GROUP_COLUMNS = select(
    group.c.id,
    group.c.name,
    group.c.description,
    group.c.project_id,
    group.c.stateful,
    raw(group.c.tags),
    group.c.created_at,
    group.c.updated_at,
    group.c.revision_number,
)
