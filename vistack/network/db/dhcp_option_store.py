"""Reads and writes of ports' extra DHCP options, as plain (name, IP version, value) tuples.

The domain (`domain/dhcp_options.py`) checks and merges options; this module is the only place
their rows are queried or changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from vistack.network.db.dhcp_option_tables import PortDhcpOptionRow

Key = tuple[str, int]  # (opt_name, ip_version)


def add(session: Session, port_id: str, options: Iterable[tuple[str, int, str]]) -> None:
    """Store options of a port that has none of them yet."""
    session.add_all(
        PortDhcpOptionRow(port_id=port_id, opt_name=name, ip_version=version, opt_value=value)
        for name, version, value in options
    )


def current(session: Session, port_id: str) -> dict[Key, str]:
    """One port's options, by (name, IP version)."""
    query = select(PortDhcpOptionRow).where(PortDhcpOptionRow.port_id == port_id)
    return {(row.opt_name, row.ip_version): row.opt_value for row in session.scalars(query)}


def replace(session: Session, port_id: str, wanted: Mapping[Key, str]) -> None:
    """Make the port's rows exactly `wanted`: changed values updated in place, the rest
    deleted or added (rows are keyed by name and version, so an update never duplicates)."""
    query = select(PortDhcpOptionRow).where(PortDhcpOptionRow.port_id == port_id)
    existing = {(row.opt_name, row.ip_version): row for row in session.scalars(query)}
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
        elif row.opt_value != wanted[key]:
            row.opt_value = wanted[key]
    add(
        session,
        port_id,
        ((n, v, value) for (n, v), value in wanted.items() if (n, v) not in existing),
    )


def every_port(session: Session) -> dict[str, list[tuple[str, int, str]]]:
    """Every port's options in one query (the edge state's compile)."""
    table = PortDhcpOptionRow.__table__
    rows: dict[str, list[tuple[str, int, str]]] = {}
    for port_id, name, version, value in session.execute(
        select(table.c.port_id, table.c.opt_name, table.c.ip_version, table.c.opt_value)
    ).all():
        rows.setdefault(port_id, []).append((name, version, value))
    return rows
