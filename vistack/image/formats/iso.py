"""disk_format iso: an ISO 9660 image, checked by its volume descriptor and then by pycdlib.

The primary volume descriptor (sector 16) says how many blocks the volume has, which catches a
truncated upload as soon as the stream ends. pycdlib then parses the whole directory tree; it
needs random access, so the bytes are teed into a scratch file (disk, not RAM) that is deleted
as soon as the verdict is in.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from vistack.image.formats import sniff
from vistack.image.formats._base import Checker, HeadBuffer
from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import ImageFacts, gib_ceil
from vistack.image.formats.raw import refuse_disguised

PVD_OFFSET = 16 * 2048
_PVD_ID = b"\x01CD001\x01"


class IsoChecker(Checker):
    """Checks the primary volume descriptor while teeing the image to a scratch file."""

    def __init__(self, scratch_dir: Path) -> None:
        self._scratch_dir = scratch_dir
        self._head: HeadBuffer | None = HeadBuffer(PVD_OFFSET + 2048)
        self._size = 0
        self._volume_bytes = 0
        self._path: Path | None = None
        self._file: BinaryIO | None = None

    def feed(self, data: memoryview) -> None:
        """Copy the bytes to the scratch file; check the descriptors once they are in."""
        if self._file is None:
            self._open_scratch()
        assert self._file is not None
        self._file.write(data)
        base = self._size
        self._size += len(data)
        if self._head is not None:
            self._head.take(data, base)
            if self._head.full:
                self._check_head(bytes(self._head.data))

    def finish(self) -> ImageFacts:
        """Refuse a short image, then let pycdlib parse the whole of it."""
        if self._head is not None:
            head = bytes(self._head.data)
            refuse_disguised(head[: sniff.SNIFF_BYTES], "iso")
            raise InvalidImage(
                "The image is declared iso but it is too short to hold an ISO 9660 volume "
                "descriptor."
            )
        if self._size < self._volume_bytes:
            raise InvalidImage(
                f"The ISO image is {self._size} bytes but its volume is {self._volume_bytes} "
                "bytes; it looks truncated."
            )
        assert self._file is not None and self._path is not None
        self._file.close()
        self._file = None
        try:
            self._parse_whole(self._path)
        finally:
            self.abort()
        return ImageFacts(virtual_size=self._size, min_disk=gib_ceil(self._size))

    def abort(self) -> None:
        """Close and delete the scratch file; safe to call more than once."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._path = None

    def _open_scratch(self) -> None:
        self._scratch_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="iso-check-", suffix=".iso", dir=self._scratch_dir)
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")

    def _check_head(self, head: bytes) -> None:
        self._head = None
        refuse_disguised(head[: sniff.SNIFF_BYTES], "iso")
        pvd = head[PVD_OFFSET:]
        if not pvd.startswith(_PVD_ID):
            raise InvalidImage(
                "The image is declared iso but has no ISO 9660 primary volume descriptor at "
                "byte 32768."
            )
        # ISO 9660 stores these "both-endian": little-endian, then the same big-endian.
        space_le, space_be = _both_endian(pvd[80:88])
        block_le, block_be = _both_endian(pvd[128:132])
        if space_le != space_be or block_le != block_be or block_le not in (512, 1024, 2048):
            raise InvalidImage("The ISO 9660 primary volume descriptor is inconsistent.")
        self._volume_bytes = space_le * block_le
        if self._volume_bytes < PVD_OFFSET + 2048:
            raise InvalidImage("The ISO 9660 volume is smaller than its own descriptors.")

    @staticmethod
    def _parse_whole(path: Path) -> None:
        """pycdlib reads every descriptor, path table and directory record."""
        iso = pycdlib.PyCdlib()
        try:
            iso.open(str(path))
        except PyCdlibException as exc:
            reason = str(exc).replace(str(path), "the image")[:300]
            raise InvalidImage(f"The ISO image is not valid ISO 9660: {reason}") from exc
        except Exception as exc:  # pycdlib has no total parser; bad bytes raise anything
            raise InvalidImage("The ISO image is not valid ISO 9660.") from exc
        # Closing only releases the file; a failure there says nothing about the image.
        with contextlib.suppress(Exception):
            iso.close()


def _both_endian(field: bytes) -> tuple[int, int]:
    half = len(field) // 2
    return int.from_bytes(field[:half], "little"), int.from_bytes(field[half:], "big")
