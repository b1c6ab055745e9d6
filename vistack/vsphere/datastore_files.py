"""Small files written straight onto a datastore with one HTTP PUT to its `/folder` endpoint.

Why not `VSphereImages.upload_image`: an image upload guards a file other VMs will share (an
existence check, a free-space check, a temporary name moved into place), four round trips that
a config drive does not need. Its ISO goes into the folder of a VM that is being created and is
not powered on yet, so a partial file can harm nobody: a failed PUT fails the build, and the
build's undo destroys the VM and deletes the file. On vCenter each saved step is a task or a
datastore browser search, hundreds of milliseconds per boot. The requests go out on kept-alive
connections (`FileConnections`), so a boot or a delete pays no new TCP or TLS handshake either.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from urllib.parse import quote, urlencode

from vistack.drivers.errors import NoCapacityError, NotFoundError, TransientError
from vistack.drivers.paths import datastore_path
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import Client

Connect = Callable[..., http.client.HTTPConnection]

#: What a kept-alive connection raises when the server closed it while it sat idle: the request
#: is sent again once, on a new connection (every request here is whole and idempotent).
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class FileConnections:
    """Kept-alive connections to vCenter's `/folder` endpoint, each lent to one request at a
    time, for small whole requests (a config drive's PUT, a HEAD).

    Why: a new connection per request is a TCP handshake, and on vCenter a TLS one too, for
    every boot and every delete; vCenter keeps an idle HTTP/1.1 connection open for a while.
    Streamed transfers (image and disk data) keep their own connections.
    """

    def __init__(self, connect: Connect, address: tuple[str, int], keep: int = 4) -> None:
        self._connect = connect
        self._address = address
        self._keep = keep
        self._idle: list[http.client.HTTPConnection] = []
        self._guard = threading.Lock()

    def exchange(
        self, method: str, url: str, headers: dict[str, str], what: str, body: bytes | None = None
    ) -> http.client.HTTPResponse:
        """One request, its answer read whole; a connection the server had closed while idle is
        replaced once.

        :raises TransientError: the connection failed (`what` says what was being done).
        """
        with self._guard:
            connection = self._idle.pop() if self._idle else None
        if connection is not None:
            try:
                return self._send(connection, method, url, headers, body)
            except _STALE:
                connection.close()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise TransientError(f"{what} failed: {exc}") from exc
        connection = self._connect(*self._address)
        try:
            return self._send(connection, method, url, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransientError(f"{what} failed: {exc}") from exc

    def _send(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> http.client.HTTPResponse:
        connection.request(method, url, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.will_close:
            connection.close()
            return response
        with self._guard:
            if len(self._idle) < self._keep:
                self._idle.append(connection)
                return response
        connection.close()
        return response

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def folder_request(
    client: Client, lookup: Lookup, datastore: str, path: str
) -> tuple[str, dict[str, str]]:
    """The `/folder` URL of a datastore file and the headers that authenticate it (vCenter
    checks the SOAP session's cookie; vcsim does not)."""
    lookup.datastore(client, datastore)
    query = urlencode({"dcPath": lookup.datacenter_name(client), "dsName": datastore})
    cookie = client.si._stub.cookie or ""
    return f"/folder/{quote(path)}?{query}", {"Cookie": cookie}


def put_file(
    client: Client,
    lookup: Lookup,
    files: FileConnections,
    datastore: str,
    path: str,
    data: bytes,
) -> None:
    """Write `data` at `path` (relative to the datastore's root), replacing any file there.

    :raises NotFoundError: the datastore or the folder does not exist.
    :raises NoCapacityError: the datastore is full.
    :raises TransientError: the connection failed or the datastore answered otherwise.
    """
    url, headers = folder_request(client, lookup, datastore, path)
    headers["Content-Length"] = str(len(data))
    where = datastore_path(datastore, path)
    response = files.exchange("PUT", url, headers, f"writing {where}", data)
    status = response.status
    if 200 <= status < 300:
        return
    if status == 404:
        raise NotFoundError(f"{where}: the datastore or its folder does not exist")
    if status == 507:
        raise NoCapacityError(f"datastore {datastore} has no room for {where}")
    raise TransientError(f"writing {where} answered HTTP {status} {response.reason}")
