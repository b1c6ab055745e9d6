"""The VM's serial console written to a file in its folder: what `os-getConsoleOutput` reads.

Nova's libvirt driver reads the guest's console log from a file on the host; Nova's VMware driver
needed an external serial port concentrator for the same thing. vSphere itself can back a
virtual serial port with a file on the VM's datastore (`VirtualSerialPort` with a
`FileBackingInfo`): the VMX process appends whatever the guest writes to its first serial port
(the kernel's `console=ttyS0`, cloud-init's output) to that file, which sits in the VM's folder,
so vSphere deletes it with the VM, and it is read back over the datastore's `/folder` HTTP
endpoint like any other file there.

The port is added when the VM is created (in the clone or create spec: no extra task). Its path
is always read back from the VM's devices, never recomputed, so a VM that moved datastores or
was built before the port existed is read correctly (or reported as having no log).
"""

from __future__ import annotations

import http.client
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from vistack.drivers.errors import DriverError, TransientError
from vistack.drivers.paths import SERIAL_LOG_NAME, split_datastore_path
from vistack.vsphere.datastore_files import folder_request
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import VCenterSession
from vistack.vsphere.vmomi import vim

__all__ = ["SERIAL_LOG_NAME", "read_tail", "serial_log_path", "serial_port_change"]

#: The temporary key of the port a new VM gets (unique within its spec's device changes).
NEW_PORT_KEY = -400
CHUNK = 64 * 1024

DeviceSpec = vim.vm.device.VirtualDeviceSpec


def serial_port_change(path: str) -> Any:
    """The device change adding a serial port that writes to the datastore file `path`.

    `yieldOnPoll` lets a guest polling the port give up the CPU (VMware's advice for any
    serial port a guest may poll); `startConnected` makes the port work from the first boot.
    """
    port = vim.vm.device.VirtualSerialPort(
        key=NEW_PORT_KEY,
        backing=vim.vm.device.VirtualSerialPort.FileBackingInfo(fileName=path),
        yieldOnPoll=True,
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=True, allowGuestControl=False, connected=False
        ),
    )
    return DeviceSpec(operation=DeviceSpec.Operation.add, device=port)


def serial_log_path(devices: Iterable[Any]) -> str | None:
    """The datastore path the VM's first file-backed serial port writes to, or None."""
    for device in devices:
        if not isinstance(device, vim.vm.device.VirtualSerialPort):
            continue
        backing = device.backing
        if isinstance(backing, vim.vm.device.VirtualSerialPort.FileBackingInfo):
            return str(backing.fileName or "") or None
    return None


def read_tail(
    session: VCenterSession,
    lookup: Lookup,
    connect: Callable[..., http.client.HTTPConnection],
    path: str,
    limit: int,
) -> bytes:
    """The last `limit` bytes of the datastore file `path`; empty while the file does not
    exist yet (the guest has written nothing since the VM was built).

    Asks for the tail with a `Range` header; a server that ignores it answers 200 with the
    whole file, which is then streamed and only its tail kept, so a long-running VM's log
    never has to fit in memory.

    :raises TransientError: the connection failed.
    :raises DriverError: the datastore answered with an unexpected status.
    """
    datastore, relative = split_datastore_path(path)
    url, headers = session.call(lambda c: folder_request(c, lookup, datastore, relative))
    headers["Range"] = f"bytes=-{limit}"
    endpoint = session.endpoint
    connection = connect(endpoint.host, endpoint.port)
    try:
        connection.request("GET", url, headers=headers)
        response = connection.getresponse()
        if response.status in (404, 416):  # no file yet, or an empty one
            response.read()
            return b""
        if response.status not in (200, 206):
            response.read()
            raise DriverError(f"datastore HTTP {response.status} reading {path}")
        return _tail(response, limit)
    except (OSError, http.client.HTTPException) as exc:
        raise TransientError(f"reading {path} failed: {exc}") from exc
    finally:
        connection.close()


def _tail(response: http.client.HTTPResponse, limit: int) -> bytes:
    """The last `limit` bytes of the response body, holding at most about `limit` + CHUNK."""
    kept: deque[bytes] = deque()
    size = 0
    while chunk := response.read(CHUNK):
        kept.append(chunk)
        size += len(chunk)
        while kept and size - len(kept[0]) >= limit:
            size -= len(kept.popleft())
    return b"".join(kept)[-limit:] if limit else b""
