"""What the suites of Nova's volume side share (attachments, boot from volume, the Cinder
proxies, the 2.93 rebuild): Nova's volume port connected to a fake Cinder (`port`) or to the
cloud's own block storage service (`cinder`), each test's servers deleted after it, and the
VM's disks as the fake vCenter has them.

The fixtures are made per module, as `persona_fixture` makes `member`, so that each module's
fixtures depend on its own `env` and cloud."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.compute_env import Env
from tests.api.conftest import ComputeApi, VolumeApi
from tests.api.test_compute_servers import wait_gone
from tests.unit.fake_volume_port import FakeVolumePort


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def vm_disks(api: ComputeApi, server_id: str) -> list[str]:
    return [d.path for d in api.fake.drivers().compute.get_vm(server_id).disks]


def port_fixture() -> Any:
    """A module-scoped fake Cinder connected to the cloud's compute for the module:
    `port = port_fixture()`."""

    @pytest.fixture(scope="module")
    def port(compute_api: ComputeApi) -> Iterator[FakeVolumePort]:
        fake = FakeVolumePort(compute_api.fake.drivers())
        link = compute_api.cloud.compute.volumes
        assert link is not None
        link.connect(fake)
        yield fake
        link.connect(None)

    return port


def cinder_fixture() -> Any:
    """A module-scoped client of the cloud's own block storage service, connected to its
    compute for the module (skipped on a cloud built without it): `cinder = cinder_fixture()`."""

    @pytest.fixture(scope="module")
    def cinder(compute_api: ComputeApi) -> Iterator[VolumeApi]:
        volume = getattr(compute_api.cloud, "volume", None)
        if volume is None:
            pytest.skip("this cloud is built without its block storage service")
        compute = compute_api.cloud.compute
        compute.connect_block_storage(volume.nova_port, volume.volumes, volume.snapshots)
        yield VolumeApi(compute_api.cloud, compute_api.client, compute_api.fake)
        compute.connect_block_storage(None)

    return cinder


def clean_up_servers_fixture() -> Any:
    """An autouse fixture deleting each test's servers after it (the project's instance quota
    is 10), on the module's `env`: `_clean_up_servers = clean_up_servers_fixture()`."""

    @pytest.fixture(autouse=True)
    def clean_up(compute_api: ComputeApi, env: Env) -> Iterator[None]:
        yield
        token = env.member.token
        servers = compute_api.get("/servers", token=token).json()["servers"]
        for server in servers:
            compute_api.delete(f"/servers/{server['id']}", token=token)
        for server in servers:
            wait_gone(compute_api, server["id"], token)

    return clean_up
