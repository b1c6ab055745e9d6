"""A booted-server environment the compute sub-resource suites share: a member persona, a
public VMDK image and a network with a subnet, made once per test cloud."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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


def env_fixture(cidr: str) -> Any:
    """A module-scoped `env` fixture on `cidr` (a network of the module's own, so suites do
    not share addresses): `env = env_fixture("10.40.0.0/24")`. It takes the module's `member`
    persona by name."""

    @pytest.fixture(scope="module")
    def env(
        compute_api: ComputeApi, member: Persona, tmp_path_factory: pytest.TempPathFactory
    ) -> Env:
        return make_env(compute_api, member, tmp_path_factory.mktemp("vmdk"), cidr)

    return env


def active_server(api: ComputeApi, env: Env) -> str:
    server_id = boot(api, env.member, env.image_id, env.network["id"])
    wait_status(api, server_id, env.member.token, "ACTIVE")
    return server_id
