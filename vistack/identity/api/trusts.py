"""`/v3/OS-TRUST/trusts`: create, list, show and delete trusts, and the roles they delegate."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Forbidden, NotFound
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import Strict, TrustCreate
from vistack.identity.domain.models import Role, Trust
from vistack.identity.domain.time import parse_isotime
from vistack.identity.domain.trusts import TrustRequest

router = APIRouter()
BASE = "/v3/OS-TRUST/trusts"


class CreateRequest(Strict):
    trust: TrustCreate


def _request(spec: TrustCreate) -> TrustRequest:
    refs: list[tuple[str | None, str | None]] = []
    for role in spec.roles or []:
        if (role.id is None) == (role.name is None):
            raise BadRequest("Each role of a trust needs exactly one of id and name.")
        refs.append((role.id, role.name))
    try:
        expires_at = parse_isotime(spec.expires_at) if spec.expires_at else None
    except ValueError as exc:
        raise BadRequest(
            f"Invalid expires_at {spec.expires_at!r}: use ISO 8601, e.g. 2030-01-02T03:04:05Z."
        ) from exc
    return TrustRequest(
        trustor_user_id=spec.trustor_user_id,
        trustee_user_id=spec.trustee_user_id,
        impersonation=spec.impersonation,
        project_id=spec.project_id,
        role_refs=tuple(refs),
        expires_at=expires_at,
        remaining_uses=spec.remaining_uses,
        allow_redelegation=bool(spec.allow_redelegation),
        redelegation_count=spec.redelegation_count,
        redelegated_trust_id=spec.redelegated_trust_id,
    )


def _refuse_restricted_credential(services: Services, context: RequestContext) -> None:
    """A restricted application credential may not manage trusts (Keystone's rule)."""
    if context.application_credential_id and context.user_id:
        credential = services.app_credentials.get(
            context.user_id, context.application_credential_id
        )
        if not credential.unrestricted:
            raise Forbidden(
                "Using method 'application_credential' is not allowed for managing trusts."
            )


def _target(trust: Trust) -> dict[str, str]:
    return {
        "trust__trustor_user_id": trust.trustor_user_id,
        "trust__trustee_user_id": trust.trustee_user_id,
    }


def _delegated(trust: Trust, role_id: str) -> Role:
    for role in trust.roles:
        if role.id == role_id:
            return role
    raise NotFound(f"Could not find role: {role_id}.")


@router.post(BASE, status_code=201)
async def create_trust(
    request: Request, body: CreateRequest, services: Services, context: Context
) -> Response:
    spec = body.trust
    authorize(services, "create_trust", context, trust__trustor_user_id=spec.trustor_user_id)
    trust_request = _request(spec)

    def create() -> Trust:
        _refuse_restricted_credential(services, context)
        return services.trusts.create(
            trust_request, caller_user_id=context.user_id, caller_trust_id=context.trust_id
        )

    trust = await run_in_threadpool(create)
    return JSONBody({"trust": views.trust_view(request, trust)}, status_code=201)


# Tempest lists with a trailing slash (`OS-TRUST/trusts/?trustor_user_id=...`).
@router.get(BASE)
@router.get(BASE + "/", include_in_schema=False)
def list_trusts(
    request: Request,
    services: Services,
    context: Context,
    trustor_user_id: str | None = None,
    trustee_user_id: str | None = None,
) -> Response:
    if trustor_user_id:
        authorize(
            services, "list_trusts_for_trustor", context, trust__trustor_user_id=trustor_user_id
        )
    elif trustee_user_id:
        authorize(
            services, "list_trusts_for_trustee", context, trust__trustee_user_id=trustee_user_id
        )
    else:
        authorize(services, "list_trusts", context)
    found = services.trusts.list_trusts(
        trustor_user_id=trustor_user_id or None, trustee_user_id=trustee_user_id or None
    )
    return JSONBody(
        {
            "trusts": [views.trust_view(request, t, with_roles=False) for t in found],
            "links": collection_links(request),
        }
    )


@router.get(BASE + "/{trust_id}")
def get_trust(request: Request, trust_id: str, services: Services, context: Context) -> Response:
    # Looked up first: a missing trust is 404 for everyone, as in Keystone.
    trust = services.trusts.get(trust_id)
    authorize(services, "get_trust", context, **_target(trust))
    return JSONBody({"trust": views.trust_view(request, trust)})


@router.delete(BASE + "/{trust_id}", status_code=204)
def delete_trust(trust_id: str, services: Services, context: Context) -> Response:
    trust = services.trusts.lookup(trust_id)
    authorize(services, "delete_trust", context, **_target(trust))
    _refuse_restricted_credential(services, context)
    services.trusts.delete(trust_id)
    return Response(status_code=204)


@router.get(BASE + "/{trust_id}/roles")
def list_trust_roles(
    request: Request, trust_id: str, services: Services, context: Context
) -> Response:
    trust = services.trusts.get(trust_id)
    authorize(services, "list_roles_for_trust", context, **_target(trust))
    return JSONBody(
        {
            "roles": [views.role_view(request, role) for role in trust.roles],
            "links": views.trust_roles_links(request, trust),
        }
    )


@router.get(BASE + "/{trust_id}/roles/{role_id}")
def get_trust_role(
    request: Request, trust_id: str, role_id: str, services: Services, context: Context
) -> Response:
    trust = services.trusts.get(trust_id)
    authorize(services, "get_role_for_trust", context, **_target(trust))
    return JSONBody({"role": views.role_view(request, _delegated(trust, role_id))})


@router.head(BASE + "/{trust_id}/roles/{role_id}", status_code=200)
def check_trust_role(trust_id: str, role_id: str, services: Services, context: Context) -> Response:
    trust = services.trusts.get(trust_id)
    authorize(services, "get_role_for_trust", context, **_target(trust))
    _delegated(trust, role_id)
    return Response(status_code=200)
