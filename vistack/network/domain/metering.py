"""Neutron's L3 metering (`metering` and `metering_source_and_destination_fields`): labels,
their rules, and what the edge data plane counts for them.

A label counts the traffic crossing the gateway leg of every router of its project (of every
router when `shared`): `ingress` arrives from the external network, `egress` leaves to it. A
rule names the addresses counted, either with the legacy `remote_ip_prefix` (the far end: the
source of ingress traffic, the destination of egress traffic) or with `source_ip_prefix` and/or
`destination_ip_prefix`; `excluded` rules are matched first and keep their traffic out of the
count. The data plane only ever sees source/destination: `meters_of` turns remote prefixes into
the field they mean, so the agent has one kind of rule to render.

Everything here is admin-only by Neutron's default policy; a caller the policy refuses sees
empty lists and 404s (as Neutron hides what a policy does not let you get), and a 403 on create.

Rules of one label are serialised by bumping the label's `generation` first, so the overlap
check (same label, direction and `excluded`: their address sets intersect) sees every rule
committed before, and two overlapping creates cannot both win.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.edge.state import MeterLabel, MeterRule, Router
from vistack.network.db import metering_queries
from vistack.network.db.l3_tables import RouterRow
from vistack.network.db.metering_tables import MeteringLabelRow, MeteringLabelRuleRow
from vistack.network.db.repository import Collision, NetworkStore, Unit
from vistack.network.domain.attributes import boolean, check_attributes, text
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    invalid,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LABEL_CREATE = {"name", "description", "shared", "project_id", "tenant_id"}
RULE_CREATE = {
    "metering_label_id",
    "direction",
    "remote_ip_prefix",
    "source_ip_prefix",
    "destination_ip_prefix",
    "excluded",
    "project_id",
    "tenant_id",
}
DIRECTIONS = ("ingress", "egress")
PREFIX_FIELDS = ("remote_ip_prefix", "source_ip_prefix", "destination_ip_prefix")


# ---------------------------------------------------------------- faults and input


def label_not_found(label_id: str) -> NeutronNotFound:
    return NeutronNotFound(f"Metering label {label_id} does not exist", "MeteringLabelNotFound")


def rule_not_found(rule_id: str) -> NeutronNotFound:
    return NeutronNotFound(
        f"Metering label rule {rule_id} does not exist", "MeteringLabelRuleNotFound"
    )


def _prefix(value: Any, name: str) -> Network | None:
    """A CIDR as Neutron's `type:subnet_or_none`: host bits set is refused, naming the CIDR
    that was probably meant, since a counter on the wrong prefix would silently count nothing."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"'{value}' is not a valid IP subnet for {name}.")
    try:
        strict = ipaddress.ip_network(value, strict=True)
        if "/" in value:
            return strict
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise invalid(f"'{value}' is not a valid IP subnet for {name}.") from None
    raise invalid(f"'{value}' isn't a recognized IP subnet cidr, '{loose}' is recommended")


def _project(attrs: dict[str, Any], context: RequestContext) -> str:
    owner = attrs.get("project_id") or attrs.get("tenant_id") or context.project_id
    if not owner or not isinstance(owner, str):
        raise NeutronBadRequest("A project_id is required (the token is not project-scoped).")
    if len(owner) > 64:
        raise invalid(f"'{owner[:32]}...' exceeds maximum length of 64 for project_id.")
    return owner


# ---------------------------------------------------------------- views


def label_view(row: MeteringLabelRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "shared": bool(row.shared),
        "project_id": row.project_id,
        "tenant_id": row.project_id,
    }


def rule_view(row: MeteringLabelRuleRow, project_id: str) -> dict[str, Any]:
    """A rule as Neutron shows it; its project is its label's."""
    return {
        "id": row.id,
        "metering_label_id": row.metering_label_id,
        "direction": row.direction,
        "excluded": bool(row.excluded),
        "remote_ip_prefix": row.remote_ip_prefix,
        "source_ip_prefix": row.source_ip_prefix,
        "destination_ip_prefix": row.destination_ip_prefix,
        "project_id": project_id,
        "tenant_id": project_id,
    }


# ---------------------------------------------------------------- overlap


def _ends(
    direction: str, remote: Network | None, source: Network | None, destination: Network | None
) -> tuple[Network | None, Network | None]:
    """(source, destination) a rule matches: a remote prefix is the far end of the traffic."""
    if remote is not None:
        return (remote, None) if direction == "ingress" else (None, remote)
    return source, destination


def _row_ends(row: MeteringLabelRuleRow) -> tuple[Network | None, Network | None]:
    def net(text: str | None) -> Network | None:
        return ipaddress.ip_network(text) if text else None

    return _ends(
        row.direction,
        net(row.remote_ip_prefix),
        net(row.source_ip_prefix),
        net(row.destination_ip_prefix),
    )


def _overlap(
    a: tuple[Network | None, Network | None], b: tuple[Network | None, Network | None]
) -> bool:
    """Whether some packet matches both rules: each end overlaps (an open end matches all),
    and both rules are of one IP version."""
    versions = {n.version for n in (*a, *b) if n is not None}
    if len(versions) > 1:
        return False
    return all(x is None or y is None or x.overlaps(y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------- the service


class MeteringService:
    """`/v2.0/metering/metering-labels` and `/v2.0/metering/metering-label-rules`."""

    def __init__(self, store: NetworkStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    @staticmethod
    def _target(project_id: str) -> dict[str, Any]:
        return {"target.project_id": project_id}

    def _sees(self, context: RequestContext, rule: str, project_id: str) -> bool:
        return self._policy.check(rule, context, self._target(project_id))

    def _label(self, unit: Unit, context: RequestContext, label_id: str) -> MeteringLabelRow:
        row = unit.session.get(MeteringLabelRow, label_id)
        if row is None or not self._sees(context, "get_metering_label", row.project_id):
            raise label_not_found(label_id)
        return row

    def _rule(
        self, unit: Unit, context: RequestContext, rule_id: str
    ) -> tuple[MeteringLabelRuleRow, str]:
        found = metering_queries.rule_with_project(unit, rule_id)
        if found is None or not self._sees(context, "get_metering_label_rule", found[1]):
            raise rule_not_found(rule_id)
        return found[0], found[1]

    # -- labels

    def list_labels(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            rows = metering_queries.labels(unit)
            return [
                label_view(r)
                for r in rows
                if self._sees(context, "get_metering_label", r.project_id)
            ]

    def get_label(self, context: RequestContext, label_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return label_view(self._label(unit, context, label_id))

    def create_label(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, LABEL_CREATE, "metering_label")
        owner = _project(attrs, context)
        self._policy.authorize("create_metering_label", context, self._target(owner))
        row = MeteringLabelRow(
            id=str(uuid.uuid4()),
            project_id=owner,
            name=text(attrs.get("name"), "name"),
            description=text(attrs.get("description"), "description"),
            shared=boolean(attrs.get("shared", False), "shared"),
            generation=0,
        )
        with self._store.transaction() as unit:
            unit.add(row)
            return label_view(row)

    def delete_label(self, context: RequestContext, label_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._label(unit, context, label_id)
            self._policy.authorize("delete_metering_label", context, self._target(row.project_id))
            # Rules first, in one statement: the schema's cascade would do it too, but the
            # order is then the database's, not something the ORM has to guess.
            metering_queries.delete_rules_of(unit, label_id)
            unit.delete(row)

    # -- rules

    def list_rules(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            found = metering_queries.rules_with_projects(unit)
            return [
                rule_view(rule, project)
                for rule, project in found
                if self._sees(context, "get_metering_label_rule", project)
            ]

    def get_rule(self, context: RequestContext, rule_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return rule_view(*self._rule(unit, context, rule_id))

    def create_rule(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, RULE_CREATE, "metering_label_rule")
        if "metering_label_id" not in attrs:
            raise NeutronBadRequest(
                "Failed to parse request. Required attribute 'metering_label_id' not specified"
            )
        label_id = attrs["metering_label_id"]
        if not isinstance(label_id, str) or not label_id:
            raise invalid(f"'{label_id}' is not a valid metering_label_id.")
        direction = attrs.get("direction", "ingress")
        if direction not in DIRECTIONS:
            raise invalid(f"{direction} is not in valid_values {list(DIRECTIONS)}")
        excluded = boolean(attrs.get("excluded", False), "excluded")
        remote, source, destination = (_prefix(attrs.get(f), f) for f in PREFIX_FIELDS)
        if remote is not None and (source is not None or destination is not None):
            raise NeutronBadRequest(
                "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or "
                "'destination-ip-prefix'."
            )
        if remote is None and source is None and destination is None:
            raise NeutronBadRequest(
                "You must define at least one of the following parameters 'remote_ip_prefix', "
                "or 'source_ip_prefix' or 'destination_ip_prefix'."
            )
        if source is not None and destination is not None and source.version != destination.version:
            raise invalid(
                "source_ip_prefix and destination_ip_prefix must be of the same IP version."
            )
        ends = _ends(direction, remote, source, destination)
        row = MeteringLabelRuleRow(
            id=str(uuid.uuid4()),
            metering_label_id=label_id,
            direction=direction,
            remote_ip_prefix=str(remote) if remote else None,
            source_ip_prefix=str(source) if source else None,
            destination_ip_prefix=str(destination) if destination else None,
            excluded=excluded,
        )
        try:
            with self._store.transaction() as unit:
                # The label's lock first: every rule committed before is then visible below.
                metering_queries.lock_label(unit, label_id)
                label = self._label(unit, context, label_id)
                self._policy.authorize(
                    "create_metering_label_rule", context, self._target(label.project_id)
                )
                siblings = metering_queries.sibling_rules(unit, label_id, direction, excluded)
                for other in siblings:
                    if _overlap(ends, _row_ends(other)):
                        raise self._overlaps(remote, source, destination)
                unit.add(row)
                return rule_view(row, label.project_id)
        except Collision:  # the label went between the lock and the insert
            raise label_not_found(label_id) from None

    @staticmethod
    def _overlaps(
        remote: Network | None, source: Network | None, destination: Network | None
    ) -> NeutronConflict:
        if remote is not None:
            what = f"remote_ip_prefix {remote}"
        else:
            what = f"source_ip_prefix {source} and destination_ip_prefix {destination}"
        return NeutronConflict(
            f"Metering label rule with {what} overlaps another.", "MeteringLabelRuleOverlaps"
        )

    def delete_rule(self, context: RequestContext, rule_id: str) -> None:
        with self._store.transaction() as unit:
            row, project = self._rule(unit, context, rule_id)
            self._policy.authorize("delete_metering_label_rule", context, self._target(project))
            unit.delete(row)


# ---------------------------------------------------------------- the data plane


def _meter_rule(row: MeteringLabelRuleRow) -> MeterRule:
    source, destination = _row_ends(row)
    return MeterRule(
        direction="ingress" if row.direction == "ingress" else "egress",
        excluded=bool(row.excluded),
        source_ip_prefix=str(source) if source else None,
        destination_ip_prefix=str(destination) if destination else None,
    )


def meters_of(
    labels: Iterable[MeteringLabelRow], rules: Iterable[MeteringLabelRuleRow], project_id: str
) -> tuple[MeterLabel, ...]:
    """The labels that apply to a router of `project_id` (its project's and the shared ones),
    with their rules as the agent renders them, in a stable order (ids) so an unchanged label
    set renders the same table and the agent leaves it, and its counters, alone."""
    by_label: dict[str, list[MeterRule]] = {}
    for rule in sorted(rules, key=lambda r: r.id):
        by_label.setdefault(rule.metering_label_id, []).append(_meter_rule(rule))
    return tuple(
        MeterLabel(label_id=label.id, rules=tuple(by_label.get(label.id, [])))
        for label in sorted(labels, key=lambda r: r.id)
        if label.shared or label.project_id == project_id
    )


def with_meters(
    unit: Unit, router_rows: Sequence[RouterRow], routers: Sequence[Router]
) -> tuple[Router, ...]:
    """`routers` (compiled) with the labels of their projects: two more queries, however many
    routers and labels."""
    labels = metering_queries.labels(unit)
    if not labels:
        return tuple(routers)
    rules = metering_queries.rules(unit)
    projects = {r.id: r.project_id for r in router_rows}
    return tuple(
        dataclasses.replace(
            router, meters=meters_of(labels, rules, projects.get(router.router_id, ""))
        )
        for router in routers
    )
