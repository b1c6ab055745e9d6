"""Driver contract for the serial console log (`console_log`), on the fake and on vcsim.

Every VM is built with a serial port writing to `serial.log` in its folder. Nothing in the
simulator runs a guest, so the test writes the file where the guest's console output would go
(through the image driver's datastore upload, which both backends have) and reads it back.
"""

from __future__ import annotations

import uuid

import pytest

from tests.contract.conftest import Backend, vm_spec
from vistack.drivers.errors import NotFoundError
from vistack.drivers.paths import SERIAL_LOG_NAME

GUEST_OUTPUT = b"".join(f"[    {n}.000000] booting step {n}\n".encode() for n in range(40))


def test_a_new_vm_has_an_empty_serial_log(backend: Backend) -> None:
    compute = backend.drivers.compute
    vm = compute.create_vm(vm_spec(backend))
    assert compute.console_log(vm.instance_uuid, 1024) == b""


def test_the_log_is_what_the_guest_wrote_to_the_file_in_the_vms_folder(backend: Backend) -> None:
    compute = backend.drivers.compute
    spec = vm_spec(backend)
    vm = compute.create_vm(spec)
    compute.power_on(vm.instance_uuid)
    backend.drivers.images.upload_image(
        spec.datastore, spec.name, SERIAL_LOG_NAME, [GUEST_OUTPUT], len(GUEST_OUTPUT)
    )
    assert compute.console_log(vm.instance_uuid, 1 << 20) == GUEST_OUTPUT
    assert compute.console_log(vm.instance_uuid, 100) == GUEST_OUTPUT[-100:]


def test_an_unknown_vm_has_no_log(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.drivers.compute.console_log(str(uuid.uuid4()), 1024)
