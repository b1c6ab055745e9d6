"""A server's metadata (`/servers/{id}/metadata`) and addresses (`/servers/{id}/ips`).

Metadata is the user's key/value pairs on the server, bounded by the project's
`metadata_items` quota; it lives on the server's row, so every change is one locked
read-modify-write and two concurrent changes cannot lose one another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.compute.domain.servers import server_not_found


def _items(body: Any, key: str) -> dict[str, str]:
    """`{key: {k: v}}` checked as Nova does: string keys of 1 to 255, string values up to 255."""
    if not isinstance(body, Mapping) or not isinstance(body.get(key), Mapping):
        raise BadRequest(f"Malformed request body: it must be an object with '{key}'.")
    out: dict[str, str] = {}
    for name, value in body[key].items():
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise BadRequest("Invalid input for field/attribute metadata: keys are 1 to 255 long.")
        if not isinstance(value, str) or len(value) > 255:
            raise BadRequest(
                f"Invalid input for field/attribute metadata: the value of {name!r} must be a "
                "string of at most 255 characters."
            )
        out[name] = value
    return out


class ServerMetadataService:
    """Reads and changes of server metadata and the view of its addresses."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, quotas: ComputeQuotas) -> None:
        self._store = store
        self._policy = policy
        self._quotas = quotas

    def _authorize(
        self, context: RequestContext, rule: str, server_id: str, project_id: str
    ) -> None:
        """404 for a server the caller cannot see (as Nova hides it), 403 for a change the
        caller may not make to one it sees."""
        target = {"project_id": project_id}
        if not self._policy.check("os_compute_api:servers:show", context, target):
            raise server_not_found(server_id)
        self._policy.authorize(f"os_compute_api:server-metadata:{rule}", context, target)

    def _read(self, context: RequestContext, server_id: str, rule: str) -> dict[str, str]:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                raise server_not_found(server_id)
            self._authorize(context, rule, server_id, row.project_id)
            return dict(row.metadata_items or {})

    def _change(
        self,
        context: RequestContext,
        server_id: str,
        rule: str,
        change: Callable[[dict[str, str]], dict[str, str]],
    ) -> dict[str, str]:
        """Apply `change(current) -> new` under the server's row lock, quota checked."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None:
                raise server_not_found(server_id)
            self._authorize(context, rule, server_id, row.project_id)
            metadata: dict[str, str] = change(dict(row.metadata_items or {}))
            self._quotas.check_metadata_items(row.project_id, len(metadata))
            queries.set_fields(unit, server_id, metadata_items=metadata)
            return metadata

    def list_items(self, context: RequestContext, server_id: str) -> dict[str, str]:
        return self._read(context, server_id, "index")

    def show(self, context: RequestContext, server_id: str, key: str) -> dict[str, str]:
        metadata = self._read(context, server_id, "show")
        if key not in metadata:
            raise NotFound("Metadata item was not found")
        return {key: metadata[key]}

    def merge(self, context: RequestContext, server_id: str, body: Any) -> dict[str, str]:
        items = _items(body, "metadata")
        return self._change(context, server_id, "create", lambda current: {**current, **items})

    def replace(self, context: RequestContext, server_id: str, body: Any) -> dict[str, str]:
        items = _items(body, "metadata")
        return self._change(context, server_id, "update_all", lambda _current: dict(items))

    def set_one(
        self, context: RequestContext, server_id: str, key: str, body: Any
    ) -> dict[str, str]:
        items = _items(body, "meta")
        if len(items) > 1:
            raise BadRequest("Request body contains too many items")
        if key not in items:
            raise BadRequest("Request body and URI mismatch")
        self._change(context, server_id, "update", lambda current: {**current, **items})
        return items

    def delete_one(self, context: RequestContext, server_id: str, key: str) -> None:
        def without(current: dict[str, str]) -> dict[str, str]:
            if key not in current:
                raise NotFound("Metadata item was not found")
            return {k: v for k, v in current.items() if k != key}

        self._change(context, server_id, "delete", without)

    def addresses(self, context: RequestContext, server_id: str) -> dict[str, list[dict[str, Any]]]:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            target = {"project_id": row.project_id} if row is not None else {}
            if row is None or not self._policy.check("os_compute_api:ips:index", context, target):
                raise server_not_found(server_id)
            return {
                name: [{"version": a["version"], "addr": a["addr"]} for a in entries]
                for name, entries in (row.addresses or {}).items()
            }
