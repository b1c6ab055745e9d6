"""Builders of real, small image files for tests: qemu-img, pycdlib and tarfile make them.

Checkers are only as good as the files they are tested against, so these are made by the tools
that make real images (qemu-img for qcow2/VMDK, pycdlib for ISO, tarfile for OVA), with some
random data so no disk is empty. Hostile variants are made by patching real files, keeping their
size, so that only the one property under test is wrong. Builders that need qemu-img skip the
test when it is missing (Debian package qemu-utils).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pycdlib
import pytest

MIB = 1 << 20
#: The VMDK sparse extent header, little-endian, up to compressAlgorithm.
VMDK_HEADER = struct.Struct("<4sIIQQQQIQQQ?ccccH")
GD_AT_END = 0xFFFFFFFFFFFFFFFF


def qemu_img() -> str:
    """The qemu-img binary, or skip the calling test."""
    path = shutil.which("qemu-img")
    if path is None:
        pytest.skip("qemu-img is not installed (Debian package qemu-utils)")
    return path


def run_qemu_img(*args: str | Path) -> str:
    """Run qemu-img, failing the test with its stderr on error; its stdout."""
    result = subprocess.run(
        [qemu_img(), *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"qemu-img {' '.join(map(str, args))}: {result.stderr}")
    return result.stdout


def _size_bytes(size: str) -> int:
    units = {"K": 1 << 10, "M": MIB, "G": 1 << 30}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


def make_raw(directory: Path, *, name: str = "disk.raw", size: str = "8M") -> Path:
    """A sparse raw disk of `size` with 64 KiB of random data at 0 and at 1 MiB."""
    path = directory / name
    with path.open("wb") as stream:
        stream.write(os.urandom(64 << 10))
        stream.seek(MIB)
        stream.write(os.urandom(64 << 10))
        stream.truncate(max(_size_bytes(size), MIB + (64 << 10)))
    return path


def make_vmdk(
    directory: Path,
    *,
    subformat: str = "streamOptimized",
    size: str = "8M",
    name: str = "disk.vmdk",
) -> Path:
    """A streamOptimized or monolithicSparse VMDK converted by qemu-img from a raw disk."""
    qemu_img()
    scratch = directory / f".{name}.seed"
    make_raw(directory, name=scratch.name, size=size)
    path = directory / name
    run_qemu_img(
        "convert", "-f", "raw", "-O", "vmdk", "-o", f"subformat={subformat}", scratch, path
    )
    scratch.unlink()
    return path


def make_qemu_stream_vmdk(
    directory: Path,
    content: bytes,
    *,
    source_format: str = "raw",
    name: str = "small.vmdk",
) -> Path:
    """A streamOptimized VMDK qemu-img converts from a raw (or qcow2) disk holding `content`.

    Unlike `make_vmdk`, the disk may be tiny or end in a partial grain: then qemu-img zero-fills
    the last grain's cluster, so the file ends in up to 64 KiB of zeros and no end-of-stream
    marker (grain directory at the front, overHead 128 sectors, the first grain at 0x10000).
    """
    qemu_img()
    seed = directory / f".{name}.raw"
    seed.write_bytes(content)
    source = seed
    if source_format == "qcow2":
        source = directory / f".{name}.qcow2"
        run_qemu_img("convert", "-f", "raw", "-O", "qcow2", seed, source)
    path = directory / name
    run_qemu_img(
        "convert",
        *("-f", source_format, "-O", "vmdk", "-o", "subformat=streamOptimized"),
        *(source, path),
    )
    seed.unlink()
    source.unlink(missing_ok=True)
    return path


def make_qcow2(
    directory: Path,
    *,
    backing: Path | None = None,
    name: str = "disk.qcow2",
    options: str = "",
) -> Path:
    """A qcow2 v3 of 8 MiB with data; with `backing`, an empty overlay on that file.

    `options` adds qemu-img -o options (e.g. "compat=0.10" for v2, "data_file=..." for an
    external data file).
    """
    path = directory / name
    extra = ["-o", options] if options else []
    if backing is not None:
        info = json.loads(run_qemu_img("info", "--output=json", backing))
        run_qemu_img(
            "create", "-f", "qcow2", *extra, "-b", backing.resolve(), "-F", info["format"], path
        )
        return path
    seed = make_raw(directory, name=f".{name}.seed")
    if options:
        run_qemu_img("create", "-f", "qcow2", *extra, path, "8M")
        run_qemu_img("convert", "-n", "-f", "raw", "-O", "qcow2", seed, path)
    else:
        run_qemu_img("convert", "-f", "raw", "-O", "qcow2", seed, path)
    seed.unlink()
    return path


def make_iso(directory: Path, *, name: str = "disk.iso") -> Path:
    """An ISO 9660 image holding one small file, written by pycdlib."""
    path = directory / name
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident="VISTACK")
    content = b"hello from vistack\n" * 100
    iso.add_fp(io.BytesIO(content), len(content), "/HELLO.TXT;1")
    iso.write(str(path))
    iso.close()
    return path


def read_vmdk_header(data: bytes) -> tuple[Any, ...]:
    """The VMDK header fields (magic, version, flags, capacity, grainSize, descriptorOffset,
    descriptorSize, numGTEsPerGT, rgdOffset, gdOffset, overHead, ...)."""
    return VMDK_HEADER.unpack_from(data)


def patch_vmdk_descriptor(path: Path, edit: Callable[[str], str]) -> Path:
    """Rewrite the embedded descriptor of a sparse VMDK in place, keeping the file size."""
    data = bytearray(path.read_bytes())
    header = read_vmdk_header(bytes(data))
    offset, sectors = header[5] * 512, header[6] * 512
    text = bytes(data[offset : offset + sectors]).split(b"\0", 1)[0].decode()
    new = edit(text).encode()
    assert len(new) <= sectors, "the edited descriptor must fit its region"
    data[offset : offset + sectors] = new.ljust(sectors, b"\0")
    path.write_bytes(bytes(data))
    return path


def make_vmdk_with_extent(
    directory: Path, extent_path: str = "/etc/passwd", *, name: str = "evil.vmdk"
) -> Path:
    """A real monolithicSparse VMDK whose embedded descriptor's extent names another file.

    This is the Glance/Nova VMDK vulnerability class: qemu-img would read `extent_path`.
    """
    path = make_vmdk(directory, subformat="monolithicSparse", name=name)
    return patch_vmdk_descriptor(path, lambda text: text.replace(f'"{name}"', f'"{extent_path}"'))


def make_text_descriptor(directory: Path, *, name: str = "descriptor.vmdk") -> Path:
    """A plain-text VMDK descriptor (monolithicFlat) pointing at a separate flat file."""
    path = directory / name
    path.write_text(
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=fffffffe\n"
        "parentCID=ffffffff\n"
        'createType="monolithicFlat"\n'
        "\n"
        "# Extent description\n"
        'RW 16384 FLAT "disk-flat.vmdk" 0\n'
        "\n"
        "# The Disk Data Base\n"
        "#DDB\n"
        'ddb.adapterType = "lsilogic"\n'
    )
    return path


def vmware_grain_content(index: int) -> bytes:
    """What grain `index` of `make_vmware_stream_vmdk` holds (64 KiB, never all zeros)."""
    return (index + 1).to_bytes(4, "little") * (16 << 10)


def make_vmware_stream_vmdk(
    directory: Path, *, name: str = "vmware.vmdk", grains: Sequence[int] = (0, 3, 130)
) -> Path:
    """A streamOptimized VMDK laid out as VMware writes it (qemu-img cannot).

    Grain directory at the end: header gdOffset = GD_AT_END, then grains, grain-table markers,
    the grain-directory marker, the footer marker, the footer header (KDMV at size-1024) and
    the end-of-stream marker. 16 MiB capacity, 64 KiB grains holding `vmware_grain_content`.
    """
    grain_sectors, capacity = 128, 16 * MIB // 512
    descriptor = (
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        'createType="streamOptimized"\n\n# Extent description\n'
        f'RDONLY {capacity} SPARSE "{name}"\n\n# The Disk Data Base\n#DDB\n\n'
        'ddb.adapterType = "lsilogic"\nddb.virtualHWVersion = "4"\n'
    ).encode()

    def header(gd_offset: int) -> bytes:
        fields = (b"KDMV", 3, 0x30001, capacity, grain_sectors, 1, 20, 512, 0, gd_offset, 128)
        tail = (False, b"\n", b" ", b"\r", b"\n", 1)
        return VMDK_HEADER.pack(*fields, *tail).ljust(512, b"\0")

    def pad(out: bytearray) -> None:
        out += b"\0" * (-len(out) % 512)

    out = bytearray(header(GD_AT_END) + descriptor.ljust(20 * 512, b"\0"))
    out += b"\0" * (128 * 512 - len(out))
    tables: dict[int, list[int]] = {}
    for index in sorted(grains):
        tables.setdefault(index // 512, [0] * 512)[index % 512] = len(out) // 512
        compressed = zlib.compress(vmware_grain_content(index))
        out += struct.pack("<QI", index * grain_sectors, len(compressed)) + compressed
        pad(out)
    directory_entries = [0] * -(-capacity // (grain_sectors * 512))
    for table, entries in sorted(tables.items()):
        out += struct.pack("<QII", 4, 0, 1).ljust(512, b"\0")
        directory_entries[table] = len(out) // 512
        out += struct.pack("<512I", *entries)
    gd = struct.pack(f"<{len(directory_entries)}I", *directory_entries)
    out += struct.pack("<QII", -(-len(gd) // 512), 0, 2).ljust(512, b"\0")
    gd_sector = len(out) // 512
    out += gd
    pad(out)
    out += struct.pack("<QII", 1, 0, 3).ljust(512, b"\0")
    out += header(gd_sector)
    out += b"\0" * 512  # end-of-stream marker
    path = directory / name
    path.write_bytes(bytes(out))
    return path


_CONTROLLER = """      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>{kind} controller 0</rasd:ElementName>
        <rasd:InstanceID>{instance}</rasd:InstanceID>
        {subtype}<rasd:ResourceType>{resource_type}</rasd:ResourceType>
      </Item>
"""


def ovf_descriptor(
    *,
    disk_name: str,
    disk_size: int,
    capacity_mib: int,
    os_type: str,
    memory_mb: int,
    adapter: str,
    extra_references: Sequence[str] = (),
) -> str:
    """An OVF 1.0 envelope like ovftool writes: one VM, one disk, IDE and SCSI controllers."""
    files = f'    <File ovf:href="{disk_name}" ovf:id="file1" ovf:size="{disk_size}"/>\n'
    for number, href in enumerate(extra_references, start=2):
        files += f'    <File ovf:href="{href}" ovf:id="file{number}"/>\n'
    ide = _CONTROLLER.format(kind="IDE", instance=3, subtype="", resource_type=5)
    scsi = _CONTROLLER.format(
        kind="SCSI",
        instance=4,
        subtype=f"<rasd:ResourceSubType>{adapter}</rasd:ResourceSubType>\n        ",
        resource_type=6,
    )
    parent = 3 if adapter == "ide" else 4
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-1" xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
{files}  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{capacity_mib}" ovf:capacityAllocationUnits="byte * 2^20"
        ovf:diskId="vmdisk1" ovf:fileRef="file1"
        ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="vm">
    <Info>A virtual machine</Info>
    <Name>vm</Name>
    <OperatingSystemSection ovf:id="94" vmw:osType="{os_type}">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>1 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>{memory_mb}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{memory_mb}</rasd:VirtualQuantity>
      </Item>
{ide}{scsi}      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:Parent>{parent}</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


Member = tuple[str, bytes] | tarfile.TarInfo


def make_ova(
    directory: Path,
    *,
    name: str = "image.ova",
    os_type: str = "ubuntu64Guest",
    memory_mb: int = 512,
    adapter: str = "lsilogic",
    truncate: bool = False,
    extra_members: Sequence[Member] = (),
    extra_references: Sequence[str] = (),
    disk: Path | None = None,
    disk_name: str = "disk.vmdk",
    tar_format: int = tarfile.USTAR_FORMAT,
    ovf_first: bool = True,
    ovf_transform: Callable[[str], str] | None = None,
) -> Path:
    """An OVA (tar) with an OVF descriptor, a manifest and a streamOptimized VMDK.

    `extra_members` are appended: (name, content) pairs as regular files, or TarInfo entries
    as they are (links, directories, devices). `truncate` cuts the file inside the disk.
    `ovf_transform` edits the OVF text (DOCTYPEs, wrong sizes, ...).
    """
    disk = disk if disk is not None else make_vmdk(directory, name=f".{name}.vmdk")
    disk_bytes = disk.read_bytes()
    ovf = ovf_descriptor(
        disk_name=disk_name,
        disk_size=len(disk_bytes),
        capacity_mib=8,
        os_type=os_type,
        memory_mb=memory_mb,
        adapter=adapter,
        extra_references=extra_references,
    )
    if ovf_transform is not None:
        ovf = ovf_transform(ovf)
    ovf_bytes = ovf.encode()
    manifest = b"SHA256(vm.ovf)= 00\nSHA256(" + disk_name.encode() + b")= 00\n"
    members: list[Member] = [("vm.ovf", ovf_bytes), ("vm.mf", manifest), (disk_name, disk_bytes)]
    if not ovf_first:
        members = [members[2], members[0], members[1]]
    members += list(extra_members)
    path = directory / name
    with tarfile.open(path, "w", format=tar_format) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member, io.BytesIO(b"\0" * member.size) if member.isreg() else None)
                continue
            info = tarfile.TarInfo(member[0])
            info.size = len(member[1])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(member[1]))
    if truncate:
        with tarfile.open(path) as tar:
            entry = tar.getmember(disk_name)
        with path.open("r+b") as stream:
            stream.truncate(entry.offset_data + entry.size // 2)
    return path


def tar_entry(name: str, kind: bytes, *, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    """A TarInfo of any type, for `make_ova(extra_members=...)`."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = size
    return info
