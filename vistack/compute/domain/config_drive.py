"""The config drive: an ISO 9660 image labelled `config-2` (Rock Ridge and Joliet names, as
Nova's genisoimage call makes it) holding the instance's metadata in cloud-init's layout,
uploaded beside the VM and attached as a CD-ROM before the first power-on.

`ConfigDrives.before_power_on` is a build hook: it builds the ISO in memory from the same
`InstanceFacts` the metadata service renders (so cloud-init finds the same data on both),
records the ISO's datastore path on the server *before* uploading (so a failure at any later
step, or a delete, knows what to remove), uploads it (the image driver never leaves a partial
file under the final name) and attaches it. `after_undo` deletes the file once the VM is gone.

`[compute] force_config_drive` gives every server a drive, as VIO deployments do; the server's
`config_drive` then reads "True", as Nova's `configdrive.update_instance` records it at spawn.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import replace

from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import iso9660
from vistack.compute.domain.instance_facts import InstanceFactsSource
from vistack.compute.domain.instance_metadata import config_drive_files
from vistack.compute.domain.models import Server
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import AlreadyExistsError, DriverError, NotFoundError
from vistack.drivers.models import ImageFile, IsoImage, VMSpec
from vistack.drivers.paths import datastore_path, split_datastore_path

LOG = logging.getLogger(__name__)

#: The volume label cloud-init looks for (`blkid -t LABEL=config-2`).
LABEL = "config-2"
ISO_NAME = "configdrive.iso"
#: The server's `system_metadata` key holding the ISO's datastore path while it exists.
ISO_KEY = "config_drive_iso"


def build_iso(files: Iterable[tuple[str, bytes]]) -> bytes:
    """The ISO image holding `files` ((relative path, bytes) pairs), built in memory with
    Rock Ridge names for Linux and Joliet names for Windows (cloudbase-init)."""
    return iso9660.build(files, LABEL)


class ConfigDrives:
    """The build hook (`before_power_on`) and the undo hook (`after_undo`) of config drives."""

    def __init__(
        self,
        store: ComputeStore,
        drivers: Drivers,
        facts: InstanceFactsSource,
        *,
        force: bool = True,
    ) -> None:
        self._store = store
        self._drivers = drivers
        self._facts = facts
        self._force = force

    def add_to_spec(self, server: Server, spec: VMSpec) -> VMSpec:
        """A build's first attempt: the drive goes into the VM's spec, so the driver writes it
        and attaches it in the step that completes the new VM (no upload checks, no separate
        reconfigure). Its path is recorded first, for the undo. A job resuming an attempt that
        recorded it already leaves the spec alone: `before_power_on` then checks what exists.
        """
        if not (server.config_drive or self._force):
            return spec
        path = datastore_path(spec.datastore, f"{spec.name}/{ISO_NAME}")
        if (server.system_metadata or {}).get(ISO_KEY) == path:
            return spec
        facts = self._facts.facts(server.id)
        if facts is None:
            return spec  # deleted meanwhile: the build stops at its next step
        self._remember(server.id, path, config_drive=True)
        data = build_iso(config_drive_files(facts))
        return replace(spec, isos=(*spec.isos, IsoImage(ISO_NAME, data)))

    def before_power_on(self, server: Server, spec: VMSpec) -> None:
        """Build, upload and attach the server's drive unless the VM was made with it
        (idempotent: a resumed build keeps the drive it attached, which a running guest may
        have mounted).

        :raises DriverError: the upload or the attach failed (the build fails, and its undo
            deletes what was recorded).
        """
        if not (server.config_drive or self._force):
            return
        if any(iso.name == ISO_NAME for iso in spec.isos):
            return
        self._make(server, spec, replace=False)

    def refresh(self, server: Server, spec: VMSpec) -> None:
        """Make the drive again from today's facts, replacing the attached one (a rebuild
        does this with the VM powered off, as Nova writes a new drive on rebuild).

        :raises DriverError: the detach, upload or attach failed.
        """
        if not (server.config_drive or self._force):
            return
        self._make(server, spec, replace=True)

    def _make(self, server: Server, spec: VMSpec, *, replace: bool) -> None:
        facts = self._facts.facts(server.id)
        if facts is None:
            return  # deleted meanwhile: the build stops at its next step
        folder = spec.name
        relative = f"{folder}/{ISO_NAME}"
        path = datastore_path(spec.datastore, relative)
        self._remember(server.id, path, config_drive=True)
        images = self._drivers.images
        if images.image_exists(spec.datastore, relative):
            if path in self._drivers.compute.list_isos(server.id):
                if not replace:
                    return  # made and attached by the build this one resumes (maybe running)
                self._drivers.compute.detach_iso(server.id, path)
            # Left by a build that stopped before attaching it, or replaced: made again.
            images.delete_image(ImageFile(spec.datastore, relative, 0))
        data = build_iso(config_drive_files(facts))
        images.upload_image(spec.datastore, folder, ISO_NAME, [data], len(data))
        # AlreadyExists: attached meanwhile by a concurrent resume of the same build.
        with contextlib.suppress(AlreadyExistsError):
            self._drivers.compute.attach_iso(server.id, path)

    def after_undo(self, server_id: str) -> list[str]:
        """Delete the server's ISO (its VM is gone); returns what could not be deleted."""
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id, deleted=True)
            path = str((row.system_metadata or {}).get(ISO_KEY) or "") if row is not None else ""
        if not path:
            return []
        datastore, relative = split_datastore_path(path)
        try:
            # Looked for first (one small request): where vCenter removed the VM's folder with
            # the VM, a delete would be a task that fails.
            if self._drivers.images.image_exists(datastore, relative):
                self._drivers.images.delete_image(ImageFile(datastore, relative, 0))
        except NotFoundError:
            pass  # vCenter deleted it with the VM's folder, or the upload never finished
        except DriverError as exc:
            LOG.info("config drive %s of server %s not deleted: %s", path, server_id, exc)
            return [f"config drive {path}: {exc}"]
        self._remember(server_id, None)
        return []

    def _remember(self, server_id: str, path: str | None, *, config_drive: bool = False) -> None:
        """Record (or forget) the ISO's path in the server's `system_metadata`, merged under
        the row lock with what other features keep there."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None:
                row = queries.get(unit, server_id, deleted=True)
            if row is None:
                return
            system = dict(row.system_metadata or {})
            if path is None:
                system.pop(ISO_KEY, None)
            else:
                system[ISO_KEY] = path
            values: dict[str, object] = {"system_metadata": system}
            if config_drive:
                values["config_drive"] = True
            queries.set_fields(unit, server_id, **values)
