"""Nova's tables: flavors (with extra specs and project access), key pairs, servers and their
faults, actions and quotas. Their schema is owned by Alembic (`0014_compute`).

A server's row is its whole record: the flavor it was built with is copied in (a flavor deleted
later must not change what a server shows), and where it runs (`cluster`, `vm_host`) is what
vCenter last reported. Deleted servers keep their row (`deleted_at` set) for `changes-since`
listings and usage, as Nova's soft-deleted rows do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

ID = String(36)
NAME = String(255)
PROJECT = String(64)


class FlavorRow(Base):
    """A flavor: what a server gets (CPUs, memory, disks); `id` is Nova's string flavorid."""

    __tablename__ = "compute_flavor"

    id: Mapped[str] = mapped_column(NAME, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap_mb: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class FlavorExtraSpecRow(Base):
    """One extra spec of a flavor (`quota:cpu_limit`, `hw:cpu_cores`, `vmware:hw_version`...)."""

    __tablename__ = "compute_flavor_extra_spec"

    flavor_id: Mapped[str] = mapped_column(
        NAME, ForeignKey("compute_flavor.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME)


class FlavorAccessRow(Base):
    """A project allowed to use a private flavor."""

    __tablename__ = "compute_flavor_access"

    flavor_id: Mapped[str] = mapped_column(
        NAME, ForeignKey("compute_flavor.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True, index=True)


class KeypairRow(Base):
    """A user's key pair (Nova keeps the public half only); names are unique per user."""

    __tablename__ = "compute_keypair"

    user_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ServerRow(Base):
    """A Nova server (an instance): its request, its state machine and where vSphere runs it."""

    __tablename__ = "compute_server"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    name: Mapped[str] = mapped_column(NAME)
    hostname: Mapped[str] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    #: The flavor as it was at build (Nova's embedded flavor), id/name/sizes/extra_specs.
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The flavor's sizes again as columns: quota usage and hypervisor statistics sum them.
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    image_id: Mapped[str] = mapped_column(String(64), default="")
    key_name: Mapped[str | None] = mapped_column(NAME)
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_items: Mapped[dict[str, str]] = mapped_column(JSON)
    #: What `networks` asked for, kept until the build made the ports (then `port_ids`).
    requested_networks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The Neutron ports plugged into the VM, in NIC order, and which ones Nova made (and so
    #: deletes with the server).
    port_ids: Mapped[list[str]] = mapped_column(JSON)
    owned_port_ids: Mapped[list[str]] = mapped_column(JSON)
    security_groups: Mapped[list[str]] = mapped_column(JSON)
    #: Nova's network info cache: the server's addresses by network name, as the API shows
    #: them, written when ports are plugged or unplugged (a list never asks Neutron).
    addresses: Mapped[dict[str, list[dict[str, Any]]]] = mapped_column(JSON)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    #: Nova's state machine: vm_state (active, building, stopped, error, deleted...), the
    #: task in progress (None when idle) and the power state as Nova numbers it.
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    #: The compute node (a cluster's name) and the ESXi host vCenter placed the VM on.
    cluster: Mapped[str | None] = mapped_column(NAME, index=True)
    vm_host: Mapped[str | None] = mapped_column(NAME)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    launched_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseDateTime, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    #: The last failure a person should read: {"code", "message", "details", "created"}.
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The addresses the user says the server is reached at (Nova stores, never routes them).
    access_ip_v4: Mapped[str | None] = mapped_column(String(64))
    access_ip_v6: Mapped[str | None] = mapped_column(String(64))
    #: What a lifecycle action keeps between its steps (Nova's system metadata): the flavor
    #: before a resize, the disk kept for a revert, the shelved image, the rescue disk.
    system_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Why the server is locked (2.73), shown to whoever may see it.
    locked_reason: Mapped[str | None] = mapped_column(Text)


class ServerActionRow(Base):
    """One action on a server (`os-instance-actions`): who asked what, and how it ended."""

    __tablename__ = "compute_server_action"
    __table_args__ = (UniqueConstraint("request_id", "server_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(
        ID, ForeignKey("compute_server.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str | None] = mapped_column(PROJECT)
    project_id: Mapped[str | None] = mapped_column(PROJECT)
    message: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(PreciseDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(PreciseDateTime)
    result: Mapped[str | None] = mapped_column(String(16))


class ComputeQuotaRow(Base):
    """A per-project quota override; projects without one use the [compute] defaults."""

    __tablename__ = "compute_quota"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ComputeProjectLockRow(Base):
    """A row per project, updated first by every server create of that project, so two
    concurrent creates cannot both pass the quota check with the last free slot."""

    __tablename__ = "compute_project_lock"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class ComputeServiceRow(Base):
    """A Nova service (`os-services`): one `nova-compute` per cluster, plus the scheduler and
    conductor of this control plane. Disabling a compute service keeps new servers off its
    cluster; `forced_down` marks it down for evacuation tools."""

    __tablename__ = "compute_service"
    __table_args__ = (UniqueConstraint("binary", "host"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    #: The integer id Nova's API shows before 2.53 (services and hypervisors), given in order
    #: of registration and never reused.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    binary: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(NAME)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(NAME)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(PreciseDateTime)


class ServerGroupRow(Base):
    """A server group and its policy (affinity, anti-affinity and their soft variants)."""

    __tablename__ = "compute_server_group"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    user_id: Mapped[str] = mapped_column(PROJECT)
    name: Mapped[str] = mapped_column(NAME)
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ServerGroupMemberRow(Base):
    """A server in a group (a server is in at most one)."""

    __tablename__ = "compute_server_group_member"

    server_id: Mapped[str] = mapped_column(
        ID, ForeignKey("compute_server.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("compute_server_group.id", ondelete="CASCADE"), index=True
    )


class ServerTagRow(Base):
    """A tag on a server (filtered by `tags`, `tags-any`, `not-tags`, `not-tags-any`)."""

    __tablename__ = "compute_server_tag"

    server_id: Mapped[str] = mapped_column(
        ID, ForeignKey("compute_server.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)
