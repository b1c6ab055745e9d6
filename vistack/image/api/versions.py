"""Glance version discovery: `GET /image/` and `/image/versions` answer 300 with the list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url

router = APIRouter()

#: Glance API versions this service serves, newest first; 2.15 adds `/v2/info/stores/detail`.
CURRENT = "2.15"
SUPPORTED = tuple(f"2.{minor}" for minor in range(14, -1, -1))


def _versions(request: Request) -> list[dict[str, Any]]:
    link = [{"rel": "self", "href": service_url(request, "v2") + "/"}]
    versions = [{"id": f"v{CURRENT}", "status": "CURRENT", "links": link}]
    versions += [{"id": f"v{v}", "status": "SUPPORTED", "links": link} for v in SUPPORTED]
    return versions


@router.get("/")
@router.get("/versions")
def list_versions(request: Request) -> Response:
    return JSONBody({"versions": _versions(request)}, status_code=300)


@router.get("/v2")
@router.get("/v2/")
def show_v2(request: Request) -> Response:
    return JSONBody({"versions": _versions(request)})
