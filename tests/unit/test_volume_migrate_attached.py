"""Cinder's move of an in-use volume (`migrate_attached.py`) on the real volume domain (SQLite,
fake vCenter), with a stand-in for Nova's swap that walks Nova's port calls: the volume keeps
its id and attachment and names the new disk, the temporary volume goes, the old disk is
deleted; a swap Nova refuses leaves everything as it was with `migration_status` `error`; a
volume on two servers is a 400; a completion for a pair that is no migration changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.unit.test_volume_domain import VolumeDomain, admin, domain, member
from vistack.common.errors import BadRequest, Conflict
from vistack.volume.db import queries
from vistack.volume.domain.migrate_attached import complete_migration
from vistack.volume.domain.models import Volume

__all__ = ["domain"]


def _attached(domain: VolumeDomain, servers: int = 1, **fields: object) -> Volume:
    context = member()
    volume = domain.services.volumes.create(context, {"volume": {"size": 1, **fields}})
    domain.settle()
    port = domain.services.nova_port
    for _ in range(servers):
        reserved = port.reserve(admin(), volume.id, str(uuid.uuid4()))
        port.complete_attach(reserved.id, "/dev/sdb")
    return domain.services.volumes.get(admin(), volume.id)


def _nova(domain: VolumeDomain) -> Callable[[str, str, str], None]:
    """Nova's swap as the port sees it (the VM's disks are the compute driver's business)."""
    port = domain.services.nova_port

    def swap(server_id: str, old_id: str, new_id: str) -> None:
        old = port.begin_detach(admin(), old_id, server_id)
        new = port.reserve(admin(), new_id, server_id)
        port.complete_attach(new.id, "/dev/sdb")
        port.complete_detach(old.id)
        assert port.migrate_volume_completion(old_id, new_id, error=False) == old_id

    return swap


def _migrate(domain: VolumeDomain, volume: Volume, datastore: str) -> None:
    migration = domain.services.data_path.migration  # type: ignore[union-attr]
    host = f"{migration._host}@vmware#{datastore}"
    migration.migrate(admin(), volume.id, {"os-migrate_volume": {"host": host}})
    domain.settle()


def _other(domain: VolumeDomain, path: str) -> str:
    return next(d for d in domain.fake.state.datastores if not path.startswith(f"[{d}]"))


def test_an_in_use_volume_moves_onto_the_new_disk(domain: VolumeDomain) -> None:
    domain.services.data_path.migration.connect_nova(_nova(domain))  # type: ignore[union-attr]
    volume = _attached(domain)
    assert volume.path is not None
    target = _other(domain, volume.path)
    _migrate(domain, volume, target)
    moved = domain.services.volumes.get(admin(), volume.id)
    assert moved.path == f"[{target}] volumes/{volume.id}.vmdk" and moved.status == "in-use"
    assert [a.server_id for a in moved.attachments] == [a.server_id for a in volume.attachments]
    assert moved.migration_status == "success"
    assert volume.path not in domain.fake.state.disks
    with domain.services.volumes.store.transaction() as unit:
        assert [v.id for v in queries.volumes(unit, None)] == [volume.id]


def test_a_refused_swap_leaves_the_volume_where_it_was(domain: VolumeDomain) -> None:
    def refuse(server_id: str, old_id: str, new_id: str) -> None:
        raise Conflict("Nova says no")

    domain.services.data_path.migration.connect_nova(refuse)  # type: ignore[union-attr]
    volume = _attached(domain)
    assert volume.path is not None
    before = set(domain.fake.state.disks)
    _migrate(domain, volume, _other(domain, volume.path))
    kept = domain.services.volumes.get(admin(), volume.id)
    assert (kept.path, kept.status, kept.migration_status) == (volume.path, "in-use", "error")
    assert kept.error_message == "Migration failed: Nova says no"
    assert set(domain.fake.state.disks) == before
    with domain.services.volumes.store.transaction() as unit:
        assert [v.id for v in queries.volumes(unit, None)] == [volume.id]


def test_two_attachments_and_no_nova_are_refused(domain: VolumeDomain) -> None:
    migration = domain.services.data_path.migration  # type: ignore[union-attr]
    migration.connect_nova(None)
    volume = _attached(domain)
    assert volume.path is not None
    with pytest.raises(BadRequest, match="no compute service"):
        _migrate(domain, volume, _other(domain, volume.path))
    migration.connect_nova(_nova(domain))
    shared = domain.services.volumes.create(admin(), {"volume": {"size": 1}})
    domain.settle()
    with domain.services.volumes.store.transaction() as unit:
        row = queries.volume(unit, shared.id)
        assert row is not None
        row.multiattach = True
    shared = _attached_again(domain, shared.id, 2)
    assert shared.path is not None
    with pytest.raises(BadRequest, match="attached to 2 servers"):
        _migrate(domain, shared, _other(domain, shared.path))


def _attached_again(domain: VolumeDomain, volume_id: str, servers: int) -> Volume:
    port = domain.services.nova_port
    for _ in range(servers):
        reserved = port.reserve(admin(), volume_id, str(uuid.uuid4()))
        port.complete_attach(reserved.id, "/dev/sdb")
    return domain.services.volumes.get(admin(), volume_id)


def test_a_completion_that_is_no_migration_changes_nothing(domain: VolumeDomain) -> None:
    first, second = _attached(domain), _attached(domain)
    store = domain.services.volumes.store
    assert complete_migration(store, first.id, second.id, error=False) == second.id
    assert domain.services.volumes.get(admin(), first.id).path == first.path
