"""Contract: the image driver, identical expectations on the fake and the embedded vCenter."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.contract.conftest import Backend, new_name
from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
from vistack.drivers.images import IMAGE_FOLDER
from vistack.drivers.models import ImageFile


def _chunks(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_upload_download_round_trip_is_byte_exact(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    data = os.urandom(300_000)
    name = f"{new_name()}.vmdk"
    stored = images.upload_image(datastore, IMAGE_FOLDER, name, _chunks(data), len(data))
    assert stored == ImageFile(datastore, f"{IMAGE_FOLDER}/{name}", len(data))
    assert images.image_exists(datastore, stored.path)
    digest = hashlib.sha256(b"".join(images.download_image(stored))).hexdigest()
    assert digest == hashlib.sha256(data).hexdigest()
    images.delete_image(stored)
    assert not images.image_exists(datastore, stored.path)
    with pytest.raises(NotFoundError):
        images.delete_image(stored)


def test_upload_over_an_existing_file_is_refused(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    name = new_name()
    images.upload_image(datastore, IMAGE_FOLDER, name, [b"abc"], 3)
    with pytest.raises(AlreadyExistsError):
        images.upload_image(datastore, IMAGE_FOLDER, name, [b"abc"], 3)


def test_upload_of_a_short_stream_is_refused(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    name = new_name()
    with pytest.raises(InvalidStateError):
        images.upload_image(datastore, IMAGE_FOLDER, name, [b"abc"], 10)
    assert not images.image_exists(datastore, f"{IMAGE_FOLDER}/{name}")


def test_download_or_exists_on_unknown_things(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    with pytest.raises(NotFoundError):
        list(images.download_image(ImageFile(datastore, f"{IMAGE_FOLDER}/{new_name()}", 1)))
    with pytest.raises(NotFoundError):
        images.image_exists("no-such-ds", "x")


def test_make_find_and_delete_template(backend: Backend) -> None:
    images = backend.drivers.images
    template = backend.template()
    assert images.find_template(template.name) == template
    with pytest.raises(AlreadyExistsError):
        images.make_template(
            template.name,
            backend.drivers.volumes.create_disk(
                template.datastore, new_name(), 1, backend.thin
            ).path,
            backend.drivers.topology.clusters[0],
            template.datastore,
            cpus=1,
            memory_mb=256,
        )
    images.delete_template(template)
    backend.drop_template()
    with pytest.raises(NotFoundError):
        images.find_template(template.name)


def test_template_from_a_missing_disk_is_not_found(backend: Backend) -> None:
    datastore = backend.drivers.topology.datastores[0]
    with pytest.raises(NotFoundError):
        backend.drivers.images.make_template(
            new_name(),
            f"[{datastore}] nowhere/{new_name()}.vmdk",
            backend.drivers.topology.clusters[0],
            datastore,
            cpus=1,
            memory_mb=256,
        )
