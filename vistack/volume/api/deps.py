"""What every volume handler needs, reached through FastAPI dependencies, never globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.web import authenticated_context
from vistack.volume.api.project_path import SCOPE_KEY as URL_PROJECT_KEY
from vistack.volume.domain.actions import VolumeActions
from vistack.volume.domain.backend import BackendInfo
from vistack.volume.domain.nova_port import CinderVolumePort
from vistack.volume.domain.quotas import VolumeQuotas
from vistack.volume.domain.snapshots import SnapshotService
from vistack.volume.domain.types import VolumeTypeService
from vistack.volume.domain.volumes import VolumeService
from vistack.volume.domain.work import VolumeWork


@dataclass(frozen=True)
class VolumeServices:
    """The volume domain services, built once by the composition root."""

    volumes: VolumeService
    actions: VolumeActions
    snapshots: SnapshotService
    types: VolumeTypeService
    quotas: VolumeQuotas
    backend: BackendInfo
    #: Nova's way in (`vistack.compute.domain.volume_port.VolumePort`).
    nova_port: CinderVolumePort
    #: The vCenter side (None without a vCenter).
    work: VolumeWork | None = None

    def start(self, bus: WorkQueue) -> None:
        """Recover what a restart interrupted (see `VolumeWork.recover`); call once the bus
        runs."""
        if self.work is not None:
            self.work.recover(bus)

    def sees_host(self, context: RequestContext) -> bool:
        """Whether views show `os-vol-host-attr:host` (administrators)."""
        return self.volumes.policy.check("volume_extension:volume_host_attribute", context, {})


async def volume_services(request: Request) -> VolumeServices:
    services: VolumeServices = request.app.state.volume
    return services


Services = Annotated[VolumeServices, Depends(volume_services)]


async def volume_context(
    request: Request, context: Annotated[RequestContext, Depends(authenticated_context)]
) -> RequestContext:
    """The caller, whose project must be the one `/v3/{project_id}/...` names (an admin may
    name any project: Cinder lets administrators work in other projects' URLs)."""
    named = request.scope.get(URL_PROJECT_KEY)
    if named is not None and named != context.project_id:
        services: VolumeServices = request.app.state.volume
        if not services.types.is_admin(context):
            raise BadRequest(
                f"Malformed request url: URL's project_id '{named}' doesn't match Context's "
                f"project_id '{context.project_id}'"
            )
    return context


Context = Annotated[RequestContext, Depends(volume_context)]
