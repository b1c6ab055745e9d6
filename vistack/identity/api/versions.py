"""Keystone's version discovery: `/identity` (300 Multiple Choices) and `/identity/v3`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody, service_url

router = APIRouter()

#: The identity API version whose behaviour vistack implements (Keystone 2023.1 and later).
VERSION_ID = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": VERSION_ID,
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": service_url(request, "v3", "")}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


@router.get("/")
def list_versions(request: Request) -> Response:
    return JSONBody({"versions": {"values": [_version(request)]}}, status_code=300)


@router.get("/v3")
@router.get("/v3/")
def show_version(request: Request) -> Response:
    return JSONBody({"version": _version(request)})
