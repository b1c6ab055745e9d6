"""disk_format vmdk: one self-contained sparse extent, or a flat extent the uploader vouched for.

A VMDK's descriptor lists the files holding its data. A descriptor whose extent names another
file ("/etc/passwd", "../other.vmdk", "nbd:host:1") makes qemu-img and similar tools read that
file on the uploader's behalf: the Glance/Nova VMDK vulnerability class. So only monolithicSparse
and streamOptimized VMDKs are accepted (header `KDMV`, descriptor embedded in the same file, one
SPARSE extent with a bare name), and a flat extent only when the image declares
`vmware_disktype=preallocated` (Nova's name for it), since flat bytes carry no signature at all.

streamOptimized grains are walked marker by marker, which is how truncation is caught: VMware's
writers put the grain directory in a footer (`KDMV` at size-1024, then the end-of-stream marker);
qemu-img writes it at the front and no footer, so the footer is required exactly when the header
says the grain directory is at the end.

qemu-img writes no end-of-stream marker either, but when the disk ends in a partial grain it
zero-fills that grain's whole cluster before writing the compressed grain at its start, so the
file runs on in zeros up to the last grain's offset plus one grain. A zero sector where a marker
is due reads exactly like an end-of-stream marker; so with the grain directory at the front (and
no footer), the stream may end in zeros from there up to the later of one sector (a real marker)
and the end of the last grain's cluster (qemu's fill). Those zeros are proven zero as they arrive
(`bytes.startswith` against a zero block: C speed, no copies); anything else, or anything longer,
is data after the end. A stream with its directory at the end keeps the strict rule: footer, then
the marker, then nothing.
"""

from __future__ import annotations

import array
import re
import struct
import sys
from dataclasses import dataclass

from vistack.image.formats import sniff
from vistack.image.formats._base import Checker, HeadBuffer
from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import (
    ADAPTERTYPE,
    DISKTYPE,
    SECTOR,
    ImageFacts,
    gib_ceil,
    is_bare_name,
    quoted,
)
from vistack.image.formats.raw import refuse_disguised

MAGIC = b"KDMV"
#: SparseExtentHeader up to compressAlgorithm, little-endian; padded to one sector on disk.
_HEADER = struct.Struct("<4sIIQQQQIQQQ?ccccH")
#: A stream marker: value (LBA or sector count), compressed size, type (when size is 0).
_MARKER = struct.Struct("<QII")
_MARKER_EOS, _MARKER_GT, _MARKER_GD, _MARKER_FOOTER = range(4)
_GRAIN_MARKER = 12  # a grain's LBA and compressed size, then its data in the same sector
GD_AT_END = 0xFFFFFFFFFFFFFFFF
#: Compared against (never copied into) to prove a stream's trailing bytes are zero.
_ZEROS = bytes(64 << 10)
#: The embedded descriptor must end within this many bytes: the only region buffered.
MAX_DESCRIPTOR_END = 1 << 20
_MAX_CAPACITY_SECTORS = 1 << 41  # 1 PiB, far beyond vSphere's 62 TB
_FLAG_NEWLINE_TEST = 1 << 0
_FLAG_REDUNDANT_GT = 1 << 1
_FLAG_COMPRESSED = 1 << 16
_FLAG_MARKERS = 1 << 17

#: createType -> Nova's vmware_disktype.
CREATE_TYPES = {"monolithicSparse": "sparse", "streamOptimized": "streamOptimized"}
#: The descriptor's ddb.adapterType -> Nova's vmware_adaptertype.
_ADAPTERS = {"ide": "ide", "buslogic": "busLogic", "lsilogic": "lsiLogic"}
#: Descriptor keys that name other files: a delta disk's parent, a change-tracking file.
_REFERENCE_KEYS = ("parentfilenamehint", "changetrackpath")
FLAT_DISKTYPE = "preallocated"

_EXTENT = re.compile(r'(RW|RDONLY|NOACCESS|WRONLY)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?')
_KEY_VALUE = re.compile(r"([A-Za-z][\w.]*)\s*=\s*(.*)")

_HEAD, _SPARSE, _FLAT = range(3)


@dataclass(frozen=True)
class SparseHeader:
    """The fields of a sparse extent header this checker relies on."""

    flags: int
    capacity: int
    grain_size: int
    descriptor_offset: int
    descriptor_size: int
    gtes_per_gt: int
    rgd_offset: int
    gd_offset: int
    overhead: int
    compress: int

    @property
    def gd_bytes(self) -> int:
        """Size of the grain directory: one 4-byte entry per grain table."""
        per_table = self.grain_size * self.gtes_per_gt
        return -(-self.capacity // per_table) * 4


def parse_header(block: bytes, what: str) -> SparseHeader:
    """Validate a 512-byte `KDMV` header (the image's first sector, or a stream footer)."""
    (
        magic,
        version,
        flags,
        capacity,
        grain_size,
        descriptor_offset,
        descriptor_size,
        gtes_per_gt,
        rgd_offset,
        gd_offset,
        overhead,
        _unclean,
        single_eol,
        non_eol,
        double_eol1,
        double_eol2,
        compress,
    ) = _HEADER.unpack_from(block)
    if magic != MAGIC:
        raise InvalidImage(f"The VMDK {what} does not start with the magic KDMV.")
    if version not in (1, 2, 3):
        raise InvalidImage(f"The VMDK {what} has unknown version {version}.")
    if flags & _FLAG_NEWLINE_TEST and (single_eol, non_eol, double_eol1, double_eol2) != (
        b"\n",
        b" ",
        b"\r",
        b"\n",
    ):
        raise InvalidImage("The VMDK was corrupted by a text-mode transfer; upload it as binary.")
    if not 0 < capacity <= _MAX_CAPACITY_SECTORS:
        raise InvalidImage(f"The VMDK {what} has an invalid capacity.")
    if grain_size <= 0 or grain_size > 1 << 16 or grain_size & (grain_size - 1):
        raise InvalidImage(f"The VMDK {what} has an invalid grain size.")
    if not 0 < gtes_per_gt <= 512:
        raise InvalidImage(f"The VMDK {what} has an invalid grain table size.")
    if compress not in (0, 1):
        raise InvalidImage(f"The VMDK {what} uses an unknown compression algorithm.")
    return SparseHeader(
        flags=flags,
        capacity=capacity,
        grain_size=grain_size,
        descriptor_offset=descriptor_offset,
        descriptor_size=descriptor_size,
        gtes_per_gt=gtes_per_gt,
        rgd_offset=rgd_offset,
        gd_offset=gd_offset,
        overhead=overhead,
        compress=compress,
    )


@dataclass(frozen=True)
class Descriptor:
    """What the embedded descriptor says, once proven to reference no other file."""

    create_type: str
    extent_sectors: int
    adapter_type: str | None


def parse_descriptor(raw: bytes) -> Descriptor:
    """Parse an embedded descriptor; refuse anything that reaches beyond this one file.

    Unknown lines and repeated keys are refused rather than skipped: two parsers that disagree
    about a descriptor (this one and qemu's) are how a checked image smuggles an extent through.
    Latin-1 maps each byte to one character, so what is checked is byte for byte what qemu reads.
    """
    text = raw.split(b"\0", 1)[0].decode("latin-1")
    keys: dict[str, str] = {}
    extents: list[re.Match[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.split(None, 1)[0] in ("RW", "RDONLY", "NOACCESS", "WRONLY"):
            extent = _EXTENT.fullmatch(line)
            if extent is None:
                raise InvalidImage("The VMDK descriptor has an extent line that cannot be read.")
            extents.append(extent)
            continue
        pair = _KEY_VALUE.fullmatch(line)
        if pair is None:
            raise InvalidImage(
                "The VMDK descriptor has a line that is neither a key nor an extent."
            )
        key = pair.group(1).lower()
        if key in keys:
            raise InvalidImage(f"The VMDK descriptor sets {quoted(pair.group(1))} twice.")
        value = pair.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        keys[key] = value
    for key in _REFERENCE_KEYS:
        if key in keys:
            raise InvalidImage(
                "The VMDK descriptor refers to another file (a parent or change-tracking "
                "disk); upload a self-contained VMDK."
            )
    if keys.get("parentcid", "ffffffff").lower() != "ffffffff":
        raise InvalidImage("The VMDK is a delta disk that needs its parent; upload a full disk.")
    create_type = keys.get("createtype", "")
    if create_type not in CREATE_TYPES:
        raise InvalidImage(
            f"VMDK createType {quoted(create_type or '(missing)')} is not accepted; upload a "
            "monolithicSparse or streamOptimized VMDK."
        )
    if len(extents) != 1:
        raise InvalidImage(
            f"The VMDK descriptor lists {len(extents)} extents; exactly one is accepted."
        )
    _access, sectors, kind, name, _offset = extents[0].groups()
    if kind != "SPARSE":
        raise InvalidImage(
            f"The VMDK extent is {quoted(kind)}; a {create_type} VMDK needs one SPARSE."
        )
    if name is None or not is_bare_name(name):
        raise InvalidImage(
            "The VMDK descriptor's extent refers to another file; only a bare file name "
            "(the VMDK itself) is accepted."
        )
    return Descriptor(
        create_type=create_type,
        extent_sectors=int(sectors),
        adapter_type=_ADAPTERS.get(keys.get("ddb.adaptertype", "").lower()),
    )


class VmdkChecker(Checker):
    """Push-mode VMDK validator; `require_stream` is for disks inside an OVA."""

    def __init__(
        self,
        declared_disktype: str | None = None,
        *,
        require_stream: bool = False,
        declared_adapter: bool = False,
        what: str = "image",
    ) -> None:
        self._head: HeadBuffer | None = HeadBuffer(_HEADER.size)
        self._flat_ok = declared_disktype == FLAT_DISKTYPE and not require_stream
        self._require_stream = require_stream
        self._declared_adapter = declared_adapter
        self._what = what
        self._mode = _HEAD
        self._size = 0
        self._header: SparseHeader | None = None
        self._descriptor: Descriptor | None = None
        # streamOptimized marker walk: where the next marker (or footer header) starts.
        self._walking = False
        self._mark_at = 0
        self._mark_need = _MARKER.size
        self._mark_buf = bytearray()
        self._footer: SparseHeader | None = None
        self._expect_footer = False
        self._eos_end: int | None = None
        # Grain directory at the front: the zero tail that may end the stream (see module doc).
        self._last_grain_at: int | None = None
        self._tail_at: int | None = None
        self._tail_end = 0
        # Grain tables at the front: the highest grain they point at proves how long the file
        # must be, which catches a monolithicSparse (or qemu stream) cut at a sector boundary.
        self._tables_at = 0
        self._tables_end = 0
        self._tables_carry = b""
        self._last_grain = 0

    def feed(self, data: memoryview) -> None:
        """Parse the header and descriptor as they complete, then walk stream markers."""
        base = self._size
        self._size += len(data)
        while self._head is not None:
            self._head.take(data, base)
            if not self._head.full:
                return
            self._advance(final=False)
        if self._tables_at < self._tables_end:
            self._scan_tables(data, base)
        if self._walking:
            self._walk(data, base)

    def finish(self) -> ImageFacts:
        """Refuse a truncated or inconsistent VMDK; return its disk type and virtual size."""
        if self._head is not None:
            self._advance(final=True)
        if self._mode == _FLAT:
            return self._flat_facts()
        return self._sparse_facts()

    # -- header and descriptor -------------------------------------------------------------

    def _advance(self, *, final: bool) -> None:
        """Act on the head buffered so far: header, then descriptor, or the flat-file verdict."""
        assert self._head is not None
        head = bytes(self._head.data)
        if not head.startswith(MAGIC):
            if len(head) < sniff.SNIFF_BYTES and not final:
                self._head.want = sniff.SNIFF_BYTES
                return
            self._head = None
            self._classify_non_sparse(head)
            return
        if len(head) < _HEADER.size:
            raise self._truncated("inside its header")
        if self._header is None:
            self._header = self._check_header(parse_header(head, "header"))
            self._head.want = (
                self._header.descriptor_offset + self._header.descriptor_size
            ) * SECTOR
        if not self._head.full:
            if final:
                raise self._truncated("before the end of its descriptor")
            return
        header = self._header
        start = header.descriptor_offset * SECTOR
        self._descriptor = self._check_descriptor(parse_descriptor(head[start : self._head.want]))
        self._head = None
        self._mode = _SPARSE
        if self._descriptor.create_type == "streamOptimized":
            self._walking = True
            self._mark_at = header.overhead * SECTOR
        self._locate_tables(header)

    def _locate_tables(self, header: SparseHeader) -> None:
        """Find the front metadata (directories and tables) that the stream will carry past."""
        offsets = [header.gd_offset]
        if header.flags & _FLAG_REDUNDANT_GT:
            offsets.append(header.rgd_offset)
        front = [offset for offset in offsets if 0 < offset != GD_AT_END]
        if not front:
            return
        start = min(front) * SECTOR
        if start < (header.descriptor_offset + header.descriptor_size) * SECTOR:
            raise InvalidImage("The VMDK grain directory overlaps its descriptor.")
        self._tables_at = start
        self._tables_end = header.overhead * SECTOR

    def _scan_tables(self, data: memoryview, base: int) -> None:
        """Track the largest sector any directory or table entry names (C-speed `max`)."""
        low = max(base, self._tables_at)
        high = min(base + len(data), self._tables_end)
        if high <= low:
            return
        piece = self._tables_carry + bytes(data[low - base : high - base])
        usable = len(piece) - len(piece) % 4
        if usable:
            entries = array.array("I", piece[:usable])
            if sys.byteorder == "big":
                entries.byteswap()
            self._last_grain = max(self._last_grain, max(entries))
        self._tables_carry = piece[usable:]
        self._tables_at = high

    def _check_header(self, header: SparseHeader) -> SparseHeader:
        if header.descriptor_offset == 0 or header.descriptor_size == 0:
            raise InvalidImage(
                "The VMDK has no embedded descriptor (it is one part of a multi-file disk); "
                "upload a monolithicSparse or streamOptimized VMDK."
            )
        end = (header.descriptor_offset + header.descriptor_size) * SECTOR
        if end > MAX_DESCRIPTOR_END:
            raise InvalidImage("The VMDK descriptor lies beyond the first 1 MiB, which is refused.")
        if header.overhead * SECTOR < end:
            raise InvalidImage("The VMDK header's metadata size does not cover its descriptor.")
        return header

    def _check_descriptor(self, descriptor: Descriptor) -> Descriptor:
        header = self._header
        assert header is not None
        if descriptor.extent_sectors != header.capacity:
            raise InvalidImage("The VMDK descriptor's extent size disagrees with its header.")
        stream_flags = _FLAG_COMPRESSED | _FLAG_MARKERS
        if descriptor.create_type == "streamOptimized":
            if header.flags & stream_flags != stream_flags or header.compress != 1:
                raise InvalidImage(
                    "The VMDK says streamOptimized but its header lacks compressed grains."
                )
        else:
            if self._require_stream:
                raise InvalidImage(
                    f"The disk {self._what} is a monolithicSparse VMDK; an OVA must carry "
                    "streamOptimized disks."
                )
            if header.flags & _FLAG_MARKERS or header.gd_offset == GD_AT_END:
                raise InvalidImage("The VMDK says monolithicSparse but its header is a stream's.")
        return descriptor

    def _classify_non_sparse(self, head: bytes) -> None:
        """A file without `KDMV`: a descriptor, another format, or (if declared) a flat extent."""
        if sniff.is_descriptor(head):
            raise InvalidImage(
                "The image is a plain-text VMDK descriptor, which refers to other files; upload "
                "a monolithicSparse or streamOptimized VMDK instead."
            )
        refuse_disguised(head, "vmdk")
        if self._require_stream:
            raise InvalidImage(
                f"The {self._what} is not a VMDK; an OVA must carry streamOptimized disks."
            )
        if not self._flat_ok:
            raise InvalidImage(
                f"The {self._what} is not a VMDK: it does not start with the sparse extent "
                "magic KDMV. Upload a monolithicSparse or streamOptimized VMDK, or set "
                f"vmware_disktype={FLAT_DISKTYPE} for a flat extent."
            )
        self._mode = _FLAT

    # -- streamOptimized markers -----------------------------------------------------------

    def _walk(self, data: memoryview, base: int) -> None:
        """Hop from marker to marker; only the 16-byte markers (and the footer) are copied."""
        end = base + len(data)
        while (
            self._eos_end is None
            and self._tail_at is None
            and self._mark_at + len(self._mark_buf) < end
        ):
            start = self._mark_at + len(self._mark_buf) - base
            self._mark_buf += data[start : start + self._mark_need - len(self._mark_buf)]
            if len(self._mark_buf) < self._mark_need:
                return
            block = bytes(self._mark_buf)
            self._mark_buf.clear()
            self._on_marker(block)
        if self._eos_end is not None and end > self._eos_end:
            raise InvalidImage("The VMDK has data after its end-of-stream marker.")
        if self._tail_at is not None:
            self._check_tail(data, base)

    def _check_tail(self, data: memoryview, base: int) -> None:
        """Prove the bytes after a qemu-style stream's last grain are its zero fill, and no more."""
        assert self._tail_at is not None
        end = base + len(data)
        view = data[max(self._tail_at - base, 0) :]
        zero = end <= self._tail_end and all(
            _ZEROS.startswith(view[start : start + len(_ZEROS)])
            for start in range(0, len(view), len(_ZEROS))
        )
        if not zero:
            raise InvalidImage(
                "The VMDK has data after the end of its stream (its last grain, then at most "
                "that grain's zero padding or an end-of-stream marker)."
            )
        self._tail_at = max(self._tail_at, end)

    def _on_marker(self, block: bytes) -> None:
        header = self._header
        assert header is not None
        if self._expect_footer:
            footer = parse_header(block, "footer")
            if (footer.capacity, footer.grain_size) != (header.capacity, header.grain_size):
                raise InvalidImage("The VMDK footer disagrees with its header.")
            if footer.gd_offset == GD_AT_END:
                raise InvalidImage("The VMDK footer does not locate the grain directory.")
            self._footer = footer
            self._expect_footer = False
            self._mark_need = _MARKER.size
            self._mark_at += SECTOR
            return
        value, size, kind = _MARKER.unpack_from(block)
        if size:
            grain_bytes = header.grain_size * SECTOR
            if self._footer is not None:
                raise InvalidImage("The VMDK has grains after its footer.")
            if value >= header.capacity or value % header.grain_size:
                raise InvalidImage("The VMDK has a grain outside the disk.")
            if size > 2 * grain_bytes + 4096:
                raise InvalidImage("The VMDK has a compressed grain larger than a grain can be.")
            self._last_grain_at = self._mark_at
            self._mark_at += -(-(_GRAIN_MARKER + size) // SECTOR) * SECTOR
        elif kind == _MARKER_EOS:
            if header.gd_offset == GD_AT_END or self._footer is not None:
                self._eos_end = self._mark_at + SECTOR
                return
            if value:
                raise InvalidImage("The VMDK end-of-stream marker is invalid.")
            # An end-of-stream marker, or qemu's zero fill: zeros from here to the end.
            self._tail_at = self._mark_at + _MARKER.size
            self._tail_end = self._mark_at + SECTOR
            if self._last_grain_at is not None:
                grain_end = self._last_grain_at + header.grain_size * SECTOR
                self._tail_end = max(self._tail_end, grain_end)
        elif self._footer is not None:
            raise InvalidImage("The VMDK footer is not followed by the end-of-stream marker.")
        elif kind in (_MARKER_GT, _MARKER_GD):
            self._mark_at += SECTOR + value * SECTOR
        elif kind == _MARKER_FOOTER:
            if value != 1:
                raise InvalidImage("The VMDK footer marker is invalid.")
            self._expect_footer = True
            self._mark_need = SECTOR
            self._mark_at += SECTOR
        else:
            raise InvalidImage("The VMDK stream has a marker of unknown type.")

    # -- end of stream ---------------------------------------------------------------------

    def _truncated(self, where: str) -> InvalidImage:
        return InvalidImage(f"The VMDK {self._what} ends {where}; it looks truncated.")

    def _sparse_facts(self) -> ImageFacts:
        header, descriptor = self._header, self._descriptor
        assert header is not None and descriptor is not None
        if self._size % SECTOR:
            raise self._truncated("in the middle of a sector")
        if self._size < header.overhead * SECTOR:
            raise self._truncated("inside its metadata")
        gd_offset = header.gd_offset
        if self._walking:
            if self._eos_end is not None:
                if self._size != self._eos_end:
                    raise self._truncated("inside its end-of-stream marker")
            elif self._tail_at is not None:
                pass  # proven zero and within bounds by _check_tail; whole sectors
            elif self._mark_buf or self._mark_at != self._size:
                raise self._truncated("inside a grain or marker")
            if header.gd_offset == GD_AT_END:
                if self._footer is None or self._eos_end is None:
                    raise self._truncated("without its footer and end-of-stream marker")
                gd_offset = self._footer.gd_offset
        tables = [(gd_offset, header.gd_bytes)]
        if header.flags & _FLAG_REDUNDANT_GT and header.rgd_offset:
            tables.append((header.rgd_offset, header.gd_bytes))
        for offset, length in tables:
            if offset == 0 or offset * SECTOR + length > self._size:
                raise self._truncated("before its grain directory")
        grain_sectors = 1 if self._walking else header.grain_size
        if self._last_grain >= header.overhead and (
            (self._last_grain + grain_sectors) * SECTOR > self._size
        ):
            raise self._truncated("before the last grain its tables point at")
        properties = {DISKTYPE: CREATE_TYPES[descriptor.create_type]}
        if descriptor.adapter_type and not self._declared_adapter:
            properties[ADAPTERTYPE] = descriptor.adapter_type
        virtual_size = header.capacity * SECTOR
        return ImageFacts(
            virtual_size=virtual_size, properties=properties, min_disk=gib_ceil(virtual_size)
        )

    def _flat_facts(self) -> ImageFacts:
        if self._size == 0:
            raise InvalidImage("The flat VMDK is empty.")
        if self._size % SECTOR:
            raise InvalidImage(
                "A flat (preallocated) VMDK must be a whole number of 512-byte sectors."
            )
        return ImageFacts(
            virtual_size=self._size,
            properties={DISKTYPE: FLAT_DISKTYPE},
            min_disk=gib_ceil(self._size),
        )
