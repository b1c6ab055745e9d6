"""The in-process API fixture, parametrised over SQLite, MariaDB and PostgreSQL.

MariaDB and PostgreSQL run on this machine (`.ci/run` makes sure they do). Each test module
gets its own database on each server, dropped afterwards. `VISTACK_TEST_MARIADB_URL` /
`VISTACK_TEST_POSTGRESQL_URL` point at other servers; set one to `skip` to skip that backend
locally (CI never does).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from tests.conftest import make_settings
from vistack.app import Cloud, build_cloud
from vistack.config import Settings
from vistack.drivers.bundle import Drivers
from vistack.drivers.fake import FakeCloud

SERVER_URLS = {
    "mariadb": os.environ.get(
        "VISTACK_TEST_MARIADB_URL", "mysql+pymysql://vistack:vistack@127.0.0.1:3306/"
    ),
    "postgresql": os.environ.get(
        "VISTACK_TEST_POSTGRESQL_URL",
        "postgresql+psycopg://vistack:vistack@127.0.0.1:5432/postgres",
    ),
}
#: The API fixtures parametrised by database (their param is the database's name).
DATABASE_FIXTURES = ("api", "image_api", "network_api", "edge_api", "compute_api", "volume_api")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A module that sets `DATABASES = ("sqlite",)` runs its API tests on those databases
    only: the others are deselected (not skipped), so no cloud is started for them.

    For feature modules whose queries are plain (no locking, ordering or type subtleties beyond
    what the three-database modules cover); every cloud still creates all tables on MariaDB
    and PostgreSQL through the migrations the other modules run."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        wanted = getattr(getattr(item, "module", None), "DATABASES", None)
        params = getattr(getattr(item, "callspec", None), "params", {})
        used = {params[name] for name in DATABASE_FIXTURES if name in params}
        (dropped if wanted is not None and used - set(wanted) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


ADMIN_PASSWORD = "admin-secret"
DEMO_PASSWORD = "demo-secret"


def _create_database(backend: str) -> tuple[str, str]:
    """Create a fresh database on `backend`; returns (its URL, its name)."""
    server = SERVER_URLS[backend]
    if server == "skip":
        pytest.skip(f"{backend} disabled by VISTACK_TEST_{backend.upper()}_URL=skip")
    name = f"vistack_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), name


def _drop_database(backend: str, name: str) -> None:
    engine = create_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if backend == "postgresql":
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()


class IdentityApi:
    """A test client for the identity API with token helpers."""

    def __init__(self, cloud: Cloud, client: TestClient) -> None:
        self.cloud = cloud
        self.client = client
        self._admin_token: str | None = None

    def token(
        self, user: str, password: str, project: str | None = None, domain: str = "Default"
    ) -> str:
        scope: dict[str, Any] | None = None
        if project is not None:
            scope = {"project": {"name": project, "domain": {"name": domain}}}
        response = self.authenticate(user, password, scope, domain)
        assert response.status_code == 201, response.text
        token: str = response.headers["X-Subject-Token"]
        return token

    def authenticate(
        self, user: str, password: str, scope: Any = None, domain: str = "Default"
    ) -> Any:
        body: dict[str, Any] = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "domain": {"name": domain}, "password": password}
                    },
                }
            }
        }
        if scope is not None:
            body["auth"]["scope"] = scope
        return self.client.post("/identity/v3/auth/tokens", json=body)

    @property
    def admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.token("admin", ADMIN_PASSWORD, "admin")
        return self._admin_token

    #: Where this client's paths are mounted.
    PREFIX = "/identity/v3"

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("X-Auth-Token", token or self.admin_token)
        return self.client.request(method, self.PREFIX + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Any:
        return self.request("HEAD", path, **kwargs)


def build_test_cloud(
    data_dir: Path,
    database_url: str = "",
    configure: Callable[[Settings], None] | None = None,
    drivers: Drivers | None = None,
) -> Cloud:
    settings = make_settings(data_dir, database_url)
    if configure is not None:
        configure(settings)
    # The API suites need no vCenter: they run on the in-memory fake drivers (when they need
    # any), which keeps them independent of the simulator.
    cloud = build_cloud(settings, vsphere=False, drivers=drivers)
    cloud.bootstrap(ADMIN_PASSWORD, DEMO_PASSWORD)
    return cloud


def close_cloud(cloud: Cloud) -> None:
    """Close a test cloud, removing its edge data plane first (bridges, namespaces, dnsmasq,
    nft tables on this host): a real vistack leaves it running across restarts, a test must
    not leave it behind."""
    try:
        if cloud.dataplane is not None:
            cloud.dataplane.teardown()
    finally:
        cloud.close()


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IdentityApi]:
    """A bootstrapped cloud on each database backend, served in-process."""
    backend: str = request.param
    database_url, name = ("", "") if backend == "sqlite" else _create_database(backend)
    cloud = build_test_cloud(tmp_path_factory.mktemp(backend), database_url)
    try:
        with TestClient(cloud.asgi, base_url="http://vistack.test") as client:
            yield IdentityApi(cloud, client)
    finally:
        close_cloud(cloud)
        if name:
            _drop_database(backend, name)


class FakeCloudApi(IdentityApi):
    """A client for one service of a cloud running on the fake vCenter (`fake`)."""

    def __init__(self, cloud: Cloud, client: TestClient, fake: FakeCloud) -> None:
        super().__init__(cloud, client)
        self.fake = fake

    @property
    def identity(self) -> IdentityApi:
        """The same cloud's identity API (projects, users, roles for personas)."""
        return IdentityApi(self.cloud, self.client)


class ImageApi(FakeCloudApi):
    """The image API (paths under `/image`); stores are the fake vCenter's datastores plus a
    local `file` store."""

    PREFIX = "/image"


class NetworkApi(FakeCloudApi):
    """The network API (paths under `/network`); networks are port groups of the fake
    vCenter's distributed switch."""

    PREFIX = "/network"


Api = TypeVar("Api", bound=FakeCloudApi)


class ComputeApi(FakeCloudApi):
    """The compute API (paths under `/compute/v2.1`); clusters are the fake vCenter's, images
    and networks the same cloud's Glance and Neutron (reach them with `other(ImageApi)`)."""

    PREFIX = "/compute/v2.1"

    def other(self, api: type[Api]) -> Api:
        """The same cloud seen through another service's client."""
        return api(self.cloud, self.client, self.fake)


def _fake_cloud_api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    api: type[Api],
    configure: Callable[[Settings, Path, FakeCloud], None],
) -> Iterator[Api]:
    """A bootstrapped cloud on the fake vCenter, on the backend `request.param`, in-process."""
    backend: str = request.param
    database_url, name = ("", "") if backend == "sqlite" else _create_database(backend)
    data_dir = tmp_path_factory.mktemp(f"{api.PREFIX.strip('/').replace('/', '-')}-{backend}")
    fake = FakeCloud()
    cloud = build_test_cloud(
        data_dir, database_url, lambda settings: configure(settings, data_dir, fake), fake.drivers()
    )
    if cloud.dataplane is not None:
        # The edge node's first pass (a worker process) may take seconds on a loaded host:
        # tests start from a node in step with the database, as a settled cloud is.
        assert cloud.dataplane.wait_synced(120), cloud.dataplane.status()
    try:
        with TestClient(cloud.asgi, base_url="http://vistack.test") as client:
            yield api(cloud, client, fake)
    finally:
        close_cloud(cloud)
        if name:
            _drop_database(backend, name)


def _image_settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    settings.image.filesystem_store_dir = str(data_dir / "file-store")
    datastores = fake.state.topology().datastores
    settings.image.datastores = [f"{datastores[0]}:100"] + [f"{d}:50" for d in datastores[1:]]
    settings.image.image_size_total = 64  # MiB, so quota tests stay small


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def image_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ImageApi]:
    """A bootstrapped cloud with image stores, on each database backend, served in-process."""
    yield from _fake_cloud_api(request, tmp_path_factory, ImageApi, _image_settings)


def _network_settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    # A small tenant VLAN range, so exhausting it stays cheap to test.
    settings.network.vlan_ranges = ["100:119"]
    settings.network.backend = "dvs"


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def network_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NetworkApi]:
    """A bootstrapped cloud on the fake vCenter, on each database backend, served in-process."""
    yield from _fake_cloud_api(request, tmp_path_factory, NetworkApi, _network_settings)


def _edge_settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    _network_settings(settings, data_dir, fake)
    settings.network.backend = "edge"
    settings.network.availability_zone = "zone-a"


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def edge_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NetworkApi]:
    """`network_api` in edge mode: routers, floating IPs, metering, agents and availability
    zones, its embedded agents in zone `zone-a`. Needs root and ip/nft/dnsmasq."""
    from vistack.network.domain.models import edge_unsupported_reason

    reason = edge_unsupported_reason()
    if reason:
        pytest.skip(f"edge backend unavailable: {reason}")
    yield from _fake_cloud_api(request, tmp_path_factory, NetworkApi, _edge_settings)


def _compute_settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    _image_settings(settings, data_dir, fake)
    settings.compute.power_sync_seconds = 0.2  # changes made "in vCenter" show at once
    settings.network.backend = "dvs"
    settings.network.vlan_ranges = ["100:119"]


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def compute_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComputeApi]:
    """A bootstrapped cloud on the fake vCenter, its compute API in front (dvs networks)."""
    yield from _fake_cloud_api(request, tmp_path_factory, ComputeApi, _compute_settings)


@pytest.fixture(scope="module")
def l3_api(edge_api: NetworkApi) -> NetworkApi:
    """`edge_api` under the name test_network_extra_dhcp_opts.py knows it by."""
    return edge_api


class VolumeApi(FakeCloudApi):
    """The block storage API (paths under `/volume/v3`, the project-less form; the catalog's
    `/volume/v3/{project_id}` form reaches the same handlers). Disks land on the fake vCenter's
    datastores; images come from the same cloud's Glance (`ImageApi(api.cloud, api.client,
    api.fake)`)."""

    PREFIX = "/volume/v3"


def _volume_settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    _image_settings(settings, data_dir, fake)
    settings.volume.quota_volumes = 20
    settings.volume.quota_gigabytes = 200


#: `pytestmark = COMPUTE_ON_SQLITE_ONLY`: the same for Nova feature modules with plain queries.
COMPUTE_ON_SQLITE_ONLY = pytest.mark.parametrize(
    "compute_api", ["sqlite"], indirect=True, scope="module"
)

#: `pytestmark = VOLUME_ON_SQLITE_ONLY` runs a module's `volume_api` tests on SQLite alone: for
#: Cinder feature modules whose queries are plain (no locking beyond what the three-database
#: modules test), so `make test` does not start two more clouds per module. Their tables are
#: still created on MariaDB and PostgreSQL by every cloud those modules start.
VOLUME_ON_SQLITE_ONLY = pytest.mark.parametrize(
    "volume_api", ["sqlite"], indirect=True, scope="module"
)


@pytest.fixture(scope="module", params=["sqlite", "mariadb", "postgresql"])
def volume_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VolumeApi]:
    """A bootstrapped cloud on the fake vCenter, its block storage API in front."""
    yield from _fake_cloud_api(request, tmp_path_factory, VolumeApi, _volume_settings)
