"""Routers and floating IPs (edge backend). Their schema is owned by Alembic (0009_network_l3).

A router's legs are not here: the gateway leg and each interface leg are ordinary ports
(`network_port`, device_id = the router's id, device_owner `network:router_gateway` /
`network:router_interface`) whose addresses are ordinary IPAM allocations, so an address is
never handed out twice whoever asks for it. A floating IP likewise owns a port on its external
network (device_owner `network:floatingip`, device_id = the floating IP's id, project "" so it
does not count against anyone's port quota); the floating IP row says which fixed address of
which port it is mapped to, and through which router. The edge data plane reads these rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.network.db.tables import ID, IP, NAME, PROJECT

ROUTER_GATEWAY = "network:router_gateway"
ROUTER_INTERFACE = "network:router_interface"
FLOATINGIP_OWNER = "network:floatingip"


class RouterRow(Base):
    """A router. `gw_network_id` is the external network its gateway port is on (NULL: no
    gateway); it has no cascade, so the network cannot go while a router uses it."""

    __tablename__ = "network_router"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    gw_network_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("network_network.id"), index=True
    )
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Extra routes: [{"destination": cidr, "nexthop": address}], validated against the
    #: router's interface subnets whenever they or the routes change.
    routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class FloatingIpRow(Base):
    """A floating IP. The unique (port_id, fixed_ip_address) key means one fixed address
    never gets two floating IPs, however many associations race (NULLs never collide, so any
    number may be unassociated). Deleting the external network takes its floating IPs along
    (as Neutron); deleting the associated port leaves the floating IP, unassociated."""

    __tablename__ = "network_floatingip"
    __table_args__ = (UniqueConstraint("port_id", "fixed_ip_address"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    floating_network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), index=True
    )
    floating_port_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_port.id", ondelete="CASCADE"), unique=True
    )
    floating_ip_address: Mapped[str] = mapped_column(IP)
    port_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("network_port.id", ondelete="SET NULL"), index=True
    )
    fixed_ip_address: Mapped[str | None] = mapped_column(IP)
    router_id: Mapped[str | None] = mapped_column(ID, ForeignKey("network_router.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(NAME, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
