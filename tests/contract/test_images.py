"""Contract: the image driver, identical expectations on the fake and the embedded vCenter."""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import socket
from collections.abc import Callable, Iterator
from typing import cast

import pytest

from tests.contract.conftest import Backend, new_name
from vistack.drivers.errors import (
    AlreadyExistsError,
    DriverError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
    RangeNotSatisfiableError,
    TransientError,
)
from vistack.drivers.fake import FakeCloud
from vistack.drivers.images import IMAGE_FOLDER, ImageDriver
from vistack.drivers.models import DatastoreSpace, ImageFile


def _chunks(data: bytes, size: int = 65536) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class _ClientGone(Exception):
    """What a caller's stream raises mid-upload in these tests (a client that went away)."""


def _cut_off(chunks: list[bytes], error: Exception) -> Iterator[bytes]:
    """`chunks`, then `error`: an upload whose source fails part-way."""
    yield from chunks
    raise error


def _listing(backend: Backend, datastore: str, folder: str) -> list[str]:
    """File names in `[datastore] folder`, read behind the driver's back.

    The driver has no listing call; this proves what is on the datastore, partial files
    included, which `image_exists` on the image's own name could not.
    """
    if backend.fake is not None:
        return sorted(
            path.removeprefix(f"{folder}/")
            for ds, path in backend.fake.state.files
            if ds == datastore and path.startswith(f"{folder}/")
        )
    from vistack.vsphere.images import VSphereImages

    images = cast(VSphereImages, backend.drivers.images)
    found = images._session.call(
        lambda c: images._volumes.search(c, datastore, folder, ["*"], disks=False)
    )
    return sorted(f.path for f in found)


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


# -- uploads of unknown length (chunked) ---------------------------------------------------------


def test_chunked_upload_round_trip_is_byte_exact(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    data = os.urandom(2_500_000)
    # Uneven chunks, an empty one among them (it must not end the chunked body early).
    chunks = [data[:1], b"", data[1:70_000], data[70_000:2_000_000], data[2_000_000:]]
    name = f"{new_name()}.vmdk"
    stored = images.upload_image(datastore, IMAGE_FOLDER, name, iter(chunks), None)
    assert stored == ImageFile(datastore, f"{IMAGE_FOLDER}/{name}", len(data))
    assert b"".join(images.download_image(stored)) == data
    empty = images.upload_image(datastore, IMAGE_FOLDER, new_name(), iter(()), None)
    assert empty.size == 0
    assert b"".join(images.download_image(empty)) == b""
    with pytest.raises(AlreadyExistsError):
        images.upload_image(datastore, IMAGE_FOLDER, name, [b"x"], None)


def test_aborted_chunked_upload_leaves_no_file_under_either_name(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    folder = f"{IMAGE_FOLDER}/{new_name()}"
    kept = images.upload_image(datastore, folder, "kept", [b"abc"], None)
    error = _ClientGone("the client went away")
    source = _cut_off(_chunks(os.urandom(300_000)), error)
    with pytest.raises(_ClientGone) as raised:
        images.upload_image(datastore, folder, "cut", source, None)
    # The caller's own exception, not wrapped and not chained to anything of the driver's.
    assert raised.value is error
    assert error.__cause__ is None and error.__context__ is None
    assert _listing(backend, datastore, folder) == ["kept"]
    assert not images.image_exists(datastore, f"{folder}/cut")
    assert images.image_exists(datastore, kept.path)


def test_aborted_sized_upload_raises_the_callers_error(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    error = _ClientGone("format check failed")
    name = new_name()
    with pytest.raises(_ClientGone) as raised:
        images.upload_image(
            datastore, IMAGE_FOLDER, name, _cut_off([b"x" * 1000], error), 1_000_000
        )
    assert raised.value is error
    # Only the image's name is checked: with a declared size the connection is cut, and the
    # datastore may still be writing the partial file when the driver removes it.
    assert not images.image_exists(datastore, f"{IMAGE_FOLDER}/{name}")


def test_upload_of_a_long_stream_or_a_bad_size_is_refused(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    name = new_name()
    with pytest.raises(InvalidStateError):
        images.upload_image(datastore, IMAGE_FOLDER, name, [b"abc", b"def"], 4)
    assert not images.image_exists(datastore, f"{IMAGE_FOLDER}/{name}")
    with pytest.raises(ValueError):
        images.upload_image(datastore, IMAGE_FOLDER, name, [], -1)
    with pytest.raises(NotFoundError):
        images.upload_image("no-such-ds", IMAGE_FOLDER, name, [b"abc"], None)


# -- byte ranges ---------------------------------------------------------------------------------


def test_range_download_of_the_middle_the_tail_and_past_the_end(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    data = os.urandom(2_500_000)  # more than one 1 MiB read either side of the middle
    stored = images.upload_image(datastore, IMAGE_FOLDER, new_name(), _chunks(data), len(data))

    def read(offset: int, length: int | None = None) -> bytes:
        return b"".join(images.download_image(stored, offset, length))

    assert read(1_000_000, 1_200_000) == data[1_000_000:2_200_000]
    assert read(0, 10) == data[:10]
    assert read(len(data) - 10) == data[-10:]
    assert read(len(data) - 10, 1000) == data[-10:]  # a range past the end stops there
    assert read(len(data) - 1, 0) == b""
    for offset in (len(data), len(data) + 5):
        with pytest.raises(RangeNotSatisfiableError) as raised:
            images.download_image(stored, offset)
        assert raised.value.size == len(data)
    with pytest.raises(ValueError):
        images.download_image(stored, -1)
    with pytest.raises(NotFoundError):
        images.download_image(ImageFile(datastore, f"{IMAGE_FOLDER}/{new_name()}", 1), 5, 5)


def test_range_download_of_an_empty_file_is_empty(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    empty = images.upload_image(datastore, IMAGE_FOLDER, new_name(), [], 0)
    assert list(images.download_image(empty, 0, 10)) == []
    assert list(images.download_image(empty, 7)) == []


# -- copies --------------------------------------------------------------------------------------


def test_copy_to_a_second_datastore(backend: Backend) -> None:
    images = backend.drivers.images
    source_ds, target_ds = backend.drivers.topology.datastores[:2]
    data = os.urandom(1_500_000)
    stored = images.upload_image(source_ds, IMAGE_FOLDER, new_name(), _chunks(data), len(data))
    folder = f"{IMAGE_FOLDER}/{new_name()}"
    name = f"{new_name()}.vmdk"
    copy = images.copy_image(stored, target_ds, folder, name)
    assert copy == ImageFile(target_ds, f"{folder}/{name}", len(data))
    assert b"".join(images.download_image(copy)) == data
    assert b"".join(images.download_image(stored)) == data
    with pytest.raises(AlreadyExistsError):
        images.copy_image(stored, target_ds, folder, name)
    assert _listing(backend, target_ds, folder) == [name]
    # Within one datastore as well.
    same = images.copy_image(stored, source_ds, IMAGE_FOLDER, new_name())
    assert b"".join(images.download_image(same)) == data


def test_failed_copies_leave_no_target(backend: Backend) -> None:
    images = backend.drivers.images
    source_ds, target_ds = backend.drivers.topology.datastores[:2]
    folder = f"{IMAGE_FOLDER}/{new_name()}"
    kept = images.upload_image(target_ds, folder, "kept", [b"abc"], 3)
    missing = ImageFile(source_ds, f"{IMAGE_FOLDER}/{new_name()}", 3)
    with pytest.raises(NotFoundError):
        images.copy_image(missing, target_ds, folder, "copy")
    with pytest.raises(NotFoundError):
        images.copy_image(kept, "no-such-ds", folder, "copy")
    assert _listing(backend, target_ds, folder) == ["kept"]


@pytest.mark.vcsim_cannot_prove("vcsim's freeSpace counts neither uploaded files nor new disks")
def test_copy_to_a_full_datastore_is_no_capacity(backend: Backend) -> None:
    images = backend.drivers.images
    source_ds, target_ds = backend.drivers.topology.datastores[:2]
    stored = images.upload_image(source_ds, IMAGE_FOLDER, new_name(), [b"abc"], 3)
    full = next(d for d in backend.drivers.volumes.list_datastores() if d.name == target_ds)
    backend.drivers.volumes.create_disk(target_ds, new_name(), full.free_gb, backend.thin)
    name = new_name()
    with pytest.raises(NoCapacityError):
        images.copy_image(stored, target_ds, IMAGE_FOLDER, name)
    assert not images.image_exists(target_ds, f"{IMAGE_FOLDER}/{name}")


# -- datastore space -----------------------------------------------------------------------------


def test_datastore_space_is_sane(backend: Backend) -> None:
    images = backend.drivers.images
    for info in backend.drivers.volumes.list_datastores():
        space = images.datastore_space(info.name)
        assert isinstance(space, DatastoreSpace)
        assert space.capacity > 0
        assert 0 <= space.free <= space.capacity
        # The same figures as the volume driver's, there rounded down to whole GB.
        assert space.capacity // 2**30 == info.capacity_gb
    with pytest.raises(NotFoundError):
        images.datastore_space("no-such-ds")


def test_sized_upload_larger_than_free_space_is_no_capacity(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    free = images.datastore_space(datastore).free
    name = new_name()
    # Refused before the stream is read: it never yields a byte.
    with pytest.raises(NoCapacityError):
        images.upload_image(datastore, IMAGE_FOLDER, name, _cut_off([], AssertionError()), free + 1)
    assert not images.image_exists(datastore, f"{IMAGE_FOLDER}/{name}")


@pytest.mark.vcsim_cannot_prove("vcsim's freeSpace is a start-up statfs; uploads do not move it")
def test_free_space_shrinks_after_an_upload(backend: Backend) -> None:
    images = backend.drivers.images
    datastore = backend.drivers.topology.datastores[0]
    before = images.datastore_space(datastore)
    images.upload_image(datastore, IMAGE_FOLDER, new_name(), [b"\0" * 2**20], None)
    after = images.datastore_space(datastore)
    assert after.capacity == before.capacity
    assert after.free <= before.free - 2**20


# -- not backend contracts: the fake's fault hooks, the vSphere driver's Range fallback ----------


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("upload_image", lambda i, f: i.upload_image(f.datastore, "x", "y", [b"a"], None)),
        ("download_image", lambda i, f: i.download_image(f, 1, 1)),
        ("copy_image", lambda i, f: i.copy_image(f, f.datastore, "x", "copy")),
        ("datastore_space", lambda i, f: i.datastore_space(f.datastore)),
    ],
)
def test_fake_fail_next_covers_the_store_calls(
    operation: str, call: Callable[[ImageDriver, ImageFile], object]
) -> None:
    fake = FakeCloud()
    stored = fake.images.upload_image("LocalDS_0", IMAGE_FOLDER, "img", [b"abc"], 3)
    fake.fail_next(operation, TransientError("vCenter restarting"))
    with pytest.raises(TransientError):
        call(fake.images, stored)
    call(fake.images, stored)


class _CannedSocket:
    """Enough of a socket for `http.client.HTTPResponse` to parse canned bytes."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._raw)


def _response(status: str, body: bytes, *headers: str) -> http.client.HTTPResponse:
    head = "\r\n".join([f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers])
    canned = cast(socket.socket, _CannedSocket(f"{head}\r\n\r\n".encode() + body))
    response = http.client.HTTPResponse(canned)
    response.begin()
    return response


def test_vsphere_range_fallback_for_a_datastore_that_ignores_range() -> None:
    """vcsim honours Range (206), so the 200 path of a datastore that does not is shown here."""
    from vistack.vsphere.images import _position, _stream

    class _Closed:
        def close(self) -> None:
            pass

    data = bytes(range(256)) * 10_000
    connection = cast(http.client.HTTPConnection, _Closed())
    response = _response("200 OK", data)
    head = _position(response, "[ds] f", 1_500_000)
    assert head is not None
    assert b"".join(_stream(connection, response, 1_000, head)) == data[1_500_000:1_501_000]
    with pytest.raises(RangeNotSatisfiableError) as raised:
        _position(_response("200 OK", data), "[ds] f", len(data))
    assert raised.value.size == len(data)
    assert _position(_response("200 OK", b""), "[ds] f", 5) is None
    assert (
        _position(
            _response("416 Range Not Satisfiable", b"", "Content-Range: bytes */0"), "[ds] f", 0
        )
        is None
    )
    with pytest.raises(RangeNotSatisfiableError) as raised:
        _position(_response("416 Range Not Satisfiable", b"", "Content-Range: bytes */9"), "f", 9)
    assert raised.value.size == 9
    wrong = _response("206 Partial Content", b"x", "Content-Range: bytes 4-4/9")
    with pytest.raises(DriverError, match="Content-Range"):
        _position(wrong, "[ds] f", 5)
