"""The in-memory backend: every driver interface over one shared state, for fast tests.

    fake = FakeCloud()
    fake.fail_next("create_vm", TransientError("vCenter restarting"))
    fake.drivers().compute.create_vm(spec)   # raises the injected error, once

It models vCenter's semantics and errors (not vcsim's gaps); the contract suite proves both
backends behave alike where the simulator can show it.
"""

from __future__ import annotations

from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import DriverError
from vistack.drivers.fake.compute import FakeCompute
from vistack.drivers.fake.images import FakeImages
from vistack.drivers.fake.networks import FakeNetworks
from vistack.drivers.fake.state import FakeFile, FakeState, FakeTopology
from vistack.drivers.fake.volumes import FakeVolumes
from vistack.drivers.paths import split_datastore_path

__all__ = ["FakeCloud", "FakeCompute", "FakeImages", "FakeNetworks", "FakeTopology", "FakeVolumes"]


class FakeCloud:
    """A fake vCenter: its state plus the four drivers over it."""

    def __init__(self, topology: FakeTopology | None = None, *, latency: float = 0.0) -> None:
        self.state = FakeState(topology, latency=latency)
        self.compute = FakeCompute(self.state)
        self.images = FakeImages(self.state)
        self.networks = FakeNetworks(self.state)
        self.volumes = FakeVolumes(self.state)

    def drivers(self) -> Drivers:
        return Drivers(
            self.compute, self.images, self.networks, self.volumes, self.state.topology()
        )

    def fail_next(self, operation: str, error: DriverError) -> None:
        """The next call of driver method `operation` raises `error` instead of running."""
        self.state.fail_next(operation, error)

    def write_file(self, path: str, data: bytes) -> None:
        """Put `data` at datastore `path`, as something outside the drivers would (a guest
        writing its serial log, an administrator copying a file)."""
        datastore, relative = split_datastore_path(path)
        self.state.files[(datastore, relative)] = FakeFile(datastore, relative, data)

    def set_latency(self, seconds: float) -> None:
        """Every later call waits `seconds` first (to test timeouts and concurrency)."""
        self.state.latency = seconds

    def reset(self) -> None:
        """Forget every VM, disk, file and port group made since creation; drop pending faults."""
        self.state.reset()
