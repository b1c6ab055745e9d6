"""Read-only records of every port and address, for the edge sync's whole-state passes.

A pass reads every port, address and group membership of the cloud, and does so after every
burst of writes. As ORM objects those reads were half of a pass (5,000 ports: 160 ms of 300);
plain result rows cost a fraction, and nothing in a pass changes them. The protocols name what
the compilers read, which both these rows and the ORM classes provide.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vistack.network.db.tables import IpAllocationRow, PortRow, PortSecurityGroupRow


class PortRecord(Protocol):
    """The columns of a port the compilers read, as `PortRow` has them."""

    @property
    def id(self) -> str: ...
    @property
    def project_id(self) -> str: ...
    @property
    def network_id(self) -> str: ...
    @property
    def mac_address(self) -> str: ...
    @property
    def admin_state_up(self) -> bool: ...
    @property
    def device_owner(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def port_security_enabled(self) -> bool: ...
    @property
    def allowed_address_pairs(self) -> list[dict[str, str]]: ...


#: `PortRecord`'s columns: only these are read (and only one JSON column decoded per row).
PORT_RECORD_COLUMNS = (
    "id",
    "project_id",
    "network_id",
    "mac_address",
    "admin_state_up",
    "device_owner",
    "device_id",
    "port_security_enabled",
    "allowed_address_pairs",
)


class AllocationRecord(Protocol):
    """An address held by a port, as `IpAllocationRow` has it."""

    @property
    def subnet_id(self) -> str: ...
    @property
    def ip_address(self) -> str: ...
    @property
    def port_id(self) -> str: ...
    @property
    def network_id(self) -> str: ...


def port_records(session: Session) -> list[PortRecord]:
    """Every port, ordered by id."""
    table = PortRow.__table__
    query = select(*(table.c[name] for name in PORT_RECORD_COLUMNS)).order_by(table.c.id)
    # On the session's connection, past the ORM's result handling (it costs per row).
    rows: list[Any] = list(session.connection().execute(query))
    return rows


def allocation_records(session: Session) -> dict[str, list[AllocationRecord]]:
    """Port id -> the addresses it holds."""
    out: dict[str, list[AllocationRecord]] = {}
    for row in session.connection().execute(select(IpAllocationRow.__table__)):
        out.setdefault(row.port_id, []).append(row)
    return out


def port_group_ids(session: Session) -> dict[str, list[str]]:
    """Port id -> its security groups' ids, sorted."""
    table = PortSecurityGroupRow.__table__
    query = select(table.c.port_id, table.c.security_group_id).order_by(table.c.security_group_id)
    out: dict[str, list[str]] = {}
    for port_id, group_id in session.connection().execute(query):
        out.setdefault(port_id, []).append(group_id)
    return out
