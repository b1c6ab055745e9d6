"""The image driver interface: Glance images as datastore files that become template VMs.

Bytes go through the datastore's HTTP `/folder` endpoint (as Glance's VMware store does), never
through NFC leases, which vcsim discards. A template is made once per image and datastore, and
every server then clones it (`VMSpec.template`).

This is also the Glance store: an upload of unknown length (a chunked client request) streams
through as it arrives, downloads take byte ranges for HTTP `Range` requests, images are copied
between datastores (Glance's multi-store `copy-image`), and `datastore_space` answers
`/v2/info/stores/detail` and whether an image fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from vistack.drivers.models import DatastoreSpace, ImageFile, TemplateRef

#: The folder on each datastore that holds image files.
IMAGE_FOLDER = "images"


class ImageDriver(Protocol):
    """Store image files on datastores and turn disks into templates."""

    def upload_image(
        self, datastore: str, folder: str, name: str, data: Iterable[bytes], size: int | None
    ) -> ImageFile:
        """Stream `data` to `[datastore] folder/name`, never holding it all in memory.

        `size=None` means the length is unknown until the stream ends (a chunked upload from a
        client); the returned `ImageFile.size` is then the number of bytes the stream gave. A
        cut-off upload never leaves a file under the image's name. If iterating `data` raises,
        whatever was stored is removed and that same exception propagates, not wrapped, so the
        caller sees its own error (a client that went away, a format check that failed).

        :raises NotFoundError: no such datastore.
        :raises AlreadyExistsError: the file exists already.
        :raises NoCapacityError: the datastore has no room (checked first when `size` is given).
        :raises InvalidStateError: the stream yielded a different number of bytes than `size`.
        :raises ValueError: `size` is negative.
        """
        ...

    def download_image(
        self, file: ImageFile, offset: int = 0, length: int | None = None
    ) -> Iterator[bytes]:
        """The file's bytes from `offset`, at most `length` of them (all when None), in chunks.

        A range that runs past the end stops at the end, as HTTP ranges do. An empty file gives
        nothing for any range. Errors are raised by this call, before the first chunk, so an
        HTTP answer can still choose its status.

        :raises NotFoundError: no such file.
        :raises RangeNotSatisfiableError: `offset` is at or past the end of a non-empty file.
        :raises ValueError: `offset` or `length` is negative.
        """
        ...

    def copy_image(self, file: ImageFile, datastore: str, folder: str, name: str) -> ImageFile:
        """Copy an image file to `[datastore] folder/name` (any datastore, the same one too).

        A failed copy leaves no file under the target's name.

        :raises NotFoundError: no such file, or no such target datastore.
        :raises AlreadyExistsError: the target exists already.
        :raises NoCapacityError: the target datastore has no room.
        """
        ...

    def datastore_space(self, datastore: str) -> DatastoreSpace:
        """The datastore's capacity and free space in bytes.

        :raises NotFoundError: no such datastore.
        """
        ...

    def image_exists(self, datastore: str, path: str) -> bool:
        """Whether `[datastore] path` exists.

        :raises NotFoundError: no such datastore.
        """
        ...

    def delete_image(self, file: ImageFile) -> None:
        """Delete an image file.

        :raises NotFoundError: no such file.
        """
        ...

    def make_template(
        self, name: str, disk_path: str, cluster: str, datastore: str, *, cpus: int, memory_mb: int
    ) -> TemplateRef:
        """Make a template VM called `name` whose root disk is a copy of `disk_path`.

        :raises NotFoundError: no such disk, cluster or datastore.
        :raises AlreadyExistsError: a template of that name exists.
        """
        ...

    def find_template(self, name: str) -> TemplateRef:
        """A template by name.

        :raises NotFoundError: no template has this name.
        """
        ...

    def delete_template(self, template: TemplateRef) -> None:
        """Delete a template VM and its disks.

        :raises NotFoundError: no such template.
        """
        ...
