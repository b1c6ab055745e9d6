"""disk_format raw: any bytes, unless they are evidently another format.

Raw is the one format without a signature, which is why it is the disguise of choice: a qcow2
declared raw would be written to the datastore untouched and later probed as qcow2 by a tool that
follows its backing file. So the first bytes are checked against every signature `sniff` knows.
"""

from __future__ import annotations

from vistack.image.formats import sniff
from vistack.image.formats._base import Checker, HeadBuffer
from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import ImageFacts, gib_ceil

#: How to phrase "upload it as" for formats this cloud accepts under another disk_format.
_SUGGEST = {"a qcow2 image": "qcow2", "a VMDK image": "vmdk"}


def refuse_disguised(head: bytes, declared: str) -> None:
    """Raise `InvalidImage` when `head` is another known format than the `declared` one."""
    found = sniff.identify(head)
    if found is None:
        return
    advice = (
        f"; upload it with disk_format {_SUGGEST[found]}"
        if found in _SUGGEST
        else "; convert it to a supported format first"
    )
    raise InvalidImage(f"The image is declared {declared} but it is {found}{advice}.")


class RawChecker(Checker):
    """Refuses disguised formats once the first bytes are in, then only counts."""

    def __init__(self) -> None:
        self._head: HeadBuffer | None = HeadBuffer(sniff.SNIFF_BYTES)
        self._size = 0

    def feed(self, data: memoryview) -> None:
        """Count the bytes; check the head when it is complete."""
        base = self._size
        self._size += len(data)
        if self._head is not None:
            self._head.take(data, base)
            if self._head.full:
                self._check_head()

    def finish(self) -> ImageFacts:
        """Check a head shorter than the sniff window; the size is the virtual size."""
        if self._head is not None:
            self._check_head()
        return ImageFacts(virtual_size=self._size, min_disk=gib_ceil(self._size))

    def _check_head(self) -> None:
        assert self._head is not None
        head = bytes(self._head.data)
        self._head = None
        refuse_disguised(head, "raw")
