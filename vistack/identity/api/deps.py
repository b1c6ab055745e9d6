"""What every identity handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.common.web import authenticated_context, service_url
from vistack.identity.domain.app_credentials import ApplicationCredentialService
from vistack.identity.domain.assignments import AssignmentService
from vistack.identity.domain.auth import AuthService
from vistack.identity.domain.bootstrap import Bootstrapper
from vistack.identity.domain.catalog import CatalogService
from vistack.identity.domain.credentials import CredentialService
from vistack.identity.domain.identities import IdentityService
from vistack.identity.domain.limits import LimitService
from vistack.identity.domain.resources import ResourceService
from vistack.identity.domain.trusts import TrustService


@dataclass(frozen=True)
class IdentityServices:
    """The identity domain services, built once by the composition root."""

    auth: AuthService
    resources: ResourceService
    identities: IdentityService
    assignments: AssignmentService
    catalog: CatalogService
    app_credentials: ApplicationCredentialService
    trusts: TrustService
    credentials: CredentialService
    limits: LimitService
    policy: PolicyEngine
    region: str
    bootstrapper: Bootstrapper


async def identity_services(request: Request) -> IdentityServices:
    """Async so FastAPI does not run it on a worker thread (a hop costs more than it does)."""
    services: IdentityServices = request.app.state.identity
    return services


Services = Annotated[IdentityServices, Depends(identity_services)]
Context = Annotated[RequestContext, Depends(authenticated_context)]


def authorize(
    services: IdentityServices, rule: str, context: RequestContext, **target: Any
) -> None:
    """Check `identity:<rule>` with a flat `target.*` dictionary built from keyword arguments."""
    # None values are left out on purpose: oslo.policy renders a missing value as "None", which
    # would equal an unscoped token's "None" and grant access by accident.
    services.policy.authorize(
        f"identity:{rule}",
        context,
        {f"target.{k.replace('__', '.')}": v for k, v in target.items() if v is not None},
    )


def v3_url(request: Request, *parts: str) -> str:
    """Absolute URL under this identity service's /v3, for `links`."""
    return service_url(request, "v3", *parts)


def collection_links(request: Request) -> dict[str, str | None]:
    return {"self": str(request.url), "previous": None, "next": None}


def query_bool(value: str | None) -> bool | None:
    """Keystone's boolean query values: '0'/'false'/'no' are false, anything else true."""
    if value is None:
        return None
    return value.lower() not in {"0", "false", "no", "off"}
