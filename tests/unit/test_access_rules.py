"""Application credential access rules: path globs, which calls a rule set permits, validation."""

from __future__ import annotations

import pytest

from vistack.common.errors import BadRequest
from vistack.identity.domain.access_rules import check_rule, path_matches, permits
from vistack.identity.domain.models import AccessRule


def _rule(service: str, method: str, path: str) -> AccessRule:
    return AccessRule("r1", "u1", service, path, method)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/v2.1/servers", "/v2.1/servers"),
        ("/v2.1/servers/*", "/v2.1/servers/abc"),
        ("/v2.1/servers/*/ips", "/v2.1/servers/abc/ips"),
        ("/v2.1/servers/{server_id}/ips", "/v2.1/servers/abc/ips"),
        ("/v2.1/**", "/v2.1/servers/abc/ips"),
        ("/v2.1/**", "/v2.1/"),
        ("/v2.1/**/ips", "/v2.1/servers/abc/ips"),
        ("/v3/users/*/application_credentials", "/v3/users/u-1/application_credentials"),
        ("/v1/*", "/v1/a.b"),
    ],
)
def test_matching_paths(pattern: str, path: str) -> None:
    assert path_matches(pattern, path)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        # The whole path must match, not a prefix or a suffix.
        ("/v2.1/servers", "/v2.1/servers/abc"),
        ("/v2.1/servers", "/x/v2.1/servers"),
        ("/v2.1/servers", "/v2.1/servers/"),
        # `*` and `{name}` are exactly one non-empty segment.
        ("/v2.1/servers/*", "/v2.1/servers/abc/ips"),
        ("/v2.1/servers/*", "/v2.1/servers/"),
        ("/v2.1/servers/*/ips", "/v2.1/servers/a/b/ips"),
        ("/v2.1/servers/{server_id}", "/v2.1/servers/a/b"),
        ("/v2.1/**", "/v2.1"),
        # Literal characters are literal: `.` is not a regular expression wildcard here.
        ("/v2.1/servers", "/v2x1/servers"),
        ("/v3/(users)", "/v3/users"),
        ("/v3/users", "/v3/Users"),
    ],
)
def test_non_matching_paths(pattern: str, path: str) -> None:
    assert not path_matches(pattern, path)


def test_no_rules_permit_everything() -> None:
    assert permits((), "identity", "DELETE", "/v3/users/u1")
    assert permits((), None, "GET", "/anything")


def test_a_call_must_match_service_method_and_path() -> None:
    rules = (_rule("identity", "GET", "/v3/projects"), _rule("compute", "GET", "/v2.1/**"))
    assert permits(rules, "identity", "GET", "/v3/projects")
    assert not permits(rules, "identity", "POST", "/v3/projects")
    assert not permits(rules, "identity", "HEAD", "/v3/projects")
    assert not permits(rules, "identity", "GET", "/v3/users")
    assert not permits(rules, "identity", "GET", "/v2.1/servers")
    assert permits(rules, "compute", "GET", "/v2.1/servers/abc")
    assert not permits(rules, "compute", "GET", "/v3/projects")
    assert not permits(rules, "image", "GET", "/v2.1/servers")


def test_rules_for_other_services_lock_identity_out() -> None:
    # Keystone runs the same check for itself with service type "identity".
    rules = (_rule("compute", "GET", "/v2.1/servers/*/ips"),)
    assert not permits(rules, "identity", "GET", "/v3/projects")
    assert not permits(rules, "identity", "GET", "/v3/users/u1/application_credentials")


def test_a_restricted_token_may_always_be_validated() -> None:
    rules = (_rule("compute", "GET", "/v2.1/servers"),)
    assert permits(rules, "identity", "GET", "/v3/auth/tokens")
    assert not permits(rules, "identity", "DELETE", "/v3/auth/tokens")
    assert not permits(rules, "compute", "GET", "/v3/auth/tokens")


def test_an_unknown_service_type_permits_nothing_to_a_limited_token() -> None:
    rules = (_rule("identity", "GET", "/**"),)
    assert not permits(rules, None, "GET", "/v3/projects")
    assert not permits(rules, "", "GET", "/v3/projects")


@pytest.mark.parametrize(
    ("service", "path", "method"),
    [
        ("compute", "/v2.1/servers", "GET"),
        ("object-store", "/v1/**", "PUT"),
        ("identity", "/", "DELETE"),
        ("a" * 64, "/" + "x" * 224, "HEAD"),
    ],
)
def test_valid_rules(service: str, path: str, method: str) -> None:
    check_rule(service, path, method)


@pytest.mark.parametrize(
    ("service", "path", "method"),
    [
        ("", "/v2.1/servers", "GET"),
        ("com pute", "/v2.1/servers", "GET"),
        ("compute_", "/v2.1/servers", "GET"),
        ("a" * 65, "/v2.1/servers", "GET"),
        ("compute", "v2.1/servers", "GET"),
        ("compute", "", "GET"),
        ("compute", "/" + "x" * 225, "GET"),
        ("compute", "/v2.1/servers", "get"),
        ("compute", "/v2.1/servers", "OPTIONS"),
    ],
)
def test_invalid_rules(service: str, path: str, method: str) -> None:
    with pytest.raises(BadRequest):
        check_rule(service, path, method)
