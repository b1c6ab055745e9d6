"""The interface every format checker implements, and the bounded head buffer they share.

A checker sees the image once, front to back, in chunks of any size (1 byte or 1 MiB). Only the
header region is copied, into a buffer whose size the format bounds; everything after it is
counted or skipped, so a many-GiB upload costs O(1) Python work per chunk.
"""

from __future__ import annotations

import abc

from vistack.image.formats.facts import ImageFacts


class Checker(abc.ABC):
    """One format's push-mode validator; `FormatInspector` drives it."""

    @abc.abstractmethod
    def feed(self, data: memoryview) -> None:
        """Take the next bytes; raise `InvalidImage` as soon as they prove the image wrong."""

    @abc.abstractmethod
    def finish(self) -> ImageFacts:
        """End of stream: raise `InvalidImage` when truncated or inconsistent, else the facts."""

    def abort(self) -> None:
        """Release scratch resources; idempotent. Most checkers hold none."""
        return


class HeadBuffer:
    """The first `want` bytes of a stream, copied once; `want` may grow up to a hard limit.

    Growing lets a format read a fixed header first and then the variable-length region the
    header points at (a VMDK descriptor), without ever buffering more than the limit.
    """

    def __init__(self, want: int) -> None:
        self.data = bytearray()
        self.want = want

    def take(self, data: memoryview, base: int) -> None:
        """Copy what is still wanted from `data`, which starts at stream offset `base`.

        Taking by offset lets a checker that grew `want` take again from the same chunk.
        """
        start = len(self.data) - base
        stop = self.want - base
        if stop > start:
            self.data += data[start:stop]

    @property
    def full(self) -> bool:
        """Whether all wanted bytes have arrived."""
        return len(self.data) >= self.want
