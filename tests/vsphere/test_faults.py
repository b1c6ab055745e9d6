"""Fault classification: one table, by type, checked with constructed fault objects."""

from __future__ import annotations

import http.client
import ssl
from xml.parsers.expat import ExpatError

import pytest

from vistack.drivers.errors import (
    AlreadyExistsError,
    AuthError,
    DriverError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
    TLSVerificationError,
    TransientError,
    UnsupportedError,
)
from vistack.vsphere.faults import classify, fault_message, fault_name
from vistack.vsphere.vmomi import vim, vmodl


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (vim.fault.NotFound(), NotFoundError),
        (vmodl.fault.ManagedObjectNotFound(), NotFoundError),
        (vim.fault.FileNotFound(file="[ds] x.vmdk"), NotFoundError),
        (vim.fault.DuplicateName(name="vm1"), AlreadyExistsError),
        (vim.fault.AlreadyExists(name="x"), AlreadyExistsError),
        (vim.fault.FileAlreadyExists(file="[ds] x"), AlreadyExistsError),
        (vim.fault.InvalidPowerState(existingState="poweredOn"), InvalidStateError),
        (vim.fault.InvalidState(), InvalidStateError),
        (vim.fault.InvalidHostState(), InvalidStateError),
        (vim.fault.TaskInProgress(), InvalidStateError),
        (vim.fault.ResourceInUse(), InvalidStateError),
        (vim.fault.InsufficientResourcesFault(), NoCapacityError),
        (vim.fault.InsufficientHostCapacityFault(), NoCapacityError),
        (vim.fault.NoDiskSpace(datastore="ds"), NoCapacityError),
        (vmodl.fault.NotEnoughLicenses(), NoCapacityError),
        (vim.fault.InvalidLogin(), AuthError),
        (vim.fault.NotAuthenticated(), AuthError),
        (vim.fault.NoPermission(privilegeId="VirtualMachine.Inventory.Create"), AuthError),
        (vim.fault.HostConnectFault(), TransientError),
        (vmodl.fault.RequestCanceled(), TransientError),
        (vmodl.fault.SystemError(reason="panic"), TransientError),
        (vmodl.fault.HostCommunication(), TransientError),
        (vim.fault.Timedout(), TransientError),
        (vmodl.fault.MethodNotFound(method="RebootGuest"), UnsupportedError),
        (vmodl.fault.NotSupported(), UnsupportedError),
        (vmodl.fault.NotImplemented(), UnsupportedError),
        (vmodl.fault.InvalidArgument(invalidProperty="spec"), DriverError),
        (vim.fault.VimFault(), DriverError),
        (ConnectionRefusedError(111, "Connection refused"), TransientError),
        (http.client.RemoteDisconnected("closed"), TransientError),
        (TimeoutError("timed out"), TransientError),
        (ssl.SSLCertVerificationError("self-signed"), TLSVerificationError),
        (ExpatError("no element found"), DriverError),
    ],
)
def test_classify_by_type(fault: BaseException, expected: type[DriverError]) -> None:
    error = classify(fault)
    assert type(error) is expected


def test_subclass_inherits_parent_mapping() -> None:
    # InsufficientCpuResourcesFault is not in the table; its parent is.
    assert isinstance(classify(vim.fault.InsufficientCpuResourcesFault()), NoCapacityError)


def test_text_is_not_used_for_classification() -> None:
    # A NotFound whose message talks about power state is still a NotFound.
    assert type(classify(vim.fault.NotFound(msg="invalid power state"))) is NotFoundError


def test_message_and_fault_name() -> None:
    error = classify(vim.fault.InvalidLogin(msg="Cannot complete login"))
    assert error.message == "Cannot complete login"
    assert error.fault == "vim.fault.InvalidLogin"
    assert isinstance(error.__cause__, vim.fault.InvalidLogin)


def test_simulator_placeholder_message_is_replaced_by_fields() -> None:
    fault = vim.fault.InvalidPowerState(
        msg="*types.InvalidPowerState", requestedState="poweredOn", existingState="poweredOn"
    )
    assert fault_message(fault) == (
        "InvalidPowerState (requestedState=poweredOn, existingState=poweredOn)"
    )
    assert fault_name(fault) == "vim.fault.InvalidPowerState"


def test_context_prefixes_message() -> None:
    error = classify(vim.fault.NotFound(msg="gone"), "reading vm-1")
    assert error.message == "reading vm-1: gone"


def test_driver_errors_pass_through() -> None:
    original = NotFoundError("x")
    assert classify(original) is original
