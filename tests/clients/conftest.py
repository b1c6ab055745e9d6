"""Fixtures the client suites share: openstacksdk connections to the session cloud."""

from __future__ import annotations

from collections.abc import Iterator

import openstack
import openstack.config
import openstack.connection
import pytest

from tests.conftest import RunningCloud


def connect(cloud: RunningCloud, name: str) -> openstack.connection.Connection:
    config = openstack.config.OpenStackConfig(
        config_files=[str(cloud.clouds_yaml)], vendor_files=[], secure_files=[]
    )
    return openstack.connection.Connection(config=config.get_one(cloud=name))


@pytest.fixture
def admin(
    running_cloud: RunningCloud, monkeypatch: pytest.MonkeyPatch
) -> Iterator[openstack.connection.Connection]:
    for key in running_cloud.env():
        if key.startswith("OS_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(running_cloud.clouds_yaml))
    conn = connect(running_cloud, "vistack-admin")
    yield conn
    conn.close()


@pytest.fixture
def demo(
    running_cloud: RunningCloud, admin: openstack.connection.Connection
) -> Iterator[openstack.connection.Connection]:
    conn = connect(running_cloud, "vistack-demo")
    yield conn
    conn.close()
