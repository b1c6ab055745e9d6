"""The contract suite's fixtures: every test runs once per backend, with identical expectations.

- `backend`: parametrised over "fake" (a fresh in-memory FakeCloud per test) and "vsphere"
  (a fresh vcsim launcher per test module, driven through `vistack.vsphere`).
- `@pytest.mark.vcsim_cannot_prove("why")`: the behaviour is vCenter's and the simulator lacks it;
  skipped for the vsphere param only, listed in docs and the report.

Tests name everything they create uniquely, so a module's tests share one simulator safely.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.contract.vcenter import embedded_vcenter
from vistack.drivers.bundle import Drivers
from vistack.drivers.fake import FakeCloud
from vistack.drivers.models import Provisioning, TemplateRef, VMSpec

BACKENDS = ["fake", "vsphere"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vcsim_cannot_prove(reason): skip for the vsphere param")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        name = callspec.params.get("module_backend")
        unprovable = item.get_closest_marker("vcsim_cannot_prove")
        if unprovable is not None and name == "vsphere":
            item.add_marker(pytest.mark.skip(reason=f"vcsim cannot prove: {unprovable.args[0]}"))


@dataclass
class Backend:
    """One backend under test: its drivers, and the fake behind them when it is the fake."""

    name: str
    drivers: Drivers
    fake: FakeCloud | None = None
    thin: Provisioning = Provisioning.THIN
    _template: TemplateRef | None = field(default=None, repr=False)

    def template(self) -> TemplateRef:
        """A 1-CPU/256 MB template with a 1 GB root disk, made once per backend instance."""
        if self._template is None:
            datastore = self.drivers.topology.datastores[0]
            disk = self.drivers.volumes.create_disk(datastore, new_name(), 1, self.thin)
            self._template = self.drivers.images.make_template(
                new_name(),
                disk.path,
                self.drivers.topology.clusters[0],
                datastore,
                cpus=1,
                memory_mb=256,
            )
        return self._template

    def drop_template(self) -> None:
        """Forget the template (a test deleted it); the next `template()` makes a new one."""
        self._template = None


def new_name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def vm_spec(backend: Backend, **overrides: Any) -> VMSpec:
    """A small VM spec on the first cluster and datastore; keywords override any field."""
    topology = backend.drivers.topology
    values: dict[str, Any] = {
        "instance_uuid": str(uuid.uuid4()),
        "name": new_name(),
        "cluster": topology.clusters[0],
        "datastore": topology.datastores[0],
        "cpus": 1,
        "memory_mb": 256,
    }
    values.update(overrides)
    return VMSpec(**values)


def _vsphere_backend() -> Iterator[Backend]:
    from vistack.vsphere.drivers import vsphere_drivers
    from vistack.vsphere.session import VCenterSession

    with embedded_vcenter() as endpoint:
        session = VCenterSession(endpoint, keepalive_seconds=0)
        session.connect()
        try:
            yield Backend("vsphere", vsphere_drivers(session, endpoint))
        finally:
            session.close()


_FACTORIES: dict[str, Callable[[], Iterator[Backend]]] = {"vsphere": _vsphere_backend}


@pytest.fixture(scope="module", params=BACKENDS)
def module_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The vsphere backend lives for a module (one simulator); the fake is made per test."""
    if request.param == "fake":
        yield Backend("fake", FakeCloud().drivers())
        return
    yield from _FACTORIES[request.param]()


@pytest.fixture
def backend(module_backend: Backend) -> Backend:
    if module_backend.name == "fake":
        fake = FakeCloud()
        return Backend("fake", fake.drivers(), fake)
    return module_backend
