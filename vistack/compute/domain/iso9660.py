"""A small ISO 9660 writer for config drives: the primary tree with Rock Ridge 1.09 names
(what Linux mounts) and a Joliet tree (what Windows and cloudbase-init read), in memory.

Why not a general library: a config drive is a few dozen small files in a shallow tree, built
once per boot, and the general writer we used spent about 5 ms of Python on each (path
normalisation, per-entry object graphs); this one lays the image out in one pass in a fraction
of that. It writes what Nova's `genisoimage -l -allow-lowercase -allow-multidot -J -r` call
writes for such a tree: lowercase long names in the primary directory records (`;1` on files),
Rock Ridge entries (`RR`, `NM`, `PX`; `SP` and the `ER` in a continuation area on the root)
and a Joliet supplementary descriptor (UCS-2, escape `%/E`).

Layout, in 2,048-byte sectors: 16 empty, the primary, Joliet and terminator descriptors, four
path tables (primary L/M, Joliet L/M), the primary directories, the Rock Ridge continuation
area, the Joliet directories, then every file's bytes once (both trees point at them).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

SECTOR = 2048
FIRST_DESCRIPTOR = 16
#: Sectors before the path tables: the system area and three volume descriptors.
PATH_TABLES_AT = FIRST_DESCRIPTOR + 3

DIRECTORY_MODE = 0o40555
FILE_MODE = 0o100444
RR_FLAGS_PX = 0x01
RR_FLAGS_NM = 0x08
ER_ID = b"RRIP_1991A"
ER_DESCRIPTOR = (
    b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS"
)
ER_SOURCE = (
    b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN "
    b"PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION."
)


class IsoError(ValueError):
    """The files cannot make an ISO (an empty or clashing path, a name too long)."""


@dataclass
class _Directory:
    name: str
    parent: _Directory | None
    children: dict[str, _Directory | _File] = field(default_factory=dict)
    #: Filled by the layout: (primary sector, primary size, Joliet sector, Joliet size).
    primary_at: int = 0
    primary_size: int = 0
    joliet_at: int = 0
    joliet_size: int = 0
    number: int = 0

    def subdirectories(self) -> list[_Directory]:
        return [child for child in self.children.values() if isinstance(child, _Directory)]


@dataclass
class _File:
    name: str
    data: bytes
    at: int = 0


def build(files: Iterable[tuple[str, bytes]], label: str) -> bytes:
    """The ISO image holding `files` ((relative path, bytes) pairs), labelled `label`."""
    root = _tree(files)
    directories = _breadth_first(root)
    when = time.gmtime()
    stamp = _record_date(when)
    # Directory extents need the files' places only for their records' contents, not sizes:
    # lay out sizes first, then positions, then write.
    for directory in directories:
        directory.primary_size = _extent_size(_primary_records(directory, stamp, sizing=True))
        directory.joliet_size = _extent_size(_joliet_records(directory, stamp))
    primary_paths = _path_table_size(directories, joliet=False)
    joliet_paths = _path_table_size(directories, joliet=True)
    sector = PATH_TABLES_AT
    tables = []
    for size in (primary_paths, primary_paths, joliet_paths, joliet_paths):
        tables.append(sector)
        sector += _sectors(size)
    for directory in directories:
        directory.primary_at = sector
        sector += directory.primary_size // SECTOR
    continuation_at = sector
    sector += 1
    for directory in directories:
        directory.joliet_at = sector
        sector += directory.joliet_size // SECTOR
    files_in_order = [f for d in directories for f in _sorted_files(d)]
    for item in files_in_order:
        item.at = sector
        sector += _sectors(len(item.data))
    total = sector

    image = bytearray(total * SECTOR)
    vd_date = _descriptor_date(when)
    _put(
        image,
        FIRST_DESCRIPTOR,
        _volume_descriptor(1, label, root, total, primary_paths, tables[0], tables[1], vd_date),
    )
    _put(
        image,
        FIRST_DESCRIPTOR + 1,
        _volume_descriptor(2, label, root, total, joliet_paths, tables[2], tables[3], vd_date),
    )
    _put(image, FIRST_DESCRIPTOR + 2, b"\xffCD001\x01")
    _put(image, tables[0], _path_table(directories, joliet=False, big_endian=False))
    _put(image, tables[1], _path_table(directories, joliet=False, big_endian=True))
    _put(image, tables[2], _path_table(directories, joliet=True, big_endian=False))
    _put(image, tables[3], _path_table(directories, joliet=True, big_endian=True))
    for directory in directories:
        records = _primary_records(directory, stamp, continuation_at=continuation_at)
        _put(image, directory.primary_at, _pack_extent(records))
        _put(image, directory.joliet_at, _pack_extent(_joliet_records(directory, stamp)))
    _put(image, continuation_at, _er_entry())
    for item in files_in_order:
        _put(image, item.at, item.data)
    return bytes(image)


def _tree(files: Iterable[tuple[str, bytes]]) -> _Directory:
    root = _Directory("", None)
    for relative, data in files:
        parts = [part for part in relative.strip("/").split("/") if part]
        if not parts:
            raise IsoError(f"empty path {relative!r}")
        here = root
        for part in parts[:-1]:
            child = here.children.setdefault(part, _Directory(part, here))
            if not isinstance(child, _Directory):
                raise IsoError(f"{relative!r}: {part!r} is a file")
            here = child
        if parts[-1] in here.children:
            raise IsoError(f"{relative!r} given twice")
        here.children[parts[-1]] = _File(parts[-1], data)
    return root


def _breadth_first(root: _Directory) -> list[_Directory]:
    """Directories in path table order: by level, then by parent's number, then by name."""
    ordered = [root]
    index = 0
    while index < len(ordered):
        current = ordered[index]
        current.number = index + 1
        ordered.extend(sorted(current.subdirectories(), key=lambda d: _primary_id(d)))
        index += 1
    return ordered


def _sorted_files(directory: _Directory) -> list[_File]:
    files = [c for c in directory.children.values() if isinstance(c, _File)]
    return sorted(files, key=_primary_id)


def _primary_id(item: _Directory | _File) -> bytes:
    name = item.name.encode()
    if len(name) > 200:
        raise IsoError(f"name {item.name!r} is longer than 200 bytes")
    return name if isinstance(item, _Directory) else name + b";1"


def _joliet_id(item: _Directory | _File) -> bytes:
    name = item.name.encode("utf-16-be")
    if len(name) > 128:
        raise IsoError(f"name {item.name!r} is longer than Joliet's 64 characters")
    return name


def _primary_records(
    directory: _Directory, stamp: bytes, *, continuation_at: int = 0, sizing: bool = False
) -> list[bytes]:
    parent = directory.parent or directory
    links = 2 + len(directory.subdirectories())
    dot_use = _rr(RR_FLAGS_PX) + _px(DIRECTORY_MODE, links)
    if directory.parent is None:
        # The root's "." announces Rock Ridge: SP first, the ER in a continuation sector.
        dot_use = _sp() + dot_use + _ce(continuation_at, len(_er_entry()))
    records = [
        _record(b"\x00", directory.primary_at, directory.primary_size, stamp, True, dot_use),
        _record(
            b"\x01",
            parent.primary_at,
            parent.primary_size,
            stamp,
            True,
            _rr(RR_FLAGS_PX) + _px(DIRECTORY_MODE, 2 + len(parent.subdirectories())),
        ),
    ]
    children = sorted(directory.children.values(), key=_primary_id)
    for child in children:
        if isinstance(child, _Directory):
            use = (
                _rr(RR_FLAGS_PX | RR_FLAGS_NM)
                + _nm(child.name)
                + _px(DIRECTORY_MODE, 2 + len(child.subdirectories()))
            )
            records.append(
                _record(_primary_id(child), child.primary_at, child.primary_size, stamp, True, use)
            )
        else:
            use = _rr(RR_FLAGS_PX | RR_FLAGS_NM) + _nm(child.name) + _px(FILE_MODE, 1)
            at = 0 if sizing else child.at
            records.append(_record(_primary_id(child), at, len(child.data), stamp, False, use))
    return records


def _joliet_records(directory: _Directory, stamp: bytes) -> list[bytes]:
    parent = directory.parent or directory
    records = [
        _record(b"\x00", directory.joliet_at, directory.joliet_size, stamp, True),
        _record(b"\x01", parent.joliet_at, parent.joliet_size, stamp, True),
    ]
    for child in sorted(directory.children.values(), key=_joliet_id):
        if isinstance(child, _Directory):
            records.append(
                _record(_joliet_id(child), child.joliet_at, child.joliet_size, stamp, True)
            )
        else:
            records.append(_record(_joliet_id(child), child.at, len(child.data), stamp, False))
    return records


def _record(
    identifier: bytes, extent: int, size: int, stamp: bytes, directory: bool, use: bytes = b""
) -> bytes:
    """One directory record (ECMA-119 9.1): padded to an even length, system use last."""
    padding = b"\x00" if len(identifier) % 2 == 0 else b""
    length = 33 + len(identifier) + len(padding) + len(use)
    if length > 255:
        raise IsoError(f"directory record for {identifier!r} is too long")
    return (
        struct.pack("<BB", length, 0)
        + _both32(extent)
        + _both32(size)
        + stamp
        + struct.pack("<BBB", 2 if directory else 0, 0, 0)
        + _both16(1)
        + struct.pack("<B", len(identifier))
        + identifier
        + padding
        + use
    )


def _pack_extent(records: list[bytes]) -> bytes:
    """Records one after another; a record never crosses a sector (the rest is zero-filled)."""
    out = bytearray()
    for record in records:
        room = SECTOR - len(out) % SECTOR
        if len(record) > room:
            out.extend(b"\x00" * room)
        out.extend(record)
    out.extend(b"\x00" * ((-len(out)) % SECTOR))
    return bytes(out)


def _extent_size(records: list[bytes]) -> int:
    return len(_pack_extent(records))


def _path_table_size(directories: list[_Directory], *, joliet: bool) -> int:
    return len(_path_table(directories, joliet=joliet, big_endian=False))


def _path_table(directories: list[_Directory], *, joliet: bool, big_endian: bool) -> bytes:
    order = ">" if big_endian else "<"
    out = bytearray()
    for directory in directories:
        if directory.parent is None:
            identifier = b"\x00"
        else:
            identifier = _joliet_id(directory) if joliet else _primary_id(directory)
        extent = directory.joliet_at if joliet else directory.primary_at
        parent = directory.parent.number if directory.parent is not None else 1
        out += struct.pack(f"{order}BBIH", len(identifier), 0, extent, parent) + identifier
        if len(identifier) % 2:
            out += b"\x00"
    return bytes(out)


def _volume_descriptor(
    kind: int,
    label: str,
    root: _Directory,
    total: int,
    path_table_size: int,
    l_table: int,
    m_table: int,
    date: bytes,
) -> bytes:
    """The primary (1) or the Joliet supplementary (2) volume descriptor (ECMA-119 8.4/8.5)."""
    joliet = kind == 2
    extent = root.joliet_at if joliet else root.primary_at
    size = root.joliet_size if joliet else root.primary_size
    stamp = _record_date(time.gmtime())
    root_record = _record(b"\x00", extent, size, stamp, True)
    escapes = b"%/E" if joliet else b""
    return b"".join(
        (
            struct.pack("<B", kind),
            b"CD001\x01\x00",
            _text("", 32, joliet),  # system identifier
            _text(label, 32, joliet),
            b"\x00" * 8,
            _both32(total),
            escapes.ljust(32, b"\x00"),
            _both16(1),  # volume set size
            _both16(1),  # volume sequence number
            _both16(SECTOR),
            _both32(path_table_size),
            struct.pack("<I", l_table),
            struct.pack("<I", 0),
            struct.pack(">I", m_table),
            struct.pack(">I", 0),
            root_record,
            _text("", 128, joliet),  # volume set
            _text("", 128, joliet),  # publisher
            _text("", 128, joliet),  # data preparer
            _text("VISTACK", 128, joliet),  # application
            _text("", 37, joliet),  # copyright file
            _text("", 37, joliet),  # abstract file
            _text("", 37, joliet),  # bibliographic file
            date,
            date,
            b"0" * 16 + b"\x00",  # expiration: none
            date,
            b"\x01\x00",
        )
    ).ljust(SECTOR, b"\x00")


def _text(value: str, width: int, joliet: bool) -> bytes:
    if joliet:
        encoded = value.encode("utf-16-be")
        padding = b"\x00 " * ((width - len(encoded)) // 2) + b" " * ((width - len(encoded)) % 2)
        return (encoded + padding)[:width]
    return value.encode().ljust(width, b" ")[:width]


def _rr(flags: int) -> bytes:
    return b"RR" + struct.pack("<BBB", 5, 1, flags)


def _nm(name: str) -> bytes:
    encoded = name.encode()
    return b"NM" + struct.pack("<BBB", 5 + len(encoded), 1, 0) + encoded


def _px(mode: int, links: int) -> bytes:
    """POSIX attributes, 1.09's 36-byte form (no serial number); owner root."""
    return b"PX" + struct.pack("<BB", 36, 1) + _both32(mode) + _both32(links) + _both32(0) * 2


def _sp() -> bytes:
    return b"SP" + struct.pack("<BBBBB", 7, 1, 0xBE, 0xEF, 0)


def _ce(sector: int, length: int) -> bytes:
    return b"CE" + struct.pack("<BB", 28, 1) + _both32(sector) + _both32(0) + _both32(length)


def _er_entry() -> bytes:
    body = ER_ID + ER_DESCRIPTOR + ER_SOURCE
    lengths = (len(ER_ID), len(ER_DESCRIPTOR), len(ER_SOURCE))
    return b"ER" + struct.pack("<BBBBBB", 8 + len(body), 1, *lengths, 1) + body


def _record_date(when: time.struct_time) -> bytes:
    return struct.pack(
        "<BBBBBBb",
        when.tm_year - 1900,
        when.tm_mon,
        when.tm_mday,
        when.tm_hour,
        when.tm_min,
        when.tm_sec,
        0,
    )


def _descriptor_date(when: time.struct_time) -> bytes:
    return time.strftime("%Y%m%d%H%M%S", when).encode() + b"00" + b"\x00"


def _both16(value: int) -> bytes:
    return struct.pack("<H", value) + struct.pack(">H", value)


def _both32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def _sectors(size: int) -> int:
    return max(1, -(-size // SECTOR))


def _put(image: bytearray, sector: int, data: bytes) -> None:
    start = sector * SECTOR
    image[start : start + len(data)] = data
