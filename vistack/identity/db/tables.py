"""Identity tables (SQLAlchemy 2.x). Their schema is owned by Alembic (`vistack/migrations`).

Global roles are stored with `domain_id = ''` rather than NULL so that the (name, domain_id)
unique constraint holds on every backend (NULLs never collide in a unique index).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime

ID = String(64)
NAME = String(255)


class DomainRow(Base):
    __tablename__ = "identity_domain"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ProjectRow(Base):
    __tablename__ = "identity_project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_domain.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ID, ForeignKey("identity_project.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ProjectTagRow(Base):
    __tablename__ = "identity_project_tag"

    project_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_project.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(NAME, primary_key=True)


class UserRow(Base):
    __tablename__ = "identity_user"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_domain.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(NAME, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    default_project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    password_created_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, nullable=True)
    password_expires_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, nullable=True)
    options: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    #: Legacy attributes older clients send (v2's project_id); shown back, never interpreted.
    extra: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    #: Consecutive failed password authentications, for the lockout rule.
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class PasswordHistoryRow(Base):
    """Earlier password hashes of a user, for the "no reuse of the last N passwords" rule."""

    __tablename__ = "identity_password_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class GroupRow(Base):
    __tablename__ = "identity_group"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_domain.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class GroupMemberRow(Base):
    __tablename__ = "identity_group_member"

    group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_group.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RoleRow(Base):
    __tablename__ = "identity_role"
    __table_args__ = (UniqueConstraint("name", "domain_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    #: '' for a global role (see the module docstring).
    domain_id: Mapped[str] = mapped_column(ID, default="")
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    options: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class ImpliedRoleRow(Base):
    __tablename__ = "identity_implied_role"

    prior_role_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_role.id", ondelete="CASCADE"), primary_key=True
    )
    implied_role_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_role.id", ondelete="CASCADE"), primary_key=True
    )


class AssignmentRow(Base):
    """A grant of a role to an actor (user or group) on a target (project, domain or system)."""

    __tablename__ = "identity_assignment"

    #: One of UserProject, GroupProject, UserDomain, GroupDomain, UserSystem, GroupSystem.
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    #: A project or domain id, or 'all' for the system.
    target_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    role_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_role.id", ondelete="CASCADE"), primary_key=True
    )
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class ApplicationCredentialRow(Base):
    __tablename__ = "identity_application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    secret_hash: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    system: Mapped[str | None] = mapped_column(String(16), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, nullable=True)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class ApplicationCredentialRoleRow(Base):
    __tablename__ = "identity_application_credential_role"

    application_credential_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_application_credential.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(ID, primary_key=True)


class TrustRow(Base):
    """An OS-TRUST delegation. Rows go with their trustor, trustee, project or parent trust."""

    __tablename__ = "identity_trust"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    trustor_user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True
    )
    trustee_user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("identity_project.id", ondelete="CASCADE"), nullable=True, index=True
    )
    impersonation: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(PreciseDateTime, nullable=True)
    remaining_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    redelegation_count: Mapped[int] = mapped_column(Integer, default=0)
    redelegated_trust_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("identity_trust.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class TrustRoleRow(Base):
    """A role a trust delegates. No foreign key to the role on purpose: a deleted role leaves
    its id here, and the trust, like Keystone's, stops issuing valid tokens."""

    __tablename__ = "identity_trust_role"

    trust_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_trust.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(ID, primary_key=True)


class RegionRow(Base):
    __tablename__ = "identity_region"

    id: Mapped[str] = mapped_column(NAME, primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(NAME, nullable=True)


class ServiceRow(Base):
    __tablename__ = "identity_service"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(NAME)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class EndpointRow(Base):
    __tablename__ = "identity_endpoint"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_service.id", ondelete="CASCADE"), index=True
    )
    region_id: Mapped[str | None] = mapped_column(NAME, nullable=True)
    interface: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class RevocationEventRow(Base):
    """Tokens stop validating when an event matches them (by audit id, or user before a time)."""

    __tablename__ = "identity_revocation_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    user_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    issued_before: Mapped[datetime] = mapped_column(PreciseDateTime)
    #: After this the event can be pruned: every token it could match has expired.
    prune_after: Mapped[datetime] = mapped_column(PreciseDateTime, index=True)


class AccessRuleRow(Base):
    """An API call (service type, method, path glob) an application credential may make."""

    __tablename__ = "identity_access_rule"
    __table_args__ = (UniqueConstraint("user_id", "service", "path", "method"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(16))


class ApplicationCredentialAccessRuleRow(Base):
    __tablename__ = "identity_application_credential_access_rule"

    application_credential_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_application_credential.id", ondelete="CASCADE"), primary_key=True
    )
    access_rule_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_access_rule.id", ondelete="CASCADE"), primary_key=True
    )


class CredentialRow(Base):
    """A secret a user stores with Keystone (EC2 keys, TOTP seeds, certificates), encrypted."""

    __tablename__ = "identity_credential"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    type: Mapped[str] = mapped_column(String(255))
    #: The blob, Fernet-encrypted with the credential keys (never the token keys).
    encrypted_blob: Mapped[str] = mapped_column(Text)
    #: Which credential key encrypted it, so a rotation can re-encrypt what is left behind.
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)


class RegisteredLimitRow(Base):
    """A default limit a service registers for a resource (unified limits).

    `region_id` is '' for a registration that holds in every region, for the same reason as
    `RoleRow.domain_id`: the (service, region, resource) uniqueness must hold on every backend.
    It has no foreign key for that reason; deleting a region that a registration names is
    refused by the catalog service. Deleting a service still in use is refused there too, the
    foreign key being the backstop against a race.
    """

    __tablename__ = "identity_registered_limit"
    __table_args__ = (UniqueConstraint("service_id", "region_id", "resource_name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_service.id"))
    region_id: Mapped[str] = mapped_column(NAME, default="", index=True)
    resource_name: Mapped[str] = mapped_column(NAME)
    default_limit: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class LimitRow(Base):
    """A project's (or a domain's) own limit for a registered resource.

    Exactly one of `project_id` and `domain_id` is set, so each unique constraint below only
    ever compares limits of one kind (NULLs never collide). The cascades are a backstop: the
    resource service deletes the limits of a project or domain it deletes.
    """

    __tablename__ = "identity_limit"
    __table_args__ = (
        UniqueConstraint("project_id", "registered_limit_id"),
        UniqueConstraint("domain_id", "registered_limit_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    registered_limit_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_registered_limit.id"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("identity_project.id", ondelete="CASCADE"), nullable=True
    )
    domain_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("identity_domain.id", ondelete="CASCADE"), nullable=True
    )
    resource_limit: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
