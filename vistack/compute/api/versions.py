"""Nova version discovery: `GET /compute/` lists the legacy v2.0 (served by `legacy_v2.py`)
and v2.1 with its microversion range, and `GET /compute/v2` and `/compute/v2.1` describe each
(all unauthenticated, as upstream)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.compute.api import microversion

router = APIRouter()

UPDATED = "2013-07-23T11:33:21Z"
UPDATED_V2 = "2011-01-21T11:33:21Z"


def _v20(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": UPDATED_V2,
        "links": [{"rel": "self", "href": service_url(request, "v2") + "/"}],
    }


def _v21(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": microversion.text(microversion.MAX_VERSION),
        "min_version": microversion.text(microversion.MIN_VERSION),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": service_url(request, "v2.1") + "/"}],
    }


@router.get("/")
def list_versions(request: Request) -> Response:
    return JSONBody({"versions": [_v20(request), _v21(request)]})


@router.get("/v2")
@router.get("/v2/")
def show_v20(request: Request) -> Response:
    version = _v20(request)
    version["links"].append(
        {
            "rel": "describedby",
            "type": "text/html",
            "href": "https://docs.openstack.org/api-ref/compute/",
        }
    )
    version["media-types"] = [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}
    ]
    return JSONBody({"version": version})


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
