"""Moving an attached volume (docs/volume.md, Moving an attached volume) with the real
`openstack` CLI against `vistack up` on the embedded vCenter: a volume with data on a
server's VM, `openstack volume migrate --host <host>@vmware#<other datastore>` as the
administrator, and then, read in vCenter, the VM's disk at the same controller and unit is the
volume's disk on the other datastore holding the same bytes, and the old disk is gone; Cinder
shows the volume in-use on the new pool with `migration_status` `success`, Nova the same
attachment, and the server the instance action `swap_volume`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openstack.connection
import pytest

from tests.clients.compute_story import vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.clients.vcenter_reads import gone, until, vm_disk_devices
from tests.conftest import RunningCloud
from vistack.drivers.volumes import volume_path
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession
from vistack.vsphere.volumes import VSphereVolumes

pytestmark = pytest.mark.clients

DATA = b"written before the move " * 512


@dataclass
class VCenter:
    session: VCenterSession
    lookup: Lookup
    volumes: VSphereVolumes

    def slots(self, server_id: str) -> dict[str, tuple[int, int]]:
        """The VM's disks, `{backing fileName: (controller key, unit)}`."""
        return {
            str(d.backing.fileName): (int(d.controllerKey), int(d.unitNumber))
            for d in vm_disk_devices(self.session, self.lookup, server_id)
        }


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[VCenter]:
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        lookup = Lookup(endpoint.datacenter)
        yield VCenter(session, lookup, VSphereVolumes(session, lookup))


def test_an_attached_volume_moves_to_another_datastore(
    running_cloud: RunningCloud,
    admin: openstack.connection.Connection,
    vcenter: VCenter,
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path)
    name = unique("swap")
    server: dict[str, Any] = run_json(
        cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
        "--nic", "none", "--wait", name,
    )  # fmt: skip
    server_id = str(server["id"])
    created: dict[str, Any] = run_json(cloud, "volume", "create", "--size", "1", unique("data"))
    volume_id = str(created["id"])
    volume = until(
        "volume available",
        lambda: admin.block_storage.get_volume(volume_id),
        lambda v: v.status == "available",
    )
    host, _, source = str(volume.host).rpartition("#")
    old_path = volume_path(source, volume_id)
    vcenter.volumes.write_disk(old_path, [DATA], len(DATA))
    run(cloud, "server", "add", "volume", server_id, volume_id)
    until(
        "volume in-use",
        lambda: admin.block_storage.get_volume(volume_id),
        lambda v: v.status == "in-use",
    )
    slot = vcenter.slots(server_id)[old_path]

    target = next(
        str(p.name).rpartition("#")[2]
        for p in admin.block_storage.backend_pools()
        if not str(p.name).endswith(f"#{source}")
    )
    run(cloud, "volume", "migrate", "--host", f"{host}#{target}", volume_id)
    moved = until(
        "migration done",
        lambda: admin.block_storage.get_volume(volume_id),
        lambda v: v.migration_status in ("success", "error"),
    )
    assert moved.migration_status == "success", moved
    assert moved.status == "in-use" and str(moved.host).endswith(f"#{target}")
    assert [a["server_id"] for a in moved.attachments] == [server_id]

    new_path = volume_path(target, volume_id)
    slots = vcenter.slots(server_id)
    assert slots.get(new_path) == slot and old_path not in slots
    assert b"".join(vcenter.volumes.read_disk(new_path))[: len(DATA)] == DATA
    until("old disk deleted", lambda: vcenter.volumes.disk_exists(old_path), lambda e: not e)
    attached = run_json(cloud, "server", "volume", "list", server_id)
    assert [a["Volume ID"] for a in attached] == [volume_id]
    actions = run_json(cloud, "server", "event", "list", server_id)
    assert "swap_volume" in [a["Action"] for a in actions]

    run(cloud, "server", "delete", "--wait", server_id)
    run(cloud, "volume", "delete", volume_id)
    gone(lambda: admin.block_storage.get_volume(volume_id))
    assert not vcenter.volumes.disk_exists(new_path)
    admin.image.delete_image(image["id"])
