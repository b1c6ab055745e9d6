"""Nova's link to the block storage service: the `VolumePort` once Cinder is there.

The compute services are built before (or without) the volume service, so they hold this link
rather than the port itself; the composition root connects Cinder's port when it has one.
Without it every volume operation answers one clear fault instead of failing somewhere deeper.
"""

from __future__ import annotations

from vistack.common.errors import ServiceUnavailable
from vistack.compute.domain.volume_port import VolumePort

NO_VOLUME_SERVICE = (
    "The block storage service is not available in this cloud: volumes cannot be attached, "
    "detached, listed through Nova or booted from."
)


class VolumeLink:
    """The volume port, or None until (unless) one is connected."""

    def __init__(self, port: VolumePort | None = None) -> None:
        self._port = port

    def connect(self, port: VolumePort | None) -> None:
        self._port = port

    @property
    def port(self) -> VolumePort | None:
        return self._port

    def require(self) -> VolumePort:
        """The port. :raises ServiceUnavailable: no block storage service (503)."""
        if self._port is None:
            raise ServiceUnavailable(NO_VOLUME_SERVICE)
        return self._port
