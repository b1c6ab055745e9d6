"""A detached disk's data replaced through the datastore `/folder` HTTP endpoint (a backup's
restore): `VolumeDriver.write_disk` on vSphere.

The disk's descriptor names its raw extent (`disk_data.extent_name`: `<name>-flat.vmdk` for the
flat disks volumes are). The bytes are PUT to a temporary file next to it and moved over the
extent with `MoveDatastoreFile_Task` once complete, so the disk never holds half a restore and a
failed write leaves no file behind (the temporary one is deleted with the FileManager: the HTTP
`DELETE` of vcsim does nothing). An extent never gets shorter: a restore of fewer bytes than it
held is padded with zeros, so a disk on vCenter (whose flat extent is its capacity) keeps its
size; vcsim keeps only the bytes written, so there the extent is exactly what was restored.

The body goes out with chunked framing made here (`_Body`), so a source that fails or comes
short still ends the body properly: vcsim has finished writing the temporary file when the
answer comes, and the delete that follows cannot race it (a cut-off body could).
"""

from __future__ import annotations

import http.client
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator

from vistack.drivers.errors import (
    DriverError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
    TransientError,
)
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.vsphere.datastore_files import folder_request
from vistack.vsphere.disk_data import DESCRIPTOR_LIMIT, extent_name
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim

LOG = logging.getLogger(__name__)

#: The pieces the zero padding is sent in.
PIECE = 1 << 20


class DiskWriter:
    """Replaces the raw extent of a detached disk."""

    def __init__(
        self,
        session: VCenterSession,
        lookup: Lookup,
        connect: Callable[..., http.client.HTTPConnection],
        *,
        task_timeout: float = 600.0,
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._connect = connect
        self._timeout = task_timeout

    def write(self, path: str, data: Iterable[bytes], size: int) -> None:
        if size < 0:
            raise ValueError(f"a disk's data cannot be {size} bytes")
        datastore, relative = split_datastore_path(path)
        folder, _, name = relative.rpartition("/")
        descriptor = self._descriptor(datastore, relative)
        extent = extent_name(descriptor, name)
        extent_path = f"{folder}/{extent}" if folder else extent
        old_size = self._length(datastore, extent_path)
        total = max(size, old_size)
        partial = f"{extent_path}.partial-{uuid.uuid4().hex[:8]}"
        try:
            body = _Body(data, size, total)
            self._put(datastore, partial, body)
            if body.failure is not None:
                raise body.failure
            if body.error is not None:
                raise InvalidStateError(f"writing {path}: {body.error}")
            self._session.call(
                lambda c: self._move(c, datastore, partial, extent_path), idempotent=False
            )
        except BaseException:
            self._remove(datastore, partial)
            raise

    # -- HTTP ---------------------------------------------------------------------------------

    def _open(
        self,
        method: str,
        datastore: str,
        relative: str,
        body: Iterable[bytes] | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        url, headers = self._session.call(
            lambda c: folder_request(c, self._lookup, datastore, relative)
        )
        if body is not None:
            headers["Transfer-Encoding"] = "chunked"
        endpoint = self._session.endpoint
        connection = self._connect(endpoint.host, endpoint.port)
        what = datastore_path(datastore, relative)
        try:
            connection.request(method, url, body=body, headers=headers)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransientError(f"{method} {what} failed: {exc}") from exc
        except BaseException:
            connection.close()
            raise

    def _descriptor(self, datastore: str, relative: str) -> bytes:
        """The disk's descriptor (its first `DESCRIPTOR_LIMIT` bytes).

        :raises NotFoundError: no disk there.
        """
        connection, response = self._open("GET", datastore, relative)
        try:
            status = response.status
            head = response.read(DESCRIPTOR_LIMIT) if status == 200 else response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise TransientError(f"reading {datastore_path(datastore, relative)}: {exc}") from exc
        finally:
            connection.close()
        if status == 404:
            raise NotFoundError(f"no disk at {datastore_path(datastore, relative)}")
        _check(status, datastore_path(datastore, relative))
        return head

    def _length(self, datastore: str, relative: str) -> int:
        """The extent's length now (0 when it is missing: it is about to be written)."""
        connection, response = self._open("HEAD", datastore, relative)
        try:
            response.read()
        finally:
            connection.close()
        if response.status == 404:
            return 0
        _check(response.status, datastore_path(datastore, relative))
        return int(response.getheader("Content-Length") or 0)

    def _put(self, datastore: str, relative: str, body: Iterable[bytes]) -> None:
        connection, response = self._open("PUT", datastore, relative, body)
        try:
            response.read()
        finally:
            connection.close()
        where = datastore_path(datastore, relative)
        if response.status == 507:
            raise NoCapacityError(f"datastore {datastore} has no room for {where}")
        if response.status == 404:
            raise NotFoundError(f"{where}: the datastore or its folder does not exist")
        _check(response.status, where)

    # -- files --------------------------------------------------------------------------------

    def _move(self, client: Client, datastore: str, source: str, target: str) -> None:
        datacenter = self._lookup.datacenter(client)
        task = client.content.fileManager.MoveDatastoreFile_Task(
            sourceName=datastore_path(datastore, source),
            sourceDatacenter=datacenter,
            destinationName=datastore_path(datastore, target),
            destinationDatacenter=datacenter,
            force=True,
        )
        wait_for_task(client, task, self._timeout)

    def _remove(self, datastore: str, relative: str) -> None:
        """Delete the temporary file of a failed write, if it reached the datastore; logged,
        never raised (the write's own error is what the caller needs)."""

        def run(client: Client) -> None:
            task = client.content.fileManager.DeleteDatastoreFile_Task(
                name=datastore_path(datastore, relative),
                datacenter=self._lookup.datacenter(client),
            )
            wait_for_task(client, task, self._timeout)

        try:
            self._session.call(run, idempotent=False)
        except (NotFoundError, vim.fault.FileNotFound):
            pass
        except DriverError as exc:
            LOG.warning("could not remove %s: %s", datastore_path(datastore, relative), exc)


class _Body:
    """The PUT body: `data` (which must come to `size` bytes), then zeros up to `total`, sent
    with chunked framing made here. A short or long `data` ends the body properly (the
    terminating chunk goes out) and is reported in `error`: the server has then finished
    writing the temporary file when the answer comes, so deleting it cannot race the write (a
    cut-off sized body can leave vcsim writing a file after its delete)."""

    def __init__(self, data: Iterable[bytes], size: int, total: int) -> None:
        self._data = data
        self._size = size
        self._total = total
        self.error: str | None = None
        self.failure: Exception | None = None

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces():
            if piece:
                yield b"%x\r\n%s\r\n" % (len(piece), piece)
        yield b"0\r\n\r\n"

    def _pieces(self) -> Iterator[bytes]:
        sent = 0
        pieces = iter(self._data)
        while True:
            try:
                piece = next(pieces, None)
            except Exception as exc:  # the caller's source failed: end the body, then raise it
                self.failure = exc
                return
            if piece is None:
                break
            sent += len(piece)
            if sent > self._size:
                self.error = f"more than the {self._size} bytes promised came"
                return
            yield piece
        if sent != self._size:
            self.error = f"{sent} bytes came, not the {self._size} promised"
            return
        left = self._total - self._size
        while left > 0:
            step = min(PIECE, left)
            left -= step
            yield bytes(step)


def _check(status: int, what: str) -> None:
    if 200 <= status < 300:
        return
    if status >= 500:
        raise TransientError(f"datastore HTTP {status} for {what}")
    raise DriverError(f"datastore HTTP {status} for {what}")
