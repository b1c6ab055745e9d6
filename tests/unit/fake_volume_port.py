"""An in-memory `VolumePort`: Cinder's attach protocol and boot volumes without Cinder.

Volumes are real disks of the fake (or any) volume driver, so the compute driver's
`attach_disk` finds them; statuses follow Cinder's attachments API (available → reserved →
in-use → detaching → available). Tests make failures happen with `fail_next` (the next call
of that operation raises the given error) and read the state back from `volumes` and
`attachments`.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field, replace

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.compute.domain.volume_port import AttachmentFacts, VolumeFacts
from vistack.drivers.bundle import Drivers
from vistack.drivers.models import Provisioning


@dataclass
class FakeVolume:
    facts: VolumeFacts
    attachments: list[str] = field(default_factory=list)


class FakeVolumePort:
    """`VolumePort` over a volume driver's disks."""

    def __init__(self, drivers: Drivers, datastore: str | None = None) -> None:
        self._drivers = drivers
        self._datastore = datastore or drivers.topology.datastores[0]
        self._lock = threading.RLock()
        self.volumes: dict[str, FakeVolume] = {}
        self.attachments: dict[str, AttachmentFacts] = {}
        #: Operation name → the error its next call raises (then forgotten).
        self.fail_next: dict[str, Exception] = {}
        #: Operation names in call order (what a test may assert on).
        self.calls: list[str] = []
        #: Volume id → the image its last `reimage` wrote.
        self.reimaged: dict[str, str] = {}
        #: How many more volumes `create_for_boot` may make (None: no quota).
        self.quota: int | None = None

    # ------------------------------------------------------------------ test helpers

    def add(
        self,
        project_id: str,
        size_gb: int = 1,
        *,
        name: str = "",
        bootable: bool = False,
        multiattach: bool = False,
        status: str = "available",
    ) -> VolumeFacts:
        """A volume of `project_id`, its disk made on the datastore."""
        volume_id = str(uuid.uuid4())
        disk = self._drivers.volumes.create_disk(
            self._datastore, volume_id, size_gb, Provisioning.THIN
        )
        facts = VolumeFacts(
            id=volume_id,
            project_id=project_id,
            name=name or f"vol-{volume_id[:8]}",
            status=status,
            size_gb=size_gb,
            availability_zone="nova",
            bootable=bootable,
            multiattach=multiattach,
            path=disk.path,
        )
        with self._lock:
            self.volumes[volume_id] = FakeVolume(facts)
        return facts

    def status(self, volume_id: str) -> str:
        with self._lock:
            return self.volumes[volume_id].facts.status

    def _step(self, operation: str) -> None:
        self.calls.append(operation)
        error = self.fail_next.pop(operation, None)
        if error is not None:
            raise error

    def _volume(self, volume_id: str) -> FakeVolume:
        found = self.volumes.get(volume_id)
        if found is None:
            raise NotFound(f"Volume {volume_id} could not be found.")
        return found

    def _set(self, volume: FakeVolume, **changes: object) -> None:
        servers = tuple(self.attachments[a].server_id for a in volume.attachments)
        volume.facts = replace(volume.facts, server_ids=servers, **changes)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ VolumePort

    def show(self, context: RequestContext, volume_id: str) -> VolumeFacts:
        with self._lock:
            self._step("show")
            volume = self._volume(volume_id)
            if "admin" not in context.roles and volume.facts.project_id != context.project_id:
                raise NotFound(f"Volume {volume_id} could not be found.")
            return volume.facts

    def reserve(self, context: RequestContext, volume_id: str, server_id: str) -> AttachmentFacts:
        with self._lock:
            self._step("reserve")
            volume = self._volume(volume_id)
            if "admin" not in context.roles and volume.facts.project_id != context.project_id:
                raise NotFound(f"Volume {volume_id} could not be found.")
            if any(self.attachments[a].server_id == server_id for a in volume.attachments):
                raise Conflict(f"volume {volume_id} is already attached to server {server_id}")
            if volume.facts.status != "available" and not (
                volume.facts.multiattach and volume.facts.status == "in-use"
            ):
                raise Conflict(
                    f"volume {volume_id} status must be available, not {volume.facts.status}"
                )
            attachment = AttachmentFacts(
                str(uuid.uuid4()),
                volume_id,
                server_id,
                str(volume.facts.path),
                multiattach=volume.facts.multiattach,
            )
            self.attachments[attachment.id] = attachment
            volume.attachments.append(attachment.id)
            status = "reserved" if volume.facts.status == "available" else volume.facts.status
            self._set(volume, status=status)
            return attachment

    def complete_attach(self, attachment_id: str, device: str) -> AttachmentFacts:
        with self._lock:
            self._step("complete_attach")
            attachment = self.attachments.get(attachment_id)
            if attachment is None:
                raise NotFound(f"Attachment {attachment_id} could not be found.")
            attachment = replace(attachment, device=device)
            self.attachments[attachment_id] = attachment
            self._set(self._volume(attachment.volume_id), status="in-use")
            return attachment

    def unreserve(self, attachment_id: str) -> None:
        with self._lock:
            self._step("unreserve")
            self._drop(attachment_id)

    def _drop(self, attachment_id: str) -> None:
        attachment = self.attachments.pop(attachment_id, None)
        if attachment is None:
            return
        volume = self.volumes.get(attachment.volume_id)
        if volume is None:
            return
        volume.attachments.remove(attachment_id)
        self._set(volume, status="in-use" if volume.attachments else "available")

    def begin_detach(
        self, context: RequestContext, volume_id: str, server_id: str
    ) -> AttachmentFacts:
        with self._lock:
            self._step("begin_detach")
            volume = self._volume(volume_id)
            found = [
                self.attachments[a]
                for a in volume.attachments
                if self.attachments[a].server_id == server_id
            ]
            if not found:
                raise NotFound(f"Volume {volume_id} is not attached to {server_id}.")
            if volume.facts.status != "in-use" or found[0].device is None:
                raise Conflict(f"volume {volume_id} is {volume.facts.status}, not in-use")
            self._set(volume, status="detaching")
            return found[0]

    def complete_detach(self, attachment_id: str) -> None:
        with self._lock:
            self._step("complete_detach")
            self._drop(attachment_id)

    def roll_back_detach(self, attachment_id: str) -> None:
        with self._lock:
            self._step("roll_back_detach")
            attachment = self.attachments.get(attachment_id)
            if attachment is not None:
                self._set(self._volume(attachment.volume_id), status="in-use")

    def attachments_of(self, server_id: str) -> list[AttachmentFacts]:
        with self._lock:
            return [a for a in self.attachments.values() if a.server_id == server_id]

    def migrate_volume_completion(
        self, old_volume_id: str, new_volume_id: str, *, error: bool
    ) -> str:
        with self._lock:
            self._step("migrate_volume_completion")
            return old_volume_id if error else new_volume_id

    def create_for_boot(
        self,
        context: RequestContext,
        *,
        size_gb: int,
        name: str,
        image_id: str | None = None,
        availability_zone: str | None = None,
        volume_type: str | None = None,
    ) -> VolumeFacts:
        with self._lock:
            self._step("create_for_boot")
            if volume_type not in (None, "default"):
                raise NotFound(f"Volume type {volume_type} could not be found.")
            if size_gb < 1:
                raise BadRequest("A volume is at least 1 GB.")
            if self.quota is not None:
                if self.quota <= 0:
                    raise Conflict("VolumeLimitExceeded: Maximum number of volumes allowed (0)")
                self.quota -= 1
        return self.add(context.project_id or "", size_gb, name=name, bootable=image_id is not None)

    def reimage(
        self, context: RequestContext, volume_id: str, image_id: str, server_id: str
    ) -> VolumeFacts:
        """A new blank disk of the volume's size under the same path (no image data here);
        the image is remembered in `reimaged`."""
        with self._lock:
            self._step("reimage")
            volume = self._volume(volume_id)
            servers = {self.attachments[a].server_id for a in volume.attachments}
            if volume.facts.status != "in-use" or servers != {server_id}:
                raise Conflict(f"volume {volume_id} is not in-use by server {server_id} alone")
            path = str(volume.facts.path)
            self._drivers.volumes.delete_disk(path)
            name = path.rpartition("/")[2].removesuffix(".vmdk")
            self._drivers.volumes.create_disk(
                self._datastore, name, volume.facts.size_gb, Provisioning.THIN
            )
            self.reimaged[volume_id] = image_id
            self._set(volume, bootable=True)
            return volume.facts

    def delete(self, context: RequestContext, volume_id: str) -> None:
        with self._lock:
            self._step("delete")
            volume = self._volume(volume_id)
            if volume.attachments:
                raise Conflict(f"Volume {volume_id} is still attached.")
            if volume.facts.path is not None:
                self._drivers.volumes.delete_disk(volume.facts.path)
            del self.volumes[volume_id]
