"""The image driver interface: Glance images as datastore files that become template VMs.

Bytes go through the datastore's HTTP `/folder` endpoint (as Glance's VMware store does), never
through NFC leases, which vcsim discards. A template is made once per image and datastore, and
every server then clones it (`VMSpec.template`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from vistack.drivers.models import ImageFile, TemplateRef

#: The folder on each datastore that holds image files.
IMAGE_FOLDER = "images"


class ImageDriver(Protocol):
    """Store image files on datastores and turn disks into templates."""

    def upload_image(
        self, datastore: str, folder: str, name: str, data: Iterable[bytes], size: int
    ) -> ImageFile:
        """Stream `size` bytes to `[datastore] folder/name`, never holding them all in memory.

        :raises NotFoundError: no such datastore.
        :raises AlreadyExistsError: the file exists already.
        :raises NoCapacityError: the datastore has no room.
        :raises InvalidStateError: the stream yielded a different number of bytes than `size`.
        """
        ...

    def download_image(self, file: ImageFile) -> Iterable[bytes]:
        """The file's bytes, streamed in chunks.

        :raises NotFoundError: no such file.
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
