"""Neutron version discovery: `GET /network/` lists v2.0, `GET /network/v2.0` its resources.

Both are unauthenticated, as upstream, so a client can find the API before it has a token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url

router = APIRouter()

COLLECTIONS = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"))


@router.get("/")
def list_versions(request: Request) -> Response:
    link = [{"rel": "self", "href": service_url(request, "v2.0") + "/"}]
    return JSONBody({"versions": [{"id": "v2.0", "status": "CURRENT", "links": link}]})


@router.get("/v2.0")
@router.get("/v2.0/")
def show_v2(request: Request) -> Response:
    resources: list[dict[str, Any]] = [
        {
            "name": name,
            "collection": collection,
            "links": [{"rel": "self", "href": service_url(request, "v2.0", collection)}],
        }
        for name, collection in COLLECTIONS
    ]
    return JSONBody({"resources": resources})
