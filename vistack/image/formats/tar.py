"""A push-mode tar reader: members are handed on as their bytes arrive, never buffered.

`tarfile` wants a seekable file or reads a stream itself; an upload is neither, and buffering a
many-GiB OVA is not an option. This reader keeps only the current 512-byte header (and a GNU
long name or pax header, both bounded) and passes member content straight to a sink.

Only regular files are accepted: links, devices and directories have no place in an OVA and are
how tar archives escape the directory they are unpacked into.
"""

from __future__ import annotations

import re
import struct
from typing import Protocol

from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import quoted

BLOCK = 512
_MAX_LONG_NAME = 4096
_MAX_PAX = 64 << 10
_OCTAL = re.compile(rb"[0-7]+")
_SIGNED_SUMS = struct.Struct("148b8x356b")
_REFUSED_TYPES = {
    b"1": "a hard link",
    b"2": "a symbolic link",
    b"3": "a character device",
    b"4": "a block device",
    b"5": "a directory",
    b"6": "a FIFO",
    b"g": "a pax global header",
    b"K": "a GNU long link name",
    b"S": "a GNU sparse file",
    b"V": "a volume label",
    b"M": "a multi-volume continuation",
    b"D": "a GNU dump directory",
}
_REGULAR = (b"0", b"\0", b"7")
_HEADER, _DATA, _META, _PADDING, _END = range(5)


class TarSink(Protocol):
    """Receives the regular files of a tar stream in order."""

    def begin_member(self, name: str, size: int) -> None:
        """A regular file starts; `size` bytes of `member_data` follow."""

    def member_data(self, data: memoryview) -> None:
        """The next piece of the current member."""

    def end_member(self) -> None:
        """The current member is complete."""


class TarStream:
    """Parses ustar/GNU/pax tar from arbitrary chunks; refuses anything but regular files."""

    def __init__(self, sink: TarSink) -> None:
        self._sink = sink
        self._state = _HEADER
        self._buf = bytearray()  # the current header, or a long-name/pax payload
        self._remaining = 0  # bytes left of the current member or payload
        self._padding = 0
        self._meta_type = b""
        self._zero_blocks = 0
        self._long_name: str | None = None
        self._pax: dict[str, str] = {}

    @property
    def ended(self) -> bool:
        """Whether the end-of-archive marker (two zero blocks) has been read."""
        return self._state == _END

    def feed(self, data: memoryview) -> None:
        """Advance through `data`; every state consumes at least one byte per turn."""
        while data:
            if self._state == _DATA:
                piece = data[: self._remaining]
                data = data[len(piece) :]
                self._remaining -= len(piece)
                self._sink.member_data(piece)
                if not self._remaining:
                    self._sink.end_member()
                    self._after_payload()
            elif self._state == _HEADER:
                piece = data[: BLOCK - len(self._buf)]
                data = data[len(piece) :]
                self._buf += piece
                if len(self._buf) == BLOCK:
                    block = bytes(self._buf)
                    self._buf.clear()
                    self._on_header(block)
            elif self._state == _META:
                piece = data[: self._remaining]
                data = data[len(piece) :]
                self._remaining -= len(piece)
                self._buf += piece
                if not self._remaining:
                    self._on_meta(bytes(self._buf))
                    self._buf.clear()
                    self._after_payload()
            elif self._state == _PADDING:
                skipped = min(self._padding, len(data))
                data = data[skipped:]
                self._padding -= skipped
                if not self._padding:
                    self._state = _HEADER
            else:  # _END: what follows the end marker must be the zero fill of the record
                if bytes(data).count(0) != len(data):
                    raise InvalidImage("The OVA has data after the tar end-of-archive marker.")
                return

    def finish(self) -> None:
        """Refuse a stream that stopped before the end-of-archive marker."""
        if self._state != _END:
            raise InvalidImage(
                "The OVA ends before the tar end-of-archive marker; it looks truncated."
            )

    def _after_payload(self) -> None:
        self._state = _PADDING if self._padding else _HEADER

    def _on_header(self, block: bytes) -> None:
        if block.count(0) == BLOCK:
            if self._long_name is not None or self._pax:
                raise InvalidImage("The OVA's tar ends right after a long-name header.")
            self._zero_blocks += 1
            if self._zero_blocks == 2:
                self._state = _END
            return
        if self._zero_blocks:
            raise InvalidImage("The OVA's tar has a lone zero block between members.")
        posix = block[257:263] == b"ustar\0"
        if not posix and block[257:265] != b"ustar  \0":
            raise InvalidImage("The OVA is not a ustar, GNU or pax tar archive.")
        _check_sum(block)
        kind = block[156:157]
        size = _number(block[124:136])
        if kind in (b"L", b"x"):
            limit = _MAX_LONG_NAME if kind == b"L" else _MAX_PAX
            if size > limit:
                raise InvalidImage("The OVA's tar has an oversized long-name or pax header.")
            self._meta_type = kind
            self._start_payload(size, _META)
            if not size:
                self._on_meta(b"")
                self._after_payload()
            return
        name = self._member_name(block, posix)
        if kind not in _REGULAR:
            what = _REFUSED_TYPES.get(kind, f"an entry of type {kind!r}")
            raise InvalidImage(
                f"The OVA contains {what} ({quoted(name)}); only regular files are accepted."
            )
        if "size" in self._pax:
            size = _pax_number(self._pax["size"])
        self._long_name = None
        self._pax = {}
        self._sink.begin_member(name, size)
        self._start_payload(size, _DATA)
        if not size:
            self._sink.end_member()
            self._after_payload()

    def _start_payload(self, size: int, state: int) -> None:
        self._remaining = size
        self._padding = -size % BLOCK
        self._state = state

    def _member_name(self, block: bytes, posix: bool) -> str:
        if "path" in self._pax:
            return self._pax["path"]
        if self._long_name is not None:
            return self._long_name
        raw = block[:100].split(b"\0", 1)[0]
        prefix = block[345:500].split(b"\0", 1)[0] if posix else b""
        if prefix:
            raw = prefix + b"/" + raw
        return _text(raw)

    def _on_meta(self, payload: bytes) -> None:
        if self._meta_type == b"L":
            self._long_name = _text(payload.rstrip(b"\0"))
            return
        self._pax = _parse_pax(payload)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidImage("The OVA has a member name that is not UTF-8.") from None


def _number(field: bytes) -> int:
    """A header number: octal text, or GNU base-256 for sizes beyond 8 GiB."""
    if field[0] == 0x80:
        return int.from_bytes(field[1:], "big")
    if field[0] & 0x80:
        raise InvalidImage("The OVA's tar header has a negative number.")
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    if not _OCTAL.fullmatch(text):
        raise InvalidImage("The OVA's tar header has a malformed number.")
    return int(text, 8)


def _pax_number(text: str) -> int:
    if not text.isdigit():
        raise InvalidImage("The OVA's pax header has a malformed size.")
    return int(text)


def _check_sum(block: bytes) -> None:
    """Tar checksums count the checksum field as spaces; old tars summed signed bytes."""
    stored = _number(block[148:156])
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    signed = sum(_SIGNED_SUMS.unpack(block)) + 8 * 0x20
    if stored not in (unsigned, signed):
        raise InvalidImage("The OVA's tar header checksum is wrong; the file is damaged.")


def _parse_pax(payload: bytes) -> dict[str, str]:
    """pax records are "<length> <key>=<value>\\n", the length counting the whole record."""
    records: dict[str, str] = {}
    position = 0
    while position < len(payload):
        space = payload.find(b" ", position)
        length_text = payload[position:space]
        if space < 0 or not length_text.isdigit():
            raise InvalidImage("The OVA's pax header is malformed.")
        end = position + int(length_text)
        record = payload[space + 1 : end]
        if end > len(payload) or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidImage("The OVA's pax header is malformed.")
        key, value = record[:-1].split(b"=", 1)
        records[_text(key)] = _text(value)
        position = end
    if any(key.startswith("GNU.sparse") for key in records):
        raise InvalidImage("The OVA contains a sparse tar member; only regular files are accepted.")
    return records
