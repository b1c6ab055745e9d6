"""Small files written straight onto a datastore with one HTTP PUT to its `/folder` endpoint.

Why not `VSphereImages.upload_image`: an image upload guards a file other VMs will share (an
existence check, a free-space check, a temporary name moved into place), four round trips that
a config drive does not need. Its ISO goes into the folder of a VM that is being created and is
not powered on yet, so a partial file can harm nobody: a failed PUT fails the build, and the
build's undo destroys the VM and deletes the file. On vCenter each saved step is a task or a
datastore browser search, hundreds of milliseconds per boot.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from urllib.parse import quote, urlencode

from vistack.drivers.errors import NoCapacityError, NotFoundError, TransientError
from vistack.drivers.paths import datastore_path
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.session import Client

Connect = Callable[..., http.client.HTTPConnection]


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
    connect: Connect,
    address: tuple[str, int],
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
    response = exchange(connect(*address), "PUT", url, headers, f"writing {where}", data)
    status = response.status
    if 200 <= status < 300:
        return
    if status == 404:
        raise NotFoundError(f"{where}: the datastore or its folder does not exist")
    if status == 507:
        raise NoCapacityError(f"datastore {datastore} has no room for {where}")
    raise TransientError(f"writing {where} answered HTTP {status} {response.reason}")


def exchange(
    connection: http.client.HTTPConnection,
    method: str,
    url: str,
    headers: dict[str, str],
    what: str,
    body: bytes | None = None,
) -> http.client.HTTPResponse:
    """One request on `connection`, its answer read whole, the connection closed.

    :raises TransientError: the connection failed (`what` says what was being done).
    """
    try:
        connection.request(method, url, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise TransientError(f"{what} failed: {exc}") from exc
    finally:
        connection.close()
    return response
