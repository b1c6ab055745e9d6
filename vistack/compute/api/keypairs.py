"""`/v2.1/os-keypairs`: a user's key pairs, as Nova shows them: at 2.1 without `type`; from 2.2
with it, a create answering 201 and a delete 204 (2.2's status code fixes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion
from vistack.compute.domain.keypairs import Keypair

router = APIRouter()
JsonBody = Annotated[Any, Body()]
#: The microversion that gave key pairs a type and fixed the create and delete status codes.
TYPED = "2.2"


def _time(keypair: Keypair) -> str:
    """Nova's timestamps: ISO 8601 with microseconds, no zone (UTC)."""
    return keypair.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _user_id(request: Request) -> str | None:
    """An administrator's `?user_id=` (the policy refuses anyone else naming another user)."""
    return request.query_params.get("user_id") or None


def _typed(view: dict[str, Any], keypair: Keypair, version: Microversion) -> dict[str, Any]:
    if version.at_least(TYPED):
        view["type"] = keypair.type
    return view


@router.get("/v2.1/os-keypairs")
def list_keypairs(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    keypairs = services.keypairs.list(context, _user_id(request))
    return JSONBody(
        {
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
    )


@router.post("/v2.1/os-keypairs")
def create_keypair(
    services: Services, context: Context, version: Microversion, body: JsonBody = None
) -> Response:
    """200 at 2.1, 201 from 2.2, with the private key when it was generated here."""
    typed = version.at_least(TYPED)
    keypair, private_key = services.keypairs.create(context, body, typed=typed)
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
    keypair = services.keypairs.get(context, name, _user_id(request))
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
    services.keypairs.delete(context, name, _user_id(request))
    return Response(status_code=204 if version.at_least(TYPED) else 202)
