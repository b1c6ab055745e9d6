"""Request bodies of Keystone v3, as pydantic models that refuse unknown fields.

Unknown fields are refused (HTTP 400) rather than stored as opaque "extra" attributes: a typo in
an automation script should fail loudly, not create a user with a field nobody reads. `email`
and `description` are first-class user fields because the real clients send them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Name = Field(min_length=1, max_length=255)
#: Keystone limits project and domain names to 64 characters.
ShortName = Field(min_length=1, max_length=64)
Id = Field(min_length=1, max_length=64)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Lenient(BaseModel):
    """Auth bodies: keystoneauth plugins add fields we have no use for (e.g. TOTP passcodes)."""

    model_config = ConfigDict(extra="ignore")


# auth
class DomainRefBody(Lenient):
    id: str | None = None
    name: str | None = None


class UserRefBody(Lenient):
    id: str | None = None
    name: str | None = None
    domain: DomainRefBody | None = None
    password: str | None = None


class PasswordBody(Lenient):
    user: UserRefBody


class TokenRefBody(Lenient):
    id: str


class ApplicationCredentialBody(Lenient):
    id: str | None = None
    name: str | None = None
    secret: str
    user: UserRefBody | None = None


class IdentityBody(Lenient):
    methods: list[str] = Field(min_length=1)
    password: PasswordBody | None = None
    token: TokenRefBody | None = None
    application_credential: ApplicationCredentialBody | None = None


class ProjectScopeBody(Lenient):
    id: str | None = None
    name: str | None = None
    domain: DomainRefBody | None = None


class SystemScopeBody(Lenient):
    all: bool = False


class ScopeBody(Lenient):
    project: ProjectScopeBody | None = None
    domain: DomainRefBody | None = None
    system: SystemScopeBody | None = None
    OS_TRUST_trust: dict[str, Any] | None = Field(default=None, alias="OS-TRUST:trust")


class AuthInner(Lenient):
    identity: IdentityBody
    scope: ScopeBody | Literal["unscoped"] | None = None


class AuthRequest(Lenient):
    auth: AuthInner


# resources
class DomainCreate(Strict):
    name: str = ShortName
    description: str | None = None
    enabled: StrictBool = True
    id: str | None = Field(default=None, min_length=1, max_length=64)
    tags: list[str] | None = None
    options: dict[str, Any] | None = None


class DomainUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = None
    enabled: StrictBool | None = None
    tags: list[str] | None = None
    options: dict[str, Any] | None = None


class ProjectCreate(Strict):
    name: str = ShortName
    domain_id: str | None = None
    parent_id: str | None = None
    description: str | None = None
    enabled: StrictBool = True
    is_domain: bool = False
    tags: list[str] | None = None
    options: dict[str, Any] | None = None


class ProjectUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = None
    enabled: StrictBool | None = None
    tags: list[str] | None = None
    domain_id: str | None = None
    parent_id: str | None = None
    is_domain: bool | None = None
    options: dict[str, Any] | None = None


class UserCreate(Strict):
    name: str = Name
    domain_id: str | None = None
    password: str | None = Field(default=None, max_length=4096)
    enabled: StrictBool = True
    email: str | None = None
    description: str | None = None
    default_project_id: str | None = None
    options: dict[str, Any] | None = None
    federated: list[dict[str, Any]] | None = None
    #: Identity v2's user "tenant", still sent by older tools; kept and shown, never used.
    project_id: str | None = None


class UserUpdate(Strict):
    #: Clients may echo the id; it must then match the URL's.
    id: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=255)
    password: str | None = Field(default=None, max_length=4096)
    enabled: StrictBool | None = None
    email: str | None = None
    description: str | None = None
    default_project_id: str | None = None
    domain_id: str | None = None
    options: dict[str, Any] | None = None
    project_id: str | None = None


class PasswordChange(Strict):
    password: str = Field(min_length=1, max_length=4096)
    original_password: str = Field(min_length=1, max_length=4096)


class GroupCreate(Strict):
    name: str = Name
    domain_id: str | None = None
    description: str | None = None
    #: Older tools send the owning project; kept and shown, never used.
    project_id: str | None = None


class GroupUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    domain_id: str | None = None
    project_id: str | None = None


class RoleCreate(Strict):
    name: str = Name
    domain_id: str | None = None
    description: str | None = None
    options: dict[str, Any] | None = None


class RoleUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    domain_id: str | None = None
    options: dict[str, Any] | None = None


class RegionCreate(Strict):
    id: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    parent_region_id: str | None = None


class RegionUpdate(Strict):
    description: str | None = None
    parent_region_id: str | None = None


class ServiceCreate(Strict):
    type: str = Name
    name: str | None = None
    description: str | None = None
    enabled: StrictBool = True


class ServiceUpdate(Strict):
    type: str | None = Field(default=None, min_length=1, max_length=255)
    name: str | None = None
    description: str | None = None
    enabled: StrictBool | None = None


class EndpointCreate(Strict):
    service_id: str = Id
    interface: str
    url: str = Field(min_length=1, max_length=1024)
    region_id: str | None = None
    region: str | None = None
    enabled: StrictBool = True


class EndpointUpdate(Strict):
    service_id: str | None = None
    interface: str | None = None
    url: str | None = Field(default=None, min_length=1, max_length=1024)
    region_id: str | None = None
    region: str | None = None
    enabled: StrictBool | None = None


class RoleRefBody(Strict):
    id: str | None = None
    name: str | None = None


class AccessRuleBody(Strict):
    """An existing rule by `id`, or a new one; the domain checks the values."""

    id: str | None = None
    service: str | None = None
    path: str | None = None
    method: str | None = None


class ApplicationCredentialCreate(Strict):
    name: str = Name
    description: str | None = None
    secret: str | None = None
    expires_at: str | None = None
    roles: list[RoleRefBody] | None = None
    unrestricted: StrictBool = False
    access_rules: list[AccessRuleBody] | None = None


class TrustCreate(Strict):
    """`POST /v3/OS-TRUST/trusts`; each role names exactly one of id and name."""

    trustor_user_id: str = Id
    trustee_user_id: str = Id
    impersonation: StrictBool
    project_id: str | None = Field(default=None, min_length=1, max_length=64)
    roles: list[RoleRefBody] | None = None
    expires_at: str | None = None
    remaining_uses: StrictInt | None = Field(default=None, ge=1)
    allow_redelegation: StrictBool | None = None
    redelegation_count: StrictInt | None = Field(default=None, ge=0)
    redelegated_trust_id: str | None = None


#: Credential blobs are small secrets (keys, seeds, certificates); 64 KiB is plenty.
Blob = Field(max_length=65536)


class CredentialCreate(Strict):
    """`POST /v3/credentials`: the blob is a string (for `ec2`, JSON with access and secret)."""

    user_id: str = Id
    type: str = Name
    blob: str = Blob
    project_id: str | None = Field(default=None, min_length=1, max_length=64)


class CredentialUpdate(Strict):
    """`PATCH /v3/credentials/{id}`: the blob and the project change; the id, owner and type
    may be echoed, unchanged."""

    blob: str | None = Field(default=None, max_length=65536)
    project_id: str | None = Field(default=None, min_length=1, max_length=64)
    id: str | None = None
    user_id: str | None = None
    type: str | None = None


class Ec2CredentialCreate(Strict):
    """`POST /v3/users/{user_id}/credentials/OS-EC2`: the project the keys are for."""

    tenant_id: str = Id


class Ec2SignedRequestBody(Lenient):
    """What an EC2 or S3 service forwards of a request it received signed (AWS v2 or v4)."""

    access: str | None = None
    signature: str | None = None
    host: str = ""
    verb: str = "GET"
    path: str = "/"
    params: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, Any] = Field(default_factory=dict)
    body_hash: str = ""


class Ec2TokenRequest(Lenient):
    """`POST /v3/ec2tokens`; Keystone has accepted the three spellings over the years."""

    credentials: Ec2SignedRequestBody | None = None
    credential: Ec2SignedRequestBody | None = None
    ec2_credentials: Ec2SignedRequestBody | None = Field(default=None, alias="ec2Credentials")
