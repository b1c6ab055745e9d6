"""The backup chunk store: backups as chunk files on a filesystem, until there is an object store.

A backup is the disk's data cut in fixed-size chunks, each with its SHA-256, kept as
`<root>/<container>/<backup id>/chunk-<index>` next to a `manifest.json` that lists, for every
chunk index, its length, its digest and which backup's folder holds its bytes. A chunk of zeros
is stored nowhere (a thin disk costs nothing for its empty space); an incremental backup stores
only the chunks whose digest differs from its parent's at the same index and names the parent's
(or grandparent's...) folder for the others, so a restore reads the whole chain through one
manifest. Deleting a backup whose chunks a child names is refused by the service, never here.

Writes are all-or-nothing: chunks go into the backup's folder and the manifest is written last
(to a temporary name, then renamed), and a failed or cancelled write removes the folder, so a
backup either has a manifest and every chunk it names, or no files at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1
_CONTAINER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class BackupStoreError(Exception):
    """The store cannot do what was asked (missing or damaged data, a cancelled write)."""


class Cancelled(BackupStoreError):
    """The backup stopped being wanted while it was written (deleted meanwhile)."""


def check_container(name: str) -> str:
    """A container is one folder name: letters, digits, `.`, `_`, `-`, not starting with a dot.

    :raises ValueError: anything else (a path, `..`, an empty name).
    """
    if not _CONTAINER.fullmatch(name) or name in (".", ".."):
        raise ValueError(
            f"container {name!r} must be 1 to 255 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class ChunkRef:
    """One chunk of a backup: where its bytes are (`owner`, "container/backup id") or None
    for a chunk of zeros, which no file holds."""

    index: int
    length: int
    sha256: str
    owner: str | None


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: `size` bytes of disk data in `chunks`, in order."""

    backup_id: str
    container: str
    volume_id: str
    parent: str | None
    chunk_bytes: int
    size: int
    chunks: tuple[ChunkRef, ...]
    #: What the volume was besides its data (bootable, image metadata), given back to the
    #: volume a restore writes, as Cinder keeps a volume's metadata with its backup.
    volume_meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.container}/{self.backup_id}"

    @property
    def object_count(self) -> int:
        """Chunk files this backup stored itself."""
        return sum(1 for c in self.chunks if c.owner == self.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "backup_id": self.backup_id,
            "container": self.container,
            "volume_id": self.volume_id,
            "parent": self.parent,
            "chunk_bytes": self.chunk_bytes,
            "size": self.size,
            "chunks": [[c.index, c.length, c.sha256, c.owner] for c in self.chunks],
            "volume_meta": dict(self.volume_meta),
        }

    @classmethod
    def from_json(cls, raw: Any) -> Manifest:
        """:raises BackupStoreError: not a manifest of this format."""
        try:
            if raw["format"] != FORMAT:
                raise BackupStoreError(f"backup manifest format {raw['format']!r} is unknown")
            chunks = tuple(
                ChunkRef(int(i), int(n), str(digest), None if owner is None else str(owner))
                for i, n, digest, owner in raw["chunks"]
            )
            manifest = cls(
                backup_id=str(raw["backup_id"]),
                container=check_container(str(raw["container"])),
                volume_id=str(raw["volume_id"]),
                parent=None if raw["parent"] is None else str(raw["parent"]),
                chunk_bytes=int(raw["chunk_bytes"]),
                size=int(raw["size"]),
                chunks=chunks,
                volume_meta=dict(raw.get("volume_meta") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupStoreError(f"a backup manifest is malformed: {exc}") from None
        if sum(c.length for c in chunks) != manifest.size:
            raise BackupStoreError(f"backup {manifest.backup_id}'s manifest does not add up")
        for chunk in chunks:
            if chunk.owner is not None:
                _split_key(chunk.owner)
        return manifest


def _split_key(key: str) -> tuple[str, str]:
    container, _, backup_id = key.partition("/")
    try:
        check_container(container)
    except ValueError:
        raise BackupStoreError(f"a backup manifest names a bad chunk owner {key!r}") from None
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", backup_id):
        raise BackupStoreError(f"a backup manifest names a bad chunk owner {key!r}")
    return container, backup_id


class BackupStore:
    """Chunk files under `root`, cut at `chunk_bytes`."""

    def __init__(self, root: Path, chunk_bytes: int) -> None:
        if chunk_bytes <= 0:
            raise ValueError("backup chunks must have a positive size")
        self.root = root
        self.chunk_bytes = chunk_bytes

    def folder(self, container: str, backup_id: str) -> Path:
        return self.root / check_container(container) / backup_id

    # -- write ---------------------------------------------------------------------------------

    def write(
        self,
        container: str,
        backup_id: str,
        volume_id: str,
        data: Iterable[bytes],
        parent: Manifest | None = None,
        wanted: Callable[[], bool] = lambda: True,
        volume_meta: dict[str, Any] | None = None,
    ) -> Manifest:
        """Store `data` as backup `backup_id`: every chunk, or only those that differ from
        `parent`'s (an incremental backup). `wanted` is asked before each chunk is stored;
        once it says no, the write stops with `Cancelled`.

        :raises BackupStoreError: the write failed (its folder is gone again).
        :raises OSError: the filesystem failed (its folder is gone again).
        """
        folder = self.folder(container, backup_id)
        key = f"{container}/{backup_id}"
        folder.mkdir(parents=True, exist_ok=False)
        previous = {c.index: c for c in parent.chunks} if parent is not None else {}
        chunks: list[ChunkRef] = []
        try:
            for index, chunk in enumerate(_rechunk(data, self.chunk_bytes)):
                if not wanted():
                    raise Cancelled(f"backup {backup_id} was deleted while it was written")
                digest = hashlib.sha256(chunk).hexdigest()
                before = previous.get(index)
                owner: str | None = None  # a chunk of zeros: no file
                if chunk.count(0) != len(chunk):
                    if before is not None and (before.sha256, before.length) == (
                        digest,
                        len(chunk),
                    ):
                        owner = before.owner  # unchanged since the parent: shared
                    else:
                        owner = key
                        _write_file(folder / _chunk_name(index), chunk)
                chunks.append(ChunkRef(index, len(chunk), digest, owner))
            manifest = Manifest(
                backup_id=backup_id,
                container=container,
                volume_id=volume_id,
                parent=parent.key if parent is not None else None,
                chunk_bytes=self.chunk_bytes,
                size=sum(c.length for c in chunks),
                chunks=tuple(chunks),
                volume_meta=dict(volume_meta or {}),
            )
            self.save_manifest(manifest)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return manifest

    def clone(self, manifest: Manifest, backup_id: str) -> Manifest:
        """Store `manifest`'s data again as backup `backup_id` (an imported record whose id was
        changed): the chunk files `manifest` owns are hard-linked (copied where links fail)
        into the new backup's folder, so either backup can be deleted without the other
        losing data; chunks it shares with its parents stay shared.

        :raises BackupStoreError: a chunk cannot be read (nothing is left behind).
        :raises OSError: the filesystem failed (nothing is left behind).
        """
        folder = self.folder(manifest.container, backup_id)
        key = f"{manifest.container}/{backup_id}"
        folder.mkdir(parents=True, exist_ok=False)
        chunks: list[ChunkRef] = []
        try:
            for chunk in manifest.chunks:
                if chunk.owner != manifest.key:
                    chunks.append(chunk)
                    continue
                self._chunk(chunk)  # there and intact before it is taken over
                source = self.folder(manifest.container, manifest.backup_id)
                name = _chunk_name(chunk.index)
                try:
                    os.link(source / name, folder / name)
                except OSError:
                    shutil.copyfile(source / name, folder / name)
                chunks.append(ChunkRef(chunk.index, chunk.length, chunk.sha256, key))
            copy = dataclasses.replace(manifest, backup_id=backup_id, chunks=tuple(chunks))
            self.save_manifest(copy)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return copy

    def save_manifest(self, manifest: Manifest) -> None:
        folder = self.folder(manifest.container, manifest.backup_id)
        folder.mkdir(parents=True, exist_ok=True)
        _write_file(folder / MANIFEST, json.dumps(manifest.to_json()).encode())

    # -- read ----------------------------------------------------------------------------------

    def manifest(self, container: str, backup_id: str) -> Manifest:
        """:raises BackupStoreError: the backup has no (readable) manifest in the store."""
        path = self.folder(container, backup_id) / MANIFEST
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise BackupStoreError(
                f"backup {backup_id} has no data in the backup store (no {path})"
            ) from None
        except (OSError, ValueError) as exc:
            raise BackupStoreError(f"backup {backup_id}'s manifest cannot be read: {exc}") from exc
        manifest = Manifest.from_json(raw)
        if (manifest.container, manifest.backup_id) != (container, backup_id):
            raise BackupStoreError(f"{path} is the manifest of another backup")
        return manifest

    def read(self, manifest: Manifest) -> Iterator[bytes]:
        """The backup's data, chunk by chunk, each checked against its digest.

        :raises BackupStoreError: a chunk is missing or damaged (while iterating).
        """
        for chunk in manifest.chunks:
            if chunk.owner is None:
                yield bytes(chunk.length)
                continue
            yield self._chunk(chunk)

    def verify(self, manifest: Manifest) -> None:
        """Every chunk the manifest names is there and intact.

        :raises BackupStoreError: one is not.
        """
        for chunk in manifest.chunks:
            if chunk.owner is not None:
                self._chunk(chunk)

    def _chunk(self, chunk: ChunkRef) -> bytes:
        assert chunk.owner is not None
        container, backup_id = _split_key(chunk.owner)
        path = self.folder(container, backup_id) / _chunk_name(chunk.index)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BackupStoreError(f"backup chunk {path} cannot be read: {exc}") from exc
        if len(data) != chunk.length or hashlib.sha256(data).hexdigest() != chunk.sha256:
            raise BackupStoreError(f"backup chunk {path} is damaged (its SHA-256 differs)")
        return data

    # -- delete --------------------------------------------------------------------------------

    def delete(self, container: str, backup_id: str) -> None:
        """Remove the backup's folder (nothing there: nothing to do)."""
        folder = self.folder(container, backup_id)
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            raise BackupStoreError(f"{folder} could not be removed")
        with contextlib.suppress(OSError):  # the container goes once empty
            folder.parent.rmdir()

    def exists(self, container: str, backup_id: str) -> bool:
        return self.folder(container, backup_id).exists()


def _chunk_name(index: int) -> str:
    return f"chunk-{index:08d}"


def _write_file(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all (a temporary name, flushed, renamed)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _rechunk(data: Iterable[bytes], size: int) -> Iterator[bytes]:
    """`data`'s bytes again, in pieces of exactly `size` (the last one shorter)."""
    buffer = bytearray()
    for piece in data:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
