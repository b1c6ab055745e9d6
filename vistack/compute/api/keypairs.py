"""`/v2.1/os-keypairs`: a user's key pairs, as Nova 2.1 shows them (no `type`, which is 2.2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.keypairs import Keypair

router = APIRouter()
JsonBody = Annotated[Any, Body()]


def _time(keypair: Keypair) -> str:
    """Nova's timestamps: ISO 8601 with microseconds, no zone (UTC)."""
    return keypair.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _user_id(request: Request) -> str | None:
    """An administrator's `?user_id=` (the policy refuses anyone else naming another user)."""
    return request.query_params.get("user_id") or None


@router.get("/v2.1/os-keypairs")
def list_keypairs(request: Request, services: Services, context: Context) -> Response:
    keypairs = services.keypairs.list(context, _user_id(request))
    return JSONBody(
        {
            "keypairs": [
                {
                    "keypair": {
                        "name": k.name,
                        "public_key": k.public_key,
                        "fingerprint": k.fingerprint,
                    }
                }
                for k in keypairs
            ]
        }
    )


@router.post("/v2.1/os-keypairs")
def create_keypair(services: Services, context: Context, body: JsonBody = None) -> Response:
    """200 at 2.1 (201 is 2.2's), with the private key when it was generated here."""
    keypair, private_key = services.keypairs.create(context, body)
    view: dict[str, Any] = {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
        "user_id": keypair.user_id,
    }
    if private_key is not None:
        view["private_key"] = private_key
    return JSONBody({"keypair": view})


@router.get("/v2.1/os-keypairs/{name}")
def show_keypair(name: str, request: Request, services: Services, context: Context) -> Response:
    keypair = services.keypairs.get(context, name, _user_id(request))
    return JSONBody(
        {
            "keypair": {
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
        }
    )


@router.delete("/v2.1/os-keypairs/{name}")
def delete_keypair(name: str, request: Request, services: Services, context: Context) -> Response:
    services.keypairs.delete(context, name, _user_id(request))
    return Response(status_code=202)
