"""The request context: who is calling, with which scope and roles, under which request id.

It is built once per request from the validated token and handed to policy and to the domain, so
no layer below the API ever looks at HTTP headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiCall:
    """The API call a request makes, in the terms application credential access rules use."""

    #: The service type of the API called (`identity`, `compute`...); None when unknown.
    service_type: str | None
    method: str
    #: Relative to where the service is mounted: `/v3/projects`, not `/identity/v3/projects`.
    path: str


@dataclass(frozen=True)
class RequestContext:
    """The caller of one request; anonymous when `user_id` is None."""

    request_id: str
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    system_scope: str | None = None
    roles: tuple[str, ...] = ()
    auth_methods: tuple[str, ...] = ()
    application_credential_id: str | None = None
    #: The trust the token was obtained through (OS-TRUST), if any.
    trust_id: str | None = None
    audit_ids: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_system_admin(self) -> bool:
        return self.system_scope == "all" and "admin" in self.roles

    @property
    def token_scope(self) -> str:
        if self.system_scope:
            return "system"
        if self.domain_id:
            return "domain"
        return "project" if self.project_id else "unscoped"

    def policy_credentials(self) -> dict[str, Any]:
        """The credentials dictionary oslo.policy rules are written against."""
        return {
            "token_scope": self.token_scope,
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": list(self.roles),
        }
