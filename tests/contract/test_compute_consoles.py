"""Driver contract for consoles and diagnostics, on the fake and on vcsim.

vCenter hands out a WebMKS ticket for a powered-on VM (stock vcsim has no `AcquireTicket`; the
project's launcher adds it as vCenter answers it). A VM's figures for diagnostics come from
`summary.config`/`runtime` on both; vcsim's quick stats are empty.
"""

from __future__ import annotations

import uuid

import pytest

from tests.contract.conftest import Backend, vm_spec
from vistack.drivers.errors import InvalidStateError, NotFoundError, UnsupportedError
from vistack.drivers.models import NicSpec, PowerState


def test_a_running_vm_gets_a_one_time_webmks_ticket(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    compute.power_on(vm.instance_uuid)
    ticket = compute.acquire_console_ticket(vm.instance_uuid)
    host = compute.get_vm(vm.instance_uuid).host
    assert ticket.host == host and ticket.port == 443 and ticket.ticket
    assert ticket.url == f"wss://{host}:443/ticket/{ticket.ticket}"
    assert compute.acquire_console_ticket(vm.instance_uuid).ticket != ticket.ticket


def test_a_stopped_vm_gets_no_ticket(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    with pytest.raises(InvalidStateError):
        compute.acquire_console_ticket(vm.instance_uuid)


def test_an_unknown_vm_gets_no_ticket(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.drivers.compute.acquire_console_ticket(str(uuid.uuid4()))


def test_a_server_without_tickets_is_unsupported(backend: Backend) -> None:
    """A vCenter that cannot hand out tickets (stock vcsim, `MethodNotFound`) is reported as
    UnsupportedError, never as success or another error: the fake stands in for it here."""
    if backend.fake is None:
        pytest.skip("the embedded vCenter's launcher implements AcquireTicket")
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    compute.power_on(vm.instance_uuid)
    backend.fake.fail_next("acquire_console_ticket", UnsupportedError("MethodNotFound"))
    with pytest.raises(UnsupportedError):
        compute.acquire_console_ticket(vm.instance_uuid)


def test_vm_stats_report_the_vms_configuration_and_power(backend: Backend) -> None:
    compute = backend.drivers.compute
    portgroup = backend.drivers.networks.list_portgroups()[0]
    nic = NicSpec(portgroup.key, "fa:16:3e:00:00:31")
    vm = compute.create_vm(vm_spec(backend, cpus=2, memory_mb=512, nics=(nic,)))
    off = compute.vm_stats(vm.instance_uuid)
    assert off.power_state is PowerState.OFF and off.raw["powerState"] == "poweredOff"
    compute.power_on(vm.instance_uuid)
    stats = compute.vm_stats(vm.instance_uuid)
    assert stats.power_state is PowerState.ON
    assert (stats.cpus, stats.memory_mb) == (2, 512)
    assert stats.nic_macs == (nic.mac,)
    assert stats.disk_paths == tuple(d.path for d in compute.get_vm(vm.instance_uuid).disks)
    assert stats.raw["numCpu"] == 2 and stats.raw["memorySizeMB"] == 512
    assert stats.raw["powerState"] == "poweredOn"
    assert stats.raw["instanceUuid"] == vm.instance_uuid
    if stats.uptime_seconds is not None:
        assert stats.uptime_seconds >= 0
    with pytest.raises(NotFoundError):
        compute.vm_stats(str(uuid.uuid4()))
