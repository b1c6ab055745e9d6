"""Personality files (2.1 to 2.56) through HTTP on the fake vCenter: they travel on the config
drive in Nova's layout (`openstack/content/NNNN`, listed in `meta_data.json`), within the
project's injection quotas, kept for drives made again and replaced by a rebuild."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.api.compute_env import Env, env_fixture
from tests.api.conftest import COMPUTE_ON_SQLITE_ONLY, ComputeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_metadata_service import ask, drive_of, iso_files
from tests.api.test_compute_servers import create, fault, wait_status

pytestmark = COMPUTE_ON_SQLITE_ONLY
member = persona_fixture("compute_api")
env = env_fixture("10.53.0.0/24")
MOTD = b"Welcome to a vistack server\n"
CONFIG = b"\x00\x01binary\xff"


def personality(*files: tuple[str, bytes]) -> list[dict[str, str]]:
    return [{"path": p, "contents": base64.b64encode(data).decode()} for p, data in files]


def boot_with(api: ComputeApi, env: Env, files: list[dict[str, str]], **extra: Any) -> Any:
    return create(
        api,
        env.member.token,
        imageRef=env.image_id,
        flavorRef="1",
        networks=[{"uuid": env.network["id"]}],
        personality=files,
        **extra,
    )


def drive_files(api: ComputeApi, server_id: str) -> dict[str, bytes]:
    return iso_files(drive_of(api, server_id)[1])


def test_files_travel_on_the_config_drive_in_novas_layout(
    compute_api: ComputeApi, env: Env
) -> None:
    files = personality(("/etc/motd", MOTD), ("/etc/app/config.bin", CONFIG))
    response = boot_with(compute_api, env, files, **{"OS-DCF:diskConfig": "AUTO"})
    assert response.status_code == 202, response.text
    server = wait_status(compute_api, response.json()["server"]["id"], env.member.token, "ACTIVE")
    assert server["config_drive"] == "True"  # files ask for a drive: they travel on it
    assert server["OS-DCF:diskConfig"] == "AUTO"
    on_drive = drive_files(compute_api, server["id"])
    assert on_drive["openstack/content/0000"] == MOTD
    assert on_drive["openstack/content/0001"] == CONFIG
    meta = json.loads(on_drive["openstack/latest/meta_data.json"])
    assert meta["files"] == [
        {"path": "/etc/motd", "content_path": "/content/0000"},
        {"path": "/etc/app/config.bin", "content_path": "/content/0001"},
    ]
    # As in Nova, the metadata service never has them.
    assert "files" not in ask(compute_api, server, "/openstack/latest/meta_data.json").json()

    # A rebuild replaces the files with its own, and a rebuild without any drops them.
    action = f"/servers/{server['id']}/action"
    rebuild = {"imageRef": env.image_id, "personality": personality(("/etc/issue", b"v2"))}
    answer = compute_api.post(action, token=env.member.token, json={"rebuild": rebuild})
    assert answer.status_code == 202, answer.text
    wait_status(compute_api, server["id"], env.member.token, "ACTIVE")
    on_drive = drive_files(compute_api, server["id"])
    assert on_drive["openstack/content/0000"] == b"v2"
    assert "openstack/content/0001" not in on_drive
    assert json.loads(on_drive["openstack/latest/meta_data.json"])["files"] == [
        {"path": "/etc/issue", "content_path": "/content/0000"}
    ]
    plain = {"rebuild": {"imageRef": env.image_id}}
    assert compute_api.post(action, token=env.member.token, json=plain).status_code == 202
    wait_status(compute_api, server["id"], env.member.token, "ACTIVE")
    on_drive = drive_files(compute_api, server["id"])
    assert not [name for name in on_drive if name.startswith("openstack/content/")]
    assert "files" not in json.loads(on_drive["openstack/latest/meta_data.json"])


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (personality(*[(f"/etc/f{n}", b"x") for n in range(6)]), "Personality file limit exceeded"),
        (personality(("/" + "p" * 255, b"x")), "Personality file path exceeds maximum 255"),
        (personality(("/big", b"x" * 10241)), "Personality file content exceeds maximum 10240"),
    ],
)
def test_files_past_the_injection_quotas_are_refused(
    compute_api: ComputeApi, env: Env, files: list[dict[str, str]], message: str
) -> None:
    before = compute_api.get("/servers", token=env.member.token).json()["servers"]
    assert fault(boot_with(compute_api, env, files), 403, "forbidden") == message
    assert compute_api.get("/servers", token=env.member.token).json()["servers"] == before


def test_the_projects_own_injection_quota_applies(compute_api: ComputeApi, env: Env) -> None:
    project = env.member.project_id
    lowered = {"quota_set": {"injected_files": 1}}
    assert compute_api.put(f"/os-quota-sets/{project}", json=lowered).status_code == 200
    try:
        two = personality(("/a", b"1"), ("/b", b"2"))
        message = fault(boot_with(compute_api, env, two), 403, "forbidden")
        assert message == "Personality file limit exceeded"
    finally:
        restored = {"quota_set": {"injected_files": 5}}
        assert compute_api.put(f"/os-quota-sets/{project}", json=restored).status_code == 200


def test_malformed_files_are_refused(compute_api: ComputeApi, env: Env) -> None:
    for files, detail in (
        ({"path": "/x"}, "list of files"),
        ([{"path": "/x", "contents": "aGk=", "mode": "0600"}], "path and contents"),
        ([{"contents": "aGk="}], "'path'"),
    ):
        message = fault(boot_with(compute_api, env, files), 400, "badRequest")  # type: ignore[arg-type]
        assert detail in message and "personality" in message
