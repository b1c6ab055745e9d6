"""`GET /v2.1/servers/{id}/topology` (microversion 2.78): a server's NUMA topology.

This cloud gives servers no NUMA topology of their own (no `hw:numa_*` flavor extra spec is
applied: vSphere lays out the virtual NUMA nodes itself), so the answer is Nova's for such an
instance: no nodes and no page size. Before 2.78 the path does not exist (404).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.errors import NotFound
from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion

router = APIRouter()


@router.get("/v2.1/servers/{server_id}/topology")
def server_topology(
    server_id: str, services: Services, context: Context, version: Microversion
) -> Response:
    if not version.at_least("2.78"):
        raise NotFound("The resource could not be found.")
    services.extras.topology(context, server_id)  # 404 / 403 as Nova checks them
    return JSONBody({"nodes": [], "pagesize_kb": None})
