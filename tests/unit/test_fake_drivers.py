"""The fake's own machinery: fault injection, latency, reset; its semantics are the contract's."""

from __future__ import annotations

import time
import uuid

import pytest

from vistack.drivers.errors import TransientError
from vistack.drivers.fake import FakeCloud, FakeTopology
from vistack.drivers.models import VMSpec


def _spec(fake: FakeCloud) -> VMSpec:
    topology = fake.drivers().topology
    return VMSpec(
        instance_uuid=str(uuid.uuid4()),
        name=uuid.uuid4().hex,
        cluster=topology.clusters[0],
        datastore=topology.datastores[0],
        cpus=1,
        memory_mb=128,
    )


def test_fail_next_raises_once_then_the_call_works() -> None:
    fake = FakeCloud()
    fake.fail_next("create_vm", TransientError("vCenter restarting"))
    spec = _spec(fake)
    with pytest.raises(TransientError, match="restarting"):
        fake.compute.create_vm(spec)
    assert fake.compute.list_vms() == []
    assert fake.compute.create_vm(spec).instance_uuid == spec.instance_uuid


def test_injected_faults_are_per_operation_and_queued() -> None:
    fake = FakeCloud()
    fake.fail_next("list_vms", TransientError("one"))
    fake.fail_next("list_vms", TransientError("two"))
    fake.compute.list_clusters()
    with pytest.raises(TransientError, match="one"):
        fake.compute.list_vms()
    with pytest.raises(TransientError, match="two"):
        fake.compute.list_vms()
    assert fake.compute.list_vms() == []


def test_latency_delays_every_call() -> None:
    fake = FakeCloud(latency=0.02)
    started = time.perf_counter()
    fake.compute.list_clusters()
    fake.networks.list_portgroups()
    assert time.perf_counter() - started >= 0.04


def test_reset_forgets_objects_and_pending_faults() -> None:
    fake = FakeCloud()
    fake.compute.create_vm(_spec(fake))
    fake.fail_next("list_vms", TransientError("pending"))
    fake.reset()
    assert fake.compute.list_vms() == []


def test_topology_shapes_the_inventory() -> None:
    fake = FakeCloud(FakeTopology(clusters=3, hosts_per_cluster=2, datastores=1, portgroups=2))
    topology = fake.drivers().topology
    assert topology.clusters == ("DC0_C0", "DC0_C1", "DC0_C2")
    assert topology.datastores == ("LocalDS_0",)
    assert len(topology.portgroups) == 2
    assert all(len(c.hosts) == 2 for c in fake.compute.list_clusters())
