"""What a backend's watch of vCenter (`WaitForUpdatesEx`) tells the compute service about VMs,
without the compute service knowing how it is watched."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vistack.drivers.models import PowerState


@dataclass(frozen=True)
class ObservedVM:
    """A VM as the watch last saw it: enough to tell whether its server must follow."""

    power_state: PowerState
    #: ESXi host and cluster names ("" when vCenter did not say).
    host: str
    cluster: str


@dataclass(frozen=True)
class Observation:
    """Every VM of the vCenter by instance UUID, as of `as_of`: changes made before that instant
    are in it, so a server last written before `as_of` may be judged against it."""

    as_of: datetime
    vms: Mapping[str, ObservedVM]


class VMObserver(Protocol):
    """A live view of vCenter's VMs."""

    def observe(self) -> Observation | None:
        """The latest observation; None before the first full read (or while disconnected)."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call `callback()` (from the watch's thread, so it must be quick) whenever a VM's
        power state, host or existence changed."""
        ...
