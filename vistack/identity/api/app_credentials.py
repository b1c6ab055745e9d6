"""`/v3/users/{user_id}/application_credentials`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.errors import BadRequest, Forbidden
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import ApplicationCredentialCreate, Strict
from vistack.identity.domain.access_rules import AccessRuleRequest
from vistack.identity.domain.time import parse_isotime

router = APIRouter()
BASE = "/v3/users/{user_id}/application_credentials"


class CreateRequest(Strict):
    application_credential: ApplicationCredentialCreate


@router.post(BASE, status_code=201)
async def create_application_credential(
    request: Request, user_id: str, body: CreateRequest, services: Services, context: Context
) -> Response:
    authorize(services, "create_application_credential", context, user__id=user_id)
    spec = body.application_credential
    if context.trust_id:
        # It would outlive the trust, and with impersonation belong to the trustor.
        raise Forbidden("An application credential cannot be created with a trust-scoped token.")
    access_rules = [
        AccessRuleRequest(rule.id, rule.service, rule.path, rule.method)
        for rule in spec.access_rules or []
    ]
    try:
        expires_at = parse_isotime(spec.expires_at) if spec.expires_at else None
    except ValueError as exc:
        raise BadRequest(f"Invalid expires_at {spec.expires_at!r}: use ISO 8601.") from exc
    restricted_caller = bool(context.application_credential_id) and not _unrestricted(
        services, context.user_id, context.application_credential_id
    )
    credential, secret = await run_in_threadpool(
        lambda: services.app_credentials.create(
            user_id,
            context.project_id,
            spec.name,
            secret=spec.secret,
            description=spec.description,
            expires_at=expires_at,
            unrestricted=spec.unrestricted,
            role_refs=[(r.id, r.name) for r in spec.roles or []],
            from_application_credential=restricted_caller,
            access_rules=access_rules,
        )
    )
    return JSONBody(
        {"application_credential": views.application_credential_view(request, credential, secret)},
        status_code=201,
    )


def _unrestricted(services: Services, user_id: str | None, credential_id: str | None) -> bool:
    if not user_id or not credential_id:
        return False
    return services.app_credentials.get(user_id, credential_id).unrestricted


@router.get(BASE)
def list_application_credentials(
    request: Request, user_id: str, services: Services, context: Context, name: str | None = None
) -> Response:
    authorize(services, "list_application_credentials", context, user__id=user_id)
    found = services.app_credentials.list_for_user(user_id, name=name)
    return JSONBody(
        {
            "application_credentials": [
                views.application_credential_view(request, c) for c in found
            ],
            "links": collection_links(request),
        }
    )


@router.get(BASE + "/{credential_id}")
def get_application_credential(
    request: Request, user_id: str, credential_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_application_credential", context, user__id=user_id)
    credential = services.app_credentials.get(user_id, credential_id)
    return JSONBody(
        {"application_credential": views.application_credential_view(request, credential)}
    )


@router.delete(BASE + "/{credential_id}", status_code=204)
def delete_application_credential(
    user_id: str, credential_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "delete_application_credential", context, user__id=user_id)
    services.app_credentials.delete(user_id, credential_id)
    return Response(status_code=204)
