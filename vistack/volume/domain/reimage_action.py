"""Cinder's `os-reimage` volume action (3.68): a volume at rest gets an image's disk in place
of its own, keeping its id, size and type. The request checks and marks the volume
`downloading` (`VolumeReimage.start_detached`) and answers 202; the copy runs on the bus and
leaves the volume `available` (or `error` with the reason), as Cinder's re-image does.

Nova's rebuild of a volume-backed server re-images an attached volume through its in-process
port instead (`VolumeReimage.reimage`); `reimage_reserved`, the flag Nova sends Cinder for
that case, is therefore refused here with the reason."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, ServiceUnavailable
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeStore
from vistack.volume.domain import requests
from vistack.volume.domain.disk_jobs import fail_volume
from vistack.volume.domain.models import ERROR
from vistack.volume.domain.reimage import (
    REIMAGING,
    ReimageFailed,
    VolumeReimage,
    plan_of,
    plan_payload,
)

REIMAGE = "volume.reimage"


class ReimageAction:
    """The `os-reimage` action and its bus job."""

    def __init__(self, store: VolumeStore, reimage: VolumeReimage, bus: WorkQueue | None) -> None:
        self._store = store
        self._reimage = reimage
        self._bus = bus

    def register(self, bus: WorkQueue) -> None:
        bus.register(REIMAGE, self._on_job)

    def request(self, context: RequestContext, volume_id: str, body: Any) -> None:
        """:raises BadRequest: a bad body, `reimage_reserved`, a volume not at rest.
        :raises NotFound: no such volume or image."""
        fields = body.get("os-reimage") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            raise BadRequest("Invalid input received: 'os-reimage' must be an object.")
        image_id = fields.get("image_id")
        if not isinstance(image_id, str) or not image_id:
            raise BadRequest("Invalid input received: 'image_id' must name an image.")
        if requests.boolean("reimage_reserved", fields.get("reimage_reserved", False)):
            raise BadRequest(
                "Invalid input received: reimage_reserved is Nova's rebuild flag; in this cloud "
                "Nova re-images reserved volumes itself. Re-image an available volume."
            )
        if self._bus is None:
            raise ServiceUnavailable("No vCenter is configured: volumes cannot be re-imaged.")
        plan = self._reimage.start_detached(context, volume_id, image_id)
        self._bus.submit(REIMAGE, {"volume_id": volume_id, "plan": plan_payload(plan)})

    def recover(self) -> None:
        """A re-image this action started and a restart interrupted cannot be resumed (the
        old disk may be gone, the copy half made): the volume goes to `error` with the reason,
        its disk is left for the user to delete or re-image again. Attached `downloading`
        volumes are Nova's rebuilds, which Nova redoes, and are left alone."""
        store = self._store
        with store.transaction() as unit:
            stuck = [
                v.id
                for v in queries.volumes(unit, None)
                if v.status == REIMAGING and not queries.attachments_of_volume(unit, v.id)
            ]
        for volume_id in stuck:
            fail_volume(
                store,
                volume_id,
                REIMAGING,
                ERROR,
                "Re-imaging was interrupted by a restart of the volume service; re-image the "
                "volume again or delete it.",
            )

    def _on_job(self, payload: Mapping[str, Any]) -> None:
        with contextlib.suppress(ReimageFailed):  # recorded on the volume (error + reason)
            self._reimage.rewrite(str(payload["volume_id"]), plan_of(payload["plan"]))
