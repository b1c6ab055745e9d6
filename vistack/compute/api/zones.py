"""`/v2.1/os-availability-zone`: the zones servers can be asked for, and (admin) the services
in each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.services import nova_time
from vistack.compute.domain.clusters import ZoneState

router = APIRouter()


def zone_view(zone: ZoneState) -> dict[str, Any]:
    hosts = None
    if zone.hosts is not None:
        hosts = {
            host: {
                s.binary: {
                    "available": s.up,
                    "active": not s.disabled,
                    "updated_at": nova_time(s.updated_at),
                }
                for s in states
            }
            for host, states in zone.hosts.items()
        }
    return {"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": hosts}


@router.get("/v2.1/os-availability-zone")
def list_zones(services: Services, context: Context) -> Response:
    zones = services.clusters.availability_zones(context, detail=False)
    return JSONBody({"availabilityZoneInfo": [zone_view(z) for z in zones]})


@router.get("/v2.1/os-availability-zone/detail")
def list_zones_detail(services: Services, context: Context) -> Response:
    zones = services.clusters.availability_zones(context, detail=True)
    return JSONBody({"availabilityZoneInfo": [zone_view(z) for z in zones]})
