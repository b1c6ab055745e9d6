"""Nova version discovery: `GET /compute/` lists v2.1 with its microversion range, and
`GET /compute/v2.1` describes it (both unauthenticated, as upstream)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.compute.api.microversion import MAX_VERSION, MIN_VERSION, text

router = APIRouter()

UPDATED = "2013-07-23T11:33:21Z"


def _v21(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": text(MAX_VERSION),
        "min_version": text(MIN_VERSION),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": service_url(request, "v2.1") + "/"}],
    }


@router.get("/")
def list_versions(request: Request) -> Response:
    return JSONBody({"versions": [_v21(request)]})


@router.get("/v2.1")
@router.get("/v2.1/")
def show_v21(request: Request) -> Response:
    version = _v21(request)
    version["links"].append(
        {
            "rel": "describedby",
            "type": "text/html",
            "href": "https://docs.openstack.org/api-ref/compute/",
        }
    )
    version["media-types"] = [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}
    ]
    return JSONBody({"version": version})
