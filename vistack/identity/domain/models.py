"""The identity nouns as immutable dataclasses; these, never ORM rows, cross layer boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_DOMAIN_ID = "default"
SYSTEM_ALL = "all"


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str
    parent_id: str | None = None
    description: str = ""
    enabled: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class User:
    id: str
    name: str
    domain_id: str
    enabled: bool = True
    email: str | None = None
    description: str | None = None
    default_project_id: str | None = None
    password_expires_at: datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PasswordState:
    """A user's password bookkeeping: current hash, earlier hashes, recent failures."""

    hash: str | None
    created_at: datetime | None = None
    history: tuple[str, ...] = ()
    failed_auth_count: int = 0
    failed_auth_at: datetime | None = None


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    domain_id: str
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    domain_id: str | None = None
    description: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImpliedRole:
    prior_role_id: str
    implied_role_id: str


class ActorKind(StrEnum):
    USER = "User"
    GROUP = "Group"


class TargetKind(StrEnum):
    PROJECT = "Project"
    DOMAIN = "Domain"
    SYSTEM = "System"


@dataclass(frozen=True)
class Assignment:
    """A role granted to a user or group on a project, a domain or the system."""

    actor_kind: ActorKind
    actor_id: str
    target_kind: TargetKind
    target_id: str
    role_id: str
    inherited: bool = False
    #: For an effective assignment derived from a group grant, the group it came through.
    via_group_id: str | None = None
    #: For an effective assignment derived from an implied role, the role that implied it.
    via_role_id: str | None = None

    @property
    def storage_type(self) -> str:
        return f"{self.actor_kind.value}{self.target_kind.value}"


@dataclass(frozen=True)
class AccessRule:
    """One API call an application credential may make: a service type, a method, a path glob.

    Rules belong to a user and are shared by that user's credentials (see `access_rules`).
    """

    id: str
    user_id: str
    service: str
    path: str
    method: str


@dataclass(frozen=True)
class ApplicationCredential:
    id: str
    name: str
    user_id: str
    project_id: str | None
    roles: tuple[Role, ...]
    description: str | None = None
    system: str | None = None
    expires_at: datetime | None = None
    unrestricted: bool = False
    #: When not empty, tokens from this credential may only make these calls.
    access_rules: tuple[AccessRule, ...] = ()


@dataclass(frozen=True)
class Trust:
    """A trustor's delegation of some of its roles on a project to a trustee (OS-TRUST)."""

    id: str
    trustor_user_id: str
    trustee_user_id: str
    project_id: str | None
    impersonation: bool
    #: The delegated roles that still exist, by name.
    roles: tuple[Role, ...] = ()
    #: Every delegated role id as stored: one missing from `roles` was deleted since.
    role_ids: tuple[str, ...] = ()
    expires_at: datetime | None = None
    #: Tokens the trust may still issue; None means no limit.
    remaining_uses: int | None = None
    #: How many further links a chain of redelegated trusts may grow from this one.
    redelegation_count: int = 0
    #: The trust this one was redelegated from (made with a token scoped to it).
    redelegated_trust_id: str | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Credential:
    """A secret a user stores (`/v3/credentials`), decrypted: only the domain ever sees `blob`."""

    id: str
    user_id: str
    type: str
    blob: str
    project_id: str | None = None


@dataclass(frozen=True)
class EncryptedCredential:
    """A credential as stored: its blob encrypted with the credential key `key_hash` names."""

    id: str
    user_id: str
    type: str
    encrypted_blob: str
    key_hash: str
    project_id: str | None = None


@dataclass(frozen=True)
class Region:
    id: str
    description: str = ""
    parent_region_id: str | None = None


@dataclass(frozen=True)
class Service:
    id: str
    type: str
    name: str = ""
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Endpoint:
    id: str
    service_id: str
    interface: str
    url: str
    region_id: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class RevocationEvent:
    """Tokens issued before `issued_before` whose audit chain or user matches stop validating."""

    issued_before: datetime
    prune_after: datetime
    audit_id: str | None = None
    user_id: str | None = None
