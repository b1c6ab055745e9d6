"""container_format ova: a tar holding an OVF descriptor first, then the disks it references.

The OVF comes first (the OVF spec requires it), which is what makes a one-pass check possible:
by the time a disk member streams past, the descriptor has said which files exist, so every
member is either expected or refused, and every disk is fed to a nested VMDK checker as its bytes
arrive. Nova's vmwareapi driver imports the first disk as a streamOptimized VMDK, so that is what
each disk must be.
"""

from __future__ import annotations

from collections.abc import Mapping

from vistack.image.formats._base import Checker
from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import (
    ADAPTERTYPE,
    DISKTYPE,
    OSTYPE,
    ImageFacts,
    gib_ceil,
    is_bare_name,
    quoted,
)
from vistack.image.formats.ovf import MAX_OVF_BYTES, Ovf, parse_ovf
from vistack.image.formats.tar import TarStream
from vistack.image.formats.vmdk import VmdkChecker

#: Members an OVA may carry without the OVF listing them: the manifest and its certificate.
_UNLISTED_SUFFIXES = (".mf", ".cert")


class OvaChecker(Checker):
    """Checks the tar structure, the OVF, and each disk member as a streamOptimized VMDK."""

    def __init__(self, declared: Mapping[str, str]) -> None:
        self._declared = declared
        self._tar = TarStream(self)
        self._members: dict[str, int] = {}
        self._ovf_buf: bytearray | None = None
        self._ovf: Ovf | None = None
        self._disk: VmdkChecker | None = None
        self._disk_name = ""
        self._disk_facts: dict[str, ImageFacts] = {}

    def feed(self, data: memoryview) -> None:
        """Run the tar parser, which calls back for each member's bytes."""
        self._tar.feed(data)

    def finish(self) -> ImageFacts:
        """Refuse a truncated tar or a missing file; report the OVF's and first disk's facts."""
        self._tar.finish()
        ovf = self._ovf
        if ovf is None:
            raise InvalidImage("The OVA contains no OVF descriptor.")
        for href in ovf.files:
            if href not in self._members:
                raise InvalidImage(f"The OVF lists {quoted(href)} but the OVA does not contain it.")
        primary = ovf.primary_disk
        if primary is None or primary.href is None:
            raise InvalidImage("The OVF describes no disk with content.")
        disk = self._disk_facts[primary.href]
        properties = {DISKTYPE: "streamOptimized"}
        if ovf.os_type and OSTYPE not in self._declared:
            properties[OSTYPE] = ovf.os_type
        if ovf.adapter_type and ADAPTERTYPE not in self._declared:
            properties[ADAPTERTYPE] = ovf.adapter_type
        return ImageFacts(
            virtual_size=disk.virtual_size,
            properties=properties,
            min_ram=ovf.memory_mib,
            min_disk=gib_ceil(max(primary.capacity, disk.virtual_size or 0)),
        )

    # -- TarSink ---------------------------------------------------------------------------

    def begin_member(self, name: str, size: int) -> None:
        """Decide what a member is: the OVF, a disk to check, or a listed file to skip."""
        if not is_bare_name(name):
            raise InvalidImage(
                f"The OVA contains {quoted(name)}; member names must be bare file names "
                "(no directories, no '..')."
            )
        if name in self._members:
            raise InvalidImage(f"The OVA contains {quoted(name)} twice.")
        first = not self._members
        self._members[name] = size
        if first:
            if not name.lower().endswith(".ovf"):
                raise InvalidImage(
                    f"The first file in an OVA must be its .ovf descriptor, not {quoted(name)}."
                )
            if size > MAX_OVF_BYTES:
                raise InvalidImage("The OVF descriptor is larger than 1 MiB, which is refused.")
            self._ovf_buf = bytearray()
            return
        ovf = self._ovf
        assert ovf is not None
        if name not in ovf.files:
            if name.lower().endswith(_UNLISTED_SUFFIXES):
                return
            raise InvalidImage(f"The OVA contains {quoted(name)}, which its OVF does not list.")
        declared_size = ovf.files[name]
        if declared_size is not None and declared_size != size:
            raise InvalidImage(
                f"The OVF says {quoted(name)} is {declared_size} bytes but the OVA holds {size}."
            )
        if name in ovf.disk_files or name.lower().endswith(".vmdk"):
            self._disk = VmdkChecker(require_stream=True, what=f"disk {quoted(name)}")
            self._disk_name = name

    def member_data(self, data: memoryview) -> None:
        """Buffer the (bounded) OVF; stream disk bytes to the nested VMDK checker."""
        if self._ovf_buf is not None:
            self._ovf_buf += data
        elif self._disk is not None:
            self._disk.feed(data)

    def end_member(self) -> None:
        """Parse the complete OVF, or take the verdict on the complete disk."""
        if self._ovf_buf is not None:
            self._ovf = parse_ovf(bytes(self._ovf_buf))
            self._ovf_buf = None
        elif self._disk is not None:
            self._disk_facts[self._disk_name] = self._disk.finish()
            self._disk = None
