"""The backup chunk store's rules: fixed chunks with digests, zero chunks stored nowhere,
incremental backups that store only what changed and restore through their chain, writes that
leave nothing on failure or cancellation, and damage that is caught on read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from vistack.volume.domain.backup_store import (
    BackupStore,
    BackupStoreError,
    Cancelled,
    Manifest,
    check_container,
)

CHUNK = 1024


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "backups", CHUNK)


def pieces(data: bytes, size: int = 700) -> Iterator[bytes]:
    """`data` in pieces that do not line up with the chunks."""
    return (data[i : i + size] for i in range(0, len(data), size))


def read(store: BackupStore, manifest: Manifest) -> bytes:
    return b"".join(store.read(manifest))


def test_chunks_digests_and_zero_chunks(store: BackupStore) -> None:
    data = b"a" * CHUNK + bytes(CHUNK) + b"b" * 100
    manifest = store.write("c", "b1", "v1", pieces(data))
    assert [c.length for c in manifest.chunks] == [CHUNK, CHUNK, 100]
    assert [c.owner for c in manifest.chunks] == ["c/b1", None, "c/b1"]
    assert manifest.size == len(data) and manifest.object_count == 2
    files = sorted(p.name for p in store.folder("c", "b1").iterdir())
    assert files == ["chunk-00000000", "chunk-00000002", "manifest.json"]
    assert read(store, store.manifest("c", "b1")) == data


def test_empty_data_is_an_empty_backup(store: BackupStore) -> None:
    manifest = store.write("c", "b0", "v1", iter(()))
    assert (manifest.size, manifest.chunks) == (0, ())
    assert read(store, manifest) == b""


def test_incremental_stores_only_changes_and_reads_the_chain(store: BackupStore) -> None:
    first = b"1" * CHUNK + b"2" * CHUNK + b"3" * CHUNK
    full = store.write("c", "full", "v", pieces(first))
    second = first[:CHUNK] + b"X" * CHUNK + first[2 * CHUNK :] + b"tail"
    child = store.write("c", "child", "v", pieces(second), parent=full)
    assert child.parent == "c/full"
    assert [c.owner for c in child.chunks] == ["c/full", "c/child", "c/full", "c/child"]
    assert child.object_count == 2
    third = second[: 3 * CHUNK]  # shrunk: the tail chunk is simply not there any more
    grandchild = store.write("d", "g", "v", pieces(third), parent=child)
    assert [c.owner for c in grandchild.chunks] == ["c/full", "c/child", "c/full"]
    assert grandchild.object_count == 0
    assert read(store, grandchild) == third
    assert read(store, child) == second


def test_failed_and_cancelled_writes_leave_no_files(store: BackupStore) -> None:
    def broken() -> Iterator[bytes]:
        yield b"x" * (3 * CHUNK)
        raise OSError("the disk read failed")

    with pytest.raises(OSError):
        store.write("c", "b", "v", broken())
    assert not store.exists("c", "b")
    calls = iter([True, True, False])
    with pytest.raises(Cancelled):
        store.write("c", "b", "v", pieces(b"y" * 5 * CHUNK), wanted=lambda: next(calls))
    assert not store.exists("c", "b")


def test_damage_is_caught(store: BackupStore) -> None:
    manifest = store.write("c", "b", "v", pieces(b"z" * 2 * CHUNK))
    chunk = store.folder("c", "b") / "chunk-00000001"
    chunk.write_bytes(b"Z" + chunk.read_bytes()[1:])
    with pytest.raises(BackupStoreError, match="damaged"):
        read(store, manifest)
    with pytest.raises(BackupStoreError, match="damaged"):
        store.verify(manifest)
    chunk.unlink()
    with pytest.raises(BackupStoreError, match="cannot be read"):
        store.verify(manifest)


def test_manifests_round_trip_and_bad_ones_are_refused(store: BackupStore) -> None:
    manifest = store.write("c", "b", "v", pieces(b"q" * CHUNK))
    assert Manifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
    raw = manifest.to_json()
    for broken in (
        {**raw, "format": 9},
        {**raw, "size": 5},
        {**raw, "container": "../x"},
        {**raw, "chunks": [[0, CHUNK, "d", "../../etc/passwd"]]},
        {key: value for key, value in raw.items() if key != "chunks"},
    ):
        with pytest.raises(BackupStoreError):
            Manifest.from_json(broken)
    with pytest.raises(BackupStoreError, match="no data"):
        store.manifest("c", "missing")
    store.delete("c", "b")
    assert not store.exists("c", "b") and not (store.root / "c").exists()


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "..", "x" * 256, "spa ce"])
def test_containers_are_single_safe_folder_names(name: str) -> None:
    with pytest.raises(ValueError):
        check_container(name)


def test_container_names_that_are_fine() -> None:
    assert check_container("volumebackups") == "volumebackups"
    assert check_container("nightly-2026.11_24") == "nightly-2026.11_24"
