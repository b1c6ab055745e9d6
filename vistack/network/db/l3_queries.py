"""The queries routers and floating IPs ask of a `Unit`, kept beside their tables.

They run on the unit's session inside the caller's transaction; writes go through
`Unit.add`/`Unit.flush`, so a key collision still surfaces as `Collision`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update

from vistack.network.db.l3_tables import (
    FLOATINGIP_OWNER,
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    FloatingIpRow,
    RouterRow,
)
from vistack.network.db.repository import Unit
from vistack.network.db.tables import IpAllocationRow, PortRow


def lock_router(unit: Unit, router_id: str) -> None:
    """Take the router's row lock (MariaDB, PostgreSQL) or the write lock (SQLite) to commit.

    Called first in a transaction, before anything is read, so that every check that follows
    (interfaces, routes, floating IPs using it) sees what concurrent changes of the same
    router committed, and theirs wait for ours."""
    unit.session.execute(
        update(RouterRow)
        .where(RouterRow.id == router_id)
        .values(revision_number=RouterRow.revision_number)
    )


def router(unit: Unit, router_id: str) -> RouterRow | None:
    return unit.session.get(RouterRow, router_id)


def routers(unit: Unit) -> Sequence[RouterRow]:
    return unit.session.scalars(select(RouterRow).order_by(RouterRow.id)).all()


def router_ports(unit: Unit, router_id: str, owner: str | None = None) -> Sequence[PortRow]:
    """The router's legs (both kinds, or those of `owner`), oldest first."""
    query = select(PortRow).where(
        PortRow.device_id == router_id,
        PortRow.device_owner.in_([owner] if owner else [ROUTER_GATEWAY, ROUTER_INTERFACE]),
    )
    return unit.session.scalars(query.order_by(PortRow.created_at, PortRow.id)).all()


def routers_on_subnet(unit: Unit, subnet_id: str, gateway_network_id: str) -> Sequence[RouterRow]:
    """The routers with an interface on the subnet and their gateway on the network, oldest
    first (one query, however many ports the subnet has)."""
    query = (
        select(RouterRow)
        .join(PortRow, PortRow.device_id == RouterRow.id)
        .join(IpAllocationRow, IpAllocationRow.port_id == PortRow.id)
        .where(
            IpAllocationRow.subnet_id == subnet_id,
            PortRow.device_owner == ROUTER_INTERFACE,
            RouterRow.gw_network_id == gateway_network_id,
        )
        .order_by(RouterRow.created_at, RouterRow.id)
    )
    return unit.session.scalars(query).unique().all()


def all_router_ports(unit: Unit) -> Sequence[PortRow]:
    """Every router leg, for rendering a list of routers with one query."""
    query = select(PortRow).where(PortRow.device_owner.in_([ROUTER_GATEWAY, ROUTER_INTERFACE]))
    return unit.session.scalars(query.order_by(PortRow.created_at, PortRow.id)).all()


def floatingip(unit: Unit, floatingip_id: str) -> FloatingIpRow | None:
    return unit.session.get(FloatingIpRow, floatingip_id)


def floatingips(unit: Unit) -> Sequence[FloatingIpRow]:
    return unit.session.scalars(select(FloatingIpRow).order_by(FloatingIpRow.id)).all()


def port_floatingips(unit: Unit, port_ids: Sequence[str]) -> Sequence[FloatingIpRow]:
    """The floating IPs associated with any of these ports, in id order."""
    query = (
        select(FloatingIpRow).where(FloatingIpRow.port_id.in_(port_ids)).order_by(FloatingIpRow.id)
    )
    return unit.session.scalars(query).all()


def router_floatingips(unit: Unit, router_id: str) -> Sequence[FloatingIpRow]:
    query = select(FloatingIpRow).where(FloatingIpRow.router_id == router_id)
    return unit.session.scalars(query).all()


def floatingip_of_fixed(unit: Unit, port_id: str, fixed_ip_address: str) -> FloatingIpRow | None:
    query = select(FloatingIpRow).where(
        FloatingIpRow.port_id == port_id, FloatingIpRow.fixed_ip_address == fixed_ip_address
    )
    return unit.session.scalars(query).first()


def floating_port_owner(unit: Unit, port: PortRow) -> bool:
    """Whether the floating IP `port` was made for still exists."""
    return unit.session.get(FloatingIpRow, port.device_id) is not None


def disassociate_port(unit: Unit, port_id: str) -> None:
    """Unmap every floating IP of a port that is going away: they stay, unassociated."""
    unit.session.execute(
        update(FloatingIpRow)
        .where(FloatingIpRow.port_id == port_id)
        .values(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN")
        .execution_options(synchronize_session="fetch")
    )
    unit.flush()


def delete_network_floatingips(unit: Unit, network_id: str) -> None:
    """Remove the floating IPs of an external network being deleted, and their ports."""
    ports = select(FloatingIpRow.floating_port_id).where(
        FloatingIpRow.floating_network_id == network_id
    )
    port_ids = list(unit.session.scalars(ports))
    if not port_ids:
        return
    unit.session.execute(
        delete(FloatingIpRow)
        .where(FloatingIpRow.floating_network_id == network_id)
        .execution_options(synchronize_session=False)
    )
    unit.session.execute(
        delete(PortRow)
        .where(PortRow.id.in_(port_ids), PortRow.device_owner == FLOATINGIP_OWNER)
        .execution_options(synchronize_session=False)
    )
    unit.flush()
