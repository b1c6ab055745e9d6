"""One value holding a backend's four drivers, so the composition root passes one thing."""

from __future__ import annotations

from dataclasses import dataclass

from vistack.drivers.compute import ComputeDriver
from vistack.drivers.images import ImageDriver
from vistack.drivers.models import Topology
from vistack.drivers.networks import NetworkDriver
from vistack.drivers.volumes import VolumeDriver


@dataclass(frozen=True)
class Drivers:
    """The drivers of one backend (one vCenter, or one fake) and what it was set up with."""

    compute: ComputeDriver
    images: ImageDriver
    networks: NetworkDriver
    volumes: VolumeDriver
    topology: Topology
