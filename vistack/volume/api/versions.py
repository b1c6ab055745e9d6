"""Cinder version discovery: `GET /volume/` lists v3.0 with its microversion range (300
Multiple Choices, as Cinder answers its root) and `GET /volume/v3/` lists it alone (200);
both unauthenticated, as upstream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url
from vistack.volume.api import microversion

router = APIRouter()

UPDATED = "2023-08-31T00:00:00Z"


def _v3(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": microversion.text(microversion.MAX_VERSION),
        "min_version": microversion.text(microversion.MIN_VERSION),
        "updated": UPDATED,
        "links": [
            {
                "rel": "describedby",
                "type": "text/html",
                "href": "https://docs.openstack.org/",
            },
            {"rel": "self", "href": service_url(request, "v3") + "/"},
        ],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
        ],
    }


@router.get("/")
def list_versions(request: Request) -> Response:
    return JSONBody({"versions": [_v3(request)]}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
def show_v3(request: Request) -> Response:
    return JSONBody({"versions": [_v3(request)]})
