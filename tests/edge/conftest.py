"""Fixtures of the edge data plane tests (helpers live in `lab.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import NetworkApi, build_test_cloud, close_cloud
from tests.edge.lab import UNAVAILABLE, Lab, new_tag
from vistack.config import Settings
from vistack.drivers.fake import FakeCloud
from vistack.edge import EdgeAgent, EdgeConfig
from vistack.network.dataplane.sync import EdgeSync


class EdgeCloudApi(NetworkApi):
    """The network API of an edge-mode cloud, and its data plane thread."""

    @property
    def dataplane(self) -> EdgeSync:
        assert self.cloud.dataplane is not None
        return self.cloud.dataplane

    def synced(self, timeout: float = 10.0) -> None:
        """Everything committed so far is on the node (or the test fails with the reason)."""
        assert self.dataplane.wait_synced(timeout), self.dataplane.status()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tag=new_tag(), workdir=tmp_path)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab for a module's shared topology: built once, its namespaces gone after the module."""
    lab = Lab(tag=new_tag(), workdir=tmp_path_factory.mktemp("lab"))
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[EdgeAgent]:
    edge = EdgeAgent(EdgeConfig(state_dir=tmp_path / "edge", name=f"t{new_tag()}"))
    try:
        yield edge
    finally:
        edge.teardown()


@contextmanager
def running_edge_cloud(data_dir: Path, metadata_url: str = "") -> Iterator[EdgeCloudApi]:
    """An in-process cloud in edge mode (SQLite, fake vCenter) whose data plane is this host's:
    its own state dir and agent name, so parallel runs never share an object. On exit its data
    plane is torn down (bridges, namespaces, dnsmasq, nft tables), then it closes.
    `metadata_url`: where 169.254.169.254 leads (default: the cloud's own `/metadata`)."""

    def configure(settings: Settings) -> None:
        settings.network.backend = "edge"
        settings.network.edge_state_dir = str(data_dir / "edge")
        settings.network.metadata_url = metadata_url

    fake = FakeCloud()
    cloud = build_test_cloud(data_dir, "", configure, fake.drivers())
    try:
        assert cloud.dataplane is not None, "an edge-mode cloud runs its data plane"
        with TestClient(cloud.asgi, base_url="http://vistack.test") as client:
            yield EdgeCloudApi(cloud, client, fake)
    finally:
        close_cloud(cloud)


@pytest.fixture(scope="module")
def edge_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeCloudApi]:
    """`running_edge_cloud` for a test module (skipped where the data plane cannot run)."""
    if UNAVAILABLE is not None:
        pytest.skip(UNAVAILABLE)
    with running_edge_cloud(tmp_path_factory.mktemp("edge-cloud")) as api:
        yield api
