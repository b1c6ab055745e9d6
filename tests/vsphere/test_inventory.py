"""The inventory cache: content of the first read, live updates, and surviving a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from tests.vsphere.conftest import StartVcsim, create_vm
from vistack.vsphere.embedded import EmbeddedVCenter
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.inventory import Inventory
from vistack.vsphere.session import Client, SessionState, VCenterSession
from vistack.vsphere.tasks import wait_for_task


@pytest.fixture
def inventory(session: VCenterSession) -> Iterator[Inventory]:
    with Inventory(session, max_wait_seconds=2) as inventory:
        inventory.wait_synced(10)
        yield inventory


def test_first_read(inventory: Inventory) -> None:
    snapshot = inventory.snapshot()
    assert snapshot.datacenter == "DC0"
    assert [c.name for c in snapshot.clusters] == ["DC0_C0", "DC0_C1"]
    cluster = snapshot.clusters[0]
    assert cluster.drs_enabled and cluster.managed
    assert len(cluster.hosts) == 2
    assert cluster.total_cpu_mhz == 2 * 32 * 2600
    assert cluster.total_memory_mb == 2 * 256 * 1024
    assert 0 < cluster.free_cpu_mhz <= cluster.total_cpu_mhz
    host = snapshot.get(cluster.hosts[0])
    assert host.cluster == cluster.moref and host.cpu_cores == 32 and host.usable
    assert [d.name for d in snapshot.datastores] == ["LocalDS_0", "LocalDS_1"]
    for datastore in snapshot.datastores:
        # From host.datastore: the simulator's datastore.host lists only the last host.
        assert set(datastore.clusters) == {c.moref for c in snapshot.clusters}
        assert len(datastore.hosts) == 4
        assert datastore.capacity_bytes > datastore.free_bytes > 0
    (switch,) = snapshot.switches
    assert switch.name == "DVS0" and len(switch.hosts) == 4
    portgroup = snapshot.portgroup("DC0_DVPG0")
    assert portgroup is not None
    assert portgroup.vlan_id == 0 and portgroup.switch_uuid == switch.uuid
    assert portgroup.key == portgroup.moref
    assert snapshot.state is not None and snapshot.state.state is SessionState.CONNECTED


def test_updates_arrive_without_a_resync(inventory: Inventory, session: VCenterSession) -> None:
    synced_at = inventory.snapshot().synced_at
    vm = session.call(lambda c: create_vm(c, "inventory-vm"), idempotent=False)
    snapshot = inventory.wait_until(lambda s: s.get(vm) is not None, 5)
    info = snapshot.get(vm)
    assert info.name == "inventory-vm" and info.power_state == "poweredOff"
    assert info.instance_uuid and snapshot.vm(info.instance_uuid) == info
    assert info.cluster == snapshot.cluster("DC0_C0").moref  # type: ignore[union-attr]

    def power_on(client: Client) -> None:
        wait_for_task(client, client.moref("VirtualMachine", vm).PowerOnVM_Task(), 30)

    session.call(power_on)
    inventory.wait_until(lambda s: s.get(vm).power_state == "poweredOn", 5)

    def destroy(client: Client) -> None:
        target = client.moref("VirtualMachine", vm)
        wait_for_task(client, target.PowerOffVM_Task(), 30)
        wait_for_task(client, target.Destroy_Task(), 30)

    session.call(destroy)
    snapshot = inventory.wait_until(lambda s: s.get(vm) is None, 5)
    assert snapshot.synced_at == synced_at  # deltas, not a full re-read


def test_periodic_resync(session: VCenterSession) -> None:
    with Inventory(session, resync_seconds=0.3, max_wait_seconds=1) as inventory:
        first = inventory.wait_synced(10).synced_at
        assert first is not None
        inventory.wait_until(lambda s: (s.synced_at or 0) > first, 5)


def test_survives_a_vcenter_restart(
    start_vcsim: StartVcsim, caplog: pytest.LogCaptureFixture
) -> None:
    vcsim: EmbeddedVCenter = start_vcsim()
    endpoint: VCenterEndpoint | None = vcsim.endpoint
    assert endpoint is not None
    caplog.set_level(logging.INFO, logger="vistack.vsphere")
    with (
        VCenterSession(endpoint, keepalive_seconds=0, connect_timeout=2) as session,
        Inventory(session, max_wait_seconds=2) as inventory,
    ):
        inventory.wait_synced(10)
        vm = session.call(lambda c: create_vm(c, "before-the-crash"), idempotent=False)
        inventory.wait_until(lambda s: s.get(vm) is not None, 5)
        synced_at = inventory.snapshot().synced_at or 0

        vcsim.kill()
        inventory.wait_until(
            lambda s: s.state is not None and s.state.state is SessionState.DOWN, 10
        )
        time.sleep(1.5)  # a few reconnection attempts while it is down
        vcsim.start()
        started = time.monotonic()
        snapshot = inventory.wait_until(
            lambda s: (
                (s.synced_at or 0) > synced_at
                and s.state is not None
                and s.state.state is SessionState.CONNECTED
            ),
            15,
        )
        recovery = time.monotonic() - started

    # The simulator lost its state: the VM made before the crash is gone, the model is back.
    assert snapshot.get(vm) is None
    assert [c.name for c in snapshot.clusters] == ["DC0_C0", "DC0_C1"]
    assert recovery < 5
    messages = [r.getMessage() for r in caplog.records if r.name == "vistack.vsphere"]
    down = [m for m in messages if m.startswith(f"vCenter {endpoint.name} unreachable")]
    up = [m for m in messages if m.startswith(f"vCenter {endpoint.name} reconnected after")]
    assert len(down) == 1, messages
    assert len(up) == 1, messages
    assert any("re-read after reconnecting" in m for m in messages), messages
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
