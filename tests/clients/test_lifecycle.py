"""`vistack up` as an operator runs it: files it writes, restart on the same data dir, SIGTERM,
Fernet key rotation on a running cloud, and what reaches the server log.
"""

from __future__ import annotations

import re
import stat
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet, InvalidToken

from tests.conftest import VISTACK, RunningCloud, start_cloud, stop_cloud

pytestmark = pytest.mark.clients

READY_URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/identity/v3$")


@contextmanager
def cloud_on(data_dir: Path) -> Iterator[RunningCloud]:
    """A `vistack up` that is always stopped, even when the test fails half-way."""
    cloud = start_cloud(data_dir)
    try:
        yield cloud
    finally:
        if cloud.process.poll() is None:
            stop_cloud(cloud)


def log_of(cloud: RunningCloud) -> str:
    return (cloud.data_dir.parent / f"{cloud.data_dir.name}-vistack.log").read_text()


def clouds(cloud: RunningCloud) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(cloud.clouds_yaml.read_text())["clouds"]
    return document


def password_token(
    cloud: RunningCloud, user: str, password: str, project: str | None = "admin"
) -> httpx.Response:
    auth: dict[str, Any] = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}},
        }
    }
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return httpx.post(f"{cloud.url}/auth/tokens", json={"auth": auth}, timeout=30)


def issue(cloud: RunningCloud, user: str, password: str, project: str | None = "admin") -> str:
    response = password_token(cloud, user, password, project)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def admin_token(cloud: RunningCloud) -> str:
    return issue(cloud, "admin", clouds(cloud)["vistack-admin"]["auth"]["password"])


def validate(cloud: RunningCloud, caller: str, subject: str) -> httpx.Response:
    return httpx.get(
        f"{cloud.url}/auth/tokens",
        headers={"X-Auth-Token": caller, "X-Subject-Token": subject},
        timeout=30,
    )


def call(cloud: RunningCloud, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{cloud.url}{path}", headers={"X-Auth-Token": token}, timeout=30, **kwargs
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_no_secrets(log: str, secrets: list[str]) -> None:
    assert log, "the server wrote no log at all"
    for secret in secrets:
        assert secret not in log, f"a secret ({secret[:6]}...) appears in the server log"


def test_restart_keeps_accounts_and_tokens(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    name = uuid.uuid4().hex[:8]
    project_name, user_name, user_password = f"keep-{name}", f"keeper-{name}", f"Pw-{name}-x1"
    wrong_password = f"Wrong-{uuid.uuid4().hex}"

    with cloud_on(data_dir) as first:
        port = READY_URL.match(first.url)
        assert port, f"unexpected ready URL {first.url!r}"
        assert first.url == f"http://127.0.0.1:{port.group(1)}/identity/v3"

        for private in ("clouds.yaml", "admin-openrc", "bootstrap.json"):
            assert mode(data_dir / private) == 0o600, private
        assert mode(data_dir / "fernet-keys") == 0o700
        for key in (data_dir / "fernet-keys").iterdir():
            assert mode(key) == 0o600, key

        passwords = {n: c["auth"]["password"] for n, c in clouds(first).items()}
        assert set(passwords) == {"vistack-admin", "vistack-demo"}
        assert clouds(first)["vistack-admin"]["auth"]["auth_url"] == first.url.removesuffix("/v3")
        openrc = (data_dir / "admin-openrc").read_text()
        assert f"export OS_PASSWORD={passwords['vistack-admin']}\n" in openrc
        assert f"export OS_AUTH_URL={first.url.removesuffix('/v3')}\n" in openrc

        admin = admin_token(first)
        created = call(first, admin, "POST", "/projects", json={"project": {"name": project_name}})
        assert created.status_code == 201, created.text
        project_id = created.json()["project"]["id"]
        created = call(
            first,
            admin,
            "POST",
            "/users",
            json={"user": {"name": user_name, "password": user_password}},
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["user"]["id"]
        member = next(
            r["id"]
            for r in call(first, admin, "GET", "/roles", params={"name": "member"}).json()["roles"]
        )
        granted = call(
            first, admin, "PUT", f"/projects/{project_id}/users/{user_id}/roles/{member}"
        )
        assert granted.status_code == 204, granted.text

        user_token = issue(first, user_name, user_password, project_name)
        demo_token = issue(first, "demo", passwords["vistack-demo"], "demo")
        refused = password_token(first, user_name, wrong_password, project_name)
        assert refused.status_code == 401

        assert stop_cloud(first) == 0
        first_log = log_of(first)
    tokens = [admin, user_token, demo_token]
    assert_no_secrets(first_log, [*passwords.values(), user_password, wrong_password, *tokens])

    with cloud_on(data_dir) as second:
        assert READY_URL.match(second.url)
        assert {n: c["auth"]["password"] for n, c in clouds(second).items()} == passwords
        for private in ("clouds.yaml", "admin-openrc"):
            assert mode(data_dir / private) == 0o600, private

        # The same clouds.yaml passwords work; so does the user created before the restart.
        fresh_admin = admin_token(second)
        issue(second, "demo", passwords["vistack-demo"], "demo")
        issue(second, user_name, user_password, project_name)

        project = call(second, fresh_admin, "GET", f"/projects/{project_id}")
        assert project.status_code == 200
        assert project.json()["project"]["name"] == project_name
        user = call(second, fresh_admin, "GET", f"/users/{user_id}")
        assert user.status_code == 200
        assert user.json()["user"]["name"] == user_name
        assignments = call(
            second, fresh_admin, "GET", "/role_assignments", params={"user.id": user_id}
        ).json()["role_assignments"]
        assert [(a["role"]["id"], a["scope"]) for a in assignments] == [
            (member, {"project": {"id": project_id}})
        ]

        # Tokens issued before the restart still validate: the Fernet keys were persisted.
        for token in tokens:
            validated = validate(second, fresh_admin, token)
            assert validated.status_code == 200, validated.text
        assert validate(second, fresh_admin, user_token).json()["token"]["user"]["id"] == user_id
        # ... and the old admin token still works as a credential.
        assert call(second, admin, "GET", f"/users/{user_id}").status_code == 200

        assert stop_cloud(second) == 0
        second_log = log_of(second)
    assert_no_secrets(second_log, [*passwords.values(), user_password, fresh_admin, *tokens])


def fernet_decrypts(key: bytes, token: str) -> bool:
    padded = token + "=" * (-len(token) % 4)  # Keystone strips the base64 padding
    try:
        Fernet(key).decrypt(padded)
    except InvalidToken:
        return False
    return True


def test_key_rotation_on_running_cloud(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    keys_dir = data_dir / "fernet-keys"
    with cloud_on(data_dir) as cloud:
        assert sorted(int(p.name) for p in keys_dir.iterdir()) == [0, 1]
        old = admin_token(cloud)
        assert fernet_decrypts((keys_dir / "1").read_bytes(), old)
        staged = (keys_dir / "0").read_bytes()

        rotated = subprocess.run(
            [str(VISTACK), "keys", "rotate", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "primary key is now 2" in rotated.stdout
        assert sorted(int(p.name) for p in keys_dir.iterdir()) == [0, 1, 2]
        assert (keys_dir / "2").read_bytes() == staged
        for key in keys_dir.iterdir():
            assert mode(key) == 0o600, key

        # The running server picks up the new primary without a restart ...
        new = admin_token(cloud)
        assert fernet_decrypts((keys_dir / "2").read_bytes(), new)
        assert not fernet_decrypts((keys_dir / "1").read_bytes(), new)
        # ... and still accepts tokens encrypted with the previous one.
        for caller, subject in [(new, old), (old, new), (new, new)]:
            validated = validate(cloud, caller, subject)
            assert validated.status_code == 200, validated.text
        listed = call(cloud, old, "GET", "/projects")
        assert listed.status_code == 200

        assert stop_cloud(cloud) == 0
        log = log_of(cloud)
    passwords = [c["auth"]["password"] for c in yaml.safe_load(
        (data_dir / "clouds.yaml").read_text()
    )["clouds"].values()]  # fmt: skip
    assert_no_secrets(log, [*passwords, old, new])
