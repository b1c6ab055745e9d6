"""`/v2.1/os-quota-sets` (a project's limits, defaults and usage) and `/v2.1/os-quota-class-sets`
(the defaults every project starts from), as Nova renders them at the request's microversion:
2.36 drops the network quotas (Neutron's), 2.50 shows a class's server group quotas, 2.57 drops
the file injection quotas. A removed quota named in an update is refused as Nova's schema does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: Before 2.50 a quota class shows neither (Nova bug 1693168, kept for 2.1 clients).
CLASS_HIDDEN = ("server_groups", "server_group_members")
#: Gone from quota sets at 2.36 (from quota classes at 2.50): Neutron's quotas.
NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
#: Gone at 2.57, with file injection.
INJECTION_QUOTAS = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")


def removed(version: Version, *, quota_class: bool = False) -> tuple[str, ...]:
    """The quotas `version` no longer shows or takes."""
    gone: tuple[str, ...] = ()
    if version.at_least("2.50" if quota_class else "2.36"):
        gone += NETWORK_QUOTAS
    if version.at_least("2.57"):
        gone += INJECTION_QUOTAS
    if quota_class and not version.at_least("2.50"):
        gone += CLASS_HIDDEN
    return gone


def _shown(values: dict[str, Any], gone: tuple[str, ...]) -> dict[str, Any]:
    return {r: v for r, v in values.items() if r not in gone}


def _refuse_removed(body: Any, key: str, gone: tuple[str, ...]) -> None:
    """A removed quota in an update: Nova's schema no longer knows it."""
    items = body.get(key) if isinstance(body, dict) else None
    if isinstance(items, dict):
        named = sorted(k for k in items if k in gone)
        if named:
            verb = "was" if len(named) == 1 else "were"
            listed = ", ".join(repr(k) for k in named)
            raise BadRequest(
                f"Invalid input for field/attribute {key}. Additional properties are not "
                f"allowed ({listed} {verb} unexpected)"
            )


def _user(request: Request) -> str | None:
    return request.query_params.get("user_id") or None


def _quota_set(values: dict[str, Any], project_id: str | None = None) -> Response:
    body = {"id": project_id, **values} if project_id is not None else values
    return JSONBody({"quota_set": body})


@router.get("/v2.1/os-quota-sets/{project_id}/defaults")
def show_defaults(
    project_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    values = _shown(services.quotas.defaults(context, project_id), removed(version))
    return _quota_set(values, project_id)


@router.get("/v2.1/os-quota-sets/{project_id}/detail")
def show_detail(
    project_id: str, request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    values = services.quotas.detail(context, project_id, user_id=_user(request))
    return _quota_set(_shown(values, removed(version)), project_id)


@router.get("/v2.1/os-quota-sets/{project_id}")
def show_quota_set(
    project_id: str, request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    values = services.quotas.show(context, project_id, user_id=_user(request))
    return _quota_set(_shown(values, removed(version)), project_id)


@router.put("/v2.1/os-quota-sets/{project_id}")
def update_quota_set(
    project_id: str,
    body: JsonBody,
    request: Request,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    gone = removed(version)
    _refuse_removed(body, "quota_set", gone)
    values = services.quotas.update(context, project_id, body, user_id=_user(request))
    # Nova leaves the id out of an update's answer.
    return _quota_set(_shown(values, gone))


@router.delete("/v2.1/os-quota-sets/{project_id}")
def delete_quota_set(
    project_id: str, request: Request, services: Services, context: Context
) -> Response:
    services.quotas.delete(context, project_id, user_id=_user(request))
    return Response(status_code=202)


def _class_set(values: dict[str, int], version: Version, name: str | None = None) -> Response:
    shown = _shown(values, removed(version, quota_class=True))
    body = {"id": name, **shown} if name is not None else shown
    return JSONBody({"quota_class_set": body})


@router.get("/v2.1/os-quota-class-sets/{name}")
def show_quota_class_set(
    name: str, services: Services, context: Context, version: Microversion
) -> Response:
    return _class_set(services.quotas.show_class(context, name), version, name)


@router.put("/v2.1/os-quota-class-sets/{name}")
def update_quota_class_set(
    name: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    gone = tuple(q for q in removed(version, quota_class=True) if q not in CLASS_HIDDEN)
    _refuse_removed(body, "quota_class_set", gone)  # hidden before 2.50, still taken
    return _class_set(services.quotas.update_class(context, name, body), version)
