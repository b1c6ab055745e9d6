"""Server tags (microversion 2.26): short strings a user puts on a server to find it again
(`GET /servers?tags=...`).

The rules on a tag are in `tag_rules`; a tag is changed only while the server is in a settled
state (a server being built or deleted answers 409). Every change is one
transaction under the server's row lock, so two concurrent adds cannot overrun the limit.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.db import server_tags as tag_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore, ComputeUnit
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.servers import server_not_found
from vistack.compute.domain.tag_rules import MAX_TAG_LENGTH, MAX_TAGS, check_tags, valid_tag

#: The vm_states in which Nova lets tags change.
CHANGEABLE = (
    states.ACTIVE,
    states.PAUSED,
    states.SUSPENDED,
    states.STOPPED,
    states.SHELVED,
    states.SHELVED_OFFLOADED,
)


class ServerTagService:
    """Reads and changes of a server's tags."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def _server(
        self, unit: ComputeUnit, context: RequestContext, server_id: str, rule: str, lock: bool
    ) -> ServerRow:
        """The server, 404 when the caller cannot see it, 403 when it may not do `rule`."""
        row = queries.locked(unit, server_id) if lock else queries.get(unit, server_id)
        target = {"project_id": row.project_id} if row is not None else {}
        if row is None or not self._policy.check("os_compute_api:servers:show", context, target):
            raise server_not_found(server_id)
        self._policy.authorize(f"os_compute_api:os-server-tags:{rule}", context, target)
        return row

    @staticmethod
    def _settled(row: ServerRow, action: str) -> None:
        if row.vm_state not in CHANGEABLE:
            raise Conflict(
                f"Cannot '{action}' instance {row.id} while it is in vm_state {row.vm_state}"
            )

    def index(self, context: RequestContext, server_id: str) -> list[str]:
        with self._store.transaction() as unit:
            self._server(unit, context, server_id, "index", lock=False)
            return tag_queries.of_server(unit, server_id)

    def has(self, context: RequestContext, server_id: str, tag: str) -> bool:
        with self._store.transaction() as unit:
            self._server(unit, context, server_id, "show", lock=False)
            return tag in tag_queries.of_server(unit, server_id)

    def add(self, context: RequestContext, server_id: str, tag: str) -> bool:
        """Put one tag on; True when it is new (201), False when it was there (204)."""
        with self._store.transaction() as unit:
            row = self._server(unit, context, server_id, "update", lock=True)
            if not valid_tag(tag):
                raise BadRequest(
                    f"Tag '{tag}' is invalid. It must be a string without characters '/' and "
                    f"',', of 1 to {MAX_TAG_LENGTH} characters."
                )
            self._settled(row, "update tag")
            current = tag_queries.of_server(unit, server_id)
            if tag in current:
                return False
            if len(current) >= MAX_TAGS:
                raise BadRequest(
                    f"The number of tags exceeded the per-server limit {MAX_TAGS}. The number "
                    f"of tags in request is {len(current) + 1}."
                )
            tag_queries.add(unit, server_id, [tag])
            return True

    def replace(self, context: RequestContext, server_id: str, body: Any) -> list[str]:
        """`PUT /servers/{id}/tags`: the body's tags become the server's only tags."""
        with self._store.transaction() as unit:
            row = self._server(unit, context, server_id, "update_all", lock=True)
            if not isinstance(body, dict) or set(body) != {"tags"}:
                raise BadRequest("The request body must be an object with only 'tags'.")
            tags = check_tags(body["tags"])
            self._settled(row, "update tags")
            tag_queries.clear(unit, server_id)
            tag_queries.add(unit, server_id, tags)
            return sorted(tags)

    def remove(self, context: RequestContext, server_id: str, tag: str) -> None:
        with self._store.transaction() as unit:
            row = self._server(unit, context, server_id, "delete", lock=True)
            self._settled(row, "delete tag")
            if tag not in tag_queries.of_server(unit, server_id):
                raise NotFound(f"Instance {server_id} has no tag '{tag}'")
            tag_queries.remove(unit, server_id, tag)

    def clear(self, context: RequestContext, server_id: str) -> None:
        with self._store.transaction() as unit:
            row = self._server(unit, context, server_id, "delete_all", lock=True)
            self._settled(row, "delete tags")
            tag_queries.clear(unit, server_id)
