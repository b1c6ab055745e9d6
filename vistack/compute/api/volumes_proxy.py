"""`os-volumes`, `os-snapshots` (Nova's proxies to Cinder, 404 from 2.36 as Nova's are) and
`os-volumes_boot` (the old name of a server create, at every microversion).

The two proxies have the same five routes (list, detail, show, create, delete), so one
function adds them for each (path, proxy) pair; what differs lives in the domain's `Kind`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.api.servers import create_server
from vistack.compute.domain import volumes_proxy as proxies
from vistack.compute.domain.volumes_proxy import CinderProxy, Kind, VolumeProxy

router = APIRouter()
JsonBody = Annotated[Any, Body()]
VOLUMES = "/v2.1/os-volumes"
SNAPSHOTS = "/v2.1/os-snapshots"
Pick = Callable[[VolumeProxy], CinderProxy[Any, Any]]


def _proxy(services: Services, version: Version) -> VolumeProxy:
    """The proxies at `version`: gone (404) from 2.36."""
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")
    if services.volume_proxy is None:
        raise RuntimeError("ComputeServices was built without its volume proxy")
    return services.volume_proxy


def _add_proxy(path: str, kind: Kind[Any, Any], pick: Pick) -> None:
    """One proxy's routes under `path`, answering `{plural: [...]}` or `{key: {...}}`."""
    key, plural = kind.key, kind.plural

    def lister(detail: bool) -> Callable[..., Response]:
        def index(
            request: Request, services: Services, context: Context, version: Microversion
        ) -> Response:
            query = dict(request.query_params)
            found = pick(_proxy(services, version)).index(context, query, detail=detail)
            return JSONBody({plural: found})

        return index

    def show(item_id: str, services: Services, context: Context, version: Microversion) -> Response:
        return JSONBody({key: pick(_proxy(services, version)).show(context, item_id)})

    def create(
        body: JsonBody, services: Services, context: Context, version: Microversion
    ) -> Response:
        return JSONBody({key: pick(_proxy(services, version)).create(context, body)})

    def delete(
        item_id: str, services: Services, context: Context, version: Microversion
    ) -> Response:
        pick(_proxy(services, version)).delete(context, item_id)
        return Response(status_code=202)

    item = path + "/{item_id}"
    router.add_api_route(path, lister(False), methods=["GET"], name=f"list_{plural}")
    router.add_api_route(
        path + "/detail", lister(True), methods=["GET"], name=f"list_{plural}_detail"
    )
    router.add_api_route(item, show, methods=["GET"], name=f"show_{key}")
    router.add_api_route(path, create, methods=["POST"], name=f"create_{key}")
    router.add_api_route(item, delete, methods=["DELETE"], name=f"delete_{key}")


_add_proxy(VOLUMES, proxies.VOLUMES, lambda proxy: proxy.volumes)
_add_proxy(SNAPSHOTS, proxies.SNAPSHOTS, lambda proxy: proxy.snapshots)


@router.post("/v2.1/os-volumes_boot")
def boot_from_volume(
    request: Request, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    """Nova's `os-volumes_boot`: a server create by its old name (block device mappings and
    all)."""
    return create_server(request, body, services, context, version)
