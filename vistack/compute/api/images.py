"""`/v2.1/images` (microversions 2.1 to 2.35) and `/v2.1/images/{id}/metadata` (to 2.38): Nova's
proxy to Glance, in Nova's image view (status in capitals, `progress`, `minRam`/`minDisk`,
`metadata` for Glance's properties, `server` for a snapshot's server, links to Glance too).
From 2.36 (2.39 for metadata) Nova answers 404: clients use Glance itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response

from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody, service_url
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version
from vistack.compute.domain.image_proxy import status_of
from vistack.image.domain.models import Image

router = APIRouter()
JsonBody = Annotated[Any, Body()]
PATH = "/v2.1/images"


def _until(version: Version, last: str) -> None:
    major, _, minor = last.partition(".")
    if (version.major, version.minor) > (int(major), int(minor)):
        raise NotFound("The resource could not be found.")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _links(request: Request, image_id: str) -> list[dict[str, str]]:
    compute = service_url(request)
    glance = compute.rsplit("/", 1)[0] + "/image"  # the image service beside this one
    return [
        {"rel": "self", "href": service_url(request, "v2.1", "images", image_id)},
        {"rel": "bookmark", "href": service_url(request, "images", image_id)},
        {
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
            "href": f"{glance}/images/{image_id}",
        },
    ]


def brief(request: Request, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": _links(request, image.id)}


def full(request: Request, image: Image) -> dict[str, Any]:
    status, progress = status_of(image)
    view: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "minRam": image.min_ram,
        "minDisk": image.min_disk,
        "metadata": dict(image.properties),
        "created": _stamp(image.created_at),
        "updated": _stamp(image.updated_at),
        "status": status,
        "progress": progress,
        "OS-EXT-IMG-SIZE:size": image.size,
        "links": _links(request, image.id),
    }
    server_id = image.properties.get("instance_uuid")
    if server_id:
        view["server"] = {
            "id": server_id,
            "links": [
                {"rel": "self", "href": service_url(request, "v2.1", "servers", server_id)},
                {"rel": "bookmark", "href": service_url(request, "servers", server_id)},
            ],
        }
    disk_config = image.properties.get("auto_disk_config")
    if disk_config is not None:
        view["OS-DCF:diskConfig"] = "AUTO" if disk_config.lower() == "true" else "MANUAL"
    return view


def _page(request: Request, images: list[Image], path: str) -> list[dict[str, str]] | None:
    params = request.query_params
    if "limit" not in params or not images or len(images) < int(params["limit"]):
        return None  # (the limit was checked by the list)
    query = [(k, v) for k, v in params.multi_items() if k != "marker"]
    query.append(("marker", images[-1].id))
    return [{"rel": "next", "href": service_url(request, "v2.1", path) + "?" + urlencode(query)}]


@router.get(PATH)
def list_images(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.35")
    found = services.image_proxy.list_images(context, request.query_params)
    body: dict[str, Any] = {"images": [brief(request, i) for i in found]}
    links = _page(request, found, "images")
    if links:
        body["images_links"] = links
    return JSONBody(body)


@router.get(PATH + "/detail")
def list_images_detail(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.35")
    found = services.image_proxy.list_images(context, request.query_params)
    body: dict[str, Any] = {"images": [full(request, i) for i in found]}
    links = _page(request, found, "images/detail")
    if links:
        body["images_links"] = links
    return JSONBody(body)


@router.get(PATH + "/{image_id}")
def show_image(
    request: Request, image_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.35")
    return JSONBody({"image": full(request, services.image_proxy.get(context, image_id))})


@router.delete(PATH + "/{image_id}")
def delete_image(
    image_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.35")
    services.image_proxy.delete(context, image_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------- metadata (to 2.38)


def _items(body: Any, key: str) -> dict[str, str]:
    if not isinstance(body, Mapping) or not isinstance(body.get(key), Mapping):
        raise BadRequest(f"Malformed request body: it must be an object with '{key}'.")
    out: dict[str, str] = {}
    for name, value in body[key].items():
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise BadRequest("Invalid input for field/attribute metadata: keys are 1 to 255 long.")
        if not isinstance(value, str) or len(value) > 255:
            raise BadRequest(f"Invalid metadata value for {name!r}: a string of at most 255.")
        out[name] = value
    return out


@router.get(PATH + "/{image_id}/metadata")
def list_metadata(
    image_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.38")
    return JSONBody({"metadata": services.image_proxy.metadata(context, image_id)})


@router.post(PATH + "/{image_id}/metadata")
def merge_metadata(
    image_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.38")
    items = _items(body, "metadata")
    merged = services.image_proxy.change_metadata(context, image_id, items, replace=False)
    return JSONBody({"metadata": merged})


@router.put(PATH + "/{image_id}/metadata")
def replace_metadata(
    image_id: str, body: JsonBody, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.38")
    items = _items(body, "metadata")
    replaced = services.image_proxy.change_metadata(context, image_id, items, replace=True)
    return JSONBody({"metadata": replaced})


@router.get(PATH + "/{image_id}/metadata/{key}")
def show_item(
    image_id: str, key: str, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.38")
    metadata = services.image_proxy.metadata(context, image_id)
    if key not in metadata:
        raise NotFound("Invalid metadata key")
    return JSONBody({"meta": {key: metadata[key]}})


@router.put(PATH + "/{image_id}/metadata/{key}")
def set_item(
    image_id: str,
    key: str,
    body: JsonBody,
    services: Services,
    context: Context,
    version: Microversion,
) -> Response:
    _until(version, "2.38")
    item = _items(body, "meta")
    if len(item) != 1 or key not in item:
        raise BadRequest("Request body and URI mismatch")
    services.image_proxy.change_metadata(context, image_id, item, replace=False)
    return JSONBody({"meta": item})


@router.delete(PATH + "/{image_id}/metadata/{key}")
def delete_item(
    image_id: str, key: str, services: Services, context: Context, version: Microversion
) -> Response:
    _until(version, "2.38")
    services.image_proxy.delete_item(context, image_id, key)
    return Response(status_code=204)
