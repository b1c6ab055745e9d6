"""A volume's bytes read off its datastore through the `/folder` HTTP endpoint.

A VMDK is a small text descriptor plus the extent that holds the data; for the flat disks the
volume driver makes, the extent is `<name>-flat.vmdk`, the disk's bytes as the guest sees them
(the same bytes a `raw` image holds). The descriptor says which file that is; vcsim writes empty
descriptors, so the flat file's conventional name is the fallback. Sparse extents (a
`monolithicSparse` one-file disk) are not raw bytes and are refused rather than misread.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable, Iterator

from vistack.drivers.errors import DriverError, NotFoundError, TransientError, UnsupportedError
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.vsphere.datastore_files import folder_request
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import Client, VCenterSession

CHUNK = 1 << 20
#: A descriptor is a few hundred bytes; more than this is not a descriptor.
DESCRIPTOR_LIMIT = 64 * 1024
#: `RW 2097152 VMFS "name-flat.vmdk"` (FLAT on hosted products); sparse types are not raw.
_EXTENT = re.compile(rb'^\s*(?:RW|RDONLY)\s+\d+\s+(\w+)\s+"([^"]+)"', re.MULTILINE)
_SECTORS = re.compile(rb"^\s*(?:RW|RDONLY)\s+(\d+)\s", re.MULTILINE)
_RAW_EXTENTS = (b"FLAT", b"VMFS")
_SPARSE_MAGIC = b"KDMV"


def extent_name(descriptor: bytes, disk_name: str) -> str:
    """The file holding the disk's raw bytes, from its descriptor.

    :raises UnsupportedError: the disk is sparse or has several extents (not one raw run).
    """
    if descriptor.startswith(_SPARSE_MAGIC):
        raise UnsupportedError(f"{disk_name} is a sparse VMDK; its bytes are not a raw disk")
    extents = _EXTENT.findall(descriptor)
    if not extents:
        return disk_name.removesuffix(".vmdk") + "-flat.vmdk"
    if len(extents) > 1 or extents[0][0] not in _RAW_EXTENTS:
        kinds = ", ".join(kind.decode("ascii", "replace") for kind, _ in extents)
        raise UnsupportedError(f"{disk_name} has extents of kind {kinds}, not one flat extent")
    return str(extents[0][1].decode("utf-8", "replace"))


def descriptor_capacity_kb(descriptor: bytes) -> int | None:
    """The disk's capacity from its descriptor's extent lines (512-byte sectors); None for a
    one-file (sparse) disk or a descriptor that names no extent."""
    if descriptor.startswith(_SPARSE_MAGIC):
        return None
    sectors = sum(int(found) for found in _SECTORS.findall(descriptor))
    return sectors // 2 or None


class DiskReader:
    """Streams the raw extent of a disk (`VolumeDriver.read_disk`)."""

    def __init__(
        self,
        session: VCenterSession,
        lookup: Lookup,
        connect: Callable[..., http.client.HTTPConnection],
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._connect = connect

    def read(self, path: str) -> Iterator[bytes]:
        datastore, relative = split_datastore_path(path)
        folder, _, name = relative.rpartition("/")
        descriptor = b"".join(self._get(datastore, relative, DESCRIPTOR_LIMIT))
        data = extent_name(descriptor, name)
        return self._get(datastore, f"{folder}/{data}" if folder else data, None)

    def capacity_kb(self, client: Client, path: str) -> int | None:
        """The capacity its descriptor gives the disk at `path`, read on `client` (for a caller
        already inside `session.call`); None when it names none."""
        datastore, relative = split_datastore_path(path)
        url, headers = folder_request(client, self._lookup, datastore, relative)
        what = datastore_path(datastore, relative)
        return descriptor_capacity_kb(b"".join(self._open(url, headers, what, DESCRIPTOR_LIMIT)))

    def _get(self, datastore: str, relative: str, limit: int | None) -> Iterator[bytes]:
        """Open the file (errors raised here) and stream it, at most `limit` bytes."""
        what = datastore_path(datastore, relative)
        url, headers = self._session.call(
            lambda c: folder_request(c, self._lookup, datastore, relative)
        )
        return self._open(url, headers, what, limit)

    def _open(
        self, url: str, headers: dict[str, str], what: str, limit: int | None
    ) -> Iterator[bytes]:
        endpoint = self._session.endpoint
        connection = self._connect(endpoint.host, endpoint.port)
        try:
            connection.request("GET", url, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransientError(f"reading {what} failed: {exc}") from exc
        if response.status != 200:
            response.read()
            connection.close()
            if response.status == 404:
                raise NotFoundError(f"no disk file at {what}")
            raise DriverError(f"datastore HTTP {response.status} reading {what}")
        return _stream(connection, response, limit, what)


def _stream(
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    limit: int | None,
    what: str,
) -> Iterator[bytes]:
    left = limit
    try:
        while left is None or left > 0:
            try:
                chunk = response.read(CHUNK if left is None else min(CHUNK, left))
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"reading {what} failed: {exc}") from exc
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        connection.close()
