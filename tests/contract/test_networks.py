"""Contract: the network driver, identical expectations on the fake and the embedded vCenter."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.models import NicSpec


def test_the_initial_portgroups_are_listed(backend: Backend) -> None:
    names = {pg.name for pg in backend.drivers.networks.list_portgroups()}
    assert set(backend.drivers.topology.portgroups) <= names


def test_create_get_list_delete_portgroup(backend: Backend) -> None:
    networks = backend.drivers.networks
    dvs = backend.drivers.topology.dvs
    name = new_name()
    created = networks.create_portgroup(dvs, name, 101)
    assert (created.name, created.vlan_id, created.dvs) == (name, 101, dvs)
    assert networks.get_portgroup(created.key) == created
    assert created in networks.list_portgroups(dvs)
    networks.delete_portgroup(created.key)
    with pytest.raises(NotFoundError):
        networks.get_portgroup(created.key)
    assert created.key not in {pg.key for pg in networks.list_portgroups()}


def test_untagged_portgroup_has_vlan_zero(backend: Backend) -> None:
    created = backend.drivers.networks.create_portgroup(backend.drivers.topology.dvs, new_name(), 0)
    assert created.vlan_id == 0


def test_duplicate_portgroup_name_is_refused(backend: Backend) -> None:
    dvs = backend.drivers.topology.dvs
    name = new_name()
    backend.drivers.networks.create_portgroup(dvs, name, 102)
    with pytest.raises(AlreadyExistsError):
        backend.drivers.networks.create_portgroup(dvs, name, 103)


def test_bad_vlan_or_switch_is_refused(backend: Backend) -> None:
    networks = backend.drivers.networks
    with pytest.raises(InvalidStateError):
        networks.create_portgroup(backend.drivers.topology.dvs, new_name(), 4095)
    with pytest.raises(NotFoundError):
        networks.create_portgroup("no-such-dvs", new_name(), 5)
    with pytest.raises(NotFoundError):
        networks.list_portgroups("no-such-dvs")


def test_delete_of_an_unknown_portgroup_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.drivers.networks.delete_portgroup("dvportgroup-999999")


def test_a_vm_nic_can_use_a_new_portgroup(backend: Backend) -> None:
    pg = backend.drivers.networks.create_portgroup(backend.drivers.topology.dvs, new_name(), 104)
    vm = backend.drivers.compute.create_vm(
        vm_spec(backend, nics=(NicSpec(pg.key, "fa:16:3e:00:01:01"),))
    )
    assert vm.nics[0].portgroup == pg.key


@pytest.mark.vcsim_cannot_prove("vcsim destroys port groups that VM NICs still use")
def test_delete_of_a_portgroup_in_use_is_refused(backend: Backend) -> None:
    pg = backend.drivers.networks.create_portgroup(backend.drivers.topology.dvs, new_name(), 105)
    backend.drivers.compute.create_vm(
        vm_spec(backend, nics=(NicSpec(pg.key, "fa:16:3e:00:01:02"),))
    )
    with pytest.raises(InvalidStateError):
        backend.drivers.networks.delete_portgroup(pg.key)
