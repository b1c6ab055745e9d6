"""Flavor extra specs → the VM tuning the driver applies (compute/domain/vm_tuning.py)."""

from __future__ import annotations

from vistack.compute.domain.vm_tuning import vm_tuning
from vistack.drivers.models import Allocation, VMTuning


def test_no_specs_ask_for_nothing() -> None:
    assert vm_tuning({"vcpus": 1}) == VMTuning()
    assert vm_tuning({"extra_specs": {"hw:cpu_cores": "2"}}) == VMTuning()


def test_vsphere_defaults_read_as_nothing_asked() -> None:
    specs = {
        "quota:cpu_limit": "-1",
        "quota:cpu_reservation": "0",
        "quota:cpu_shares_level": "normal",
        "quota:cpu_shares_share": "100",  # only read with the custom level
    }
    assert vm_tuning({"extra_specs": specs}) == VMTuning()


def test_every_spec_is_read() -> None:
    specs = {
        "quota:cpu_limit": "3000",
        "quota:cpu_reservation": "100",
        "quota:cpu_shares_level": "custom",
        "quota:cpu_shares_share": "4000",
        "quota:memory_limit": "2048",
        "quota:memory_shares_level": "low",
        "vmware:hw_version": "14",
    }
    assert vm_tuning({"extra_specs": specs}) == VMTuning(
        cpu=Allocation(limit=3000, reservation=100, shares_level="custom", shares=4000),
        memory=Allocation(limit=2048, shares_level="low"),
        hw_version="vmx-14",
    )


def test_values_stored_before_validation_existed_are_left_out() -> None:
    specs = {
        "quota:cpu_limit": "lots",
        "quota:memory_shares_level": "max",
        "vmware:hw_version": "x",
    }
    assert vm_tuning({"extra_specs": specs}) == VMTuning()
