"""Network tables (SQLAlchemy 2.x). Their schema is owned by Alembic (`vistack/migrations`).

Uniqueness Neutron relies on is enforced by the database, never by a read-then-write check,
so that concurrent API processes cannot both win: one VLAN per physical network
(`network_segment` primary key), one address per subnet (`network_ip_allocation` primary key),
one MAC per network. Lists Neutron treats as values (pools, DNS servers, routes, tags, address
pairs) are JSON columns: they are always read and written whole with their owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

ID = String(36)
PROJECT = String(64)
NAME = String(255)
IP = String(64)


class NetworkRow(Base):
    __tablename__ = "network_network"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    network_type: Mapped[str] = mapped_column(String(16))
    physical_network: Mapped[str] = mapped_column(NAME)
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    #: The distributed port group carrying this network (its vCenter key).
    portgroup_key: Mapped[str | None] = mapped_column(NAME)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class SegmentRow(Base):
    """One VLAN (0: untagged, flat) of one physical network, held by at most one network."""

    __tablename__ = "network_segment"

    physical_network: Mapped[str] = mapped_column(NAME, primary_key=True)
    vlan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), unique=True
    )


class SubnetRow(Base):
    __tablename__ = "network_subnet"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(IP)
    gateway_ip: Mapped[str | None] = mapped_column(IP)
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON)
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class PortRow(Base):
    __tablename__ = "network_port"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    device_owner: Mapped[str] = mapped_column(NAME, default="")
    device_id: Mapped[str] = mapped_column(NAME, default="", index=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    binding_host_id: Mapped[str] = mapped_column(NAME, default="")
    binding_vnic_type: Mapped[str] = mapped_column(String(32), default="normal")
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class IpAllocationRow(Base):
    """One address of one subnet, held by one port: the primary key is the IPAM guarantee."""

    __tablename__ = "network_ip_allocation"

    subnet_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_subnet.id", ondelete="CASCADE"), primary_key=True
    )
    ip_address: Mapped[str] = mapped_column(IP, primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_port.id", ondelete="CASCADE"), index=True
    )
    network_id: Mapped[str] = mapped_column(ID, index=True)


class QuotaRow(Base):
    """A per-project quota override; projects without one use the [network] defaults."""

    __tablename__ = "network_quota"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ProjectLockRow(Base):
    """A row per project, updated first by every create of that project.

    Updating it takes the write lock (SQLite) or the row lock (MariaDB, PostgreSQL) before the
    quota count is read, so two creates of one project cannot both pass a quota with one slot.
    """

    __tablename__ = "network_project_lock"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class SecurityGroupRow(Base):
    """A security group. `default_of` is the project id on a project's `default` group and
    NULL on every other: its unique key lets exactly one lazy creation of a project's default
    group win however many requests race to make it (NULLs never collide)."""

    __tablename__ = "network_sg"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    default_of: Mapped[str | None] = mapped_column(PROJECT, unique=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class SecurityGroupRuleRow(Base):
    """A rule of a group. `fingerprint` is the rule's meaning in canonical form (protocol
    numbers for names, `0.0.0.0/0` as no prefix): unique per group, so two concurrent creates
    of the same rule cannot both succeed. A remote group's deletion takes its rules along, as
    in Neutron."""

    __tablename__ = "network_sg_rule"
    __table_args__ = (UniqueConstraint("security_group_id", "fingerprint"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    security_group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_sg.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(IP)
    remote_group_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("network_sg.id", ondelete="CASCADE"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(NAME)
    description: Mapped[str] = mapped_column(NAME, default="")
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class PortSecurityGroupRow(Base):
    """A port's membership of a group. The group side has no cascade: deleting a group a port
    uses fails in the database too, so a port create racing a group delete cannot leave a
    dangling membership (the delete then answers SecurityGroupInUse)."""

    __tablename__ = "network_port_sg"

    port_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_port.id", ondelete="CASCADE"), primary_key=True
    )
    security_group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_sg.id"), primary_key=True, index=True
    )
