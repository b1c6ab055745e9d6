"""A restart in the middle of the move of an attached volume (Cinder's migration through Nova's
swap volume), on the fake vCenter with the cloud's own block storage service behind Nova.

Each case builds the rows, attachments, disks and VM a move leaves at one step (the steps of
`AttachedMigration.move` and `VolumeSwap._swap_disks`, run by hand and cut short, as a restart
cuts them), then runs the start-up recovery the app runs (`VolumeServices.start`). Before the
VM was reconfigured the move is undone: the volume is `in-use` on its old disk with
`migration_status` `error` and the reason, attached as before; after it the move is finished:
the volume names the new disk, the server's mapping and Cinder's attachment agree, the old
disk is gone. Either way no temporary volume, disk or attachment is left, and the volume
detaches (or moves again) as any other."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import cinder_fixture, clean_up_servers_fixture, vm_disks
from tests.api.conftest import COMPUTE_ON_SQLITE_ONLY, ComputeApi, VolumeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_volume_swap import (
    attach,
    other_datastore,
    path_of,
    store_of,
    wait_migration,
)
from tests.api.test_volume_volumes import create_volume, wait_volume
from vistack.common.clock import utcnow
from vistack.compute.db import action_events as event_queries
from vistack.compute.db import block_devices as bdm_queries
from vistack.compute.db import servers as server_queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.work import service_context
from vistack.drivers.models import Provisioning
from vistack.volume.db import queries
from vistack.volume.domain.migrate import VolumeMigration
from vistack.volume.domain.migrate_attached import AttachedMigration

pytestmark = COMPUTE_ON_SQLITE_ONLY

member = persona_fixture("compute_api")
env = env_fixture("10.57.0.0/24")
cinder = cinder_fixture()
_clean_up_servers = clean_up_servers_fixture()

#: Where the restart cuts the move, in the move's order. Up to `reserved` the VM still has the
#: old disk (undone); from `swapped` on it has the new one (finished).
UNDONE = ("migrating", "temporary", "disk made", "disk recorded", "detaching", "reserved")
FINISHED = ("swapped", "attached", "old detached", "completed", "mapped")
DATA = b"the guest's data"


def _compute_store(api: ComputeApi) -> ComputeStore:
    return api.cloud.compute.clusters._store


def _migration(cinder: VolumeApi) -> VolumeMigration:
    volume = cinder.cloud.volume
    assert volume is not None and volume.data_path is not None
    return volume.data_path.migration


def _interrupt(
    api: ComputeApi, cinder: VolumeApi, server_id: str, volume_id: str, target: str, stage: str
) -> str | None:
    """Run the move of the attached volume onto `target` up to `stage`: the new disk's path."""
    store, port = store_of(cinder), cinder.cloud.volume.nova_port  # type: ignore[union-attr]
    drivers = cinder.fake.drivers()
    steps = iter((*UNDONE, *FINISHED))
    with store.transaction() as unit:
        row = queries.volume(unit, volume_id, lock=True)
        assert row is not None
        AttachedMigration.start(row)
        project_id, size, provisioning = row.project_id, row.size_gb, row.provisioning
        temp_id = None
        if stage != next(steps):
            temp = _migration(cinder).attached._temporary(
                unit, row, target, Provisioning(provisioning), None
            )
            temp_id = temp.id
    if temp_id is None or stage == next(steps):
        return None
    new_path = drivers.volumes.create_disk(target, volume_id, size, Provisioning(provisioning)).path
    if stage == next(steps):
        return new_path
    with store.transaction() as unit:
        queries.set_volume_status(unit, temp_id, ["creating"], status="available", path=new_path)
    if stage == next(steps):
        return new_path
    compute = _compute_store(api)
    request_id = "req-" + uuid.uuid4().hex
    with compute.transaction() as unit:
        server_queries.start_action(
            unit, server_id, "swap_volume", request_id=request_id, user_id=None, project_id=None
        )
        action = event_queries.action_of(unit, server_id, request_id)
        assert action is not None
        event_queries.start_event(unit, action.id, "compute_swap_volume", host=None, at=utcnow())
    context = service_context(project_id)
    old = port.begin_detach(context, volume_id, server_id)
    if stage == next(steps):
        return new_path
    new = port.reserve(context, temp_id, server_id)
    if stage == next(steps):
        return new_path
    drivers.compute.swap_disk(server_id, old.path, new.path, new.io, shared=new.multiattach)
    if stage == next(steps):
        return new_path
    port.complete_attach(new.id, "/dev/sdb")
    if stage == next(steps):
        return new_path
    port.complete_detach(old.id)
    if stage == next(steps):
        return new_path
    assert port.migrate_volume_completion(volume_id, temp_id, error=False) == volume_id
    if stage == next(steps):
        return new_path
    with compute.transaction() as unit:
        mapping = bdm_queries.of_volume(unit, server_id, volume_id)
        assert mapping is not None
        bdm_queries.set_fields(unit, mapping.uuid, attachment_id=new.id, path=new_path)
    assert stage == next(steps)
    return new_path


def _restart(cinder: VolumeApi) -> None:
    """What the app runs at start, once the bus runs."""
    volume = cinder.cloud.volume
    assert volume is not None
    volume.start(cinder.cloud.bus)


def _setup(api: ComputeApi, cinder: VolumeApi, env: Env) -> tuple[str, str, str, set[str]]:
    token = env.member.token
    server_id = active_server(api, env)
    volume = create_volume(cinder, token)
    attach(api, token, server_id, volume["id"])
    wait_volume(cinder, volume["id"], token, "in-use")
    path = path_of(cinder, volume["id"])
    cinder.fake.state.disks[path].data = DATA
    return server_id, volume["id"], path, set(cinder.fake.state.disks)


def _consistent(
    api: ComputeApi, cinder: VolumeApi, server_id: str, volume_id: str, path: str
) -> None:
    """The volume is on `path`, the VM holds it, Nova's mapping and Cinder's one attachment
    agree, and no temporary volume or attachment is left."""
    with store_of(cinder).transaction() as unit:
        row = queries.volume(unit, volume_id)
        assert row is not None and (row.path, row.status) == (path, "in-use")
        found = queries.attachments_of_volume(unit, volume_id)
        assert [(a.server_id, a.attach_status, a.device) for a in found] == [
            (server_id, "attached", "/dev/sdb")
        ]
        assert [
            v.id
            for v in queries.volumes(unit, None)
            if v.migration_status and v.migration_status.startswith("target:")
        ] == []
        assert len(queries.attachments_of_server(unit, server_id)) == 1
        attachment_id = found[0].id
    with _compute_store(api).transaction() as unit:
        mapping = bdm_queries.of_volume(unit, server_id, volume_id)
        assert mapping is not None
        assert (mapping.attachment_id, mapping.path) == (attachment_id, path)
        for action in server_queries.actions(unit, server_id):
            if action.action == "swap_volume":
                assert action.finish_time is not None and action.result is not None
                events = event_queries.events_of(unit, action.id)
                assert all(e.finish_time is not None for e in events)
    on_vm = vm_disks(api, server_id)
    assert path in on_vm
    assert cinder.fake.state.disks[path].data == DATA


@pytest.mark.parametrize("stage", UNDONE)
def test_a_move_cut_before_the_vm_changed_is_undone(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env, stage: str
) -> None:
    server_id, volume_id, old_path, disks = _setup(compute_api, cinder, env)
    target = other_datastore(cinder, old_path)
    new_path = _interrupt(compute_api, cinder, server_id, volume_id, target, stage)
    _restart(cinder)
    _consistent(compute_api, cinder, server_id, volume_id, old_path)
    assert new_path not in vm_disks(compute_api, server_id)
    assert set(cinder.fake.state.disks) == disks  # the new disk is gone, nothing else
    with store_of(cinder).transaction() as unit:
        row = queries.volume(unit, volume_id)
        assert row is not None and row.migration_status == "error"
        assert "restart" in (row.error_message or "")
    # The volume moves again, for real this time.
    host = cinder.get(f"/volumes/{volume_id}").json()["volume"]["os-vol-host-attr:host"]
    body = {"os-migrate_volume": {"host": host.split("#")[0] + f"#{target}"}}
    assert cinder.post(f"/volumes/{volume_id}/action", json=body).status_code == 202
    assert wait_migration(cinder, volume_id) == "success"
    _settled(cinder, old_path)
    _consistent(compute_api, cinder, server_id, volume_id, path_of(cinder, volume_id))
    _detach_and_delete(compute_api, cinder, env, server_id, volume_id)


@pytest.mark.parametrize("stage", FINISHED)
def test_a_move_cut_after_the_vm_changed_is_finished(
    compute_api: ComputeApi, cinder: VolumeApi, env: Env, stage: str
) -> None:
    server_id, volume_id, old_path, disks = _setup(compute_api, cinder, env)
    target = other_datastore(cinder, old_path)
    new_path = _interrupt(compute_api, cinder, server_id, volume_id, target, stage)
    assert new_path is not None
    _restart(cinder)
    _consistent(compute_api, cinder, server_id, volume_id, new_path)
    assert old_path not in vm_disks(compute_api, server_id)
    assert set(cinder.fake.state.disks) == (disks - {old_path}) | {new_path}
    with store_of(cinder).transaction() as unit:
        row = queries.volume(unit, volume_id)
        assert row is not None and row.migration_status == "success"
        assert row.datastore == target
    _detach_and_delete(compute_api, cinder, env, server_id, volume_id)
    assert new_path not in vm_disks(compute_api, server_id)


def _detach_and_delete(
    api: ComputeApi, cinder: VolumeApi, env: Env, server_id: str, volume_id: str
) -> None:
    """The moved volume detaches and is deleted as any other (which also keeps the module
    within the project's volume quota)."""
    token = env.member.token
    path = path_of(cinder, volume_id)
    gone = api.delete(f"/servers/{server_id}/os-volume_attachments/{volume_id}", token=token)
    assert gone.status_code == 202, gone.text
    wait_volume(cinder, volume_id, token, "available")
    assert path not in vm_disks(api, server_id)
    assert cinder.delete(f"/volumes/{volume_id}", token=token).status_code == 202
    deadline = time.monotonic() + 20
    while path in cinder.fake.state.disks:
        assert time.monotonic() < deadline, path
        time.sleep(0.02)


def _settled(cinder: VolumeApi, old_path: str) -> None:
    """A move's job ends with the old disk and the temporary row deleted, in that order."""
    deadline = time.monotonic() + 20
    while True:
        with store_of(cinder).transaction() as unit:
            temps = [v.id for v in queries.volumes(unit, None) if v.status == "deleting"]
        if old_path not in cinder.fake.state.disks and not temps:
            return
        assert time.monotonic() < deadline
        time.sleep(0.02)
