"""Migrations (`os-migrations`): the moves of servers between compute hosts.

This cloud records none: cold and live migration, resize and evacuation are not built, and
vMotion inside a cluster is vSphere's own business (the server stays on its compute node). The
list is therefore truthfully empty, whatever the filters; it exists so that the tools which ask
(`openstack server migration list`, Horizon, Tempest) get Nova's answer instead of a 404.
Nova 2.1's filters (`host`, `status`, `migration_type`, `instance_uuid`...) are accepted and,
there being nothing to filter, change nothing; unknown ones are ignored, as Nova ignores them.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine


class MigrationService:
    """The (empty) record of server migrations."""

    def __init__(self, policy: PolicyEngine) -> None:
        self._policy = policy

    def list_migrations(self, context: RequestContext) -> list[dict[str, Any]]:
        self._policy.authorize("os_compute_api:os-migrations:index", context, {})
        return []
