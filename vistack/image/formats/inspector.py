"""`FormatInspector`: the one object the upload path feeds an image's bytes through.

It picks the checker for the declared disk/container formats, refuses combinations this cloud
cannot boot, and remembers the first refusal so a caller that keeps feeding after an error gets
the same answer instead of a confusing second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from vistack.image.formats._base import Checker
from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import ADAPTERTYPE, DISKTYPE, ImageFacts, quoted
from vistack.image.formats.iso import IsoChecker
from vistack.image.formats.ova import OvaChecker
from vistack.image.formats.qcow2 import Qcow2Checker
from vistack.image.formats.raw import RawChecker
from vistack.image.formats.vmdk import VmdkChecker

SUPPORTED_DISK_FORMATS: tuple[str, ...] = ("raw", "qcow2", "vmdk", "iso")
SUPPORTED_CONTAINER_FORMATS: tuple[str, ...] = ("bare", "ova")
_NO_PROPERTIES: Mapping[str, str] = MappingProxyType({})


def _make_checker(
    disk_format: str, container_format: str, declared: Mapping[str, str], scratch_dir: Path
) -> Checker:
    """The checker for a combination, or `InvalidImage` naming what is accepted."""
    if container_format not in SUPPORTED_CONTAINER_FORMATS:
        raise InvalidImage(
            f"container_format {quoted(container_format)} is not supported; accepted: "
            f"{', '.join(SUPPORTED_CONTAINER_FORMATS)}."
        )
    if disk_format not in SUPPORTED_DISK_FORMATS:
        raise InvalidImage(
            f"disk_format {quoted(disk_format)} is not supported; accepted: "
            f"{', '.join(SUPPORTED_DISK_FORMATS)}."
        )
    if container_format == "ova":
        if disk_format != "vmdk":
            raise InvalidImage(
                "container_format ova needs disk_format vmdk; accepted combinations: bare with "
                f"{', '.join(SUPPORTED_DISK_FORMATS)}, or ova with vmdk."
            )
        return OvaChecker(declared)
    if disk_format == "raw":
        return RawChecker()
    if disk_format == "qcow2":
        return Qcow2Checker()
    if disk_format == "iso":
        return IsoChecker(scratch_dir)
    return VmdkChecker(declared.get(DISKTYPE), declared_adapter=ADAPTERTYPE in declared)


class FormatInspector:
    """Checks an image's bytes as they stream past; see the package docstring for the rules.

    Call `feed` with each chunk, then `finish` for the facts; call `abort` whenever the upload
    does not end in a successful `finish` (it is idempotent, and harmless after `finish`).
    """

    def __init__(
        self,
        disk_format: str,
        container_format: str,
        *,
        declared: Mapping[str, str] = _NO_PROPERTIES,
        scratch_dir: Path,
    ) -> None:
        self._checker = _make_checker(disk_format, container_format, declared, scratch_dir)
        self._bytes_seen = 0
        self._error: InvalidImage | None = None
        self._finished = False

    @property
    def bytes_seen(self) -> int:
        """How many bytes `feed` has been given."""
        return self._bytes_seen

    def feed(self, chunk: bytes) -> None:
        """Check the next chunk; raise `InvalidImage` as soon as the bytes prove it wrong."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("feed() after finish()")
        self._bytes_seen += len(chunk)
        if not chunk:
            return
        try:
            self._checker.feed(memoryview(chunk))
        except InvalidImage as exc:
            self._error = exc
            raise

    def finish(self) -> ImageFacts:
        """End of stream: the facts, or `InvalidImage` for a truncated or inconsistent image."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("finish() called twice")
        self._finished = True
        try:
            return self._checker.finish()
        except InvalidImage as exc:
            self._error = exc
            raise

    def abort(self) -> None:
        """Release scratch files; safe to call any number of times."""
        self._checker.abort()
