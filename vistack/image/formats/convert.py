"""Convert a checked qcow2 or raw image to the streamOptimized VMDK vSphere imports.

qemu-img parses untrusted bytes, so it runs the way Nova runs `qemu-img info`: under prlimit
(address space and CPU caps, so a crafted image cannot exhaust the host), with the format always
given (never probed), and with absolute paths (a relative "json:{...}" or "nbd:..." name would be a
protocol to qemu). `qemu-img info` first proves the image has no backing file and no external
data file, because `convert` would otherwise read those files into the output.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vistack.image.formats.errors import ConversionError, InvalidImage
from vistack.image.formats.facts import DISKTYPE, ImageFacts, gib_ceil
from vistack.image.formats.inspector import FormatInspector

#: Nova's limits for `qemu-img info` (nova.virt.images.QEMU_IMG_LIMITS).
_INFO_ADDRESS_SPACE = 1 << 30
_INFO_CPU_SECONDS = 30
_INFO_TIMEOUT = 60.0
#: convert keeps a few MiB of buffers per coroutine; 2 GiB leaves ample headroom.
_CONVERT_ADDRESS_SPACE = 2 << 30
SOURCE_FORMATS = ("qcow2", "raw")
#: qemu-img messages that blame the source image rather than the host.
_SOURCE_FAULTS = ("error while reading", "Marking image as corrupt", "Image is not in")
_CHUNK = 1 << 20


def convert_to_stream_optimized_vmdk(
    source: Path, source_format: str, target: Path, *, timeout: float = 600
) -> ImageFacts:
    """Write `target` as a streamOptimized VMDK of `source`; return the new VMDK's facts.

    Raises `InvalidImage` when the source is unusable (backing file, data file, unreadable),
    `ConversionError` when qemu-img cannot do its job for another reason (missing, timed out,
    disk full). `target` appears only complete: qemu-img writes a temporary file beside it.
    """
    if source_format not in SOURCE_FORMATS:
        raise ValueError(f"cannot convert {source_format!r}; only {SOURCE_FORMATS} are")
    source = source.resolve()
    target = target.resolve()
    qemu_img = _tool("qemu-img", "qemu-utils")
    virtual_size = _check_info(qemu_img, source, source_format)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        result = _run(
            [
                *(qemu_img, "convert", "-q", "-f", source_format),
                *("-O", "vmdk", "-o", "subformat=streamOptimized", str(source), str(partial)),
            ],
            timeout=timeout,
            address_space=_CONVERT_ADDRESS_SPACE,
            cpu_seconds=math.ceil(timeout),
        )
        if result is None:
            raise ConversionError(f"qemu-img convert did not finish within {timeout:g} s.")
        if result.returncode != 0:
            reason = _reason(result.stderr, source)
            if result.returncode > 0 and any(fault in result.stderr for fault in _SOURCE_FAULTS):
                raise InvalidImage(f"The {source_format} image cannot be read: {reason}")
            raise ConversionError(f"qemu-img convert failed: {reason}")
        facts = _facts_of(partial, virtual_size)
        os.replace(partial, target)
        return facts
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise ConversionError(f"{name} is not installed (Debian package {package}).")
    return path


def _run(
    args: Sequence[str], *, timeout: float, address_space: int, cpu_seconds: int
) -> subprocess.CompletedProcess[str] | None:
    """Run under prlimit (which execs the tool, so the limits bind it); None on timeout."""
    prlimit = _tool("prlimit", "util-linux")
    command = [prlimit, f"--as={address_space}", f"--cpu={cpu_seconds}", "--", *args]
    env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        return subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    except OSError as exc:
        raise ConversionError(f"cannot run {args[0]}: {exc.strerror}") from exc


def _reason(stderr: str, source: Path) -> str:
    """qemu-img's first error line, without server paths, fit to show a user."""
    line = next((text for text in stderr.splitlines() if text.strip()), "no error message")
    line = line.replace(str(source), source.name).removeprefix("qemu-img: ")
    return line[:300]


def _check_info(qemu_img: str, source: Path, source_format: str) -> int:
    """`qemu-img info`: refuse backing files, data files and encryption; the virtual size."""
    result = _run(
        [qemu_img, "info", "--output=json", "-f", source_format, str(source)],
        timeout=_INFO_TIMEOUT,
        address_space=_INFO_ADDRESS_SPACE,
        cpu_seconds=_INFO_CPU_SECONDS,
    )
    if result is None or result.returncode < 0:
        raise InvalidImage(
            "Inspecting the image took more time or memory than allowed; it was refused."
        )
    if result.returncode != 0:
        reason = _reason(result.stderr, source)
        raise InvalidImage(f"The image cannot be read as {source_format}: {reason}")
    try:
        info: Any = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise ConversionError("qemu-img info printed something that is not JSON.") from exc
    if not isinstance(info, dict) or info.get("format") != source_format:
        raise ConversionError("qemu-img info did not describe the image as expected.")
    if any(key in info for key in ("backing-filename", "full-backing-filename")):
        raise InvalidImage(
            f"{source_format} images with a backing file are refused; flatten it first."
        )
    specific = info.get("format-specific", {}).get("data", {})
    if "data-file" in specific:
        raise InvalidImage(f"{source_format} images with an external data file are refused.")
    if info.get("encrypted") or "encrypt" in specific:
        raise InvalidImage(f"Encrypted {source_format} images are refused; decrypt it first.")
    virtual_size = info.get("virtual-size")
    if not isinstance(virtual_size, int):
        raise ConversionError("qemu-img info reported no virtual size.")
    return virtual_size


def _facts_of(vmdk: Path, virtual_size: int) -> ImageFacts:
    """Check qemu-img's output like an upload; a failure there is ours, not the user's."""
    inspector = FormatInspector("vmdk", "bare", scratch_dir=vmdk.parent)
    try:
        with vmdk.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                inspector.feed(chunk)
        facts = inspector.finish()
    except InvalidImage as exc:
        raise ConversionError(f"qemu-img wrote a VMDK that fails the check: {exc}") from exc
    finally:
        inspector.abort()
    if facts.virtual_size is None or facts.virtual_size < virtual_size:
        raise ConversionError("qemu-img wrote a VMDK smaller than the source image.")
    return ImageFacts(
        virtual_size=facts.virtual_size,
        properties={DISKTYPE: "streamOptimized"},
        min_disk=gib_ceil(facts.virtual_size),
    )
