"""One policy engine for every service: oslo.policy with defaults in code and a YAML override.

Each service lists its `RuleDefault`s next to its API (e.g. `vistack.identity.policies`); the
composition root registers all of them on one `PolicyEngine`. Operators override any rule in
`policy.yaml` using the usual OpenStack rule syntax. Targets are flat dictionaries with dotted
keys (`target.user.id`) because that is what oslo.policy's `%(...)s` substitution reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from vistack.common.context import RequestContext
from vistack.common.errors import Forbidden

RuleDefault = oslo_policy.RuleDefault

#: Personas shared by all services. A project- or system-scoped admin is a cloud administrator,
#: as on every deployed OpenStack; a domain-scoped admin is not (it is confined to its domain by
#: the rules that name `domain_id`); a system-scoped reader may read everything.
BASE_RULES: tuple[oslo_policy.RuleDefault, ...] = (
    RuleDefault(
        "admin_required", "role:admin and not token_scope:domain", "A cloud administrator."
    ),
    RuleDefault(
        "cloud_reader",
        "rule:admin_required or (role:reader and system_scope:all)",
        "May read every resource of the cloud.",
    ),
    RuleDefault("service_role", "role:service", "A service user talking to another service."),
    RuleDefault(
        "project_member",
        "role:member and project_id:%(target.project_id)s",
        "A member of the project that owns the target.",
    ),
    RuleDefault(
        "project_reader",
        "role:reader and project_id:%(target.project_id)s",
        "A reader of the project that owns the target.",
    ),
)


class PolicyEngine:
    """Authorises actions for a `RequestContext` against a target."""

    def __init__(
        self, defaults: Iterable[oslo_policy.RuleDefault], policy_file: Path | None = None
    ) -> None:
        conf = cfg.ConfigOpts()
        conf([], project="vistack", default_config_files=[], default_config_dirs=[])
        # An absolute path that does not exist simply means "defaults only"; never let
        # oslo.config search the working directory or /etc for a policy file we did not name.
        path = (policy_file or Path("/nonexistent/vistack-policy.yaml")).resolve()
        self._path = path
        self._stamp = _mtime(path)
        self._next_stat = time.monotonic() + POLICY_FILE_CHECK_SECONDS
        self._decisions: dict[tuple[Any, ...], bool] = {}
        if path.exists():
            logging.getLogger(__name__).info("policy overrides read from %s", path)
        self._enforcer = oslo_policy.Enforcer(conf, policy_file=str(path), use_conf=True)
        conf.set_override("policy_dirs", [], "oslo_policy")
        self._enforcer.register_defaults(list(BASE_RULES))
        self._enforcer.register_defaults(list(defaults))
        self._enforcer.load_rules()

    def check(
        self, rule: str, context: RequestContext, target: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether `context` may perform `rule` on `target`.

        Decisions are memoised by (rule, credentials, target): oslo.policy re-reads its
        configuration and introspects every check function on each call, which cost a third
        of a token validation. A changed policy file (by mtime, looked at once a second)
        clears the memo.
        """
        credentials = context.policy_credentials()
        key = (rule, _freeze(credentials), _freeze(target or {}))
        now = time.monotonic()
        if now >= self._next_stat:
            # At most one stat a second: a list of thousands of resources checks policy per
            # item, and a changed policy.yaml still takes effect within a second.
            self._next_stat = now + POLICY_FILE_CHECK_SECONDS
            stamp = _mtime(self._path)
            if stamp != self._stamp:
                self._stamp = stamp
                self._decisions.clear()
        decision = self._decisions.get(key)
        if decision is None:
            decision = bool(self._enforcer.enforce(rule, dict(target or {}), credentials))
            if len(self._decisions) >= MAX_MEMOISED_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def authorize(
        self, rule: str, context: RequestContext, target: Mapping[str, Any] | None = None
    ) -> None:
        """Raise `Forbidden` unless `context` may perform `rule` on `target`.

        :raises Forbidden: policy does not allow it.
        """
        if not self.check(rule, context, target):
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")

    @property
    def rule_names(self) -> list[str]:
        return sorted(self._enforcer.registered_rules)


#: How often `check` looks at the policy file's mtime.
POLICY_FILE_CHECK_SECONDS = 1.0
#: Bound on memoised decisions; past it the memo starts over (cheap, and rare).
MAX_MEMOISED_DECISIONS = 50_000


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _freeze(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))
