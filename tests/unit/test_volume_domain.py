"""A volume domain on SQLite and the fake vCenter, with no HTTP: the fixture and personas the
other volume unit suites share (this module holds no tests of its own). The bus runs jobs in
process; `settle()` waits for them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vistack.common.bus import InProcessWorkQueue
from vistack.common.context import RequestContext
from vistack.common.db import Database
from vistack.common.policy import PolicyEngine
from vistack.config import Settings
from vistack.drivers.fake import FakeCloud
from vistack.migrations import runner
from vistack.volume.api.deps import VolumeServices
from vistack.volume.policies import VOLUME_RULES
from vistack.volume.wiring import build_volume_services


@dataclass
class VolumeDomain:
    services: VolumeServices
    fake: FakeCloud
    bus: InProcessWorkQueue
    settings: Settings

    def settle(self) -> None:
        self.bus.join()


def member(project_id: str | None = None) -> RequestContext:
    return RequestContext(
        request_id="req-test",
        user_id="user-" + uuid.uuid4().hex[:8],
        project_id=project_id or uuid.uuid4().hex,
        roles=("member", "reader"),
    )


def admin() -> RequestContext:
    return RequestContext(
        request_id="req-test", user_id="admin", project_id="admin-project", roles=("admin",)
    )


@pytest.fixture
def domain(tmp_path: Path) -> Iterator[VolumeDomain]:
    settings = Settings(data_dir=str(tmp_path))
    settings.volume.quota_volumes = 5
    settings.volume.quota_gigabytes = 20
    settings.volume.quota_snapshots = 3
    database = Database.from_url(f"sqlite:///{tmp_path / 'volume.db'}")
    runner.upgrade(database.engine)
    policy = PolicyEngine(VOLUME_RULES, tmp_path / "no-policy.yaml")
    bus = InProcessWorkQueue(2)
    fake = FakeCloud()
    services = build_volume_services(settings, database, policy, bus, fake.drivers(), None)
    bus.start()
    try:
        yield VolumeDomain(services, fake, bus, settings)
    finally:
        bus.stop()
        database.dispose()
