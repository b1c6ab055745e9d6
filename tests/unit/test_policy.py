"""The policy engine with the identity defaults: personas, scopes and operator overrides."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from vistack.common import policy as policy_module
from vistack.common.context import RequestContext
from vistack.common.errors import Forbidden
from vistack.common.policy import PolicyEngine
from vistack.identity.policies import IDENTITY_RULES

ADMIN = RequestContext("r", user_id="a", project_id="p1", roles=("admin", "member", "reader"))
MEMBER = RequestContext("r", user_id="m", project_id="p1", roles=("member", "reader"))
SYSTEM_READER = RequestContext("r", user_id="s", system_scope="all", roles=("reader",))
DOMAIN_ADMIN = RequestContext("r", user_id="d", domain_id="dom1", roles=("admin", "member"))


@pytest.fixture
def policy() -> PolicyEngine:
    return PolicyEngine(IDENTITY_RULES)


def test_admin_may_do_anything(policy: PolicyEngine) -> None:
    assert policy.check("identity:create_user", ADMIN, {"target.user.domain_id": "x"})
    assert policy.check("identity:delete_domain", ADMIN)


def test_member_may_not_manage_users(policy: PolicyEngine) -> None:
    assert not policy.check("identity:create_user", MEMBER, {"target.user.domain_id": "x"})
    with pytest.raises(Forbidden):
        policy.authorize("identity:create_project", MEMBER, {})


def test_users_read_themselves_only(policy: PolicyEngine) -> None:
    assert policy.check(
        "identity:get_user", MEMBER, {"target.user.id": "m", "target.user.domain_id": "x"}
    )
    assert not policy.check(
        "identity:get_user", MEMBER, {"target.user.id": "other", "target.user.domain_id": "x"}
    )


def test_system_reader_reads_but_does_not_write(policy: PolicyEngine) -> None:
    assert policy.check("identity:list_users", SYSTEM_READER)
    assert not policy.check("identity:create_user", SYSTEM_READER, {"target.user.domain_id": "x"})


def test_domain_admin_is_confined_to_its_domain(policy: PolicyEngine) -> None:
    assert policy.check("identity:create_user", DOMAIN_ADMIN, {"target.user.domain_id": "dom1"})
    assert not policy.check("identity:create_user", DOMAIN_ADMIN, {"target.user.domain_id": "dom2"})


def test_missing_target_values_never_match_unscoped_credentials(policy: PolicyEngine) -> None:
    unscoped_reader = RequestContext("r", user_id="x", roles=("reader",))
    assert not policy.check("identity:list_users", unscoped_reader, {})


def test_policy_file_overrides_defaults(tmp_path: Path) -> None:
    override = tmp_path / "policy.yaml"
    override.write_text('"identity:list_projects": "role:member"\n')
    policy = PolicyEngine(IDENTITY_RULES, override)
    assert policy.check("identity:list_projects", MEMBER)
    assert not PolicyEngine(IDENTITY_RULES).check("identity:list_projects", MEMBER)


def test_a_changed_policy_file_takes_effect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy_module, "POLICY_FILE_CHECK_SECONDS", 0.0)
    override = tmp_path / "policy.yaml"
    override.write_text('"identity:list_projects": "role:member"\n')
    policy = PolicyEngine(IDENTITY_RULES, override)
    assert policy.check("identity:list_projects", MEMBER)
    override.write_text('"identity:list_projects": "!"\n')
    os.utime(override, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert not policy.check("identity:list_projects", MEMBER)
