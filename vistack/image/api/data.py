"""Image data over HTTP: upload, download (with Range), stage, import, per-store delete."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.image.api.deps import Context, Services
from vistack.image.api.images import json_body
from vistack.image.api.streaming import consume_body, produce_chunks
from vistack.image.api.views import task_view
from vistack.image.domain.data import RangeNotSatisfiable

router = APIRouter()

OCTET_STREAM = "application/octet-stream"
STORE_HEADER = "x-image-meta-store"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _declared_size(request: Request) -> int | None:
    """The body's length when the client said it (None for a chunked upload)."""
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        return None
    length = request.headers.get("content-length")
    if length is None:
        return None
    try:
        return int(length)
    except ValueError:
        raise BadRequest("Content-Length must be an integer.") from None


def _require_octet_stream(request: Request) -> Response | None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    if media_type and media_type != OCTET_STREAM:
        return Response(
            f"Unsupported Content-Type {media_type!r}: image data is {OCTET_STREAM}.",
            status_code=415,
            media_type="text/plain",
        )
    return None


async def _receive(
    request: Request, write: Callable[[Iterator[bytes], int | None], object]
) -> Response:
    """Stream an octet-stream body into `write(chunks, declared size)`; 204 when done."""
    refused = _require_octet_stream(request)
    if refused is not None:
        return refused
    size = _declared_size(request)
    await consume_body(request.stream(), lambda chunks: write(chunks, size))
    return Response(status_code=204)


@router.put("/v2/images/{image_id}/file", status_code=204)
async def upload_file(
    image_id: str, request: Request, services: Services, context: Context
) -> Response:
    store = request.headers.get(STORE_HEADER)
    return await _receive(
        request,
        lambda chunks, size: services.data.upload(context, image_id, chunks, size, store),
    )


@router.get("/v2/images/{image_id}/file")
async def download_file(
    image_id: str, request: Request, services: Services, context: Context
) -> Response:
    offset, length = _range(request.headers.get("range"))
    download = await run_in_threadpool(services.data.download, context, image_id, offset, length)
    if download is None:
        return Response(status_code=204)
    image = download.image
    headers = {"Content-Length": str(download.length), "Content-Type": OCTET_STREAM}
    status = 200
    if request.headers.get("range"):
        status = 206
        end = download.offset + download.length - 1
        headers["Content-Range"] = f"bytes {download.offset}-{end}/{image.size}"
    elif image.checksum:
        headers["Content-MD5"] = image.checksum
    return StreamingResponse(produce_chunks(download.chunks), status_code=status, headers=headers)


def _range(header: str | None) -> tuple[int, int | None]:
    """`bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes are not supported: 416)."""
    if not header:
        return 0, None
    match = _RANGE.match(header.strip())
    if match is None or not match.group(1):
        raise RangeNotSatisfiable(
            f"Unsupported Range {header!r}: use a single 'bytes=first-last' or 'bytes=first-'."
        )
    first = int(match.group(1))
    if not match.group(2):
        return first, None
    last = int(match.group(2))
    if last < first:
        raise RangeNotSatisfiable(f"Invalid Range {header!r}: the end is before the start.")
    return first, last - first + 1


@router.put("/v2/images/{image_id}/stage", status_code=204)
async def stage_file(
    image_id: str, request: Request, services: Services, context: Context
) -> Response:
    return await _receive(
        request, lambda chunks, size: services.imports.stage(context, image_id, chunks, size)
    )


@router.post("/v2/images/{image_id}/import", status_code=202)
async def import_image(
    image_id: str, request: Request, services: Services, context: Context
) -> Response:
    body = await json_body(request)
    method = body.get("method") if isinstance(body, dict) else None
    if not isinstance(method, dict) or not isinstance(method.get("name"), str):
        raise BadRequest('The body must name an import method: {"method": {"name": "..."}}.')
    stores: Any = body.get("stores")
    if stores is not None and (
        not isinstance(stores, list) or not all(isinstance(s, str) for s in stores)
    ):
        raise BadRequest("'stores' must be a list of store ids.")
    header_store = request.headers.get(STORE_HEADER)
    if stores is None and header_store:
        stores = [header_store]
    all_stores = body.get("all_stores", False)
    must_succeed = body.get("all_stores_must_succeed", True)
    if not isinstance(all_stores, bool) or not isinstance(must_succeed, bool):
        raise BadRequest("'all_stores' and 'all_stores_must_succeed' must be booleans.")
    if all_stores and stores:
        raise BadRequest("Give either 'stores' or 'all_stores', not both.")
    await run_in_threadpool(
        lambda: services.imports.start_import(
            context,
            image_id,
            method["name"],
            stores,
            all_stores=all_stores,
            all_stores_must_succeed=must_succeed,
            request_body=body,
        )
    )
    return Response(status_code=202)


@router.delete("/v2/stores/{store_id}/{image_id}", status_code=204)
def delete_from_store(
    store_id: str, image_id: str, services: Services, context: Context
) -> Response:
    services.data.delete_from_store(context, store_id, image_id)
    return Response(status_code=204)


@router.get("/v2/images/{image_id}/tasks")
def list_tasks(image_id: str, services: Services, context: Context) -> Response:
    tasks = services.imports.tasks(context, image_id)
    return JSONBody({"tasks": [task_view(t) for t in tasks]})
