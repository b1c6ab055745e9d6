"""Who may see a server: the first check of every server sub-resource and action, in Nova's
order (a server the caller may not see is 404, as if it did not exist, before any 403)."""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore, ComputeUnit
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import server_not_found


def visible_row(
    unit: ComputeUnit,
    policy: PolicyEngine,
    context: RequestContext,
    server_id: str,
    *,
    lock: bool = False,
) -> ServerRow:
    """The server's row (`lock`: under its row lock) if `servers:show` lets the caller see it.

    :raises NotFound: no such live server, or one the caller may not see.
    """
    row = queries.locked(unit, server_id) if lock else queries.get(unit, server_id)
    if row is None or not policy.check(
        "os_compute_api:servers:show", context, {"project_id": row.project_id}
    ):
        raise server_not_found(server_id)
    return row


def authorized_server(
    store: ComputeStore, policy: PolicyEngine, context: RequestContext, server_id: str, rule: str
) -> Server:
    """The server, once the caller may see it (404 otherwise) and `rule` lets the caller act
    on it (403 otherwise): the opening of every server sub-resource's request."""
    with store.transaction() as unit:
        row = visible_row(unit, policy, context, server_id)
        policy.authorize(rule, context, {"project_id": row.project_id})
        return queries.to_server(row)
