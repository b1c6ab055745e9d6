"""Glance stores: where image bytes live. One store per image datastore, plus an optional
local directory.

A store keeps bytes and nothing else; which image they belong to, their hashes and their format
are the image service's business. Locations are URLs in Glance's own shapes
(`vsphere://<vcenter>/folder/<path>?dcPath=<dc>&dsName=<ds>`, `file:///<path>`) so an operator
who knows Glance's VMware store reads them at a glance.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from vistack.drivers.errors import NotFoundError, RangeNotSatisfiableError
from vistack.drivers.images import ImageDriver
from vistack.drivers.models import ImageFile

CHUNK = 1 << 20


@dataclass(frozen=True)
class StoreInfo:
    """What `/v2/info/stores` shows of a store."""

    id: str
    description: str
    type: str
    weight: int
    properties: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredData:
    url: str
    size: int


class ImageStore(Protocol):
    info: StoreInfo

    def put(self, name: str, data: Iterable[bytes], size: int | None) -> StoredData:
        """Store a stream under `name`; `size=None` means unknown. A failure leaves nothing.

        An exception raised by `data` itself propagates unchanged.
        :raises NoCapacityError: the store is full.
        """

    def get(self, url: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """:raises NotFoundError: the data is gone.
        :raises RangeNotSatisfiableError: `offset` is past the end."""

    def delete(self, url: str) -> None:
        """Idempotent: data already gone is not an error."""

    def free_bytes(self) -> int | None:
        """Room left, when the store knows."""


class DatastoreStore:
    """A vSphere datastore, through the image driver's `/folder` HTTP transfer."""

    def __init__(
        self,
        driver: ImageDriver,
        *,
        vcenter: str,
        datacenter: str,
        datastore: str,
        folder: str,
        weight: int,
    ) -> None:
        self._driver = driver
        self._vcenter = vcenter
        self._datacenter = datacenter
        self.datastore = datastore
        self._folder = folder.strip("/")
        self.info = StoreInfo(
            id=datastore,
            description=f"vSphere datastore {datastore} ({datacenter}, {vcenter})",
            type="vmware",
            weight=weight,
            properties={"datastore": datastore, "datacenter": datacenter, "folder": self._folder},
        )

    def put(self, name: str, data: Iterable[bytes], size: int | None) -> StoredData:
        stored = self._driver.upload_image(self.datastore, self._folder, name, data, size)
        return StoredData(self._url(stored.path), stored.size)

    def get(self, url: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        return iter(self._driver.download_image(self._file(url), offset, length))

    def delete(self, url: str) -> None:
        with contextlib.suppress(NotFoundError):
            self._driver.delete_image(self._file(url))

    def free_bytes(self) -> int | None:
        return self._driver.datastore_space(self.datastore).free

    def copy_here(self, source: DatastoreStore, url: str, name: str) -> StoredData:
        """Datastore-to-datastore copy inside vCenter: the bytes never leave vSphere."""
        copied = self._driver.copy_image(source._file(url), self.datastore, self._folder, name)
        return StoredData(self._url(copied.path), copied.size)

    def same_vcenter(self, other: DatastoreStore) -> bool:
        return self._driver is other._driver

    @property
    def folder(self) -> str:
        """The folder on the datastore that holds this store's image files."""
        return self._folder

    def url_for(self, path: str) -> str:
        """The location URL of a file vSphere wrote into this store itself (a snapshot)."""
        return self._url(path)

    def _url(self, path: str) -> str:
        query = urlencode({"dcPath": self._datacenter, "dsName": self.datastore})
        return f"vsphere://{self._vcenter}/folder/{quote(path)}?{query}"

    def _file(self, url: str) -> ImageFile:
        parts = urlsplit(url)
        path = unquote(parts.path).removeprefix("/folder/")
        datastore = parse_qs(parts.query).get("dsName", [self.datastore])[0]
        return ImageFile(datastore, path, 0)


class FilesystemStore:
    """A local directory (Glance's `file` store): for clouds whose images live off vSphere."""

    def __init__(self, directory: Path, *, weight: int = 0) -> None:
        self._directory = directory
        self.info = StoreInfo(
            id="file",
            description=f"local directory {directory}",
            type="file",
            weight=weight,
            properties={"directory": str(directory)},
        )

    def put(self, name: str, data: Iterable[bytes], size: int | None) -> StoredData:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self._directory / name
        partial = self._directory / f".{name}.partial-{uuid.uuid4().hex[:8]}"
        written = 0
        try:
            with partial.open("xb") as handle:
                for chunk in data:
                    handle.write(chunk)
                    written += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            if size is not None and written != size:
                raise ValueError(f"upload declared {size} bytes but sent {written}")
            partial.rename(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredData(target.as_uri(), written)

    def get(self, url: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        path = self._path(url)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"{path} does not exist") from None
        total = os.fstat(handle.fileno()).st_size
        if offset and offset >= total:
            handle.close()
            raise RangeNotSatisfiableError(f"offset {offset} is past the end ({total} bytes)")
        handle.seek(offset)
        return _read(handle, length)

    def delete(self, url: str) -> None:
        self._path(url).unlink(missing_ok=True)

    def free_bytes(self) -> int | None:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return shutil.disk_usage(self._directory).free

    def _path(self, url: str) -> Path:
        path = Path(unquote(urlsplit(url).path))
        if path.parent != self._directory:
            raise NotFoundError(f"{url} is not in store {self.info.id}")
        return path


def _read(handle: BinaryIO, length: int | None) -> Iterator[bytes]:
    try:
        remaining = length
        while remaining is None or remaining > 0:
            chunk = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
