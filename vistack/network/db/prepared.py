"""Statements built once, for the queries a port create runs (hundreds a second).

Building a `select()` (coercing each clause) and computing its cache key cost more than SQLite
takes to run it; a statement built at import with bound parameters does both once. Each is the
same SQL the `Unit` method built per call before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert, select

from vistack.network.db.sharing_tables import RbacPolicyRow
from vistack.network.db.tables import (
    IpAllocationRow,
    NetworkRow,
    PortRow,
    QuotaRow,
    SecurityGroupRow,
    SubnetRow,
)

QUOTA_OVERRIDE = select(QuotaRow.hard_limit).where(
    QuotaRow.project_id == bindparam("project_id"), QuotaRow.resource == bindparam("resource")
)

NETWORK = select(NetworkRow).where(NetworkRow.id == bindparam("network_id"))
#: The network, row-locked to commit: shared (port creates) or exclusive (deletes).
NETWORK_LOCKED = {
    True: NETWORK.with_for_update(read=True),
    False: NETWORK.with_for_update(read=False),
}

PORT_LOCK = select(PortRow.id).where(PortRow.id == bindparam("port_id")).with_for_update()

NETWORK_SUBNETS = (
    select(SubnetRow)
    .where(SubnetRow.network_id == bindparam("network_id"))
    .order_by(SubnetRow.created_at, SubnetRow.id)
)

TAKEN_AMONG = select(IpAllocationRow.ip_address).where(
    IpAllocationRow.subnet_id == bindparam("subnet_id"),
    IpAllocationRow.ip_address.in_(bindparam("addresses", expanding=True)),
)

DEFAULT_GROUP_ID = select(SecurityGroupRow.id).where(
    SecurityGroupRow.default_of == bindparam("project_id")
)

_GRANTS = select(RbacPolicyRow.object_id, RbacPolicyRow.action).where(
    RbacPolicyRow.target_project.in_(bindparam("targets", expanding=True)),
    RbacPolicyRow.object_id.in_(bindparam("network_ids", expanding=True)),
)
#: The RBAC grants on some networks; locked: held to commit (see `Unit.rbac_grants`).
GRANTS_ON = {False: _GRANTS, True: _GRANTS.with_for_update(read=True)}


@cache
def insert_into(table: Table) -> Insert:
    """`INSERT INTO table`, built once per table."""
    return insert(table)


def table_of(row: Any) -> Table:
    table: Table = row.__table__
    return table
