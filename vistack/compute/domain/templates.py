"""Glance images as vSphere templates: one template VM per (image, datastore), made on the first
boot that needs it and cloned by every later one (DESIGN.md §3).

Making a template copies the image's disk, so it is done once per key even when many builds
ask at the same moment: the first takes the key's lock and the rest wait for its result. A
template made by another controller (or before a restart) is found by name. Deleting the
image deletes its templates (`forget_image`, wired to Glance's delete).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from vistack.common.errors import BadRequest
from vistack.drivers.errors import AlreadyExistsError, NotFoundError
from vistack.drivers.images import ImageDriver
from vistack.drivers.models import TemplateRef
from vistack.drivers.paths import datastore_path
from vistack.image.domain.models import Image

LOG = logging.getLogger(__name__)

#: Disk formats a template can be made from (the disk is copied as it is).
BOOTABLE_FORMATS = ("vmdk",)


def template_name(image_id: str, datastore: str) -> str:
    return f"image-{image_id}-{datastore}"


def image_disk(image: Image) -> tuple[str, str]:
    """(datastore, path) of the image's disk on a datastore store.

    :raises BadRequest: the image cannot be a template (format, or bytes off vSphere).
    """
    if image.disk_format not in BOOTABLE_FORMATS or image.container_format not in ("bare", None):
        raise BadRequest(
            f"Image {image.id} is {image.disk_format}/{image.container_format}: this cloud "
            "boots servers from VMDK disk images (container 'bare') only."
        )
    for url in image.locations.values():
        parts = urlsplit(url)
        if parts.scheme != "vsphere":
            continue
        datastore = parse_qs(parts.query).get("dsName", [""])[0]
        path = unquote(parts.path).removeprefix("/folder/")
        if datastore and path:
            return datastore, path
    raise BadRequest(
        f"Image {image.id} has no data on a vSphere datastore, so it cannot be a template; "
        "upload it to a datastore store."
    )


class TemplateCache:
    """Finds or makes the template of an image on a datastore, once per key."""

    def __init__(self, driver: ImageDriver) -> None:
        self._driver = driver
        self._known: dict[tuple[str, str], TemplateRef] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def template_for(
        self, image: Image, cluster: str, datastore: str, *, cpus: int, memory_mb: int
    ) -> TemplateRef:
        key = (image.id, datastore)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            known = self._known.get(key)
            if known is not None:
                return known
            name = template_name(image.id, datastore)
            try:
                template = self._driver.find_template(name)
            except NotFoundError:
                source_datastore, path = image_disk(image)
                try:
                    template = self._driver.make_template(
                        name,
                        datastore_path(source_datastore, path),
                        cluster,
                        datastore,
                        cpus=cpus,
                        memory_mb=memory_mb,
                    )
                except AlreadyExistsError:  # another controller made it meanwhile
                    template = self._driver.find_template(name)
            self._known[key] = template
            return template

    def forget_image(self, image_id: str, datastores: Iterable[str]) -> None:
        """Delete the deleted image's template on each datastore, whoever made it (servers
        cloned from it keep their own disks)."""
        for datastore in datastores:
            self._known.pop((image_id, datastore), None)
            try:
                template = self._driver.find_template(template_name(image_id, datastore))
                self._driver.delete_template(template)
            except NotFoundError:
                continue
            except Exception:  # the image is gone either way; an orphan template is logged
                LOG.exception(
                    "could not delete the template of image %s on %s", image_id, datastore
                )
