"""Security-compliance password rules: lockout, reuse, minimum age, expiry, strength."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import IdentityApi, build_test_cloud
from vistack.config import Settings


def _rules(settings: Settings) -> None:
    rules = settings.security_compliance
    rules.lockout_failure_attempts = 2
    rules.lockout_duration = 3600
    rules.unique_last_password_count = 2
    rules.password_regex = r"^(?=.*\d).{8,}$"
    rules.password_regex_description = "at least 8 characters including a digit"


@pytest.fixture(scope="module")
def strict_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityApi]:
    cloud = build_test_cloud(tmp_path_factory.mktemp("compliance"), configure=_rules)
    try:
        with TestClient(cloud.asgi, base_url="http://vistack.test") as client:
            yield IdentityApi(cloud, client)
    finally:
        cloud.close()


def _user(api: IdentityApi, name: str, password: str = "first-pass1") -> str:
    response = api.post("/users", json={"user": {"name": name, "password": password}})
    assert response.status_code == 201, response.text
    user_id: str = response.json()["user"]["id"]
    return user_id


def _change(api: IdentityApi, user_id: str, original: str, new: str) -> int:
    response = api.client.post(
        f"/identity/v3/users/{user_id}/password",
        json={"user": {"original_password": original, "password": new}},
    )
    return int(response.status_code)


def test_weak_password_is_refused_with_the_rule_in_words(strict_api: IdentityApi) -> None:
    response = strict_api.post("/users", json={"user": {"name": "weak", "password": "short"}})
    assert response.status_code == 400
    assert "at least 8 characters including a digit" in response.json()["error"]["message"]


def test_lockout_after_failures_even_with_the_right_password(strict_api: IdentityApi) -> None:
    _user(strict_api, "locky")
    for _ in range(2):
        assert strict_api.authenticate("locky", "wrong-pass1").status_code == 401
    locked = strict_api.authenticate("locky", "first-pass1")
    assert locked.status_code == 401
    assert "locked" in locked.json()["error"]["message"]


def test_success_resets_the_failure_count(strict_api: IdentityApi) -> None:
    _user(strict_api, "resetty")
    assert strict_api.authenticate("resetty", "wrong-pass1").status_code == 401
    assert strict_api.authenticate("resetty", "first-pass1").status_code == 201
    assert strict_api.authenticate("resetty", "wrong-pass1").status_code == 401
    assert strict_api.authenticate("resetty", "first-pass1").status_code == 201


def test_self_service_change_may_not_reuse_recent_passwords(strict_api: IdentityApi) -> None:
    user_id = _user(strict_api, "reuser")
    assert _change(strict_api, user_id, "first-pass1", "first-pass1") == 400
    assert _change(strict_api, user_id, "first-pass1", "second-pass2") == 204
    assert _change(strict_api, user_id, "second-pass2", "first-pass1") == 400
    assert _change(strict_api, user_id, "second-pass2", "third-pass3") == 204
    # Only the last two count: the first password is allowed again.
    assert _change(strict_api, user_id, "third-pass3", "first-pass1") == 204
    assert strict_api.authenticate("reuser", "first-pass1").status_code == 201


def test_admin_reset_skips_the_reuse_rule(strict_api: IdentityApi) -> None:
    user_id = _user(strict_api, "resetme")
    response = strict_api.patch(f"/users/{user_id}", json={"user": {"password": "first-pass1"}})
    assert response.status_code == 200, response.text


def test_expired_password_refuses_authentication(tmp_path: Path) -> None:
    def expiring(settings: Settings) -> None:
        settings.security_compliance.password_expires_days = 1

    cloud = build_test_cloud(tmp_path, configure=expiring)
    try:
        with TestClient(cloud.asgi, base_url="http://vistack.test") as client:
            api = IdentityApi(cloud, client)
            user_id = _user(api, "expiring")
            shown = api.get(f"/users/{user_id}").json()["user"]
            assert shown["password_expires_at"] is not None
            assert api.authenticate("expiring", "first-pass1").status_code == 201
            # An operator can exempt service accounts from expiry.
            exempt = api.post(
                "/users",
                json={
                    "user": {
                        "name": "svc",
                        "password": "svc-pass1",
                        "options": {"ignore_password_expiry": True},
                    }
                },
            )
            assert exempt.json()["user"]["password_expires_at"] is None
    finally:
        cloud.close()
