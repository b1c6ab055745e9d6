"""Read an OVF descriptor (the XML inside an OVA) without trusting it.

The XML is the uploader's: a DOCTYPE can declare entities that read local files (XXE) or expand
exponentially (billion laughs), so a first expat pass refuses any DOCTYPE or entity declaration
before ElementTree builds a tree. Elements are matched by local name, because OVF 1.x and 2.x use
different envelope namespaces for the same structure.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import NoReturn
from xml.parsers import expat

from vistack.image.formats.errors import InvalidImage
from vistack.image.formats.facts import MIB, is_bare_name, quoted

#: The descriptor is buffered whole; anything larger is not a hand-sized VM description.
MAX_OVF_BYTES = 1 << 20
_VMW = "{http://www.vmware.com/schema/ovf}"
_UNITS = re.compile(r"byte(?:\s*\*\s*(\d+)(?:\s*\^\s*(\d+))?)?")
_NAMED_UNITS = {
    "bytes": 1,
    "kilobytes": 1 << 10,
    "megabytes": 1 << 20,
    "gigabytes": 1 << 30,
    "terabytes": 1 << 40,
}
#: CIM ResourceType numbers used here.
_MEMORY, _IDE, _SCSI, _DISK = "4", "5", "6", "17"
#: A SCSI controller's ResourceSubType -> Nova's vmware_adaptertype.
_SCSI_ADAPTERS = {
    "lsilogic": "lsiLogic",
    "buslogic": "busLogic",
    "lsilogicsas": "lsiLogicsas",
    "virtualscsi": "paraVirtual",
}


@dataclass(frozen=True)
class OvfDisk:
    """One DiskSection entry: its file (if it has content) and its capacity in bytes."""

    disk_id: str
    href: str | None
    capacity: int


@dataclass(frozen=True)
class Ovf:
    """What an OVA checker needs from the descriptor."""

    files: dict[str, int | None]  # href -> declared size
    disks: tuple[OvfDisk, ...]
    os_type: str | None
    adapter_type: str | None
    memory_mib: int | None

    @property
    def disk_files(self) -> frozenset[str]:
        """The hrefs holding disk content: these members are checked as VMDKs."""
        return frozenset(disk.href for disk in self.disks if disk.href)

    @property
    def primary_disk(self) -> OvfDisk | None:
        """The first disk with content: the one Nova's vmwareapi driver boots from."""
        return next((disk for disk in self.disks if disk.href), None)


class _Declaration(Exception):
    """Raised from inside expat when the document declares a DOCTYPE or an entity."""


def _refuse_declaration(*_args: object) -> NoReturn:
    raise _Declaration


def _refuse_dtd(data: bytes) -> None:
    """Parse once with bare expat, failing on any DOCTYPE, entity or external reference."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_declaration
    parser.EntityDeclHandler = _refuse_declaration
    parser.UnparsedEntityDeclHandler = _refuse_declaration
    parser.ExternalEntityRefHandler = _refuse_declaration
    try:
        parser.Parse(data, True)
    except _Declaration:
        raise InvalidImage(
            "The OVF descriptor declares a DOCTYPE or entities, which are refused."
        ) from None
    except expat.ExpatError as exc:
        raise InvalidImage(f"The OVF descriptor is not well-formed XML: {exc}.") from None


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _children(element: ET.Element, local: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == local]


def _child(element: ET.Element, local: str) -> ET.Element | None:
    found = _children(element, local)
    return found[0] if found else None


def _attr(element: ET.Element, local: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == local:
            return value
    return None


def _integer(text: str | None, what: str) -> int:
    if text is None:
        raise InvalidImage(f"The OVF does not give {what}.")
    if not text.strip().isdigit():
        raise InvalidImage(f"The OVF gives {what} as {quoted(text)}, which is not a whole number.")
    return int(text.strip())


def allocation_units(text: str | None, default: str) -> int:
    """Bytes per unit for a DMTF allocation-unit string such as "byte * 2^20"."""
    units = (text or default).strip()
    named = _NAMED_UNITS.get(units.lower())
    if named is not None:
        return named
    match = _UNITS.fullmatch(units)
    if match is None:
        raise InvalidImage(
            f"The OVF uses allocation units {quoted(units)}, which are not understood."
        )
    base, exponent = match.groups()
    if base is None:
        return 1
    if exponent is None:
        return int(base)
    if int(exponent) > 64:
        raise InvalidImage(f"The OVF uses allocation units {quoted(units)}, which are too large.")
    power: int = int(base) ** int(exponent)
    return power


def parse_ovf(data: bytes) -> Ovf:
    """Refuse unsafe or inconsistent descriptors; extract files, disks and VM hardware."""
    _refuse_dtd(data)
    root = ET.fromstring(data)
    if _local(root.tag) != "Envelope":
        raise InvalidImage("The OVF descriptor's root element is not an Envelope.")
    files, ids = _references(root)
    disks = _disks(root, ids)
    if _child(root, "VirtualSystemCollection") is not None:
        raise InvalidImage("The OVA describes several virtual machines; upload one at a time.")
    system = _child(root, "VirtualSystem")
    if system is None:
        raise InvalidImage("The OVF descriptor has no VirtualSystem.")
    os_section = _child(system, "OperatingSystemSection")
    os_type = None
    if os_section is not None:
        os_type = os_section.get(f"{_VMW}osType") or _attr(os_section, "osType")
    hardware = _child(system, "VirtualHardwareSection")
    items = _items(hardware) if hardware is not None else []
    primary = next((disk for disk in disks if disk.href), None)
    return Ovf(
        files=files,
        disks=disks,
        os_type=os_type,
        adapter_type=_adapter(items, primary.disk_id if primary else None),
        memory_mib=_memory(items),
    )


def _references(root: ET.Element) -> tuple[dict[str, int | None], dict[str, str]]:
    """The References section: href -> declared size, and file id -> href."""
    files: dict[str, int | None] = {}
    ids: dict[str, str] = {}
    section = _child(root, "References")
    for element in _children(section, "File") if section is not None else []:
        href = _attr(element, "href") or ""
        if not is_bare_name(href):
            raise InvalidImage(
                f"The OVF references {quoted(href)}; only bare file names inside the OVA are "
                "accepted."
            )
        if href in files:
            raise InvalidImage(f"The OVF references {quoted(href)} twice.")
        if _attr(element, "compression") not in (None, "identity"):
            raise InvalidImage(
                f"The OVF's file {quoted(href)} is compressed, which is not supported."
            )
        if _attr(element, "chunkSize") is not None:
            raise InvalidImage(
                f"The OVF's file {quoted(href)} is split in chunks; upload it whole."
            )
        size = _attr(element, "size")
        files[href] = None if size is None else _integer(size, f"the size of {quoted(href)}")
        ids[_attr(element, "id") or ""] = href
    return files, ids


def _disks(root: ET.Element, ids: dict[str, str]) -> tuple[OvfDisk, ...]:
    disks = []
    section = _child(root, "DiskSection")
    for element in _children(section, "Disk") if section is not None else []:
        disk_id = _attr(element, "diskId") or ""
        file_ref = _attr(element, "fileRef")
        if file_ref is not None and file_ref not in ids:
            raise InvalidImage(f"The OVF's disk {quoted(disk_id)} refers to an unknown file.")
        capacity = _integer(_attr(element, "capacity"), f"the capacity of disk {quoted(disk_id)}")
        unit = allocation_units(_attr(element, "capacityAllocationUnits"), "byte")
        disks.append(
            OvfDisk(
                disk_id=disk_id,
                href=ids[file_ref] if file_ref is not None else None,
                capacity=capacity * unit,
            )
        )
    return tuple(disks)


def _items(hardware: ET.Element) -> list[dict[str, str]]:
    """Each hardware item as {rasd field local name: text}."""
    return [
        {_local(field.tag): (field.text or "").strip() for field in item}
        for item in hardware
        if _local(item.tag) in ("Item", "StorageItem", "EthernetPortItem")
    ]


def _memory(items: list[dict[str, str]]) -> int | None:
    """Memory in MiB, rounded up; VMware's default unit is MB."""
    for item in items:
        if item.get("ResourceType") == _MEMORY:
            quantity = _integer(item.get("VirtualQuantity"), "the memory size")
            unit = allocation_units(item.get("AllocationUnits"), "byte * 2^20")
            return -(-(quantity * unit) // MIB)
    return None


def _adapter(items: list[dict[str, str]], disk_id: str | None) -> str | None:
    """The adapter type of the controller the boot disk hangs off (else the first one)."""
    controllers = {
        item.get("InstanceID", ""): item
        for item in items
        if item.get("ResourceType") in (_IDE, _SCSI)
    }
    chosen = None
    if disk_id is not None:
        for item in items:
            host = item.get("HostResource", "")
            if item.get("ResourceType") == _DISK and host.endswith(f"/disk/{disk_id}"):
                chosen = controllers.get(item.get("Parent", ""))
                break
    if chosen is None and controllers:
        chosen = next(iter(controllers.values()))
    if chosen is None:
        return None
    if chosen.get("ResourceType") == _IDE:
        return "ide"
    return _SCSI_ADAPTERS.get(chosen.get("ResourceSubType", "").lower())
