"""The start-up settling of interrupted moves of attached volumes (`migrate_recovery.py`) on
the real volume domain (SQLite, fake vCenter), with stand-ins for Nova's side: a disk made
but not yet recorded is found by its name and removed; with no compute service to ask, a move
Nova may have swapped is left for the next start, untouched; a Nova that cannot tell leaves it
too while others settle; an old disk vSphere will not delete keeps the row that names it
until a later start deletes both; a retype's reason says retype."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tests.unit.test_volume_domain import VolumeDomain, admin, domain, member
from vistack.drivers.errors import InvalidStateError
from vistack.drivers.models import Provisioning
from vistack.volume.db import queries
from vistack.volume.domain.migrate import VolumeMigration
from vistack.volume.domain.migrate_attached import AttachedMigration, is_target
from vistack.volume.domain.models import Volume

__all__ = ["domain"]

ResumeSwap = Callable[[str, str, str, str], bool]


def _migration(domain: VolumeDomain) -> VolumeMigration:
    migration = domain.services.data_path.migration  # type: ignore[union-attr]
    assert isinstance(migration, VolumeMigration)
    return migration


def _attached(domain: VolumeDomain) -> tuple[Volume, str]:
    volume = domain.services.volumes.create(member(), {"volume": {"size": 1}})
    domain.settle()
    server_id = str(uuid.uuid4())
    port = domain.services.nova_port
    reserved = port.reserve(admin(), volume.id, server_id)
    port.complete_attach(reserved.id, "/dev/sdb")
    return domain.services.volumes.get(admin(), volume.id), server_id


def _cut(
    domain: VolumeDomain, volume: Volume, datastore: str, *, record: bool, reserve: str | None
) -> tuple[str, str]:
    """A move of `volume` onto `datastore` cut after its disk was made (its path recorded
    with `record`; the temporary volume reserved for server `reserve`): (temp id, disk)."""
    store = domain.services.volumes.store
    attached = _migration(domain).attached
    with store.transaction() as unit:
        row = queries.volume(unit, volume.id, lock=True)
        assert row is not None
        AttachedMigration.start(row)
        temp_id = attached._temporary(unit, row, datastore, Provisioning.THIN, None).id
    name = volume.id if datastore != volume.datastore else temp_id
    path = domain.fake.drivers().volumes.create_disk(datastore, name, 1, Provisioning.THIN).path
    if record:
        with store.transaction() as unit:
            queries.set_volume_status(unit, temp_id, ["creating"], status="available", path=path)
    if reserve is not None:
        domain.services.nova_port.reserve(admin(), temp_id, reserve)
    return temp_id, path


def _start(domain: VolumeDomain, resume: ResumeSwap | None) -> None:
    """A restart: the app connects Nova (or none), then runs the recovery."""
    migration = _migration(domain)
    migration.connect_nova(None if resume is None else lambda *_: None, resume)
    domain.services.start(domain.bus)
    domain.settle()


def _rows(domain: VolumeDomain) -> list[tuple[str, str, str | None]]:
    with domain.services.volumes.store.transaction() as unit:
        return [(v.id, v.status, v.migration_status) for v in queries.volumes(unit, None)]


def _finish(domain: VolumeDomain) -> ResumeSwap:
    """Nova finding the VM on the new disk: the rest of the swap, through the port."""
    port = domain.services.nova_port

    def resume(server_id: str, volume_id: str, temp_id: str, new_path: str) -> bool:
        found = port.attachments_of(server_id)
        if not any(a.volume_id == temp_id for a in found):
            return True  # completed before the restart
        for attachment in found:
            if attachment.volume_id == temp_id:
                port.complete_attach(attachment.id, "/dev/sdb")
            elif attachment.volume_id == volume_id:
                port.complete_detach(attachment.id)
        assert port.migrate_volume_completion(volume_id, temp_id, error=False) == volume_id
        return True

    return resume


def test_an_unrecorded_disk_on_the_same_datastore_is_found_by_name(domain: VolumeDomain) -> None:
    volume, _server = _attached(domain)
    disks = set(domain.fake.state.disks)
    assert volume.datastore is not None
    _temp_id, path = _cut(domain, volume, volume.datastore, record=False, reserve=None)
    assert path in domain.fake.state.disks
    _start(domain, None)
    assert set(domain.fake.state.disks) == disks
    assert _rows(domain) == [(volume.id, "in-use", "error")]
    kept = domain.services.volumes.get(admin(), volume.id)
    assert kept.path == volume.path and "restart" in (kept.error_message or "")
    assert kept.error_message is not None and kept.error_message.startswith("Migration failed")


def test_without_nova_a_swap_that_may_have_happened_is_left_for_the_next_start(
    domain: VolumeDomain,
) -> None:
    volume, server_id = _attached(domain)
    assert volume.path is not None
    other = next(d for d in domain.fake.state.datastores if d != volume.datastore)
    temp_id, path = _cut(domain, volume, other, record=True, reserve=server_id)
    before = (_rows(domain), set(domain.fake.state.disks))
    _start(domain, None)
    assert (_rows(domain), set(domain.fake.state.disks)) == before
    # A Nova that cannot tell (vCenter down) leaves it too.

    def down(*_: str) -> bool:
        raise InvalidStateError("vCenter unreachable")

    _start(domain, down)
    assert (_rows(domain), set(domain.fake.state.disks)) == before
    # The VM turns out to hold the new disk: the move is finished, the old disk goes.
    _start(domain, _finish(domain))
    assert _rows(domain) == [(volume.id, "in-use", "success")]
    moved = domain.services.volumes.get(admin(), volume.id)
    assert moved.path == path and [a.server_id for a in moved.attachments] == [server_id]
    assert volume.path not in domain.fake.state.disks and path in domain.fake.state.disks
    assert temp_id not in {v for v, _s, _m in _rows(domain)}


def test_an_old_disk_vsphere_keeps_stays_recorded_until_a_later_start(
    domain: VolumeDomain,
) -> None:
    volume, server_id = _attached(domain)
    assert volume.path is not None
    other = next(d for d in domain.fake.state.datastores if d != volume.datastore)
    temp_id, _path = _cut(domain, volume, other, record=True, reserve=server_id)
    domain.fake.state.fail_next("delete_disk", InvalidStateError("the disk is locked"))
    _start(domain, _finish(domain))
    with domain.services.volumes.store.transaction() as unit:
        temp = queries.volume(unit, temp_id)
        assert temp is not None and is_target(temp)
        assert (temp.status, temp.path) == ("deleting", volume.path)
    assert volume.path in domain.fake.state.disks
    _start(domain, _finish(domain))
    assert _rows(domain) == [(volume.id, "in-use", "success")]
    assert volume.path not in domain.fake.state.disks


def test_nova_undoing_its_half_leaves_the_volume_on_its_old_disk(domain: VolumeDomain) -> None:
    volume, server_id = _attached(domain)
    other = next(d for d in domain.fake.state.datastores if d != volume.datastore)
    disks = set(domain.fake.state.disks)
    port = domain.services.nova_port
    port.begin_detach(admin(), volume.id, server_id)
    _cut(domain, volume, other, record=True, reserve=server_id)
    asked: list[str] = []

    def undo(server: str, volume_id: str, temp_id: str, new_path: str) -> bool:
        asked.append(server)
        return False  # Nova does nothing here: Cinder's side must still end consistent

    _start(domain, undo)
    assert asked == [server_id]
    assert set(domain.fake.state.disks) == disks
    assert _rows(domain) == [(volume.id, "in-use", "error")]
    kept = domain.services.volumes.get(admin(), volume.id)
    assert kept.path == volume.path and [a.server_id for a in kept.attachments] == [server_id]
    assert [a.attach_status for a in kept.attachments] == ["attached"]
