"""Volume backups through HTTP: full and incremental backups into the chunk store, restores onto
new and existing volumes (the data compared byte for byte on the fake vCenter's disks), backups
of in-use volumes and of snapshots, the refusals Cinder makes, failures that leave nothing
behind, quotas, export and import, volumes made from backups (3.47) and the fields each
microversion shows."""

from __future__ import annotations

import base64
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import VolumeApi, _fake_cloud_api, _volume_settings
from tests.api.helpers import Persona, persona
from tests.api.test_volume_volumes import assert_fault, create_volume, disk_of, wait_volume
from vistack.config import Settings
from vistack.drivers.errors import DriverError, NoCapacityError
from vistack.drivers.fake import FakeCloud
from vistack.volume.api import microversion

MIB = 2**20


def _settings(settings: Settings, data_dir: Path, fake: FakeCloud) -> None:
    _volume_settings(settings, data_dir, fake)
    settings.volume.backup_dir = str(data_dir / "backups")
    settings.volume.backup_chunk_mb = 1
    settings.volume.quota_volumes = 100
    settings.volume.quota_gigabytes = 1000


@pytest.fixture(scope="module", params=["sqlite"])
def backup_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VolumeApi]:
    """A cloud of its own: 1 MiB chunks, so a few MiB of disk data make several. The suite
    runs on SQLite (all of it passes on the server databases too: run it with the params of
    `volume_api`); `test_round_trip_on_database_servers` keeps MariaDB in every run."""
    yield from _fake_cloud_api(request, tmp_path_factory, VolumeApi, _settings)


@pytest.fixture(params=["mariadb"])
def server_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VolumeApi]:
    yield from _fake_cloud_api(request, tmp_path_factory, VolumeApi, _settings)


@pytest.fixture(scope="module")
def member(backup_api: VolumeApi) -> Persona:
    return persona(backup_api.identity)


@pytest.fixture
def latest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve every microversion this code implements, whatever the service advertises."""
    monkeypatch.setattr(microversion, "MAX_VERSION", (3, 70))


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


def store_root(api: VolumeApi) -> Path:
    return Path(api.cloud.settings.volume_backup_path)


def set_data(api: VolumeApi, volume_id: str, data: bytes) -> None:
    api.fake.state.disks[disk_of(api, volume_id)].data = data


def data_of(api: VolumeApi, volume_id: str) -> bytes:
    return api.fake.state.disks[disk_of(api, volume_id)].data


def wait_backup(api: VolumeApi, backup_id: str, token: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        response = api.get(f"/backups/{backup_id}", token=token)
        assert response.status_code == 200, response.text
        backup: dict[str, Any] = response.json()["backup"]
        if backup["status"] in statuses:
            return backup
        assert time.monotonic() < deadline, backup
        time.sleep(0.02)


def backup_of(api: VolumeApi, token: str, volume_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(
        "/backups", token=token, json={"backup": {"volume_id": volume_id, **fields}}
    )
    assert response.status_code == 202, response.text
    return wait_backup(api, response.json()["backup"]["id"], token, "available", "error")


def restore(api: VolumeApi, token: str, backup_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/backups/{backup_id}/restore", token=token, json={"restore": fields})
    assert response.status_code == 202, response.text
    restored: dict[str, Any] = response.json()["restore"]
    wait_volume(api, restored["volume_id"], token, "available", "error_restoring")
    wait_backup(api, backup_id, token, "available")
    return restored


def delete_backup(api: VolumeApi, token: str, backup_id: str) -> None:
    assert api.delete(f"/backups/{backup_id}", token=token).status_code == 202
    deadline = time.monotonic() + 20
    while api.get(f"/backups/{backup_id}", token=token).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def pattern(size: int, seed: int) -> bytes:
    return (bytes([seed % 251]) + bytes(range(1, 250))) * (size // 250) + b"x" * (size % 250)


def test_full_backup_and_restores(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 2, metadata={"k1": "v1", "k2": "v2"})
    # Three MiB and a bit: chunk 1 is zeros (stored nowhere), the last one is short.
    data = pattern(MIB, 1) + bytes(MIB) + pattern(MIB + 12345, 2)
    set_data(api, volume["id"], data)
    bootable = {"os-set_bootable": {"bootable": True}}
    assert api.post(f"/volumes/{volume['id']}/action", token=token, json=bootable).status_code < 300
    created = api.post(
        "/backups",
        token=token,
        json={"backup": {"volume_id": volume["id"], "name": "b1", "description": "d"}},
    )
    assert created.status_code == 202, created.text
    assert set(created.json()["backup"]) == {"id", "name", "links"}
    backup = wait_backup(api, created.json()["backup"]["id"], token, "available")
    assert (
        backup["size"] == 2 and backup["object_count"] == 3 and backup["volume_id"] == volume["id"]
    )
    assert backup["container"] == "volumebackups" and backup["availability_zone"] == "nova"
    assert backup["is_incremental"] is False and backup["has_dependent_backups"] is False
    assert backup["fail_reason"] is None and backup["snapshot_id"] is None
    for absent in ("metadata", "user_id", "os-backup-project-attr:project_id"):
        assert absent not in backup  # later microversions
    assert wait_volume(api, volume["id"], token, "available")["status"] == "available"
    folder = store_root(api) / "volumebackups" / backup["id"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "chunk-00000000",
        "chunk-00000002",
        "chunk-00000003",
        "manifest.json",
    ]
    listed = api.get("/backups", token=token).json()["backups"]
    assert {"id": backup["id"], "name": "b1"}.items() <= listed[0].items()
    detail = api.get("/backups/detail", token=token, params={"volume_id": volume["id"]}).json()
    assert [b["id"] for b in detail["backups"]] == [backup["id"]]
    assert api.get("/backups/detail", token=token, params={"name": "zz"}).json()["backups"] == []
    # Onto a new volume: the backup's size, Cinder's name unless one is given.
    new = restore(api, token, backup["id"])
    assert new["volume_name"] == f"restore_backup_{backup['id']}"
    shown = api.get(f"/volumes/{new['volume_id']}", token=token).json()["volume"]
    assert (shown["status"], shown["size"], shown["bootable"]) == ("available", 2, "true")
    assert shown["metadata"] == {"k1": "v1", "k2": "v2"}  # the source volume's, from the backup
    assert data_of(api, new["volume_id"]) == data
    # Onto an existing, bigger volume holding more data: the rest is zeroed, nothing shrinks.
    target = create_volume(api, token, 3, name="target", metadata={"k2": "old", "own": "x"})
    set_data(api, target["id"], b"\xff" * (5 * MIB))
    onto = restore(api, token, backup["id"], volume_id=target["id"])
    assert onto == {"backup_id": backup["id"], "volume_id": target["id"], "volume_name": "target"}
    target_meta = api.get(f"/volumes/{target['id']}", token=token).json()["volume"]["metadata"]
    assert target_meta == {"k1": "v1", "k2": "v2", "own": "x"}  # laid over, nothing deleted
    written = data_of(api, target["id"])
    assert written[: len(data)] == data and written[len(data) :] == bytes(5 * MIB - len(data))
    delete_backup(api, token, backup["id"])
    assert not folder.exists()


def test_incremental_backups_store_changes_and_restore_the_chain(
    backup_api: VolumeApi, member: Persona
) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    refused = api.post(
        "/backups", token=token, json={"backup": {"volume_id": volume["id"], "incremental": True}}
    )
    assert "No backups available" in assert_fault(refused, 400)
    first = pattern(3 * MIB, 3)
    set_data(api, volume["id"], first)
    full = backup_of(api, token, volume["id"], container="chain")
    second = first[:MIB] + pattern(MIB, 9) + first[2 * MIB :]
    set_data(api, volume["id"], second)
    child = backup_of(api, token, volume["id"], incremental=True, container="chain")
    assert child["is_incremental"] is True and child["object_count"] == 1
    assert api.get(f"/backups/{full['id']}", token=token).json()["backup"]["has_dependent_backups"]
    folder = store_root(api) / "chain"
    assert len(list((folder / child["id"]).glob("chunk-*"))) == 1
    # The chain's head restores the changed data; its parent still the old.
    assert data_of(api, restore(api, token, child["id"])["volume_id"]) == second
    assert data_of(api, restore(api, token, full["id"])["volume_id"]) == first
    message = assert_fault(api.delete(f"/backups/{full['id']}", token=token), 400)
    assert "Incremental backups exist" in message
    forced = api.post(f"/backups/{full['id']}/action", json={"os-force_delete": {}})
    assert_fault(forced, 400)
    delete_backup(api, token, child["id"])
    delete_backup(api, token, full["id"])
    assert not folder.exists()


def test_in_use_volume_needs_force_and_gets_its_status_back(
    backup_api: VolumeApi, member: Persona
) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], b"attached")
    attach = {"os-attach": {"instance_uuid": "7f2b4fb6-0d1c-4f49-9a55-4b9e7d3ad1a0"}}
    attach["os-attach"]["mountpoint"] = "/dev/sdb"
    assert api.post(f"/volumes/{volume['id']}/action", token=token, json=attach).status_code == 202
    refused = api.post("/backups", token=token, json={"backup": {"volume_id": volume["id"]}})
    assert "force flag" in assert_fault(refused, 400)
    backup = backup_of(api, token, volume["id"], force=True)
    assert backup["status"] == "available"
    assert wait_volume(api, volume["id"], token, "in-use")["status"] == "in-use"
    # The attached disk was read through a copy, which is gone again.
    assert not [p for p in api.fake.state.disks if f"backup-{backup['id']}" in p]
    assert data_of(api, restore(api, token, backup["id"])["volume_id"]) == b"attached"
    # An in-use volume cannot be restored onto.
    onto = api.post(
        f"/backups/{backup['id']}/restore",
        token=token,
        json={"restore": {"volume_id": volume["id"]}},
    )
    assert "must be available" in assert_fault(onto, 400)


def test_backup_of_a_snapshot(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], b"as snapshotted")
    response = api.post("/snapshots", token=token, json={"snapshot": {"volume_id": volume["id"]}})
    snapshot_id = response.json()["snapshot"]["id"]
    deadline = time.monotonic() + 20
    while api.get(f"/snapshots/{snapshot_id}", token=token).json()["snapshot"]["status"] != (
        "available"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    set_data(api, volume["id"], b"changed later")
    backup = backup_of(api, token, volume["id"], snapshot_id=snapshot_id)
    assert backup["snapshot_id"] == snapshot_id
    snapshot = api.get(f"/snapshots/{snapshot_id}", token=token).json()["snapshot"]
    assert snapshot["status"] == "available"
    assert data_of(api, restore(api, token, backup["id"])["volume_id"]) == b"as snapshotted"
    other = create_volume(api, token, 1)
    wrong = api.post(
        "/backups",
        token=token,
        json={"backup": {"volume_id": other["id"], "snapshot_id": snapshot_id}},
    )
    assert "not a snapshot of" in assert_fault(wrong, 400)


def test_refusals(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 2)
    post = api.post
    assert_fault(post("/backups", token=token, json={"backup": {}}), 400)
    assert_fault(post("/backups", token=token, json={"backup": {"volume_id": "nope"}}), 404)
    body = {"backup": {"volume_id": volume["id"], "container": "../etc"}}
    assert "container" in assert_fault(post("/backups", token=token, json=body), 400)
    body = {"backup": {"volume_id": volume["id"], "metadata": {"a": "1"}}}
    assert "metadata" in assert_fault(post("/backups", token=token, json=body), 400)  # < 3.43
    backup = backup_of(api, token, volume["id"])
    small = create_volume(api, token, 1)
    onto = post(
        f"/backups/{backup['id']}/restore",
        token=token,
        json={"restore": {"volume_id": small["id"]}},
    )
    assert "too small" in assert_fault(onto, 400)
    assert_fault(post(f"/backups/{backup['id']}/restore", token=token, json={}), 400)
    # Below 3.9 a backup cannot be updated (the call does not exist there).
    assert_fault(api.put(f"/backups/{backup['id']}", token=token, json={"backup": {}}), 404)
    # Another project sees nothing; a member cannot use the administrator's actions.
    stranger = persona(api.identity)
    assert_fault(api.get(f"/backups/{backup['id']}", token=stranger.token), 404)
    reset = {"os-reset_status": {"status": "error"}}
    assert_fault(post(f"/backups/{backup['id']}/action", token=token, json=reset), 403)
    assert_fault(api.get(f"/backups/{backup['id']}/export_record", token=token), 403)
    assert post(f"/backups/{backup['id']}/action", json=reset).status_code == 202
    assert api.get(f"/backups/{backup['id']}", token=token).json()["backup"]["status"] == "error"
    bad = {"os-reset_status": {"status": "creating"}}
    assert_fault(post(f"/backups/{backup['id']}/action", json=bad), 400)
    delete_backup(api, token, backup["id"])  # error backups can be deleted


def test_jobs_in_flight_refuse_deletes_and_force_delete_cancels(
    backup_api: VolumeApi, member: Persona
) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], pattern(2 * MIB, 4))
    api.fake.state.latency = 0.4  # every driver call is slow: the jobs stay in flight
    try:
        response = api.post("/backups", token=token, json={"backup": {"volume_id": volume["id"]}})
        backup_id = response.json()["backup"]["id"]
        assert api.get(f"/volumes/{volume['id']}", token=token).json()["volume"]["status"] == (
            "backing-up"
        )
        assert_fault(api.delete(f"/volumes/{volume['id']}", token=token), 400)
        assert "creating" in assert_fault(api.delete(f"/backups/{backup_id}", token=token), 400)
        forced = api.post(f"/backups/{backup_id}/action", json={"os-force_delete": {}})
        assert forced.status_code == 202
        assert wait_volume(api, volume["id"], token, "available")["status"] == "available"
    finally:
        api.fake.state.latency = 0
    deadline = time.monotonic() + 20
    while api.get(f"/backups/{backup_id}", token=token).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # The cancelled copy notices at its next chunk (or at its end) and removes what it wrote.
    while (store_root(api) / "volumebackups" / backup_id).exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    backup = backup_of(api, token, volume["id"])
    api.fake.state.latency = 0.4
    try:
        response = api.post(f"/backups/{backup['id']}/restore", token=token, json={"restore": {}})
        assert response.status_code == 202
        assert "restore" in assert_fault(api.delete(f"/backups/{backup['id']}", token=token), 400)
        forced = api.post(f"/backups/{backup['id']}/action", json={"os-force_delete": {}})
        assert_fault(forced, 400)
    finally:
        api.fake.state.latency = 0
    wait_backup(api, backup["id"], token, "available")


def test_failures_leave_nothing_behind(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], pattern(2 * MIB, 5))
    api.fake.state.fail_next("read_disk", DriverError("the datastore went away"))
    failed = backup_of(api, token, volume["id"])
    assert failed["status"] == "error" and "went away" in failed["fail_reason"]
    assert not (store_root(api) / "volumebackups" / failed["id"]).exists()
    assert wait_volume(api, volume["id"], token, "available")["status"] == "available"
    backup = backup_of(api, token, volume["id"])
    target = create_volume(api, token, 1)
    set_data(api, target["id"], b"kept")
    api.fake.state.fail_next("write_disk", NoCapacityError("datastore LocalDS_0 is full"))
    restored = restore(api, token, backup["id"], volume_id=target["id"])
    shown = api.get(f"/volumes/{restored['volume_id']}", token=token).json()["volume"]
    assert shown["status"] == "error_restoring"
    assert data_of(api, target["id"]) == b"kept"
    assert api.get(f"/backups/{backup['id']}", token=token).json()["backup"]["status"] == (
        "available"
    )
    # A damaged chunk fails the restore the same way (its digest differs).
    chunk = store_root(api) / "volumebackups" / backup["id"] / "chunk-00000001"
    chunk.write_bytes(b"bitrot" + chunk.read_bytes()[6:])
    again = restore(api, token, backup["id"])
    volume_row = api.get(f"/volumes/{again['volume_id']}", token=token).json()["volume"]
    assert volume_row["status"] == "error_restoring"


def test_quotas(backup_api: VolumeApi, member: Persona) -> None:
    api = backup_api
    owner = persona(api.identity)
    quota = {"quota_set": {"backups": 1, "backup_gigabytes": 1000}}
    assert api.put(f"/os-quota-sets/{owner.project_id}", json=quota).status_code == 200
    volume = create_volume(api, owner.token, 2)
    backup_of(api, owner.token, volume["id"])
    refused = api.post("/backups", token=owner.token, json={"backup": {"volume_id": volume["id"]}})
    assert "BackupLimitExceeded" in assert_fault(refused, 413)
    usage = api.get(f"/os-quota-sets/{owner.project_id}?usage=true").json()["quota_set"]
    assert usage["backups"]["in_use"] == 1 and usage["backup_gigabytes"]["in_use"] == 2
    lower = {"quota_set": {"backups": 1, "backup_gigabytes": 1}}
    assert_fault(api.put(f"/os-quota-sets/{owner.project_id}", json=lower), 400)
    limits = api.get("/limits", token=owner.token).json()["limits"]["absolute"]
    assert (limits["totalBackupsUsed"], limits["totalBackupGigabytesUsed"]) == (1, 2)


def test_export_and_import(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], pattern(MIB + 5, 6))
    backup = backup_of(api, token, volume["id"])
    exported = api.get(f"/backups/{backup['id']}/export_record")
    assert exported.status_code == 200, exported.text
    record = exported.json()["backup-record"]
    assert set(record) == {"backup_service", "backup_url"}
    assert record["backup_service"].startswith("cinder.backup.drivers.")  # as Tempest checks
    again = api.post("/backups/import_record", json={"backup-record": record})
    assert "already exists" in assert_fault(again, 400)
    # The database loses the backup but the store keeps its files: the import brings it back.
    folder = store_root(api) / "volumebackups" / backup["id"]
    kept = folder.parent.parent / "kept"
    shutil.copytree(folder, kept)
    delete_backup(api, token, backup["id"])
    missing = api.post("/backups/import_record", json={"backup-record": record})
    assert "cannot restore" in assert_fault(missing, 400)
    assert not folder.exists()
    shutil.copytree(kept, folder)
    shutil.rmtree(kept)
    imported = api.post("/backups/import_record", json={"backup-record": record})
    assert imported.status_code == 201, imported.text
    assert imported.json()["backup"]["id"] == backup["id"]
    shown = api.get(f"/backups/{backup['id']}").json()["backup"]
    assert shown["status"] == "available"
    restored = restore(api, api.admin_token, backup["id"])
    assert data_of(api, restored["volume_id"]) == pattern(MIB + 5, 6)
    # The record under another id (as Tempest imports it): a second backup of the same data,
    # which outlives the original.
    raw = json.loads(base64.b64decode(record["backup_url"]))
    other = str(uuid.uuid4())
    url = base64.b64encode(json.dumps({**raw, "id": other}).encode()).decode()
    twin = {"backup_service": record["backup_service"], "backup_url": url}
    copied = api.post("/backups/import_record", json={"backup-record": twin})
    assert copied.status_code == 201, copied.text
    assert copied.json()["backup"]["id"] == other
    delete_backup(api, api.admin_token, backup["id"])
    restored = restore(api, api.admin_token, other)
    assert data_of(api, restored["volume_id"]) == pattern(MIB + 5, 6)
    bad_id = base64.b64encode(json.dumps({**raw, "id": "../x"}).encode()).decode()
    bad = {"backup_service": record["backup_service"], "backup_url": bad_id}
    assert "not a backup id" in assert_fault(
        api.post("/backups/import_record", json={"backup-record": bad}), 400
    )
    garbage = {"backup-record": {"backup_service": record["backup_service"], "backup_url": "x"}}
    assert_fault(api.post("/backups/import_record", json=garbage), 400)
    assert_fault(
        api.post("/backups/import_record", token=token, json={"backup-record": record}), 403
    )


@pytest.mark.usefixtures("latest")
def test_microversion_fields_and_update(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    body = {"backup": {"volume_id": volume["id"], "metadata": {"k": "v"}}}
    response = api.post("/backups", token=token, json=body, headers=at("3.43"))
    assert response.status_code == 202, response.text
    backup_id = response.json()["backup"]["id"]
    wait_backup(api, backup_id, token, "available")
    shown = api.get(f"/backups/{backup_id}", token=token, headers=at("3.43")).json()["backup"]
    assert shown["metadata"] == {"k": "v"} and "user_id" not in shown
    assert "os-backup-project-attr:project_id" not in shown  # administrators only
    admin = api.get(f"/backups/{backup_id}", headers=at("3.18")).json()["backup"]
    assert admin["os-backup-project-attr:project_id"] == member.project_id
    assert "metadata" not in admin
    late = api.get(f"/backups/{backup_id}", token=token, headers=at("3.64")).json()["backup"]
    assert late["user_id"] == member.user_id and late["encryption_key_id"] is None
    renamed = api.put(
        f"/backups/{backup_id}",
        token=token,
        json={"backup": {"name": "n", "description": "d"}},
        headers=at("3.9"),
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["backup"]["name"] == "n"
    early = {"backup": {"metadata": {"a": "b"}}}
    put = api.put(f"/backups/{backup_id}", token=token, json=early, headers=at("3.9"))
    assert_fault(put, 400)
    put = api.put(f"/backups/{backup_id}", token=token, json=early, headers=at("3.43"))
    assert put.status_code == 200
    shown = api.get(f"/backups/{backup_id}", token=token, headers=at("3.43")).json()["backup"]
    assert (shown["name"], shown["description"], shown["metadata"]) == ("n", "d", {"a": "b"})
    listed = api.get(
        "/backups", token=token, params={"with_count": "true", "limit": 1}, headers=at("3.45")
    ).json()
    assert listed["count"] >= 1 and len(listed["backups"]) == 1 and "backups_links" in listed
    assert "count" not in api.get("/backups", token=token, params={"with_count": "true"}).json()
    zone = {"backup": {"volume_id": volume["id"], "availability_zone": "elsewhere"}}
    assert_fault(api.post("/backups", token=token, json=zone, headers=at("3.51")), 400)


@pytest.mark.usefixtures("latest")
def test_volume_from_backup(backup_api: VolumeApi, member: Persona) -> None:
    api, token = backup_api, member.token
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], b"from a backup")
    backup = backup_of(api, token, volume["id"])
    body = {"volume": {"backup_id": backup["id"], "size": 2, "name": "fresh"}}
    assert_fault(api.post("/volumes", token=token, json=body, headers=at("3.46")), 400)
    response = api.post("/volumes", token=token, json=body, headers=at("3.47"))
    assert response.status_code == 202, response.text
    made = wait_volume(api, response.json()["volume"]["id"], token, "available", "error")
    assert (made["status"], made["size"]) == ("available", 2)
    assert data_of(api, made["id"]) == b"from a backup"
    wait_backup(api, backup["id"], token, "available")
    small = {"volume": {"backup_id": backup["id"], "size": 0}}
    assert_fault(api.post("/volumes", token=token, json=small, headers=at("3.47")), 400)


def test_round_trip_on_database_servers(server_api: VolumeApi) -> None:
    """The table, its conditional writes and its quota counts on the server databases."""
    api = server_api
    owner = persona(api.identity)
    volume = create_volume(api, owner.token, 1)
    set_data(api, volume["id"], pattern(MIB + 1, 7))
    full = backup_of(api, owner.token, volume["id"])
    child = backup_of(api, owner.token, volume["id"], incremental=True)
    assert (full["status"], child["status"], child["object_count"]) == ("available",) * 2 + (0,)
    assert data_of(api, restore(api, owner.token, child["id"])["volume_id"]) == pattern(MIB + 1, 7)
    assert_fault(api.delete(f"/backups/{full['id']}", token=owner.token), 400)
    usage = api.get(f"/os-quota-sets/{owner.project_id}?usage=true").json()["quota_set"]
    assert usage["backups"]["in_use"] == 2
    delete_backup(api, owner.token, child["id"])
    delete_backup(api, owner.token, full["id"])


def test_a_restart_fails_interrupted_backups_cleanly(
    backup_api: VolumeApi, member: Persona
) -> None:
    api, token = backup_api, member.token
    services = api.cloud.volume
    assert services is not None and services.backup_work is not None
    volume = create_volume(api, token, 1)
    set_data(api, volume["id"], pattern(2 * MIB, 8))
    api.fake.state.latency = 0.3
    try:
        response = api.post("/backups", token=token, json={"backup": {"volume_id": volume["id"]}})
        backup_id = response.json()["backup"]["id"]
        services.backup_work.recover(api.cloud.bus)  # what a restart finds
    finally:
        api.fake.state.latency = 0
    failed = wait_backup(api, backup_id, token, "error")
    assert "Interrupted" in failed["fail_reason"]
    assert wait_volume(api, volume["id"], token, "available")["status"] == "available"
    deadline = time.monotonic() + 10
    while (store_root(api) / "volumebackups" / backup_id).exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
