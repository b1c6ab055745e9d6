"""The network repository: one `Unit` per transaction, queries the domain asks for by name.

`IntegrityError` never leaves this module: a unique or primary key collision (a VLAN, an
address or a MAC another request took first) becomes `Collision`, which the domain retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vistack.common.db import Base, Database
from vistack.network.db import prepared
from vistack.network.db.l3_tables import FloatingIpRow, RouterRow
from vistack.network.db.sharing_tables import (
    RbacPolicyRow,
    SubnetPoolRow,
    SubnetPoolSubnetRow,
)
from vistack.network.db.tables import (
    IpAllocationRow,
    NetworkRow,
    PortRow,
    PortSecurityGroupRow,
    ProjectLockRow,
    QuotaRow,
    SecurityGroupRow,
    SecurityGroupRuleRow,
    SegmentRow,
    SubnetRow,
)

LOG = logging.getLogger(__name__)

Counted = (
    type[NetworkRow]
    | type[SubnetRow]
    | type[PortRow]
    | type[SecurityGroupRow]
    | type[SecurityGroupRuleRow]
    | type[RouterRow]
    | type[FloatingIpRow]
)
COUNTED: dict[str, Counted] = {
    "network": NetworkRow,
    "subnet": SubnetRow,
    "port": PortRow,
    "security_group": SecurityGroupRow,
    "security_group_rule": SecurityGroupRuleRow,
    "router": RouterRow,
    "floatingip": FloatingIpRow,
}


class Collision(Exception):
    """A row collided with one a concurrent request committed first; retrying may succeed."""


class Unit:
    """The queries of one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._when_done: list[Callable[[], None]] = []
        #: Whether it wrote past the unit of work (`insert_new`), which no flush reports.
        self.wrote = False

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the transaction has ended, committed or not."""
        self._when_done.append(callback)

    def _done(self) -> None:
        for callback in self._when_done:
            callback()

    def lock_project(self, project_id: str) -> None:
        """Serialise this project's creates from here to commit (see `ProjectLockRow`)."""
        self.session.execute(
            update(ProjectLockRow)
            .where(ProjectLockRow.project_id == project_id)
            .values(generation=ProjectLockRow.generation + 1)
        )

    def count(self, resource: str, project_id: str) -> int:
        table = COUNTED[resource]
        query = select(func.count()).select_from(table).where(table.project_id == project_id)
        return int(self.session.scalar(query) or 0)

    def quota_override(self, project_id: str, resource: str) -> int | None:
        """The project's own limit on one resource, None when it has the default."""
        params = {"project_id": project_id, "resource": resource}
        return self.session.scalars(prepared.QUOTA_OVERRIDE, params).first()

    def quota_overrides(self, project_id: str) -> dict[str, int]:
        rows = self.session.scalars(select(QuotaRow).where(QuotaRow.project_id == project_id))
        return {row.resource: row.hard_limit for row in rows}

    def set_quota(self, project_id: str, resource: str, limit: int) -> None:
        row = self.session.get(QuotaRow, (project_id, resource))
        if row is None:
            self.session.add(QuotaRow(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit

    def delete_quotas(self, project_id: str) -> None:
        self.session.execute(delete(QuotaRow).where(QuotaRow.project_id == project_id))

    def quota_projects(self) -> list[str]:
        return list(self.session.scalars(select(QuotaRow.project_id).distinct()))

    def network(self, network_id: str) -> NetworkRow | None:
        # A prepared select costs half of `session.get`'s own (per call built) load.
        return self.session.scalars(prepared.NETWORK, {"network_id": network_id}).first()

    def network_locked(self, network_id: str, *, shared: bool) -> NetworkRow | None:
        """The network, row-locked to commit: shared by port creates (they do not block one
        another), exclusive by a delete (`set_network_status` takes it too)."""
        query = prepared.NETWORK_LOCKED[shared]
        return self.session.scalars(query, {"network_id": network_id}).first()

    def set_network_status(self, network_id: str, status: str) -> None:
        """Write the status straight away: as a transaction's first statement it takes the
        write lock (SQLite) or the row lock (MariaDB, PostgreSQL) before anything is read."""
        self.session.execute(
            update(NetworkRow).where(NetworkRow.id == network_id).values(status=status)
        )

    def subnet(self, subnet_id: str) -> SubnetRow | None:
        return self.session.get(SubnetRow, subnet_id)

    def lock_for_revision(self, row: Any) -> None:
        """Take the write lock on `row` before its revision is read: a no-op UPDATE of the
        revision, which row-locks on MariaDB/PostgreSQL and, on SQLite (where `FOR UPDATE` is
        ignored and a SELECT opens no transaction), makes the writers queue, so the revision
        read next is the one the last committed writer left."""
        table = type(row).__table__
        self.session.execute(
            update(table)
            .where(table.c.id == row.id)
            .values(revision_number=table.c.revision_number)
        )

    def lock_port(self, port_id: str) -> None:
        """Row-lock the port to commit (a no-op on SQLite, whose writers are serial anyway)."""
        self.session.execute(prepared.PORT_LOCK, {"port_id": port_id})

    def port(self, port_id: str) -> PortRow | None:
        return self.session.get(PortRow, port_id)

    def networks(self) -> Sequence[NetworkRow]:
        return self.session.scalars(select(NetworkRow).order_by(NetworkRow.id)).all()

    def subnets(self, network_id: str | None = None) -> Sequence[SubnetRow]:
        if network_id is not None:
            return self.session.scalars(prepared.NETWORK_SUBNETS, {"network_id": network_id}).all()
        query = select(SubnetRow).order_by(SubnetRow.created_at, SubnetRow.id)
        if network_id is not None:
            query = query.where(SubnetRow.network_id == network_id)
        return self.session.scalars(query).all()

    def ports(self, network_id: str | None = None) -> Sequence[PortRow]:
        query = select(PortRow).order_by(PortRow.id)
        if network_id is not None:
            query = query.where(PortRow.network_id == network_id)
        return self.session.scalars(query).all()

    def ports_owned_by(self, network_ids: Sequence[str], owner: str) -> Sequence[PortRow]:
        """The ports of these networks whose `device_owner` is `owner` (e.g. their DHCP ports)."""
        query = (
            select(PortRow)
            .where(PortRow.network_id.in_(network_ids), PortRow.device_owner == owner)
            .order_by(PortRow.id)
        )
        return self.session.scalars(query).all()

    def ports_by_id(self, port_ids: Sequence[str]) -> Sequence[PortRow]:
        return self.session.scalars(select(PortRow).where(PortRow.id.in_(port_ids))).all()

    def networks_by_id(self, network_ids: Sequence[str]) -> Sequence[NetworkRow]:
        return self.session.scalars(select(NetworkRow).where(NetworkRow.id.in_(network_ids))).all()

    def subnets_by_id(self, subnet_ids: Sequence[str]) -> Sequence[SubnetRow]:
        return self.session.scalars(select(SubnetRow).where(SubnetRow.id.in_(subnet_ids))).all()

    def used_vlans(self, physical_network: str) -> set[int]:
        query = select(SegmentRow.vlan_id).where(SegmentRow.physical_network == physical_network)
        return set(self.session.scalars(query))

    def subnet_ids_by_network(self) -> dict[str, list[str]]:
        ids: dict[str, list[str]] = {}
        query = select(SubnetRow.network_id, SubnetRow.id).order_by(
            SubnetRow.created_at, SubnetRow.id
        )
        for network_id, subnet_id in self.session.execute(query):
            ids.setdefault(network_id, []).append(subnet_id)
        return ids

    def taken_among(self, subnet_id: str, addresses: Sequence[str]) -> set[str]:
        """Which of `addresses` the subnet has handed out (a bounded query, by primary key)."""
        if not addresses:
            return set()
        params = {"subnet_id": subnet_id, "addresses": list(addresses)}
        return set(self.session.scalars(prepared.TAKEN_AMONG, params))

    def allocation(self, subnet_id: str, ip_address: str) -> IpAllocationRow | None:
        return self.session.get(IpAllocationRow, (subnet_id, ip_address))

    def allocations(
        self, port_ids: Sequence[str] | None = None
    ) -> dict[str, list[IpAllocationRow]]:
        query = select(IpAllocationRow)
        if port_ids is not None:
            query = query.where(IpAllocationRow.port_id.in_(port_ids))
        out: dict[str, list[IpAllocationRow]] = {}
        for row in self.session.scalars(query):
            out.setdefault(row.port_id, []).append(row)
        return out

    def subnet_allocation_ports(self, subnet_id: str) -> list[str]:
        query = select(IpAllocationRow.port_id).where(IpAllocationRow.subnet_id == subnet_id)
        return list(self.session.scalars(query))

    def delete_port_allocations(self, port_id: str) -> None:
        self.session.execute(delete(IpAllocationRow).where(IpAllocationRow.port_id == port_id))
        self.session.flush()

    def mac_in_use(self, network_id: str, mac: str) -> bool:
        query = select(PortRow.id).where(
            PortRow.network_id == network_id, PortRow.mac_address == mac
        )
        return self.session.scalar(query) is not None

    def security_group(self, group_id: str) -> SecurityGroupRow | None:
        return self.session.get(SecurityGroupRow, group_id)

    def security_groups(self, ids: Sequence[str] | None = None) -> Sequence[SecurityGroupRow]:
        query = select(SecurityGroupRow).order_by(SecurityGroupRow.id)
        if ids is not None:
            query = query.where(SecurityGroupRow.id.in_(ids))
        return self.session.scalars(query).all()

    def default_security_group_id(self, project_id: str) -> str | None:
        params = {"project_id": project_id}
        return self.session.scalars(prepared.DEFAULT_GROUP_ID, params).first()

    def default_security_group(self, project_id: str) -> SecurityGroupRow | None:
        query = select(SecurityGroupRow).where(SecurityGroupRow.default_of == project_id)
        return self.session.scalars(query).first()

    def security_group_rule(self, rule_id: str) -> SecurityGroupRuleRow | None:
        return self.session.get(SecurityGroupRuleRow, rule_id)

    def security_group_rules(
        self, group_ids: Sequence[str] | None = None
    ) -> Sequence[SecurityGroupRuleRow]:
        query = select(SecurityGroupRuleRow).order_by(
            SecurityGroupRuleRow.created_at, SecurityGroupRuleRow.id
        )
        if group_ids is not None:
            query = query.where(SecurityGroupRuleRow.security_group_id.in_(group_ids))
        return self.session.scalars(query).all()

    def rule_by_fingerprint(self, group_id: str, fingerprint: str) -> SecurityGroupRuleRow | None:
        query = select(SecurityGroupRuleRow).where(
            SecurityGroupRuleRow.security_group_id == group_id,
            SecurityGroupRuleRow.fingerprint == fingerprint,
        )
        return self.session.scalars(query).first()

    def port_security_groups(self, port_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Port id → its groups' ids (sorted, so views are stable)."""
        query = select(PortSecurityGroupRow).order_by(PortSecurityGroupRow.security_group_id)
        if port_ids is not None:
            query = query.where(PortSecurityGroupRow.port_id.in_(port_ids))
        out: dict[str, list[str]] = {}
        for row in self.session.scalars(query):
            out.setdefault(row.port_id, []).append(row.security_group_id)
        return out

    @staticmethod
    def new_port_groups(port_id: str, group_ids: Sequence[str]) -> list[PortSecurityGroupRow]:
        """The membership rows of a port being created (for `insert_new`)."""
        return [PortSecurityGroupRow(port_id=port_id, security_group_id=g) for g in group_ids]

    def set_port_security_groups(self, port_id: str, group_ids: Sequence[str]) -> None:
        """Make the port's groups these, touching only the rows that change: removals by
        primary key, never a `DELETE ... WHERE port_id` matching nothing, whose gap lock
        (MariaDB) deadlocks concurrent port creates inserting beside it."""
        current = self.port_security_groups([port_id]).get(port_id, [])
        gone = [g for g in current if g not in group_ids]
        if gone:
            self.session.execute(
                delete(PortSecurityGroupRow).where(
                    PortSecurityGroupRow.port_id == port_id,
                    PortSecurityGroupRow.security_group_id.in_(gone),
                )
            )
        self.add(
            *(
                PortSecurityGroupRow(port_id=port_id, security_group_id=g)
                for g in group_ids
                if g not in current
            )
        )

    def security_group_in_use(self, group_id: str) -> bool:
        query = select(PortSecurityGroupRow.port_id).where(
            PortSecurityGroupRow.security_group_id == group_id
        )
        return self.session.scalars(query).first() is not None

    # ---------------------------------------------------------------- sharing (RBAC, pools)

    def rbac_policy(self, policy_id: str) -> RbacPolicyRow | None:
        return self.session.get(RbacPolicyRow, policy_id)

    def rbac_policies(self, object_id: str | None = None) -> Sequence[RbacPolicyRow]:
        query = select(RbacPolicyRow).order_by(RbacPolicyRow.id)
        if object_id is not None:
            query = query.where(RbacPolicyRow.object_id == object_id)
        return self.session.scalars(query).all()

    def rbac_grants(
        self, project_id: str | None, network_ids: Sequence[str] | None = None, lock: bool = False
    ) -> dict[str, set[str]]:
        """Network id -> the actions granted to `project_id` (by its id or by `*`). `lock`:
        a locking read (the latest committed policies, whatever the transaction's snapshot),
        held to commit so the policies cannot go meanwhile."""
        targets = ["*"] if project_id is None else ["*", project_id]
        grants: dict[str, set[str]] = {}
        if network_ids is not None:
            params = {"targets": targets, "network_ids": list(network_ids)}
            for network_id, action in self.session.execute(prepared.GRANTS_ON[lock], params):
                grants.setdefault(network_id, set()).add(action)
            return grants
        query = select(RbacPolicyRow.object_id, RbacPolicyRow.action).where(
            RbacPolicyRow.target_project.in_(targets)
        )
        if lock:
            query = query.with_for_update(read=True)
        for network_id, action in self.session.execute(query):
            grants.setdefault(network_id, set()).add(action)
        return grants

    def subnetpool(self, pool_id: str) -> SubnetPoolRow | None:
        return self.session.get(SubnetPoolRow, pool_id)

    def subnetpools(self) -> Sequence[SubnetPoolRow]:
        return self.session.scalars(select(SubnetPoolRow).order_by(SubnetPoolRow.id)).all()

    def default_subnetpool(self, ip_version: int) -> SubnetPoolRow | None:
        query = select(SubnetPoolRow).where(SubnetPoolRow.default_of_version == ip_version)
        return self.session.scalars(query).first()

    def lock_subnetpool(self, pool_id: str) -> bool:
        """Serialise allocations from (and the deletion of) one pool until commit: run first
        in its transaction, so what is read next includes every allocation committed before.
        False when the pool is gone."""
        result = self.session.execute(
            update(SubnetPoolRow)
            .where(SubnetPoolRow.id == pool_id)
            .values(generation=SubnetPoolRow.generation + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def subnetpool_subnets(self, pool_id: str) -> Sequence[SubnetRow]:
        """The subnets allocated from the pool."""
        query = (
            select(SubnetRow)
            .join(SubnetPoolSubnetRow, SubnetPoolSubnetRow.subnet_id == SubnetRow.id)
            .where(SubnetPoolSubnetRow.subnetpool_id == pool_id)
            .order_by(SubnetRow.id)
        )
        return self.session.scalars(query).all()

    def add(self, *rows: Base) -> None:
        """Insert rows now, so a collision surfaces here (as `Collision`), in order."""
        for row in rows:
            self.session.add(row)
            self.flush()

    def insert_new(self, *rows: Base) -> None:
        """Insert new rows as they are, one INSERT per run of rows of one table, in order, past
        the unit of work (it costs more than the statements; a port create is three). The
        objects stay transient: fine for rows nothing changes later in the transaction. A
        collision surfaces here as `Collision`."""
        runs: list[tuple[Any, list[dict[str, Any]]]] = []
        for row in rows:
            table = prepared.table_of(row)
            if not runs or runs[-1][0] is not table:
                runs.append((table, []))
            runs[-1][1].append(_column_values(row))
        try:
            for table, values in runs:
                self.session.execute(prepared.insert_into(table), values)
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc
        self.wrote = True

    def delete(self, row: Base) -> None:
        self.session.delete(row)
        self.flush()

    def flush(self) -> None:
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc


class NetworkStore:
    """Opens units of work on the database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        #: Called (no arguments) after every transaction that committed a write: the edge data
        #: plane recomputes its state from them, so no service method needs its own hook.
        self.change_listeners: list[Callable[[], None]] = []
        database.listen_sessions("after_flush", _mark_flushed)
        #: Projects whose lock row this process has seen exist (lock rows are never deleted),
        #: so each is looked for once, not on every create.
        self._ensured: set[str] = set()

    @property
    def database_url(self) -> str:
        """The database's URL with its password (for a worker process of this node)."""
        return self._database.engine.url.render_as_string(hide_password=False)

    @contextmanager
    def transaction(self) -> Iterator[Unit]:
        """A unit that commits on success; a collision at commit is a `Collision` too."""
        unit: Unit | None = None
        wrote = False
        try:
            with self._database.transaction() as session:
                unit = Unit(session)
                yield unit
                session.flush()
                wrote = bool(session.info.pop(_FLUSHED, False)) or unit.wrote
        except IntegrityError as exc:
            raise Collision(str(exc.orig)) from exc
        finally:
            if unit is not None:
                unit._done()
        if wrote:
            self._notify()

    def _notify(self) -> None:
        for listener in list(self.change_listeners):
            try:
                listener()
            except Exception:  # a listener's failure must not fail the committed request
                LOG.exception("network change listener %r failed", listener)

    def ensure_project(self, project_id: str) -> None:
        """Make the project's lock row exist (idempotent, race-safe), in its own transaction."""
        if project_id in self._ensured:
            return
        try:
            with self._database.transaction() as session:
                if session.get(ProjectLockRow, project_id) is None:
                    session.add(ProjectLockRow(project_id=project_id, generation=0))
        except IntegrityError:
            pass  # a concurrent request created it: that is all we wanted
        self._ensured.add(project_id)


#: `Session.info` key: the session flushed a change (see `NetworkStore.transaction`).
_FLUSHED = "vistack.network.flushed"


def _mark_flushed(session: Session, _context: Any) -> None:
    session.info[_FLUSHED] = True


def _column_values(row: Base) -> dict[str, Any]:
    """A new row's column values as `insert()` takes them: those set on the object (a column
    left unset gets its default from the INSERT)."""
    state = row.__dict__
    return {column: state[attr] for attr, column in _column_keys(type(row)) if attr in state}


@cache
def _column_keys(mapped: type[Base]) -> tuple[tuple[str, str], ...]:
    """(attribute, column) names of a mapped class, read from its mapper once."""
    return tuple((a.key, a.columns[0].key) for a in sa_inspect(mapped).column_attrs)


def values(row: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}
