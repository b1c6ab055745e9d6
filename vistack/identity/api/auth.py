"""`/v3/auth/*`: issue, validate, check and revoke tokens; what a token may scope to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.errors import BadRequest, Forbidden, NotFound, Unauthorized
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links, query_bool
from vistack.identity.api.schemas import AuthRequest, IdentityBody, ScopeBody, UserRefBody
from vistack.identity.domain.auth import (
    ApplicationCredentialMethod,
    AuthMethod,
    PasswordMethod,
    ScopeRequest,
    TokenMethod,
    UserRef,
    ValidatedToken,
)
from vistack.identity.domain.models import TargetKind
from vistack.identity.domain.tokens import ScopeKind

router = APIRouter()
SUBJECT_TOKEN = "x-subject-token"
SUPPORTED_METHODS = ("password", "token", "application_credential")


def _user_ref(body: UserRefBody | None) -> UserRef:
    if body is None:
        raise BadRequest("Expecting to find user in the authentication method.")
    if not body.id and not body.name:
        raise BadRequest("Expecting to find id or name in user.")
    if (
        body.name
        and not body.id
        and (body.domain is None or not (body.domain.id or body.domain.name))
    ):
        raise BadRequest("Expecting to find domain in user when the user is named.")
    return UserRef(
        id=body.id,
        name=body.name,
        domain_id=body.domain.id if body.domain else None,
        domain_name=body.domain.name if body.domain else None,
    )


def _methods(identity: IdentityBody) -> list[AuthMethod]:
    methods: list[AuthMethod] = []
    for name in identity.methods:
        if name not in SUPPORTED_METHODS:
            raise Unauthorized(f"Attempted to authenticate with an unsupported method: {name}.")
        if name == "password":
            if identity.password is None or identity.password.user.password is None:
                raise BadRequest("Expecting to find password in the password method.")
            methods.append(
                PasswordMethod(_user_ref(identity.password.user), identity.password.user.password)
            )
        elif name == "token":
            if identity.token is None:
                raise BadRequest("Expecting to find id in the token method.")
            methods.append(TokenMethod(identity.token.id))
        else:
            body = identity.application_credential
            if body is None:
                raise BadRequest("Expecting to find application_credential in the method.")
            if not body.id and not (body.name and body.user):
                raise BadRequest("An application credential needs an id, or a name and a user.")
            methods.append(
                ApplicationCredentialMethod(
                    body.secret, body.id, body.name, _user_ref(body.user) if body.user else None
                )
            )
    return methods


def _scope(scope: ScopeBody | str | None) -> ScopeRequest:
    if isinstance(scope, str):
        return ScopeRequest(explicitly_unscoped=True)
    if scope is None:
        return ScopeRequest()
    trust = scope.OS_TRUST_trust
    chosen = [s for s in (scope.project, scope.domain, scope.system, trust) if s is not None]
    if len(chosen) > 1:
        raise BadRequest(
            "Specify only one of project, domain, system or OS-TRUST:trust as the scope."
        )
    if trust is not None:
        trust_id = trust.get("id")
        if not isinstance(trust_id, str) or not trust_id:
            raise BadRequest("Expecting to find id in the OS-TRUST:trust scope.")
        return ScopeRequest(trust_id=trust_id)
    if scope.project is not None:
        project = scope.project
        if not project.id and not project.name:
            raise BadRequest("Expecting to find id or name in project scope.")
        if (
            project.name
            and not project.id
            and (project.domain is None or not (project.domain.id or project.domain.name))
        ):
            raise BadRequest("Expecting to find domain in project scope.")
        return ScopeRequest(
            ScopeKind.PROJECT,
            project.id,
            project.name,
            project.domain.id if project.domain else None,
            project.domain.name if project.domain else None,
        )
    if scope.domain is not None:
        if not scope.domain.id and not scope.domain.name:
            raise BadRequest("Expecting to find id or name in domain scope.")
        return ScopeRequest(ScopeKind.DOMAIN, scope.domain.id, scope.domain.name)
    if scope.system is not None:
        if not scope.system.all:
            raise BadRequest('Only the system scope {"all": true} exists.')
        return ScopeRequest(ScopeKind.SYSTEM)
    return ScopeRequest()


def _render(services: Services, token: ValidatedToken, with_catalog: bool) -> dict[str, Any]:
    catalog = None
    if with_catalog:
        project = token.scope.project
        catalog = services.catalog.catalog_for_project(project.id if project else None)
    return views.token_view(token, catalog)


@router.post("/v3/auth/tokens", status_code=201)
async def issue_token(
    body: AuthRequest, services: Services, nocatalog: str | None = None
) -> Response:
    methods = _methods(body.auth.identity)
    scope = _scope(body.auth.scope)
    # bcrypt runs here for ~0.3 s; it releases the GIL, so a thread keeps the loop serving.
    token = await run_in_threadpool(services.auth.authenticate, methods, scope)
    rendered = await run_in_threadpool(_render, services, token, nocatalog is None)
    return JSONBody(rendered, status_code=201, headers={"X-Subject-Token": token.token_id})


async def _subject(request: Request, services: Services, context: Context) -> ValidatedToken:
    """The X-Subject-Token, validated from memory when possible (see `authenticated_context`)."""
    subject = request.headers.get(SUBJECT_TOKEN)
    if not subject:
        raise NotFound("Could not find token: no X-Subject-Token header was given.")
    allow_expired = bool(query_bool(request.query_params.get("allow_expired")))
    token = services.auth.validate_from_memory(subject, allow_expired=allow_expired)
    if token is None:
        token = await run_in_threadpool(
            lambda: services.auth.validate(subject, allow_expired=allow_expired)
        )
    authorize(services, "validate_token", context, token__user_id=token.payload.user_id)
    return token


@router.get("/v3/auth/tokens")
async def validate_token(request: Request, services: Services, context: Context) -> Response:
    token = await _subject(request, services, context)
    with_catalog = "nocatalog" not in request.query_params
    project = token.scope.project
    catalog = None
    if with_catalog:
        catalog = services.catalog.cached_catalog(project.id if project else None)
    if with_catalog and catalog is None:
        body = await run_in_threadpool(_render, services, token, with_catalog)
    else:
        body = views.token_view(token, catalog)
    return JSONBody(body, headers={"X-Subject-Token": token.token_id})


@router.head("/v3/auth/tokens", status_code=200)
async def check_token(request: Request, services: Services, context: Context) -> Response:
    token = await _subject(request, services, context)
    return Response(status_code=200, headers={"X-Subject-Token": token.token_id})


@router.delete("/v3/auth/tokens", status_code=204)
async def revoke_token(request: Request, services: Services, context: Context) -> Response:
    token = await _subject(request, services, context)
    authorize(services, "revoke_token", context, token__user_id=token.payload.user_id)
    await run_in_threadpool(services.auth.revoke, token.token_id)
    return Response(status_code=204)


@router.get("/v3/auth/catalog")
def auth_catalog(request: Request, services: Services, context: Context) -> Response:
    if context.project_id is None and context.domain_id is None and context.system_scope is None:
        raise Forbidden("A scoped token is required to produce a service catalog.")
    entries = services.catalog.catalog_for_project(context.project_id)
    return JSONBody({"catalog": views.catalog_view(entries), "links": {"self": str(request.url)}})


@router.get("/v3/auth/projects")
def auth_projects(request: Request, services: Services, context: Context) -> Response:
    assert context.user_id is not None
    projects = [p for p in services.assignments.projects_of_user(context.user_id) if p.enabled]
    return JSONBody(
        {
            "projects": [views.project_view(request, p) for p in projects],
            "links": collection_links(request),
        }
    )


@router.get("/v3/auth/domains")
def auth_domains(request: Request, services: Services, context: Context) -> Response:
    assert context.user_id is not None
    domains = [d for d in services.assignments.domains_of_user(context.user_id) if d.enabled]
    return JSONBody(
        {
            "domains": [views.domain_view(request, d) for d in domains],
            "links": collection_links(request),
        }
    )


@router.get("/v3/auth/system")
def auth_system(request: Request, services: Services, context: Context) -> Response:
    assert context.user_id is not None
    roles = services.assignments.effective_roles(context.user_id, TargetKind.SYSTEM, "all")
    return JSONBody(
        {"system": [{"all": True}] if roles else [], "links": {"self": str(request.url)}}
    )
