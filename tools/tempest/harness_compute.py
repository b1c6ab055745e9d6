"""What Tempest's compute tests need from the cloud before they start, made as the admin.

Tempest boots servers from `[compute] image_ref`/`image_ref_alt`, asks for microversions within
`[compute] min_microversion`..`max_microversion`, and plugs servers into a network. A devstack
has the images and networks from its installer; a fresh vistack has neither, so the harness
finds or makes them:

- the microversion range is read from the compute endpoint's version document (never assumed:
  vistack advertises a version only once everything up to it works);
- two small VMDK images (qemu-img makes the disk; VMDK is the one format vistack boots), public
  so every Tempest project can boot them, reused on later runs against the same cloud;
- a shared network with a subnet, only when the cloud has no routers: then Tempest cannot give
  each test project its own network+subnet+router (`[auth] create_isolated_networks`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from harness_common import HarnessError, api_call, log, service_url
from harness_tables import COMPUTE_IMAGE_SIZE, COMPUTE_IMAGES, SHARED_NETWORK, SHARED_SUBNET


@dataclasses.dataclass(frozen=True)
class ComputeInfo:
    min_microversion: str | None  # None: the endpoint has no microversions
    max_microversion: str | None
    image_ref: str
    image_ref_alt: str
    # Enabled, up compute nodes (a vSphere cluster each); Tempest's multi-node tests need 2.
    compute_nodes: int = 1
    # The shared network servers use when projects get no network of their own (no L3).
    fixed_network_name: str | None = None


def prepare_compute(
    catalog: list[dict[str, Any]],
    token_id: str,
    timeout: float,
    scratch: Path,
    *,
    isolated_networks: bool,
) -> ComputeInfo | None:
    """Everything compute tests need, or None when the catalog has no compute service."""
    compute = service_url(catalog, "compute")
    if compute is None:
        return None
    low, high = compute_microversions(compute, token_id, timeout)
    nodes = compute_nodes(compute, token_id, timeout)
    image = service_url(catalog, "image")
    if image is None:
        raise HarnessError("the catalog has compute but no image service to boot servers from")
    image_ref, image_ref_alt = ensure_images(image, token_id, timeout, scratch)
    network = service_url(catalog, "network")
    fixed = None
    if not isolated_networks and network is not None:
        fixed = ensure_shared_network(network, token_id, timeout)
    return ComputeInfo(low, high, image_ref, image_ref_alt, nodes, fixed)


def compute_microversions(url: str, token_id: str, timeout: float) -> tuple[str | None, str | None]:
    """(min_version, version) of the catalog's compute endpoint (e.g. .../compute/v2.1)."""
    document = api_call(url + "/", token_id, timeout) or {}
    version: dict[str, Any] = document.get("version") or {}
    if not version:
        raise HarnessError(f"GET {url}/ gave no version document: {document}")
    high = str(version.get("version") or "") or None
    low = str(version.get("min_version") or "") or None
    return (low, high) if high else (None, None)


def compute_nodes(url: str, token_id: str, timeout: float) -> int:
    """How many hypervisors are enabled and up (at least 1, Tempest's default)."""
    listed = (api_call(url + "/os-hypervisors", token_id, timeout) or {}).get("hypervisors")
    up = [h for h in listed or [] if h.get("status") == "enabled" and h.get("state") == "up"]
    return max(1, len(up))


def ensure_images(base: str, token_id: str, timeout: float, scratch: Path) -> tuple[str, str]:
    """The ids of the public VMDK images COMPUTE_IMAGES, uploaded when missing."""
    ids: list[str] = []
    disk: bytes | None = None
    for name in COMPUTE_IMAGES:
        listed = api_call(f"{base}/v2/images?name={name}", token_id, timeout) or {}
        usable = [
            i
            for i in listed.get("images") or []
            if i.get("status") == "active"
            and i.get("disk_format") == "vmdk"
            and i.get("visibility") == "public"
        ]
        if usable:
            ids.append(str(usable[0]["id"]))
            continue
        if disk is None:
            disk = make_vmdk(scratch).read_bytes()
        ids.append(upload_image(base, token_id, timeout, name, disk))
    return ids[0], ids[1]


def upload_image(base: str, token_id: str, timeout: float, name: str, disk: bytes) -> str:
    body = {"name": name, "disk_format": "vmdk", "container_format": "bare",
            "visibility": "public"}  # fmt: skip
    image = api_call(f"{base}/v2/images", token_id, timeout, body)
    image_id = str(image["id"])
    api_call(f"{base}/v2/images/{image_id}/file", token_id, timeout, method="PUT", data=disk)
    deadline = time.monotonic() + timeout
    while True:
        status = (api_call(f"{base}/v2/images/{image_id}", token_id, timeout) or {}).get("status")
        if status == "active":
            log(f"uploaded VMDK image {name} ({image_id}, {len(disk)} bytes)")
            return image_id
        if status not in ("queued", "saving", "importing") or time.monotonic() > deadline:
            raise HarnessError(f"image {name} ({image_id}) is {status!r}, not active")
        time.sleep(0.5)


def make_vmdk(scratch: Path) -> Path:
    """A small streamOptimized VMDK (random data at 0 and at 1 MiB, so the disk is not empty),
    converted by qemu-img from a raw disk as real VMDKs are made."""
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise HarnessError(
            "qemu-img is needed to make the VMDK image compute tests boot from "
            "(Debian package qemu-utils)"
        )
    scratch.mkdir(parents=True, exist_ok=True)
    raw, vmdk = scratch / "tempest-disk.raw", scratch / "tempest-disk.vmdk"
    with raw.open("wb") as stream:
        stream.write(os.urandom(64 << 10))
        stream.seek(1 << 20)
        stream.write(os.urandom(64 << 10))
        stream.truncate(COMPUTE_IMAGE_SIZE)
    vmdk.unlink(missing_ok=True)
    proc = subprocess.run(
        [qemu_img, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized",
         str(raw), str(vmdk)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    raw.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise HarnessError(f"qemu-img could not make {vmdk}: {proc.stderr.strip()}")
    return vmdk


def ensure_shared_network(base: str, token_id: str, timeout: float) -> str:
    """The name of the admin's shared network SHARED_NETWORK, made (with a subnet) if missing."""
    query = f"{base}/v2.0/networks?name={SHARED_NETWORK}&shared=true"
    if (api_call(query, token_id, timeout) or {}).get("networks"):
        return SHARED_NETWORK
    network = api_call(
        f"{base}/v2.0/networks", token_id, timeout,
        {"network": {"name": SHARED_NETWORK, "shared": True}},
    )["network"]  # fmt: skip
    subnet = {**SHARED_SUBNET, "network_id": network["id"], "name": f"{SHARED_NETWORK}-subnet"}
    api_call(f"{base}/v2.0/subnets", token_id, timeout, {"subnet": subnet})
    log(f"created shared network {SHARED_NETWORK} ({network['id']}, {SHARED_SUBNET['cidr']})")
    return SHARED_NETWORK
