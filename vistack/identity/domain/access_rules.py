"""Application credential access rules: which API calls a credential's tokens may make.

A rule is a service type, an HTTP method and a path glob. A credential with no rules is limited
by its roles only; a credential with rules can make the calls its rules match and nothing else,
on every service, the identity API included. This is what keystonemiddleware does for each
service (`BaseAuthProtocol.validate_allowed_request`) and Keystone for itself (it runs the same
check with `service_type='identity'`):

- the method must equal the rule's, the service type of the API called must equal the rule's,
  and the path (relative to the service's root, e.g. `/v3/projects`) must match the rule's glob;
- `*` and `{name}` match one path segment (no `/`), `**` any number of characters, `/` included;
- `GET /v3/auth/tokens` on identity is always allowed, so a restricted token can be validated.

Two deliberate differences make this stricter, never looser: literal characters of a glob are
literal (keystonemiddleware pastes them into a regular expression, so its `.` matches anything),
and a stray `{` or `}` is a literal character instead of being dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from vistack.common.errors import BadRequest
from vistack.identity.domain.ids import new_id
from vistack.identity.domain.models import AccessRule
from vistack.identity.domain.ports import IdentityRepositories

#: What Keystone's JSON schema accepts for a rule.
METHODS = frozenset({"POST", "GET", "HEAD", "PATCH", "PUT", "DELETE"})
MAX_PATH_LENGTH = 225
_SERVICE_TYPE = re.compile(r"[a-zA-Z0-9-]{1,64}")
_GLOB_TOKEN = re.compile(
    r"(?P<tag>\{[^}]*\})|(?P<wild>\*(?!\*))|(?P<recursive>\*\*)|(?P<literal>.)", re.DOTALL
)


@dataclass(frozen=True)
class AccessRuleRequest:
    """A rule asked for when creating a credential: an existing rule by id, or a new one."""

    id: str | None = None
    service: str | None = None
    path: str | None = None
    method: str | None = None


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for token in _GLOB_TOKEN.finditer(pattern):
        if token["tag"] or token["wild"]:
            parts.append(r"[^/]+")
        elif token["recursive"]:
            parts.append(r".*")
        else:
            parts.append(re.escape(token["literal"]))
    return re.compile("".join(parts), re.DOTALL)


def path_matches(pattern: str, path: str) -> bool:
    """Whether `path` matches the rule glob `pattern` (the whole path, not a prefix)."""
    return _compile(pattern).fullmatch(path) is not None


def permits(rules: Sequence[AccessRule], service: str | None, method: str, path: str) -> bool:
    """Whether a token limited to `rules` may call `method path` on the service `service`.

    No rules means no limit. `service` is the service type of the API being called (None when
    unknown: then only an unlimited token gets through).
    """
    if not rules:
        return True
    if service == "identity" and method == "GET" and path == "/v3/auth/tokens":
        return True
    if not service:
        return False
    return any(
        rule.service == service and rule.method == method and path_matches(rule.path, path)
        for rule in rules
    )


def check_rule(service: str, path: str, method: str) -> None:
    """:raises BadRequest: the rule is not one Keystone would accept."""
    if not _SERVICE_TYPE.fullmatch(service):
        raise BadRequest(
            f"Invalid access rule service {service!r}: a service type is 1 to 64 letters, "
            f"digits and hyphens."
        )
    if not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
        raise BadRequest(
            f"Invalid access rule path {path!r}: it must start with '/' and be at most "
            f"{MAX_PATH_LENGTH} characters."
        )
    if method not in METHODS:
        raise BadRequest(
            f"Invalid access rule method {method!r}: use one of {', '.join(sorted(METHODS))}."
        )


def resolve_access_rules(
    repos: IdentityRepositories, user_id: str, requested: Iterable[AccessRuleRequest]
) -> tuple[AccessRule, ...]:
    """The rules for a new credential of `user_id`, creating those the user does not have yet.

    A rule the user already has (same service, path and method) is reused, so each user has
    each rule once whatever number of credentials use it.

    :raises BadRequest: a rule is malformed, or names by id a rule the user does not have.
    """
    chosen: dict[str, AccessRule] = {}
    for item in requested:
        rule = _resolve_one(repos, user_id, item)
        chosen.setdefault(rule.id, rule)
    return tuple(chosen.values())


def _resolve_one(repos: IdentityRepositories, user_id: str, item: AccessRuleRequest) -> AccessRule:
    if item.id is not None:
        rule = repos.access_rules.get(item.id)
        if rule is None or rule.user_id != user_id:
            raise BadRequest(f"Could not find access rule {item.id} among this user's rules.")
        given = {"service": item.service, "path": item.path, "method": item.method}
        if any(value is not None and value != getattr(rule, key) for key, value in given.items()):
            raise BadRequest(f"The access rule {item.id} does not have the given attributes.")
        return rule
    if item.service is None or item.path is None or item.method is None:
        raise BadRequest("An access rule needs either an id or a service, a path and a method.")
    check_rule(item.service, item.path, item.method)
    existing = repos.access_rules.find(
        user_id, service=item.service, path=item.path, method=item.method
    )
    if existing:
        return existing[0]
    rule = AccessRule(new_id(), user_id, item.service, item.path, item.method)
    repos.access_rules.add(rule)
    return rule
