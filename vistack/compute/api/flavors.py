"""`/v2.1/flavors`: list (brief and detail), show, create, delete; extra specs
(`os-extra_specs`) and project access (`os-flavor-access`, the `action` endpoint).

Handlers parse the query and render Nova's views; the domain checks policy and bodies. By
microversion: 2.7 refuses access to a public flavor (409; before, the grant is recorded, as
Nova does, though a public flavor's access list changes nothing); 2.55 adds `description` (shown,
given at create, changed by `PUT /flavors/{id}`, 404 before); 2.61 shows the extra specs the
caller may read; 2.75 shows a flavor without swap as `0`, not `""`; 2.86 checks extra specs
against the ones Nova knows (`domain/extra_spec_rules.py`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Forbidden, NotFound
from vistack.common.web import JSONBody, service_url
from vistack.compute.api.deps import ComputeServices, Context, Services
from vistack.compute.api.microversion import V2_1, Microversion, Version
from vistack.compute.domain.extra_spec_rules import VALIDATED_FROM
from vistack.compute.domain.flavors import SORT_ATTRIBUTES, Flavor, FlavorQuery

router = APIRouter()
JsonBody = Annotated[Any, Body()]

#: Nova's `max_limit`: a page never holds more.
MAX_LIMIT = 1000


def links(request: Request, flavor_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": service_url(request, "v2.1", "flavors", flavor_id)},
        {"rel": "bookmark", "href": service_url(request, "flavors", flavor_id)},
    ]


def brief_view(request: Request, flavor: Flavor, version: Version = V2_1) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "links": links(request, flavor.id),
    }
    if version.at_least("2.55"):
        view["description"] = flavor.description
    return view


def full_view(
    request: Request,
    flavor: Flavor,
    version: Version = V2_1,
    extra_specs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The flavor at `version`; `extra_specs` None: the caller may not see them (2.61)."""
    view: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "swap": flavor.swap_mb or (0 if version.at_least("2.75") else ""),
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor or "",
        "links": links(request, flavor.id),
    }
    if version.at_least("2.55"):
        view["description"] = flavor.description
    if version.at_least("2.61") and extra_specs is not None:
        view["extra_specs"] = extra_specs
    return view


def _specs(
    services: ComputeServices, context: RequestContext, flavor_id: str, version: Version
) -> dict[str, str] | None:
    """The flavor's extra specs for a 2.61 view, None before or when policy hides them."""
    if not version.at_least("2.61"):
        return None
    try:
        return services.flavors.extra_specs(context, flavor_id)
    except (Forbidden, NotFound):
        return None


def _full(
    request: Request,
    services: ComputeServices,
    context: RequestContext,
    flavor: Flavor,
    version: Version,
) -> dict[str, Any]:
    return full_view(request, flavor, version, _specs(services, context, flavor.id, version))


def _integer(params: Any, name: str, message: str, minimum: int | None = None) -> int | None:
    if name not in params:
        return None
    value: str = params[name]
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(message.format(value)) from None
    if minimum is not None and number < minimum:
        raise BadRequest(message.format(value))
    return number


def parse_query(request: Request) -> FlavorQuery:
    """A list's parameters, checked with Nova's messages.

    :raises BadRequest: a filter, limit, sort key or direction that is not valid.
    """
    params = request.query_params
    limit = _integer(params, "limit", "limit param must be an integer >= 0, not {!r}", 0)
    sort_key = params.get("sort_key") or "flavorid"
    if sort_key not in SORT_ATTRIBUTES:
        raise BadRequest(
            f"Invalid sort_key {sort_key!r}: one of {', '.join(sorted(SORT_ATTRIBUTES))}."
        )
    sort_dir = params.get("sort_dir") or "asc"
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort_dir {sort_dir!r}: asc or desc.")
    return FlavorQuery(
        min_ram=_integer(params, "minRam", "Invalid minRam filter [{}]"),
        min_disk=_integer(params, "minDisk", "Invalid minDisk filter [{}]"),
        is_public=params.get("is_public"),
        sort_key=sort_key,
        sort_dir=sort_dir,
        limit=MAX_LIMIT if limit is None else min(limit, MAX_LIMIT),
        marker=params.get("marker"),
    )


def _list(
    request: Request, services: Services, context: Context, detail: bool, version: Version
) -> Response:
    query = parse_query(request)
    flavors = services.flavors.list_flavors(context, query)
    if detail:
        items = [_full(request, services, context, f, version) for f in flavors]
    else:
        items = [brief_view(request, f, version) for f in flavors]
    body: dict[str, Any] = {"flavors": items}
    if flavors and len(flavors) == query.limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", flavors[-1].id))
        path = ("flavors", "detail") if detail else ("flavors",)
        href = service_url(request, "v2.1", *path) + "?" + urlencode(params)
        body["flavors_links"] = [{"rel": "next", "href": href}]
    return JSONBody(body)


@router.get("/v2.1/flavors")
def list_flavors(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, detail=False, version=version)


@router.get("/v2.1/flavors/detail")
def list_flavors_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    return _list(request, services, context, detail=True, version=version)


@router.get("/v2.1/flavors/{flavor_id}")
def show_flavor(
    flavor_id: str, request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    flavor = services.flavors.get(context, flavor_id)
    return JSONBody({"flavor": _full(request, services, context, flavor, version)})


@router.post("/v2.1/flavors")
def create_flavor(
    request: Request,
    services: Services,
    context: Context,
    version: Microversion,
    body: JsonBody = None,
) -> Response:
    """200, as Nova answers (not 201)."""
    flavor = services.flavors.create(context, body, described=version.at_least("2.55"))
    return JSONBody({"flavor": _full(request, services, context, flavor, version)})


@router.put("/v2.1/flavors/{flavor_id}")
def update_flavor(
    flavor_id: str,
    request: Request,
    services: Services,
    context: Context,
    version: Microversion,
    body: JsonBody = None,
) -> Response:
    """2.55: change the description (nothing else of a flavor changes)."""
    if not version.at_least("2.55"):
        raise NotFound("The resource could not be found.")
    flavor = services.flavors.describe(context, flavor_id, body)
    return JSONBody({"flavor": _full(request, services, context, flavor, version)})


@router.delete("/v2.1/flavors/{flavor_id}")
def delete_flavor(flavor_id: str, services: Services, context: Context) -> Response:
    services.flavors.delete(context, flavor_id)
    return Response(status_code=202)


# ---------------------------------------------------------------------- extra specs


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
def list_extra_specs(flavor_id: str, services: Services, context: Context) -> Response:
    return JSONBody({"extra_specs": services.flavors.extra_specs(context, flavor_id)})


@router.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
def create_extra_specs(
    flavor_id: str,
    services: Services,
    context: Context,
    version: Microversion,
    body: JsonBody = None,
) -> Response:
    """200 with what was set, values as stored (strings); checked as Nova does from 2.86."""
    specs = services.flavors.set_extra_specs(
        context, flavor_id, body, validated=version.at_least(VALIDATED_FROM)
    )
    return JSONBody({"extra_specs": specs})


@router.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def show_extra_spec(flavor_id: str, key: str, services: Services, context: Context) -> Response:
    return JSONBody(services.flavors.extra_spec(context, flavor_id, key))


@router.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def update_extra_spec(
    flavor_id: str,
    key: str,
    services: Services,
    context: Context,
    version: Microversion,
    body: JsonBody = None,
) -> Response:
    validated = version.at_least(VALIDATED_FROM)
    return JSONBody(
        services.flavors.update_extra_spec(context, flavor_id, key, body, validated=validated)
    )


@router.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
def delete_extra_spec(flavor_id: str, key: str, services: Services, context: Context) -> Response:
    """200 with no body, as Nova answers."""
    services.flavors.delete_extra_spec(context, flavor_id, key)
    return Response(status_code=200)


# ---------------------------------------------------------------------- access


def access_view(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p} for p in projects]}


@router.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
def list_flavor_access(flavor_id: str, services: Services, context: Context) -> Response:
    return JSONBody(access_view(flavor_id, services.flavors.access(context, flavor_id)))


@router.post("/v2.1/flavors/{flavor_id}/action")
def flavor_action(
    flavor_id: str,
    services: Services,
    context: Context,
    version: Microversion,
    body: JsonBody = None,
) -> Response:
    """`addTenantAccess` / `removeTenantAccess`: the body names exactly one action."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: it must name exactly one action.")
    action = next(iter(body))
    if action == "addTenantAccess":
        refuse_public = version.at_least("2.7")
        projects = services.flavors.add_access(
            context, flavor_id, body, refuse_public=refuse_public
        )
    elif action == "removeTenantAccess":
        projects = services.flavors.remove_access(context, flavor_id, body)
    else:
        raise BadRequest(f"There is no such action: {action}")
    return JSONBody(access_view(flavor_id, projects))
