"""`/v2.1/servers/{id}/migrations`: a server's live migrations in progress (2.23), forcing one
to complete (2.22) and aborting it (2.24); earlier microversions do not have these resources
(404, as Nova answers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.migration_views import in_progress

router = APIRouter()
JsonBody = Annotated[Any, Body()]
BASE = "/v2.1/servers/{server_id}/migrations"


def _since(version: Version, needed: str) -> None:
    if not version.at_least(needed):
        raise NotFound("The resource could not be found.")


@router.get(BASE)
def list_server_migrations(
    server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _since(version, "2.23")
    found = services.migrations.in_progress(context, server_id)
    return JSONBody({"migrations": [in_progress(m, version) for m in found]})


@router.get(BASE + "/{migration_id}")
def show_server_migration(
    server_id: str, migration_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _since(version, "2.23")
    migration = services.migrations.show(context, server_id, migration_id)
    return JSONBody({"migration": in_progress(migration, version)})


@router.post(BASE + "/{migration_id}/action")
def server_migration_action(
    server_id: str,
    migration_id: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    _since(version, "2.22")
    if not isinstance(body, Mapping) or list(body) != ["force_complete"]:
        raise BadRequest('There is no such action: the body must be {"force_complete": null}')
    if body["force_complete"] is not None:
        raise BadRequest(
            f"Invalid input for field/attribute force_complete. Value: {body['force_complete']}."
            " It must be null."
        )
    services.migrations.force_complete(context, server_id, migration_id)
    return Response(status_code=202)


@router.delete(BASE + "/{migration_id}")
def abort_server_migration(
    server_id: str, migration_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _since(version, "2.24")
    services.migrations.abort(context, server_id, migration_id, queued_too=version.at_least("2.65"))
    return Response(status_code=202)
