"""Issue 7's volume story with the real `openstack` CLI against `vistack up` on the embedded
vCenter, each step checked in Cinder and in vCenter: a server booted from a volume, a data
volume added to it (`ReconfigVM_Task` puts the disk on the VM) and removed (the disk stays),
extended in use and detached, retyped onto another datastore (the disk moves), servers deleted
(volumes detached and kept, unless `delete_on_termination`); and a volume's snapshot, a volume
from it, an image uploaded from it, a backup restored to a new volume, a transfer to the demo
project.

Each user action is one CLI process (about a second each), so statuses are polled over
openstacksdk and the steps share their servers and volumes. vCenter is read on a session of
its own: the VM whose instance UUID is the server's id and its disk backings, the datastore's
files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openstack.connection
import openstack.exceptions
import pytest

from tests.clients.compute_story import vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.clients.vcenter_reads import gone, until, vm_disk_devices
from tests.conftest import RunningCloud
from vistack.drivers.paths import split_datastore_path
from vistack.drivers.volumes import volume_path
from vistack.vsphere.embedded import DATASTORE_DIR, read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession
from vistack.vsphere.volumes import VSphereVolumes

pytestmark = pytest.mark.clients

GB_SECTORS = 2**30 // 512
#: The extent line of a flat disk's descriptor: `RW <sectors> VMFS "<name>-flat.vmdk"`.
EXTENT = re.compile(r"^RW (\d+) ", re.MULTILINE)


@dataclass
class VCenter:
    """The cloud's embedded vCenter, read on a session of the test's own."""

    session: VCenterSession
    lookup: Lookup
    volumes: VSphereVolumes
    datastores: Path

    def vm_disks(self, server_id: str) -> dict[str, int]:
        """The VM's disks, `{backing fileName: capacity in KB}` ({} when there is no VM)."""
        return {
            str(d.backing.fileName): int(d.capacityInKB or 0)
            for d in vm_disk_devices(self.session, self.lookup, server_id)
        }

    def data(self, path: str) -> bytes:
        """The disk's bytes, read through the datastore's `/folder` endpoint (vcsim keeps
        only the bytes written: a small image's, here)."""
        return b"".join(self.volumes.read_disk(path))

    def capacity_gb(self, path: str) -> float:
        """The disk's size from its descriptor's extent line, as the simulator's datastore
        (a directory under the cloud's data dir) holds it: vcsim reports no capacity for a
        disk file, and a VM's device is the VM's view, not the file."""
        datastore, relative = split_datastore_path(path)
        text = (self.datastores / datastore / relative).read_text(errors="replace")
        found = EXTENT.search(text)
        assert found, text
        return int(found.group(1)) / GB_SECTORS


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[VCenter]:
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        lookup = Lookup(endpoint.datacenter)
        yield VCenter(
            session, lookup, VSphereVolumes(session, lookup), running_cloud.data_dir / DATASTORE_DIR
        )


def volume(conn: openstack.connection.Connection, volume_id: str, status: str) -> Any:
    def ok(v: Any) -> bool:
        assert v.status not in ("error", "error_deleting", "error_extending"), v
        return bool(v.status == status)

    return until(
        f"volume {volume_id} {status}", lambda: conn.block_storage.get_volume(volume_id), ok
    )


def server(conn: openstack.connection.Connection, server_id: str) -> Any:
    def ok(s: Any) -> bool:
        assert s.status != "ERROR", s
        return bool(s.status == "ACTIVE")

    return until(f"server {server_id}", lambda: conn.compute.get_server(server_id), ok)


def disk(v: Any) -> str:
    """A volume's disk, from the pool an administrator sees (`host@vmware#datastore`)."""
    return volume_path(str(v.host).rpartition("#")[2], str(v.id))


def make_volume(cloud: RunningCloud, *args: str) -> str:
    created: dict[str, Any] = run_json(cloud, "volume", "create", *args)
    return str(created["id"])


def pinned_type(conn: openstack.connection.Connection, datastore: str) -> str:
    """A volume type whose volumes may only live on `datastore` (docs/volume.md); made over
    the SDK, as the test's setup (test_volume_cli.py runs the type commands)."""
    name = unique(datastore.lower())
    conn.block_storage.create_type(name=name, extra_specs={"vmware:datastore_regex": datastore})
    return name


def test_volumes_on_servers(
    running_cloud: RunningCloud,
    admin: openstack.connection.Connection,
    vcenter: VCenter,
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path)
    first, second = pinned_type(admin, "LocalDS_0"), pinned_type(admin, "LocalDS_1")
    root_id = make_volume(
        cloud, "--size", "1", "--image", image["id"], "--type", first, unique("root")
    )
    data_id = make_volume(cloud, "--size", "1", "--type", first, unique("data"))
    scratch_id = make_volume(cloud, "--size", "1", unique("scratch"))
    root = volume(admin, root_id, "available")
    data = volume(admin, data_id, "available")
    assert disk(root).startswith("[LocalDS_0]") and disk(data).startswith("[LocalDS_0]")
    assert vcenter.volumes.disk_exists(disk(root)) and vcenter.volumes.disk_exists(disk(data))

    # Boot from a volume: the VM's only disk is the volume's.
    web: dict[str, Any] = run_json(
        cloud, "server", "create", "--volume", root_id, "--flavor", "m1.tiny", "--nic", "none",
        unique("web1"),
    )  # fmt: skip
    server(admin, web["id"])
    assert list(vcenter.vm_disks(web["id"])) == [disk(root)]
    assert volume(admin, root_id, "in-use").attachments[0]["server_id"] == web["id"]
    refused = run(cloud, "server", "remove", "volume", web["id"], root_id, check=False)
    assert "Cannot detach a root device volume" in refused.stderr

    # `server add volume`: the disk goes onto that VM, Cinder records the attachment.
    run(cloud, "server", "add", "volume", web["id"], data_id)
    data = volume(admin, data_id, "in-use")
    assert [a["server_id"] for a in data.attachments] == [web["id"]]
    assert disk(data) in vcenter.vm_disks(web["id"])

    # Extend in use (3.42): the VM's disk grows with the volume.
    run(cloud, "--os-volume-api-version", "3.42", "volume", "set", "--size", "2", data_id)
    until("in-use extend", lambda: admin.block_storage.get_volume(data_id), lambda v: v.size == 2)
    volume(admin, data_id, "in-use")
    assert vcenter.vm_disks(web["id"])[disk(data)] == 2 * 2**20
    assert vcenter.capacity_gb(disk(data)) == 2  # the disk itself, not only the VM's device

    # `server remove volume`: off the VM, kept on the datastore.
    run(cloud, "server", "remove", "volume", web["id"], data_id)
    data = volume(admin, data_id, "available")
    assert not data.attachments
    assert list(vcenter.vm_disks(web["id"])) == [disk(root)]
    assert vcenter.volumes.disk_exists(disk(data))

    # Extend detached: the disk file grows.
    run(cloud, "volume", "set", "--size", "3", data_id)
    until("extend", lambda: admin.block_storage.get_volume(data_id), lambda v: v.size == 3)
    data = volume(admin, data_id, "available")
    assert vcenter.capacity_gb(disk(data)) == 3

    # Retype to a type pinned to the other datastore: the disk moves, whole.
    old = disk(data)
    run(cloud, "volume", "set", "--type", second, "--migration-policy", "on-demand", data_id)
    data = until(
        "retype", lambda: admin.block_storage.get_volume(data_id), lambda v: v.volume_type == second
    )
    data = volume(admin, data_id, "available")
    assert disk(data).startswith("[LocalDS_1]"), data.host
    assert vcenter.volumes.disk_exists(disk(data)) and not vcenter.volumes.disk_exists(old)
    assert vcenter.capacity_gb(disk(data)) == 3

    # Boot from a new volume made from the image, deleted with its server; the moved data
    # volume attaches to it from its new datastore, and a scratch volume to be deleted with
    # the server (2.79).
    web2: dict[str, Any] = run_json(
        cloud, "server", "create", "--flavor", "m1.tiny", "--nic", "none", "--block-device",
        f"source_type=image,uuid={image['id']},destination_type=volume,volume_size=1,"
        "boot_index=0,delete_on_termination=true",
        unique("web2"),
    )  # fmt: skip
    (boot,) = server(admin, web2["id"]).attached_volumes
    assert boot["delete_on_termination"] is True
    boot_volume = volume(admin, boot["id"], "in-use")
    assert str(boot_volume.is_bootable).lower() == "true"
    run(cloud, "server", "add", "volume", web2["id"], data_id)
    run(
        cloud, "--os-compute-api-version", "2.79", "server", "add", "volume",
        "--enable-delete-on-termination", web2["id"], scratch_id,
    )  # fmt: skip
    volume(admin, data_id, "in-use")
    scratch = volume(admin, scratch_id, "in-use")
    disks = [disk(boot_volume), disk(data), disk(scratch)]
    assert list(vcenter.vm_disks(web2["id"])) == disks

    # Deleting the servers detaches their volumes; only delete_on_termination ones go.
    run(cloud, "server", "delete", web["id"], web2["id"])
    gone(lambda: admin.compute.get_server(web["id"]))
    gone(lambda: admin.compute.get_server(web2["id"]))
    assert vcenter.vm_disks(web["id"]) == {} and vcenter.vm_disks(web2["id"]) == {}
    volume(admin, root_id, "available")
    volume(admin, data_id, "available")
    gone(lambda: admin.block_storage.get_volume(boot["id"]))
    gone(lambda: admin.block_storage.get_volume(scratch_id))
    assert vcenter.volumes.disk_exists(disk(root)) and vcenter.volumes.disk_exists(disk(data))
    assert not vcenter.volumes.disk_exists(disk(boot_volume))
    assert not vcenter.volumes.disk_exists(disk(scratch))

    run(cloud, "volume", "delete", root_id, data_id)
    gone(lambda: admin.block_storage.get_volume(root_id))
    gone(lambda: admin.block_storage.get_volume(data_id))
    assert not vcenter.volumes.disk_exists(disk(root))
    assert not vcenter.volumes.disk_exists(disk(data))
    for name in (first, second):
        admin.block_storage.delete_type(
            admin.block_storage.find_type(name, ignore_missing=False).id
        )
    admin.image.delete_image(image["id"])


def test_copies_of_a_volume(
    running_cloud: RunningCloud,
    admin: openstack.connection.Connection,
    demo: openstack.connection.Connection,
    vcenter: VCenter,
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    base = vmdk_image(cloud, tmp_path)
    source_id = make_volume(cloud, "--size", "1", "--image", base["id"], unique("source"))
    source = volume(admin, source_id, "available")
    data = vcenter.data(disk(source))
    assert data  # the image's bytes: what every copy below must hold

    # Snapshot: a copy of the disk next to it; a bigger volume from the snapshot.
    snapshot: dict[str, Any] = run_json(
        cloud, "volume", "snapshot", "create", "--volume", source_id, unique("snap")
    )
    until(
        "snapshot",
        lambda: admin.block_storage.get_snapshot(snapshot["id"]),
        lambda s: s.status == "available",
    )
    snapshot_disk = volume_path(str(source.host).rpartition("#")[2], f"snapshot-{snapshot['id']}")
    assert vcenter.data(snapshot_disk) == data
    copy_id = make_volume(cloud, "--snapshot", snapshot["id"], "--size", "2", unique("copy"))
    copy = volume(admin, copy_id, "available")
    assert copy.snapshot_id == snapshot["id"] and copy.size == 2
    assert vcenter.data(disk(copy)) == data and vcenter.capacity_gb(disk(copy)) == 2

    # Upload to image: an active VMDK image of the volume's size.
    uploaded: dict[str, Any] = run_json(
        cloud, "image", "create", "--volume", source_id, "--disk-format", "vmdk",
        "--container-format", "bare", unique("upload"),
    )  # fmt: skip
    image = until(
        "upload",
        lambda: admin.image.get_image(uploaded["image_id"]),
        lambda i: i.status == "active",
    )
    assert image.disk_format == "vmdk" and image.virtual_size == 2**30
    volume(admin, source_id, "available")

    # Backup, restored to a new volume with a disk of its own.
    backup: dict[str, Any] = run_json(
        cloud, "volume", "backup", "create", "--name", unique("backup"), source_id
    )
    until(
        "backup",
        lambda: admin.block_storage.get_backup(backup["id"]),
        lambda b: b.status == "available",
    )
    volume(admin, source_id, "available")
    restored: dict[str, Any] = run_json(
        cloud, "volume", "backup", "restore", backup["id"], unique("restored")
    )
    restored_volume = volume(admin, restored["volume_id"], "available")
    assert restored_volume.size == 1
    assert vcenter.data(disk(restored_volume)) == data
    assert vcenter.capacity_gb(disk(restored_volume)) == 1

    # Transfer to the demo project: the volume (and its disk) now belong to it.
    offer: dict[str, Any] = run_json(cloud, "volume", "transfer", "request", "create", copy_id)
    volume(admin, copy_id, "awaiting-transfer")
    run(
        cloud, "volume", "transfer", "request", "accept", "--auth-key", offer["auth_key"],
        offer["id"], os_cloud="vistack-demo",
    )  # fmt: skip
    received = volume(demo, copy_id, "available")
    assert received.project_id == demo.current_project_id != admin.current_project_id
    assert vcenter.data(disk(copy)) == data
    run(cloud, "volume", "delete", copy_id, os_cloud="vistack-demo")
    gone(lambda: demo.block_storage.get_volume(copy_id))
    assert not vcenter.volumes.disk_exists(disk(copy))

    run(cloud, "volume", "backup", "delete", backup["id"])
    run(cloud, "volume", "snapshot", "delete", snapshot["id"])
    admin.image.delete_image(image.id)
    admin.image.delete_image(base["id"])
    gone(lambda: admin.block_storage.get_backup(backup["id"]))
    gone(lambda: admin.block_storage.get_snapshot(snapshot["id"]))
    assert not vcenter.volumes.disk_exists(snapshot_disk)
    run(cloud, "volume", "delete", source_id, restored_volume.id)
    gone(lambda: admin.block_storage.get_volume(source_id))
    gone(lambda: admin.block_storage.get_volume(restored_volume.id))
    assert not vcenter.volumes.disk_exists(disk(source))
    assert not vcenter.volumes.disk_exists(disk(restored_volume))
