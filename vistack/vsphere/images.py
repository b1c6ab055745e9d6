"""The image driver on vSphere: datastore `/folder` HTTP for bytes, template VMs for booting.

Uploads stream through the datastore HTTP endpoint with the session's cookie (vCenter checks it,
vcsim does not), on a connection made by `transport.connection_factory` so TLS verification and
thumbprint pinning apply to image bytes exactly as to SOAP. Bytes go to a temporary name and
are moved into place when complete, so no partial file ever carries an image's name.
"""

from __future__ import annotations

import contextlib
import http.client
import uuid
from collections.abc import Iterable, Iterator
from urllib.parse import quote, urlencode

from vistack.drivers.errors import (
    AlreadyExistsError,
    AuthError,
    DriverError,
    InvalidStateError,
    NotFoundError,
    TransientError,
)
from vistack.drivers.models import ImageFile, TemplateRef
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.vsphere import devices, transport
from vistack.vsphere.compute import DEFAULT_GUEST_ID
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import retrieve
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim
from vistack.vsphere.volumes import VSphereVolumes

CHUNK = 1 << 20
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0


class _SizeMismatch(Exception):
    """The caller's stream did not match its declared size (raised inside the HTTP body)."""


class VSphereImages:
    """`ImageDriver` on a `VCenterSession`."""

    def __init__(
        self,
        session: VCenterSession,
        lookup: Lookup,
        volumes: VSphereVolumes,
        *,
        task_timeout: float = 600.0,
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._volumes = volumes
        self._timeout = task_timeout
        self._connect = transport.connection_factory(
            session.endpoint, CONNECT_TIMEOUT, READ_TIMEOUT
        )

    # -- files --------------------------------------------------------------------------------

    def upload_image(
        self, datastore: str, folder: str, name: str, data: Iterable[bytes], size: int
    ) -> ImageFile:
        path = f"{folder.strip('/')}/{name}"
        if self.image_exists(datastore, path):
            raise AlreadyExistsError(f"{datastore_path(datastore, path)} exists")
        # Bytes land under a temporary name and are moved into place only once complete, so the
        # image's path never holds a partial file (vcsim keeps whatever a cut-off PUT sent).
        partial = f"{path}.partial-{uuid.uuid4().hex[:8]}"
        url, headers = self._session.call(lambda c: self._request(c, datastore, partial))
        connection = self._connection()
        try:
            connection.request(
                "PUT",
                url,
                body=_exactly(data, size),
                headers={**headers, "Content-Length": str(size)},
            )
            response = connection.getresponse()
            response.read()
            _check(response.status, datastore_path(datastore, partial))
        except _SizeMismatch as exc:
            connection.close()
            self._remove_partial(datastore, partial)
            raise InvalidStateError(str(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            self._remove_partial(datastore, partial)
            raise TransientError(f"upload of {name} failed: {exc}") from exc
        finally:
            connection.close()
        self._session.call(lambda c: self._move(c, datastore, partial, path), idempotent=False)
        return ImageFile(datastore, path, size)

    def _move(self, client: Client, datastore: str, source: str, target: str) -> None:
        datacenter = self._lookup.datacenter(client)
        task = client.content.fileManager.MoveDatastoreFile_Task(
            sourceName=datastore_path(datastore, source),
            sourceDatacenter=datacenter,
            destinationName=datastore_path(datastore, target),
            destinationDatacenter=datacenter,
            force=False,
        )
        wait_for_task(client, task, self._timeout)

    def download_image(self, file: ImageFile) -> Iterator[bytes]:
        url, headers = self._session.call(lambda c: self._request(c, file.datastore, file.path))
        connection = self._connection()
        try:
            connection.request("GET", url, headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                response.read()
                _check(response.status, datastore_path(file.datastore, file.path))
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransientError(f"download of {file.path} failed: {exc}") from exc
        except DriverError:
            connection.close()
            raise
        return _stream(connection, response)

    def image_exists(self, datastore: str, path: str) -> bool:
        url, headers = self._session.call(lambda c: self._request(c, datastore, path))
        connection = self._connection()
        try:
            connection.request("HEAD", url, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise TransientError(f"datastore {datastore} did not answer: {exc}") from exc
        finally:
            connection.close()
        if response.status == 404:
            return False
        _check(response.status, datastore_path(datastore, path))
        return True

    def delete_image(self, file: ImageFile) -> None:
        def run(client: Client) -> None:
            self._lookup.datastore(client, file.datastore)
            task = client.content.fileManager.DeleteDatastoreFile_Task(
                name=datastore_path(file.datastore, file.path),
                datacenter=self._lookup.datacenter(client),
            )
            wait_for_task(client, task, self._timeout)

        self._session.call(run, idempotent=False)

    def _remove_partial(self, datastore: str, path: str) -> None:
        """Best effort: the server may still be writing a cut-off body when this runs, so a
        `*.partial-*` file can survive; it never carries the image's own name."""
        # NotFoundError: nothing reached the datastore, which is what we want.
        with contextlib.suppress(NotFoundError):
            self.delete_image(ImageFile(datastore, path, 0))

    def _request(self, client: Client, datastore: str, path: str) -> tuple[str, dict[str, str]]:
        """The `/folder` URL of a datastore file and the headers that authenticate it."""
        self._lookup.datastore(client, datastore)
        query = urlencode({"dcPath": self._lookup.datacenter_name(client), "dsName": datastore})
        cookie = client.si._stub.cookie or ""
        return f"/folder/{quote(path)}?{query}", {"Cookie": cookie}

    def _connection(self) -> http.client.HTTPConnection:
        endpoint = self._session.endpoint
        return self._connect(endpoint.host, endpoint.port)

    # -- templates ----------------------------------------------------------------------------

    def make_template(
        self, name: str, disk_path: str, cluster: str, datastore: str, *, cpus: int, memory_mb: int
    ) -> TemplateRef:
        def run(client: Client) -> TemplateRef:
            lookup = self._lookup
            if self._find_template(client, name, any_vm=True) is not None:
                raise AlreadyExistsError(f"a VM or template named {name!r} exists")
            pool = client.moref("ResourcePool", lookup.cluster(client, cluster).pool)
            lookup.datastore(client, datastore)
            datacenter = lookup.datacenter(client)
            self._volumes.ensure_folder(client, datastore, name)
            root = datastore_path(datastore, f"{name}/{name}.vmdk")
            copy = client.content.virtualDiskManager.CopyVirtualDisk_Task(
                sourceName=disk_path,
                sourceDatacenter=datacenter,
                destName=root,
                destDatacenter=datacenter,
            )
            wait_for_task(client, copy, self._timeout)
            config = vim.vm.ConfigSpec(
                name=name,
                guestId=DEFAULT_GUEST_ID,
                numCPUs=cpus,
                memoryMB=memory_mb,
                files=vim.vm.FileInfo(vmPathName=datastore_path(datastore, f"{name}/{name}.vmx")),
                deviceChange=[
                    devices.scsi_controller(),
                    devices.existing_disk(-1, devices.NEW_CONTROLLER_KEY, 0, root),
                ],
            )
            task = lookup.vm_folder(client).CreateVM_Task(config=config, pool=pool)
            moref = wait_for_task(client, task, self._timeout)
            client.moref("VirtualMachine", moref).MarkAsTemplate()
            return TemplateRef(moref, name, datastore)

        return self._session.call(run, idempotent=False)

    def find_template(self, name: str) -> TemplateRef:
        found = self._session.call(lambda c: self._find_template(c, name, any_vm=False))
        if found is None:
            raise NotFoundError(f"no template named {name!r}")
        return found

    def delete_template(self, template: TemplateRef) -> None:
        def run(client: Client) -> None:
            found = self._find_template(client, template.name, any_vm=False)
            if found is None or found.id != template.id:
                raise NotFoundError(f"no template {template.name!r} ({template.id})")
            vm = client.moref("VirtualMachine", template.id)
            wait_for_task(client, vm.Destroy_Task(), self._timeout)

        self._session.call(run, idempotent=False)

    def _find_template(self, client: Client, name: str, *, any_vm: bool) -> TemplateRef | None:
        for vm in retrieve(
            client,
            "VirtualMachine",
            ["name", "config.template", "config.files.vmPathName"],
            root=self._lookup.datacenter(client),
        ):
            if vm.get("name") == name and (any_vm or vm.get("config.template")):
                vmx = str(vm.get("config.files.vmPathName") or "[] ")
                return TemplateRef(vm.moref, name, split_datastore_path(vmx)[0])
        return None


def _exactly(data: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Pass the caller's chunks through, refusing to send more or fewer than `size` bytes."""
    sent = 0
    for chunk in data:
        sent += len(chunk)
        if sent > size:
            raise _SizeMismatch(f"upload declared {size} bytes but sent more")
        yield chunk
    if sent != size:
        raise _SizeMismatch(f"upload declared {size} bytes but sent {sent}")


def _stream(
    connection: http.client.HTTPConnection, response: http.client.HTTPResponse
) -> Iterator[bytes]:
    try:
        while chunk := response.read(CHUNK):
            yield chunk
    finally:
        connection.close()


def _check(status: int, what: str) -> None:
    """Map a datastore HTTP status to the driver's errors (2xx passes)."""
    if 200 <= status < 300:
        return
    if status == 404:
        raise NotFoundError(f"{what} does not exist")
    if status == 409:
        raise AlreadyExistsError(f"{what} exists")
    if status in (401, 403):
        raise AuthError(f"vCenter refused access to {what} (HTTP {status})")
    if status >= 500:
        raise TransientError(f"datastore HTTP {status} for {what}")
    raise DriverError(f"datastore HTTP {status} for {what}")
