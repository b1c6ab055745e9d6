"""What the client stories share: polling a read (over the SDK or vSphere, never a CLI
process per poll) until it holds, and the VirtualDisk devices of a server's VM as the
embedded vCenter holds them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import openstack.exceptions

from vistack.drivers.errors import NotFoundError
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client, VCenterSession

T = TypeVar("T")


def until(what: str, read: Callable[[], T], done: Callable[[T], bool], timeout: float = 60) -> T:
    """Poll `read` (an SDK or vSphere read, not a CLI process) until `done` holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: {value}"
        time.sleep(0.1)


def gone(read: Callable[[], Any]) -> None:
    """Until `read` raises the SDK's NotFoundException."""

    def missing() -> bool:
        try:
            read()
        except openstack.exceptions.NotFoundException:
            return True
        return False

    until("gone", missing, bool)


def vm_disk_devices(session: VCenterSession, lookup: Lookup, server_id: str) -> list[Any]:
    """The VirtualDisk devices of the server's VM, read afresh ([] when there is no VM)."""

    def read(client: Client) -> list[Any]:
        try:
            vm = lookup.vm(client, server_id)
        except NotFoundError:
            return []
        props = retrieve_one(client, vm, ["config.hardware.device"])
        devices = (props.get("config.hardware.device") if props else None) or ()
        return [d for d in devices if type(d).__name__.endswith("VirtualDisk")]

    lookup.forget_vm(server_id)
    return session.call(read)
