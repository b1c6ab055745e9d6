"""The power sync's rule: which server columns change to match what vCenter says of its VM."""

from __future__ import annotations

from vistack.compute.domain import states
from vistack.compute.domain.power_sync import changes_for
from vistack.drivers.models import PowerState, VMInfo


def vm(power: PowerState, host: str = "h1", cluster: str = "c1") -> VMInfo:
    return VMInfo(
        instance_uuid="u",
        id="vm-1",
        name="u",
        cluster=cluster,
        host=host,
        power_state=power,
        cpus=1,
        cores_per_socket=1,
        memory_mb=512,
    )


def test_a_matching_vm_changes_nothing() -> None:
    assert changes_for(states.ACTIVE, "c1", "h1", vm(PowerState.ON)) == {}
    assert changes_for(states.STOPPED, "c1", "h1", vm(PowerState.OFF)) == {}


def test_power_follows_the_vm() -> None:
    assert changes_for(states.ACTIVE, "c1", "h1", vm(PowerState.OFF)) == {
        "vm_state": states.STOPPED,
        "power_state": states.SHUTDOWN,
    }
    assert changes_for(states.STOPPED, "c1", "h1", vm(PowerState.ON)) == {
        "vm_state": states.ACTIVE,
        "power_state": states.RUNNING,
    }


def test_a_move_changes_host_and_cluster() -> None:
    changes = changes_for(states.ACTIVE, "c1", "h1", vm(PowerState.ON, host="h9", cluster="c2"))
    assert changes == {"vm_host": "h9", "cluster": "c2"}


def test_a_vanished_vm_is_an_error_with_a_fault_only_for_settled_states() -> None:
    changes = changes_for(states.ACTIVE, "c1", "h1", None)
    assert (
        changes["vm_state"] == states.ERROR and "gone from vCenter" in changes["fault"]["message"]
    )
    assert changes_for(states.ERROR, "c1", "h1", None) == {}
