"""The embedded vCenter's datastores outlive it: Glance's image files must survive `vistack up`
restarts, since the image database in the data dir does.

With `persist_datastores` (the default) the launcher runs with `-datastore-root
<data_dir>/embedded-datastores`; without it, the simulator's stock temp dirs come back, removed
on exit. VMs never survive a restart, so a folder the previous run's VM left is moved aside at
start-up, where it cannot make a new VM of the same name fail.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.vsphere.conftest import SMALL
from vistack.drivers.bundle import Drivers
from vistack.drivers.models import ImageFile
from vistack.vsphere.drivers import vsphere_drivers
from vistack.vsphere.embedded import DATASTORE_DIR, EmbeddedVCenter
from vistack.vsphere.properties import retrieve
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim

#: Not a multiple of any chunk size, so a short or padded read would show.
PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)


def _vcenter(data_dir: Path, binary: Path, **kwargs: Any) -> EmbeddedVCenter:
    return EmbeddedVCenter(SMALL, data_dir=data_dir, binary=binary, **kwargs)


@contextmanager
def _drivers(vcenter: EmbeddedVCenter) -> Iterator[tuple[VCenterSession, Drivers]]:
    """A session on a started simulator and the vSphere drivers over it."""
    assert vcenter.endpoint is not None
    with VCenterSession(vcenter.endpoint, keepalive_seconds=0) as session:
        yield session, vsphere_drivers(session, vcenter.endpoint, task_timeout=30)


def _download(drivers: Drivers, datastore: str, path: str, size: int) -> bytes:
    return b"".join(drivers.images.download_image(ImageFile(datastore, path, size)))


def _create_vm(client: Client, name: str) -> str:
    """A VM laid out as the compute driver lays one out (`[ds] name/name.vmx`); its vmPathName.

    That layout fails with FileAlreadyExists in vcsim when `name/` is left on the datastore.
    """
    (dc,) = retrieve(client, "Datacenter", ["vmFolder"])
    cluster = sorted(
        retrieve(client, "ClusterComputeResource", ["name", "resourcePool"]),
        key=lambda c: str(c.props["name"]),
    )[0]
    spec = vim.vm.ConfigSpec(
        name=name,
        numCPUs=1,
        memoryMB=64,
        guestId="otherGuest",
        files=vim.vm.FileInfo(vmPathName=f"[LocalDS_0] {name}/{name}.vmx"),
    )
    folder = client.moref("Folder", dc.props["vmFolder"])
    pool = client.moref("ResourcePool", cluster.props["resourcePool"])
    vm = wait_for_task(client, folder.CreateVM_Task(spec, pool), 30)
    found = retrieve(client, "VirtualMachine", ["config.files.vmPathName"])
    return str(next(v.props["config.files.vmPathName"] for v in found if v.moref == vm))


def test_image_bytes_survive_a_restart(tmp_path: Path, launcher_binary: Path) -> None:
    data_dir = tmp_path / "data"
    first = _vcenter(data_dir, launcher_binary)
    first.start()
    try:
        root = data_dir / DATASTORE_DIR
        assert first.ready["temp_dirs"] == []
        assert first.ready["datastore_root"] == str(root)
        assert first.ready["datastore_dirs"] == [str(root / "LocalDS_0"), str(root / "LocalDS_1")]
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        with _drivers(first) as (_, drivers):
            chunks = (PAYLOAD[i : i + 65536] for i in range(0, len(PAYLOAD), 65536))
            stored = drivers.images.upload_image("LocalDS_0", "images", "img.vmdk", chunks, None)
        assert stored.path == "images/img.vmdk" and stored.size == len(PAYLOAD)
        # The bytes are in the data dir, not in a temp dir.
        assert (root / "LocalDS_0" / "images" / "img.vmdk").read_bytes() == PAYLOAD
    finally:
        first.stop()
    assert (root / "LocalDS_0" / "images" / "img.vmdk").read_bytes() == PAYLOAD

    # A new process on the same data dir, as the next `vistack up` starts it.
    second = _vcenter(data_dir, launcher_binary)
    second.start()
    try:
        assert "orphaned_dirs" not in second.ready  # images/ is never moved aside
        with _drivers(second) as (_, drivers):
            assert drivers.images.image_exists("LocalDS_0", "images/img.vmdk")
            assert _download(drivers, "LocalDS_0", "images/img.vmdk", len(PAYLOAD)) == PAYLOAD
    finally:
        second.stop()


def test_a_crash_keeps_the_datastores(tmp_path: Path, launcher_binary: Path) -> None:
    """After SIGKILL, `kill()` removes temp dirs only: the persistent ones hold the images."""
    data_dir = tmp_path / "data"
    vcenter = _vcenter(data_dir, launcher_binary)
    vcenter.start()
    try:
        with _drivers(vcenter) as (_, drivers):
            drivers.images.upload_image("LocalDS_1", "images", "kept.iso", [b"iso"], 3)
        vcenter.kill()
        assert (data_dir / DATASTORE_DIR / "LocalDS_1" / "images" / "kept.iso").read_bytes() == (
            b"iso"
        )
        vcenter.start()  # the lock of the killed launcher went with it
        with _drivers(vcenter) as (_, drivers):
            assert _download(drivers, "LocalDS_1", "images/kept.iso", 3) == b"iso"
    finally:
        vcenter.stop()


def test_leftover_vm_folders_are_moved_aside(
    tmp_path: Path, launcher_binary: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    ds0 = data_dir / DATASTORE_DIR / "LocalDS_0"
    vcenter = _vcenter(data_dir, launcher_binary)
    vcenter.start()
    try:
        with _drivers(vcenter) as (session, drivers):
            drivers.images.upload_image("LocalDS_0", "images", "base.vmdk", [b"disk"], 4)
            path = session.call(lambda c: _create_vm(c, "server-1"), idempotent=False)
            assert path == "[LocalDS_0] server-1/server-1.vmx"
        assert (ds0 / "server-1" / "server-1.vmx").is_file()
        vcenter.stop()

        # The VM is gone with the old process; its folder is not, until the next start.
        with caplog.at_level(logging.INFO, logger="vistack.vsphere"):
            vcenter.start()
        (moved,) = vcenter.ready["orphaned_dirs"]
        assert Path(moved).name == "server-1"
        assert Path(moved).parent.parent == ds0
        assert Path(moved).parent.name.startswith(".orphaned-")
        assert (Path(moved) / "server-1.vmx").is_file()  # moved, not deleted
        assert "moved 1 VM folder(s)" in caplog.text

        with _drivers(vcenter) as (session, drivers):
            # Without the move this is FileAlreadyExists (or "server-1 (0)/" for a clone).
            path = session.call(lambda c: _create_vm(c, "server-1"), idempotent=False)
            assert path == "[LocalDS_0] server-1/server-1.vmx"
            assert _download(drivers, "LocalDS_0", "images/base.vmdk", 4) == b"disk"
    finally:
        vcenter.stop()


def test_without_persistence_the_datastores_are_temp_dirs(
    tmp_path: Path, launcher_binary: Path
) -> None:
    """The launcher's default (no `-datastore-root`): temp dirs, removed on a clean stop."""
    data_dir = tmp_path / "data"
    vcenter = _vcenter(data_dir, launcher_binary, persist_datastores=False)
    assert "-datastore-root" not in vcenter.command("pw")
    vcenter.start()
    try:
        dirs = [Path(d) for d in vcenter.ready["temp_dirs"]]
        assert len(dirs) == 2 and vcenter.ready["datastore_dirs"] == [str(d) for d in dirs]
        assert "datastore_root" not in vcenter.ready
        temp_root = Path(tempfile.gettempdir()).resolve()
        for directory in dirs:
            assert directory.is_dir()
            assert directory.resolve().parent == temp_root
            assert directory.name.startswith("govcsim-")
        with _drivers(vcenter) as (_, drivers):
            drivers.images.upload_image("LocalDS_0", "images", "gone.vmdk", [b"x"], 1)
    finally:
        vcenter.stop()
    assert not any(d.exists() for d in dirs)
    assert not (data_dir / DATASTORE_DIR).exists()
