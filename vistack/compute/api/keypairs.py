"""`/v2.1/os-keypairs`: a user's key pairs, as Nova shows them: at 2.1 without `type`; from 2.2
with it, a create answering 201 and a delete 204 (2.2's status code fixes); from 2.10 an
administrator names another user (`?user_id=`, or `user_id` in a create); from 2.35 the list is
paged (`limit`, `marker`: a key pair name, in name order); from 2.92 a create imports only
(`public_key` required: no more generated private keys) and names may hold '@' and '.'."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody, service_url
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.domain.keypairs import Keypair

router = APIRouter()
JsonBody = Annotated[Any, Body()]
#: The microversion that gave key pairs a type and fixed the create and delete status codes.
TYPED = "2.2"


def _time(keypair: Keypair) -> str:
    """Nova's timestamps: ISO 8601 with microseconds, no zone (UTC)."""
    return keypair.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _user_id(request: Request, version: Version) -> str | None:
    """An administrator's `?user_id=` from 2.10 (the policy refuses anyone else naming another
    user); before 2.10 Nova does not read it."""
    if not version.at_least("2.10"):
        return None
    return request.query_params.get("user_id") or None


def _page(request: Request, keypairs: list[Keypair], version: Version) -> tuple[list[Keypair], Any]:
    """2.35's `limit` and `marker` (a name), and the next link of a full page."""
    params = request.query_params
    if not version.at_least("2.35"):
        return keypairs, None
    if "marker" in params:
        names = [k.name for k in keypairs]
        if params["marker"] not in names:
            raise BadRequest(f"marker [{params['marker']}] not found")
        keypairs = keypairs[names.index(params["marker"]) + 1 :]
    if "limit" not in params:
        return keypairs, None
    try:
        limit = int(params["limit"])
    except ValueError:
        limit = -1
    if limit < 0:
        raise BadRequest(
            f"Invalid input for query parameters limit. Value: {params['limit']}. "
            "It must be a non-negative integer."
        )
    page = keypairs[:limit]
    if not page or len(page) < limit:
        return page, None
    query = [(k, v) for k, v in params.multi_items() if k != "marker"]
    query.append(("marker", page[-1].name))
    href = service_url(request, "v2.1", "os-keypairs") + "?" + urlencode(query)
    return page, [{"rel": "next", "href": href}]


def _typed(view: dict[str, Any], keypair: Keypair, version: Microversion) -> dict[str, Any]:
    if version.at_least(TYPED):
        view["type"] = keypair.type
    return view


@router.get("/v2.1/os-keypairs")
def list_keypairs(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    keypairs, next_link = _page(
        request, services.keypairs.list(context, _user_id(request, version)), version
    )
    body: dict[str, Any] = {
        "keypairs": [
            {
                "keypair": _typed(
                    {"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint},
                    k,
                    version,
                )
            }
            for k in keypairs
        ]
    }
    if next_link:
        body["keypairs_links"] = next_link
    return JSONBody(body)


@router.post("/v2.1/os-keypairs")
def create_keypair(
    services: Services, context: Context, version: Microversion, body: JsonBody = None
) -> Response:
    """200 at 2.1, 201 from 2.2, with the private key when it was generated here."""
    typed = version.at_least(TYPED)
    owner = None
    fields = body.get("keypair") if isinstance(body, dict) else None
    if version.at_least("2.10") and isinstance(fields, dict) and "user_id" in fields:
        owner = fields["user_id"]
        if not isinstance(owner, str) or not owner:
            raise BadRequest("Invalid input for field/attribute user_id. Value must be a string.")
        body = {**body, "keypair": {k: v for k, v in fields.items() if k != "user_id"}}
    keypair, private_key = services.keypairs.create(
        context, body, typed=typed, user_id=owner, import_only=version.at_least("2.92")
    )
    view: dict[str, Any] = {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
        "user_id": keypair.user_id,
    }
    if private_key is not None:
        view["private_key"] = private_key
    return JSONBody({"keypair": _typed(view, keypair, version)}, status_code=201 if typed else 200)


@router.get("/v2.1/os-keypairs/{name}")
def show_keypair(
    name: str, request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    keypair = services.keypairs.get(context, name, _user_id(request, version))
    view = {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
        "user_id": keypair.user_id,
        "id": keypair.number,
        "created_at": _time(keypair),
        "updated_at": None,
        "deleted": False,
        "deleted_at": None,
    }
    return JSONBody({"keypair": _typed(view, keypair, version)})


@router.delete("/v2.1/os-keypairs/{name}")
def delete_keypair(
    name: str, request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    services.keypairs.delete(context, name, _user_id(request, version))
    return Response(status_code=204 if version.at_least(TYPED) else 202)
