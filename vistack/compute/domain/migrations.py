"""Migrations: the record of servers' moves (`os-migrations`) and the in-progress live
migrations of one server (`/servers/{id}/migrations`), written by resize, cold and live
migration (`moves.py`, `resize.py`).

What vSphere cannot do is refused, not pretended: a vMotion switches the VM over on its own
(there is no post-copy phase to force), and this cloud does not cancel a vMotion that is
running, so `force_complete` of a running live migration and its abort answer 501; a live
migration still queued (2.65) is cancelled before its vMotion starts.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, NotImplementedByBackend
from vistack.common.policy import PolicyEngine
from vistack.compute.db import migrations as queries
from vistack.compute.db import servers as server_queries
from vistack.compute.db.migrations import Migration, MigrationQuery
from vistack.compute.db.store import ComputeStore, ComputeUnit
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain import states
from vistack.compute.domain.resize import LIVE_IN_PROGRESS
from vistack.compute.domain.servers import server_not_found

#: Live-migration statuses an abort may cancel before the vMotion starts (2.65).
QUEUED = ("accepted", "queued", "preparing")


class MigrationService:
    """`os-migrations` and the server migrations API."""

    def __init__(self, policy: PolicyEngine, store: ComputeStore) -> None:
        self._policy = policy
        self._store = store

    # ------------------------------------------------------------------ os-migrations

    def list_migrations(
        self, context: RequestContext, asked: MigrationQuery | None = None
    ) -> list[Migration]:
        """Every migration `asked` selects (admin).

        :raises BadRequest: the marker names no migration.
        """
        self._policy.authorize("os_compute_api:os-migrations:index", context, {})
        asked = asked or MigrationQuery()
        with self._store.transaction() as unit:
            if asked.marker is not None and not queries.uuid_exists(unit, asked.marker):
                raise BadRequest(f"Marker {asked.marker} could not be found.")
            return queries.listing(unit, asked)

    # ------------------------------------------------------------------ one server's

    def in_progress(self, context: RequestContext, server_id: str) -> list[Migration]:
        """The server's live migrations in progress (2.23)."""
        self._policy.authorize("os_compute_api:servers:migrations:index", context, {})
        with self._store.transaction() as unit:
            self._server(unit, server_id)
            return queries.of_server(
                unit, server_id, statuses=LIVE_IN_PROGRESS, migration_type="live-migration"
            )

    def show(self, context: RequestContext, server_id: str, migration_id: str) -> Migration:
        """One in-progress live migration of the server (2.23); 404 otherwise, as Nova."""
        self._policy.authorize("os_compute_api:servers:migrations:show", context, {})
        with self._store.transaction() as unit:
            self._server(unit, server_id)
            migration = self._of(unit, server_id, migration_id)
        if migration is None:
            raise NotFound(
                f"In-progress live migration {migration_id} is not found for server {server_id}."
            )
        if migration.migration_type != "live-migration":
            raise NotFound(
                f"Migration {migration_id} for server {server_id} is not live-migration."
            )
        if migration.status not in LIVE_IN_PROGRESS:
            raise NotFound(
                f"Live migration {migration_id} for server {server_id} is not in progress."
            )
        return migration

    def force_complete(self, context: RequestContext, server_id: str, migration_id: str) -> None:
        """`force_complete` (2.22): checked as Nova, then refused — a vMotion has no switch-over
        to force."""
        self._policy.authorize("os_compute_api:servers:migrations:force_complete", context, {})
        with self._store.transaction() as unit:
            row = self._acting_on(unit, context, server_id, "force_complete")
            migration = self._of(unit, server_id, migration_id)
            if migration is None:
                raise BadRequest(f"Migration {migration_id} not found for instance {row.id}")
            if migration.status != "running":
                raise BadRequest(_invalid_state(migration, "force complete"))
        raise NotImplementedByBackend(
            "A vSphere live migration (vMotion) switches the server over on its own; it "
            "cannot be forced to complete."
        )

    def abort(
        self, context: RequestContext, server_id: str, migration_id: str, *, queued_too: bool
    ) -> None:
        """`DELETE .../migrations/{id}` (2.24): a queued live migration (2.65) is cancelled
        before its vMotion starts; a running vMotion is not cancelled by this cloud (501)."""
        self._policy.authorize("os_compute_api:servers:migrations:delete", context, {})
        with self._store.transaction() as unit:
            row = self._acting_on(unit, context, server_id, "abort live migration")
            migration = self._of(unit, server_id, migration_id)
            if migration is None:
                raise NotFound(f"Migration {migration_id} not found for instance {row.id}")
            allowed = ("running", *QUEUED) if queued_too else ("running",)
            if migration.status not in allowed:
                raise BadRequest(_invalid_state(migration, "abort live migration"))
            if migration.status in QUEUED and queries.set_status(
                unit, migration.id, "cancelled", only_from=QUEUED
            ):
                server_queries.start_action(
                    unit,
                    server_id,
                    "live_migration_cancel",
                    request_id=context.request_id,
                    user_id=context.user_id,
                    project_id=context.project_id,
                )
                server_queries.finish_action(unit, server_id, context.request_id, "Success")
                return
        raise NotImplementedByBackend(
            f"Live migration {migration_id} is running: a vMotion in progress cannot be "
            "aborted through this cloud (cancel its task in vCenter)."
        )

    # ------------------------------------------------------------------ helpers

    def _server(self, unit: ComputeUnit, server_id: str) -> ServerRow:
        row = server_queries.get(unit, server_id)
        if row is None:
            raise server_not_found(server_id)
        return row

    def _acting_on(
        self, unit: ComputeUnit, context: RequestContext, server_id: str, action: str
    ) -> ServerRow:
        row = server_queries.locked(unit, server_id)
        if row is None:
            raise server_not_found(server_id)
        if row.locked and "admin" not in context.roles:
            raise Conflict(f"Instance {server_id} is locked")
        if row.vm_state != states.ACTIVE:
            raise Conflict(
                f"Cannot '{action}' instance {server_id} while it is in vm_state {row.vm_state}"
            )
        if row.task_state != states.MIGRATING:
            raise Conflict(
                f"Cannot '{action}' instance {server_id} while it is in task_state {row.task_state}"
            )
        return row

    @staticmethod
    def _of(unit: ComputeUnit, server_id: str, migration_id: str) -> Migration | None:
        if not migration_id.isascii() or not migration_id.isdigit():
            return None
        migration = queries.get(unit, int(migration_id))
        if migration is None or migration.server_id != server_id:
            return None
        return migration


def _invalid_state(migration: Migration, method: str) -> str:
    """Nova's InvalidMigrationState."""
    return (
        f"Migration {migration.id} state of instance {migration.server_id} is "
        f"{migration.status}. Cannot {method} while the migration is in this state."
    )
