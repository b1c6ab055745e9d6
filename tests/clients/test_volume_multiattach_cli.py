"""Multiattach (docs/volume.md) with the real `openstack` CLI against `vistack up` on the
embedded vCenter: an administrator's `multiattach="<is> True"` volume type, a volume of it
added to two servers at compute 2.60 (refused at 2.59), each step checked in Cinder (status,
attachments) and in vCenter (both VMs hold the one disk, in multi-writer sharing, and the
disk is eager-zeroed thick, the only allocation vSphere shares), then taken off one server
(the other keeps it shared), the other, and deleted (no disk left).

Each user action is one CLI process (about a second each), so statuses are polled over
openstacksdk and the two servers are booted in one request; vCenter is read on a session of
the test's own.
"""

from __future__ import annotations

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
from vistack.drivers.volumes import volume_path
from vistack.vsphere.devices import MULTI_WRITER
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession
from vistack.vsphere.volumes import VSphereVolumes

pytestmark = pytest.mark.clients

#: Nova's microversion for multiattach, and the one before it (refused).
MULTIATTACH = ("--os-compute-api-version", "2.60")
BEFORE = ("--os-compute-api-version", "2.59")


@dataclass(frozen=True)
class Backing:
    """What the test checks of a VM's disk backing."""

    sharing: str
    eagerly_scrub: bool
    thin: bool


@dataclass
class VCenter:
    """The cloud's embedded vCenter, read on a session of the test's own."""

    session: VCenterSession
    lookup: Lookup
    volumes: VSphereVolumes

    def vm_disks(self, server_id: str) -> dict[str, Backing]:
        """The VM's disks, `{backing fileName: Backing}` ({} when there is no VM)."""
        return {
            str(d.backing.fileName): Backing(
                str(getattr(d.backing, "sharing", "") or ""),
                bool(getattr(d.backing, "eagerlyScrub", False)),
                bool(getattr(d.backing, "thinProvisioned", False)),
            )
            for d in vm_disk_devices(self.session, self.lookup, server_id)
        }


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[VCenter]:
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        lookup = Lookup(endpoint.datacenter)
        yield VCenter(session, lookup, VSphereVolumes(session, lookup))


def settled(
    conn: openstack.connection.Connection, volume_id: str, status: str, attachments: int
) -> Any:
    """The volume once it is in `status` with that many attachments (a detach passes
    through `detaching`; an attach's reserve keeps a multiattach volume `in-use`)."""

    def ok(v: Any) -> bool:
        assert v.status not in ("error", "error_deleting", "error_attaching"), v
        return bool(v.status == status and len(v.attachments or ()) == attachments)

    return until(
        f"volume {volume_id} {status} x{attachments}",
        lambda: conn.block_storage.get_volume(volume_id),
        ok,
    )


def test_a_multiattach_volume_on_two_servers(
    running_cloud: RunningCloud,
    admin: openstack.connection.Connection,
    vcenter: VCenter,
    tmp_path: Path,
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path)
    name = unique("shared")
    # Both servers in one request (`name-1`, `name-2`), built while the type and volume are
    # made.
    run(
        cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
        "--nic", "none", "--min", "2", "--max", "2", name,
    )  # fmt: skip
    kind = unique("multi")
    run(cloud, "volume", "type", "create", "--property", "multiattach=<is> True", kind)
    created: dict[str, Any] = run_json(
        cloud, "volume", "create", "--size", "1", "--type", kind, unique("data")
    )
    volume_id = str(created["id"])
    data = settled(admin, volume_id, "available", 0)
    assert data.is_multiattach is True
    path = volume_path(str(data.host).rpartition("#")[2], volume_id)
    assert vcenter.volumes.disk_exists(path)

    def both() -> list[Any]:
        return sorted(admin.compute.servers(name=f"^{name}-"), key=lambda s: str(s.name))

    def active(servers: list[Any]) -> bool:
        assert all(s.status != "ERROR" for s in servers), servers
        return len(servers) == 2 and all(s.status == "ACTIVE" for s in servers)

    first, second = (str(s.id) for s in until("two servers", both, active))

    # Before 2.60 Nova refuses a multiattach volume, naming the microversion.
    refused = run(cloud, *BEFORE, "server", "add", "volume", first, volume_id, check=False)
    assert refused.returncode != 0, refused.stdout
    assert "only supported starting with compute API version 2.60" in refused.stderr
    settled(admin, volume_id, "available", 0)

    # At 2.60 it goes onto both: two attachments, one disk shared by both VMs.
    run(cloud, *MULTIATTACH, "server", "add", "volume", first, volume_id)
    settled(admin, volume_id, "in-use", 1)
    run(cloud, *MULTIATTACH, "server", "add", "volume", second, volume_id)
    data = settled(admin, volume_id, "in-use", 2)
    assert sorted(a["server_id"] for a in data.attachments) == sorted([first, second])
    shared = Backing(MULTI_WRITER, eagerly_scrub=True, thin=False)
    assert vcenter.vm_disks(first)[path] == shared
    assert vcenter.vm_disks(second)[path] == shared

    # Off the first server: still in use by the second, whose VM keeps the disk shared.
    run(cloud, *MULTIATTACH, "server", "remove", "volume", first, volume_id)
    data = settled(admin, volume_id, "in-use", 1)
    assert [a["server_id"] for a in data.attachments] == [second]
    assert path not in vcenter.vm_disks(first)
    assert vcenter.vm_disks(second)[path] == shared

    # Off the second: available, on no VM, the disk kept.
    run(cloud, *MULTIATTACH, "server", "remove", "volume", second, volume_id)
    settled(admin, volume_id, "available", 0)
    assert path not in vcenter.vm_disks(second)
    assert vcenter.volumes.disk_exists(path)

    # Servers and volume deleted: no VM, no disk.
    run(cloud, "server", "delete", first, second)
    run(cloud, "volume", "delete", volume_id)
    gone(lambda: admin.compute.get_server(first))
    gone(lambda: admin.compute.get_server(second))
    gone(lambda: admin.block_storage.get_volume(volume_id))
    assert vcenter.vm_disks(first) == {} and vcenter.vm_disks(second) == {}
    assert not vcenter.volumes.disk_exists(path)
    run(cloud, "volume", "type", "delete", kind)
    admin.image.delete_image(image["id"])
