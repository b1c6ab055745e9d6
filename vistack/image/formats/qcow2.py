"""disk_format qcow2: the header must describe a self-contained qcow2 v2/v3 image.

A qcow2 can point at other files two ways: a backing file (any version) and an external data
file (v3 incompatible feature bit 2). Either lets an uploader make qemu-img read a host file when
the image is converted, so both are refused here, before any tool opens the image.
"""

from __future__ import annotations

import struct

from vistack.image.formats import sniff
from vistack.image.formats._base import Checker, HeadBuffer
from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import ImageFacts, gib_ceil
from vistack.image.formats.raw import refuse_disguised

MAGIC = b"QFI\xfb"
#: Big-endian header fields up to snapshots_offset; a v2 header is exactly this long.
_V2 = struct.Struct(">4sIQIIQIIQQIIQ")
_V3_EXTRA = struct.Struct(">QQQII")  # incompatible, compatible, autoclear, refcount_order, length
V3_HEADER_MIN = _V2.size + _V3_EXTRA.size  # 104

_INCOMPAT_CORRUPT = 1 << 1
_INCOMPAT_DATA_FILE = 1 << 2
_INCOMPAT_KNOWN = 0b11111  # dirty, corrupt, external data file, compression type, extended L2
_MAX_L1_BYTES = 32 << 20  # qemu refuses bigger L1 tables


class Qcow2Checker(Checker):
    """Validates the header from the first bytes, then checks at the end that tables fit."""

    def __init__(self) -> None:
        self._head: HeadBuffer | None = HeadBuffer(_V2.size)
        self._size = 0
        self._header_size = _V2.size
        self._virtual_size = 0
        self._tables: list[tuple[int, int, str]] = []  # (offset, length, what) that must fit

    def feed(self, data: memoryview) -> None:
        """Count the bytes; parse the header as soon as it is complete."""
        base = self._size
        self._size += len(data)
        while self._head is not None:
            self._head.take(data, base)
            if not self._head.full:
                break
            self._parse()  # clears the head or wants more of it

    def finish(self) -> ImageFacts:
        """Refuse a short or truncated file, else report the header's virtual size."""
        if self._head is not None:
            head = bytes(self._head.data)
            if not head.startswith(MAGIC):
                self._not_qcow2(head)
            raise InvalidImage("The qcow2 image is shorter than its header; it looks truncated.")
        for offset, length, what in self._tables:
            if offset + length > self._size:
                raise InvalidImage(f"The qcow2 image ends before its {what}; it looks truncated.")
        return ImageFacts(virtual_size=self._virtual_size, min_disk=gib_ceil(self._virtual_size))

    def _parse(self) -> None:
        assert self._head is not None
        head = bytes(self._head.data)
        if not head.startswith(MAGIC):
            self._not_qcow2(head)
        (
            _,
            version,
            backing_offset,
            _backing_size,
            cluster_bits,
            virtual_size,
            crypt_method,
            l1_size,
            l1_offset,
            refcount_offset,
            refcount_clusters,
            _snapshots,
            _snapshots_offset,
        ) = _V2.unpack_from(head)
        if version not in (2, 3):
            raise InvalidImage(
                f"The image is qcow version {version}; only qcow2 versions 2 and 3 are accepted."
            )
        if version == 3:
            if len(head) < V3_HEADER_MIN:
                self._head.want = V3_HEADER_MIN
                return
            incompatible, _, _, _, header_length = _V3_EXTRA.unpack_from(head, _V2.size)
            self._check_features(incompatible)
            if header_length < V3_HEADER_MIN or header_length % 8:
                raise InvalidImage("The qcow2 header length is invalid.")
            self._header_size = header_length
        self._head = None
        if backing_offset != 0:
            raise InvalidImage("qcow2 images with a backing file are refused; flatten it first.")
        if not 9 <= cluster_bits <= 21:
            raise InvalidImage("The qcow2 cluster size is invalid.")
        if crypt_method != 0:
            raise InvalidImage("Encrypted qcow2 images are refused; decrypt it first.")
        cluster = 1 << cluster_bits
        if self._header_size > cluster:
            raise InvalidImage("The qcow2 header is larger than a cluster.")
        if l1_size * 8 > _MAX_L1_BYTES:
            raise InvalidImage("The qcow2 L1 table is too large.")
        l2_coverage = cluster * (cluster // 8)
        if l1_size < -(-virtual_size // l2_coverage):
            raise InvalidImage("The qcow2 L1 table is too small for the virtual size.")
        if l1_offset % cluster or refcount_offset % cluster or refcount_offset == 0:
            raise InvalidImage("The qcow2 L1 or refcount table offset is invalid.")
        self._virtual_size = virtual_size
        self._tables = [
            (0, self._header_size, "header"),
            (l1_offset, l1_size * 8, "L1 table"),
            (refcount_offset, refcount_clusters * cluster, "refcount table"),
        ]

    def _check_features(self, incompatible: int) -> None:
        if incompatible & _INCOMPAT_DATA_FILE:
            raise InvalidImage(
                "qcow2 images with an external data file are refused; convert it to a "
                "self-contained qcow2 first."
            )
        if incompatible & _INCOMPAT_CORRUPT:
            raise InvalidImage("The qcow2 image is marked corrupt; repair it with qemu-img check.")
        if incompatible & ~_INCOMPAT_KNOWN:
            raise InvalidImage("The qcow2 image uses incompatible features qemu does not know.")

    @staticmethod
    def _not_qcow2(head: bytes) -> None:
        refuse_disguised(head[: sniff.SNIFF_BYTES], "qcow2")
        raise InvalidImage("The image is declared qcow2 but it is not a qcow2 image.")
