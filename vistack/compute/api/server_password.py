"""`GET` / `DELETE /v2.1/servers/{id}/os-server-password`: the encrypted password the guest
posted to the metadata service (`""` when none), and clearing it (204), which lets the guest
post a new one; the password inside the guest is not changed (domain/server_password.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.domain.small_apis import required

router = APIRouter()


@router.get("/v2.1/servers/{server_id}/os-server-password")
def show_server_password(server_id: str, services: Services, context: Context) -> Response:
    password = required(services.small_apis).passwords.show(context, server_id)
    return JSONBody({"password": password})


@router.delete("/v2.1/servers/{server_id}/os-server-password", status_code=204)
def clear_server_password(server_id: str, services: Services, context: Context) -> Response:
    required(services.small_apis).passwords.clear(context, server_id)
    return Response(status_code=204)
