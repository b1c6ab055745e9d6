"""What every compute CLI story starts with: a VMDK image to boot, a network with a subnet,
and a server booted on them with `--wait`, all made with the real `openstack` CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from tests.image_files import make_vmdk


def vmdk_image(cloud: RunningCloud, directory: Path, *, public: bool = False) -> dict[str, Any]:
    """A small VMDK image, active, for servers to boot from."""
    disk = make_vmdk(directory, size="4M")
    visibility = ["--public"] if public else []
    image: dict[str, Any] = run_json(
        cloud, "image", "create", "--disk-format", "vmdk", "--container-format", "bare",
        "--file", str(disk), *visibility, unique("vmdk"),
    )  # fmt: skip
    return image


def network_with_subnet(cloud: RunningCloud, cidr: str) -> str:
    """A new network (its name) with one subnet of `cidr`, named like it."""
    network = unique("net")
    run(cloud, "network", "create", network)
    run(cloud, "subnet", "create", "--network", network, "--subnet-range", cidr, network)
    return network


def boot(
    cloud: RunningCloud, image_id: str, network: str, name: str, flavor: str = "m1.tiny"
) -> dict[str, Any]:
    """`server create --wait`, checked ACTIVE."""
    server: dict[str, Any] = run_json(
        cloud, "server", "create", "--image", image_id, "--flavor", flavor,
        "--network", network, "--wait", name,
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server
    return server
