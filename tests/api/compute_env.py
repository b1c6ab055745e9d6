"""A booted-server environment the compute sub-resource suites share: a member persona, a
public VMDK image and a network with a subnet, made once per test cloud."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.api.conftest import ComputeApi, ImageApi
from tests.api.helpers import Persona, unique
from tests.api.test_compute_servers import boot, make_network, wait_status
from tests.image_files import make_vmdk

OCTET = {"Content-Type": "application/octet-stream"}


@dataclass(frozen=True)
class Env:
    member: Persona
    image_id: str
    network: dict[str, Any]


def make_env(api: ComputeApi, member: Persona, scratch: Path, cidr: str) -> Env:
    images = api.other(ImageApi)
    body = {
        "name": unique("vmdk"),
        "disk_format": "vmdk",
        "container_format": "bare",
        "visibility": "public",
    }
    created = images.post("/v2/images", json=body)
    assert created.status_code == 201, created.text
    image = created.json()
    data = make_vmdk(scratch, size="4M").read_bytes()
    uploaded = images.put(f"/v2/images/{image['id']}/file", content=data, headers=OCTET)
    assert uploaded.status_code == 204, uploaded.text
    return Env(member, str(image["id"]), make_network(api, member.token, cidr))


def active_server(api: ComputeApi, env: Env) -> str:
    server_id = boot(api, env.member, env.image_id, env.network["id"])
    wait_status(api, server_id, env.member.token, "ACTIVE")
    return server_id
