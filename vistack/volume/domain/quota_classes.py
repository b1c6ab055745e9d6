"""Cinder's quota classes (`os-quota-class-sets/{class_name}`), for administrators.

A class is a named set of limits. The class `default` is the one that matters: its limits
override the configured defaults for every project that has none of its own, and it is what
`os-quota-sets/{project}/defaults` shows (`VolumeQuotas.default_limits`). Any other class name
is stored and shown as Cinder keeps it (its unset limits are the default class's), but no
project follows it: Cinder gives every project the `default` class.

A class may also set per-volume-type limits (`volumes_<type>`, `snapshots_<type>`,
`gigabytes_<type>`, `type_quotas.py`) for existing types only.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.common.policy import PolicyEngine
from vistack.volume.db import quota_class_tables as qct
from vistack.volume.db.store import Collision, VolumeStore, VolumeUnit
from vistack.volume.domain import type_quotas
from vistack.volume.domain.quotas import RESOURCES, VolumeQuotas, limit_value
from vistack.volume.domain.type_quotas import DEFAULT_CLASS

#: Cinder's limit on a class name (its `quota_classes.class_name` column).
NAME_LIMIT = 255


class QuotaClassService:
    """Show and set a quota class's limits."""

    def __init__(self, store: VolumeStore, policy: PolicyEngine, quotas: VolumeQuotas) -> None:
        self._store = store
        self._policy = policy
        self._quotas = quotas

    def show(self, context: RequestContext, class_name: str) -> dict[str, int]:
        """Every resource's limit in the class (unset ones: the default class's, else the
        configured default; per-type ones unset anywhere: -1)."""
        self._policy.authorize("volume_extension:quota_classes", context, {})
        _check_name(class_name)
        with self._store.transaction() as unit:
            return self._limits(unit, class_name)

    def update(self, context: RequestContext, class_name: str, body: Any) -> dict[str, int]:
        """Set some of the class's limits; returns all of them.

        :raises BadRequest: no `quota_class_set` object, a key that is no resource (per-type
            keys must name an existing type), or a value that is not an integer >= -1.
        """
        self._policy.authorize("volume_extension:quota_classes:update", context, {})
        _check_name(class_name)
        fields = body.get("quota_class_set") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            raise BadRequest("Missing required element 'quota_class_set' in request body.")
        # `id` is what GET answers besides the limits: a client may PUT back what it read.
        wanted = {name: limit_value(name, v) for name, v in fields.items() if name != "id"}
        for attempt in (1, 2):
            try:
                with self._store.transaction() as unit:
                    per_type = type_quotas.parse(unit, [n for n in wanted if n not in RESOURCES])
                    for name, limit in wanted.items():
                        if name in per_type:
                            type_id, resource = per_type[name]
                            qct.set_class_type_limit(unit, class_name, type_id, resource, limit)
                        else:
                            qct.set_class_limit(unit, class_name, name, limit)
                    return self._limits(unit, class_name)
            except Collision:
                # Another request made one of these rows meanwhile: the second try updates it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _limits(self, unit: VolumeUnit, class_name: str) -> dict[str, int]:
        limits = self._quotas.default_limits(unit)
        if class_name != DEFAULT_CLASS:
            own = qct.class_limits(unit, class_name)
            limits.update({k: v for k, v in own.items() if k in RESOURCES})
        return {**limits, **type_quotas.shown(unit, type_quotas.class_limits(unit, class_name))}


def _check_name(class_name: str) -> None:
    if not class_name or len(class_name) > NAME_LIMIT:
        raise BadRequest(
            f"Invalid input received: a quota class name must be 1 to {NAME_LIMIT} characters."
        )
