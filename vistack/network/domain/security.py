"""Security groups and their rules, as Neutron has them (the API side; no data plane here).

Every project has a `default` group, made the first time a request of that project needs it
(listing groups, creating a group or a port) rather than when the project is created: the
network service is not told about new projects. The database's unique key on `default_of`
makes that lazy creation happen exactly once however many first requests race.

Rules are validated as Neutron validates them (same messages, which clients and tempest match
on), and their canonical meaning, the fingerprint, is unique per group so a duplicate is a
409 even when two identical creates race.

A rule's `remote_ip_prefix` is kept as the user sent it, in canonical spelling (a bare address
gets its /32 or /128, IPv6 is compacted) but with its host bits, as Neutron keeps it; the
network it names is the read-only `normalized_cidr` (Neutron's `security-groups-normalized-cidr`
extension), computed on read, and it is what the data plane enforces. As in Neutron, two rules
whose prefixes differ only in host bits (10.2.3.124/24, 10.2.3.0/24) are two rules, not
duplicates: the fingerprint compares the prefix as kept.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.network.db import listing
from vistack.network.db.repository import Collision, NetworkStore, Unit
from vistack.network.db.tables import SecurityGroupRow, SecurityGroupRuleRow
from vistack.network.domain import query
from vistack.network.domain.attributes import check_attributes, named_view, text
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    NeutronUnavailable,
    invalid,
    over_quota,
)
from vistack.network.domain.models import NetworkOptions
from vistack.network.domain.revisions import check_revision


def _rule_listed(row: Any) -> dict[str, Any]:
    """`SecurityGroupService.rule_view` of a row of `listing.RULE_COLUMNS`."""
    return {
        "id": row[0],
        "project_id": row[1],
        "tenant_id": row[1],
        "security_group_id": row[2],
        "direction": row[3],
        "ethertype": row[4],
        "protocol": row[5],
        "port_range_min": row[6],
        "port_range_max": row[7],
        "remote_ip_prefix": row[8],
        "normalized_cidr": normalized_cidr(row[8]),
        "remote_group_id": row[9],
        "remote_address_group_id": None,
        "description": row[10],
        "created_at": query.stamp(row[11]),
        "updated_at": query.stamp(row[12]),
        "revision_number": row[13],
    }


GROUP_CREATE = {"name", "description", "stateful", "project_id", "tenant_id"}
GROUP_UPDATE = {"name", "description", "stateful"}
RULE_CREATE = {
    "security_group_id",
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "remote_group_id",
    "remote_address_group_id",
    "description",
    "project_id",
    "tenant_id",
}
DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")
#: neutron-lib's IP_PROTOCOL_MAP (with the legacy `icmpv6` alias): names Neutron accepts.
PROTOCOLS: dict[str, int] = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "icmpv6": 58,
    "igmp": 2,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
#: Protocols whose port range is a range of ports (the others take none, ICMP aside).
PORT_PROTOCOLS = {6, 17, 33, 132, 136}
ICMP_PROTOCOLS = {1, 58}
DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


def _stateful(value: Any) -> bool:
    """Only stateful groups: vistack's firewall tracks connections, it cannot do otherwise."""
    if value is True or (isinstance(value, str) and value.lower() == "true"):
        return True
    if value is False or (isinstance(value, str) and value.lower() == "false"):
        raise invalid(
            "stateful: vistack's firewall is stateful only; stateless security groups are "
            "not supported."
        )
    raise invalid(f"'{value}' is not a valid boolean value for stateful.")


def group_not_found(group_id: str) -> NeutronNotFound:
    return NeutronNotFound(f"Security group {group_id} does not exist", "SecurityGroupNotFound")


def rule_not_found(rule_id: str) -> NeutronNotFound:
    return NeutronNotFound(
        f"Security group rule {rule_id} does not exist", "SecurityGroupRuleNotFound"
    )


def _protocol(value: Any) -> tuple[str | None, int | None]:
    """(as stored and shown, as a number): names lowercased, numbers as strings; `any`, an
    empty string and null mean every protocol."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad_protocol(value)
    spelled = str(value).strip().lower()
    if spelled in {"", "any"}:
        return None, None
    if spelled in PROTOCOLS:
        return spelled, PROTOCOLS[spelled]
    if spelled.isdigit() and 0 <= int(spelled) <= 255:
        return str(int(spelled)), int(spelled)
    raise _bad_protocol(value)


def _bad_protocol(value: Any) -> NeutronBadRequest:
    return NeutronBadRequest(
        f"Security group rule protocol {value} not supported. Only protocol values "
        f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.",
        "SecurityGroupRuleInvalidProtocol",
    )


def _port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad_port(value)
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise _bad_port(value) from None
    if not 0 <= port <= 65535:
        raise _bad_port(value)
    return port


def _bad_port(value: Any) -> NeutronBadRequest:
    return NeutronBadRequest(f"Invalid value for port {value}", "SecurityGroupInvalidPortValue")


def _check_ports(number: int | None, low: int | None, high: int | None) -> None:
    """Neutron's per-protocol port range rules: ports for port protocols, ICMP type and code
    for ICMP, nothing for the others."""
    if low is None and high is None:
        return
    if number is None:
        raise NeutronBadRequest(
            "Must also specify protocol if port range is given.",
            "SecurityGroupProtocolRequiredWithPorts",
        )
    if number in PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise _bad_port(0)
        if low is None or high is None or low > high:
            raise NeutronBadRequest(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max",
                "SecurityGroupInvalidPortRange",
            )
        return
    if number in ICMP_PROTOCOLS:
        if low is None and high is not None:
            raise NeutronBadRequest(
                f"ICMP code (port-range-max) {high} is provided but ICMP type "
                "(port-range-min) is missing.",
                "SecurityGroupMissingIcmpType",
            )
        for value, field, attr in (
            (low, "type", "port_range_min"),
            (high, "code", "port_range_max"),
        ):
            if value is not None and not 0 <= value <= 255:
                raise NeutronBadRequest(
                    f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                    "SecurityGroupInvalidIcmpValue",
                )
        return
    raise NeutronBadRequest(
        f"Invalid protocol {number} for port range, only supported for TCP, UDP, UDPLITE, "
        "SCTP and DCCP.",
        "SecurityGroupInvalidProtocolForPortRange",
    )


def _prefix(value: Any, ethertype: str) -> str | None:
    """The prefix as sent, spelled canonically as Neutron keeps it: host bits stay, a bare
    address gets /32 or /128, IPv6 is compacted and lower-cased; of the rule's ethertype. A
    zone index (`fe80::1%eth0`) names an interface, not a range: refused, as Neutron does."""
    if value is None:
        return None
    if not isinstance(value, str) or "%" in value:
        raise invalid(f"'{value}' is not a valid IP subnet.")
    try:
        interface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise invalid(f"'{value}' is not a valid IP subnet.") from None
    if f"IPv{interface.version}" != ethertype:
        raise NeutronBadRequest(
            f"Conflicting value ethertype {ethertype} for CIDR {value}",
            "SecurityGroupRuleParameterConflict",
        )
    return str(interface)


def normalized_cidr(prefix: str | None) -> str | None:
    """The network a kept `remote_ip_prefix` names (10.2.3.124/24 -> 10.2.3.0/24): the rule's
    `normalized_cidr`, and what every enforcement point must match on."""
    if prefix is None:
        return None
    return str(ipaddress.ip_interface(prefix).network)


def fingerprint(
    direction: str,
    ethertype: str,
    number: int | None,
    low: int | None,
    high: int | None,
    prefix: str | None,
    remote_group_id: str | None,
) -> str:
    """The rule's identity as Neutron compares rules: `tcp` and `6` are the same rule, and so
    are no prefix and 0.0.0.0/0 (or ::/0). The prefix is compared as kept, host bits and all."""
    if prefix in ("0.0.0.0/0", "::/0"):
        prefix = None
    parts = (direction, ethertype, number, low, high, prefix, remote_group_id)
    return "|".join("" if p is None else str(p) for p in parts)


class SecurityGroupService:
    """Security groups and rules, and the groups of ports (which `NetworkService` asks for)."""

    def __init__(self, store: NetworkStore, policy: PolicyEngine, options: NetworkOptions) -> None:
        self._store = store
        self._policy = policy
        self._options = options

    # ---------------------------------------------------------------- helpers

    def is_admin(self, context: RequestContext) -> bool:
        return self._policy.check("admin_required", context, {})

    def _owner(self, context: RequestContext, attrs: dict[str, Any]) -> str:
        project = attrs.get("project_id") or attrs.get("tenant_id") or context.project_id
        given = (attrs.get("project_id"), attrs.get("tenant_id"))
        if all(given) and given[0] != given[1]:
            raise invalid("project_id and tenant_id do not match.")
        if not project or not isinstance(project, str):
            raise NeutronBadRequest("A project_id is required (the token is not project-scoped).")
        return project

    def _check_quota(self, unit: Unit, resource: str, project: str) -> None:
        limit = unit.quota_overrides(project).get(resource, self._options.quotas[resource])
        if limit >= 0 and unit.count(resource, project) >= limit:
            raise over_quota(resource)

    @staticmethod
    def _target(row: SecurityGroupRow | SecurityGroupRuleRow) -> dict[str, Any]:
        return {"target.project_id": row.project_id}

    def _visible_group(
        self, unit: Unit, context: RequestContext, group_id: str
    ) -> SecurityGroupRow:
        row = unit.security_group(group_id)
        if row is None or not self._policy.check("get_security_group", context, self._target(row)):
            raise group_not_found(group_id)
        return row

    def _visible_rule(
        self, unit: Unit, context: RequestContext, rule_id: str
    ) -> SecurityGroupRuleRow:
        row = unit.security_group_rule(rule_id)
        if row is None or not self._policy.check(
            "get_security_group_rule", context, self._target(row)
        ):
            raise rule_not_found(rule_id)
        return row

    @staticmethod
    def _touch(row: SecurityGroupRow) -> None:
        row.updated_at = utcnow()
        row.revision_number = (row.revision_number or 0) + 1

    @staticmethod
    def _new_rule(
        group: SecurityGroupRow,
        direction: str,
        ethertype: str,
        remote_group_id: str | None = None,
    ) -> SecurityGroupRuleRow:
        """One of the rules Neutron gives a new group (no protocol, no ports, no prefix)."""
        return SecurityGroupRuleRow(
            id=str(uuid.uuid4()),
            project_id=group.project_id,
            security_group_id=group.id,
            direction=direction,
            ethertype=ethertype,
            protocol=None,
            port_range_min=None,
            port_range_max=None,
            remote_ip_prefix=None,
            remote_group_id=remote_group_id,
            fingerprint=fingerprint(direction, ethertype, None, None, None, None, remote_group_id),
            description="",
            created_at=group.created_at,
            updated_at=group.created_at,
            revision_number=0,
        )

    # ---------------------------------------------------------------- views

    @staticmethod
    def rule_view(row: SecurityGroupRuleRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "project_id": row.project_id,
            "tenant_id": row.project_id,
            "security_group_id": row.security_group_id,
            "direction": row.direction,
            "ethertype": row.ethertype,
            "protocol": row.protocol,
            "port_range_min": row.port_range_min,
            "port_range_max": row.port_range_max,
            "remote_ip_prefix": row.remote_ip_prefix,
            "normalized_cidr": normalized_cidr(row.remote_ip_prefix),
            "remote_group_id": row.remote_group_id,
            "remote_address_group_id": None,
            "description": row.description,
            "created_at": query.stamp(row.created_at),
            "updated_at": query.stamp(row.updated_at),
            "revision_number": row.revision_number,
        }

    def _group_view(
        self, row: SecurityGroupRow, rules: Sequence[SecurityGroupRuleRow]
    ) -> dict[str, Any]:
        return {
            **named_view(row),
            "stateful": row.stateful,
            "security_group_rules": [self.rule_view(r) for r in rules],
            "tags": list(row.tags or []),
            "created_at": query.stamp(row.created_at),
            "updated_at": query.stamp(row.updated_at),
            "revision_number": row.revision_number,
        }

    # ---------------------------------------------------------------- the default group

    def ensure_default(self, project: str) -> str:
        """The id of the project's default group, made now (with Neutron's four rules) if it
        does not exist yet. Outside any quota, as Neutron: a project always has it."""
        with self._store.transaction() as unit:
            existing = unit.default_security_group(project)
            if existing is not None:
                return existing.id
        now = utcnow()
        group = SecurityGroupRow(
            id=str(uuid.uuid4()),
            project_id=project,
            name=DEFAULT_NAME,
            description=DEFAULT_DESCRIPTION,
            stateful=True,
            default_of=project,
            tags=[],
            created_at=now,
            updated_at=now,
            revision_number=0,
        )
        try:
            with self._store.transaction() as unit:
                unit.add(group)
                unit.add(
                    *(
                        self._new_rule(group, direction, ethertype, remote)
                        for ethertype in ETHERTYPES
                        for direction, remote in (("egress", None), ("ingress", group.id))
                    )
                )
            return group.id
        except Collision:
            pass  # a concurrent first request made it: use theirs
        with self._store.transaction() as unit:
            existing = unit.default_security_group(project)
            if existing is None:
                raise NeutronUnavailable("Concurrent default security group creation; retry.")
            return existing.id

    # ---------------------------------------------------------------- groups

    def list_groups(
        self, context: RequestContext, asked: query.ListRequest | None = None
    ) -> list[dict[str, Any]]:
        """The groups `context` may see (`get_security_group`, decided once per project),
        listed in SQL as `asked` says, each with its rules (one query for the page's)."""
        if context.project_id:
            self.ensure_default(context.project_id)
        with self._store.transaction() as unit:
            session = unit.session
            visible = self._visible_projects(unit, context, "get_security_group", listing.group)

            def render(rows: list[Any], fields: set[str] | None) -> list[dict[str, Any]]:
                wanted = fields is None or "security_group_rules" in fields
                rules = listing.group_rules(session, [r[0] for r in rows]) if wanted else {}
                return [
                    {
                        "id": row[0],
                        "name": row[1],
                        "description": row[2],
                        "project_id": row[3],
                        "tenant_id": row[3],
                        "stateful": row[4],
                        "security_group_rules": [_rule_listed(r) for r in rules.get(row[0], [])],
                        "tags": listing.decode(row[5]) or [],
                        "created_at": query.stamp(row[6]),
                        "updated_at": query.stamp(row[7]),
                        "revision_number": row[8],
                    }
                    for row in rows
                ]

            return query.run(
                session, listing.SECURITY_GROUPS, listing.GROUP_COLUMNS, asked, visible, render
            )

    def _visible_projects(
        self, unit: Unit, context: RequestContext, rule: str, table: Any
    ) -> listing.Clause:
        """Rows of `table` whose project the `rule` (on `target.project_id`) lets `context`
        see, decided once per distinct project."""
        collection = (
            listing.SECURITY_GROUPS if table is listing.group else listing.SECURITY_GROUP_RULES
        )
        return listing.visibility(
            unit.session,
            collection,
            (table.c.project_id,),
            lambda key: self._policy.check(rule, context, {"target.project_id": key[0]}),
        )

    def get_group(self, context: RequestContext, group_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            row = self._visible_group(unit, context, group_id)
            return self._group_view(row, unit.security_group_rules([row.id]))

    def create_group(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, GROUP_CREATE, "security_group")
        project = self._owner(context, attrs)
        self._policy.authorize("create_security_group", context, {"target.project_id": project})
        name = text(attrs.get("name"), "name")
        description = text(attrs.get("description"), "description")
        stateful = _stateful(attrs.get("stateful", True))
        self.ensure_default(project)
        if name == DEFAULT_NAME:
            raise NeutronConflict(
                "Default security group already exists.", "SecurityGroupDefaultAlreadyExists"
            )
        self._store.ensure_project(project)
        now = utcnow()
        group = SecurityGroupRow(
            id=str(uuid.uuid4()),
            project_id=project,
            name=name,
            description=description,
            stateful=stateful,
            default_of=None,
            tags=[],
            created_at=now,
            updated_at=now,
            revision_number=0,
        )
        with self._store.transaction() as unit:
            unit.lock_project(project)
            self._check_quota(unit, "security_group", project)
            rules = [self._new_rule(group, "egress", e) for e in ETHERTYPES]
            unit.add(group)
            unit.add(*rules)
            return self._group_view(group, rules)

    def update_group(self, context: RequestContext, group_id: str, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, GROUP_UPDATE, "security_group")
        with self._store.transaction() as unit:
            row = self._visible_group(unit, context, group_id)
            self._policy.authorize("update_security_group", context, self._target(row))
            check_revision(unit, row)
            if "name" in attrs:
                name = text(attrs["name"], "name")
                if row.default_of is not None and name != row.name:
                    raise NeutronConflict(
                        "Updating default security group not allowed.",
                        "SecurityGroupCannotUpdateDefault",
                    )
                if row.default_of is None and name == DEFAULT_NAME:
                    raise NeutronConflict(
                        "Default security group already exists.",
                        "SecurityGroupDefaultAlreadyExists",
                    )
                row.name = name
            if "description" in attrs:
                row.description = text(attrs["description"], "description")
            if "stateful" in attrs:
                row.stateful = _stateful(attrs["stateful"])
            self._touch(row)
            unit.flush()
            return self._group_view(row, unit.security_group_rules([row.id]))

    def delete_group(self, context: RequestContext, group_id: str) -> None:
        """Refused while a port uses the group (the database refuses it too, should a port
        take it meanwhile); the default group only goes by an administrator's hand."""
        try:
            with self._store.transaction() as unit:
                row = self._visible_group(unit, context, group_id)
                self._policy.authorize("delete_security_group", context, self._target(row))
                check_revision(unit, row)
                if row.default_of is not None and not self.is_admin(context):
                    raise NeutronConflict(
                        "Insufficient rights for removing default security group.",
                        "SecurityGroupCannotRemoveDefault",
                    )
                if unit.security_group_in_use(row.id):
                    raise self._in_use(row.id)
                unit.delete(row)
        except Collision:
            raise self._in_use(group_id) from None

    @staticmethod
    def _in_use(group_id: str) -> NeutronConflict:
        return NeutronConflict(f"Security Group {group_id} in use.", "SecurityGroupInUse")

    def taggable(
        self, unit: Unit, context: RequestContext, group_id: str
    ) -> tuple[SecurityGroupRow, dict[str, Any]]:
        row = self._visible_group(unit, context, group_id)
        return row, self._target(row)

    # ---------------------------------------------------------------- rules

    def list_rules(
        self, context: RequestContext, asked: query.ListRequest | None = None
    ) -> list[dict[str, Any]]:
        """The rules `context` may see (`get_security_group_rule`, once per project), listed
        in SQL as `asked` says."""
        with self._store.transaction() as unit:
            session = unit.session
            visible = self._visible_projects(unit, context, "get_security_group_rule", listing.rule)
            return query.run(
                session,
                listing.SECURITY_GROUP_RULES,
                listing.RULE_COLUMNS,
                asked,
                visible,
                lambda rows, _fields: [_rule_listed(r) for r in rows],
            )

    def get_rule(self, context: RequestContext, rule_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return self.rule_view(self._visible_rule(unit, context, rule_id))

    def create_rule(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, RULE_CREATE, "security_group_rule")
        if attrs.get("remote_address_group_id") is not None:
            raise invalid(
                "remote_address_group_id: address groups are not supported by this cloud; "
                "use remote_ip_prefix or remote_group_id."
            )
        group_id = attrs.get("security_group_id")
        if not isinstance(group_id, str) or not group_id:
            raise NeutronBadRequest(
                "Failed to parse request. Required attribute 'security_group_id' not specified"
            )
        direction = attrs.get("direction")
        if direction not in DIRECTIONS:
            raise invalid(f"'{direction}' is not in {list(DIRECTIONS)}")
        ethertype = attrs.get("ethertype", "IPv4")
        if ethertype not in ETHERTYPES:
            raise invalid(f"'{ethertype}' is not in {list(ETHERTYPES)}")
        protocol, number = _protocol(attrs.get("protocol"))
        if number == 58 and ethertype == "IPv4":
            raise NeutronBadRequest(
                f"Security group rule for ethertype '{ethertype}' not supported. Allowed "
                f"ethertype for protocol {protocol} is IPv6.",
                "SecurityGroupEthertypeConflictWithProtocol",
            )
        low, high = _port(attrs.get("port_range_min")), _port(attrs.get("port_range_max"))
        _check_ports(number, low, high)
        prefix = _prefix(attrs.get("remote_ip_prefix"), ethertype)
        remote = attrs.get("remote_group_id")
        if remote is not None and prefix is not None:
            raise NeutronBadRequest(
                "Only remote_ip_prefix or remote_group_id may be provided.",
                "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            )
        if remote is not None and not isinstance(remote, str):
            raise group_not_found(str(remote))
        description = text(attrs.get("description"), "description")
        with self._store.transaction() as unit:
            group = self._visible_group(unit, context, group_id)
            if remote is not None:
                self._visible_group(unit, context, remote)
        project = group.project_id
        asked = attrs.get("project_id") or attrs.get("tenant_id")
        if asked and asked != project:
            raise invalid(
                f"the rule's project {asked} is not that of security group {group_id} "
                f"({project}); a rule belongs to its group's project."
            )
        self._policy.authorize(
            "create_security_group_rule", context, {"target.project_id": project}
        )
        print_ = fingerprint(direction, ethertype, number, low, high, prefix, remote)
        now = utcnow()
        rule = SecurityGroupRuleRow(
            id=str(uuid.uuid4()),
            project_id=project,
            security_group_id=group_id,
            direction=direction,
            ethertype=ethertype,
            protocol=protocol,
            port_range_min=low,
            port_range_max=high,
            remote_ip_prefix=prefix,
            remote_group_id=remote,
            fingerprint=print_,
            description=description,
            created_at=now,
            updated_at=now,
            revision_number=0,
        )
        self._store.ensure_project(project)
        try:
            with self._store.transaction() as unit:
                unit.lock_project(project)
                existing = unit.rule_by_fingerprint(group_id, print_)
                if existing is not None:
                    raise self._exists(existing.id)
                self._check_quota(unit, "security_group_rule", project)
                owner = unit.security_group(group_id)
                if owner is None:
                    raise group_not_found(group_id)
                unit.add(rule)
                self._touch(owner)
                unit.flush()
                return self.rule_view(rule)
        except Collision:
            pass
        # A twin committed first, or a group went away meanwhile.
        with self._store.transaction() as unit:
            existing = unit.rule_by_fingerprint(group_id, print_)
            if existing is not None:
                raise self._exists(existing.id)
            if unit.security_group(group_id) is None:
                raise group_not_found(group_id)
            if remote is not None and unit.security_group(remote) is None:
                raise group_not_found(remote)
        raise NeutronUnavailable("Concurrent security group rule changes; retry.")

    @staticmethod
    def _exists(rule_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"Security group rule already exists. Rule id is {rule_id}.",
            "SecurityGroupRuleExists",
        )

    def delete_rule(self, context: RequestContext, rule_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._visible_rule(unit, context, rule_id)
            self._policy.authorize("delete_security_group_rule", context, self._target(row))
            check_revision(unit, row)
            group = unit.security_group(row.security_group_id)
            unit.delete(row)
            if group is not None:
                self._touch(group)
                unit.flush()

    # ---------------------------------------------------------------- ports

    @staticmethod
    def requested_ids(value: Any) -> list[str]:
        """A port's `security_groups` as given: a list of ids, duplicates dropped."""
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise invalid("security_groups must be a list of security group ids.")
        return list(dict.fromkeys(value))

    def check_port_groups(
        self, unit: Unit, context: RequestContext, project: str, group_ids: Sequence[str]
    ) -> None:
        """Each group exists and is the port's project's (any project's, for an admin)."""
        admin = self.is_admin(context)
        rows = {g.id: g for g in unit.security_groups(list(group_ids))}
        for group_id in group_ids:
            row = rows.get(group_id)
            if row is None or (row.project_id != project and not admin):
                raise group_not_found(group_id)
