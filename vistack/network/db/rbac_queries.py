"""RBAC visibility of networks as SQL over `network_network` (the policy itself is the
domain's, domain/rbac.py): which networks a project is granted an action on, and the keys a
list's visibility decision is taken over."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select

from vistack.network.db.sharing_tables import RbacPolicyRow
from vistack.network.db.tables import NetworkRow

WILDCARD = "*"


def granted(project_id: str | None, action: str) -> ColumnElement[bool]:
    """Networks an RBAC policy grants `action` on to the project (or to everyone)."""
    targets = [WILDCARD] if project_id is None else [WILDCARD, project_id]
    policies = select(RbacPolicyRow.object_id).where(
        RbacPolicyRow.target_project.in_(targets), RbacPolicyRow.action == action
    )
    return NetworkRow.id.in_(policies)


def granted_key(project_id: str | None, action: str) -> ColumnElement[Any]:
    """Whether the network is granted `action` to the project, as 0/1."""
    return case((granted(project_id, action), 1), else_=0)


def network_keys(
    project_id: str | None, shared: str, external: str
) -> tuple[ColumnElement[Any], ...]:
    """(owner project, shared with the caller 0/1, external for the caller 0/1). Integers, not
    booleans, so they read and compare alike on every database."""
    external_key = case(
        (and_(NetworkRow.external.is_(True), granted(project_id, external)), 1), else_=0
    )
    owner: ColumnElement[Any] = NetworkRow.__table__.c.project_id
    return (owner, granted_key(project_id, shared), external_key)


def visible_networks(project_id: str | None, shared: str, external: str) -> ColumnElement[bool]:
    """Owned, shared with the project, or external for it (the default rule, non-admin)."""
    clauses: list[ColumnElement[bool]] = [
        granted(project_id, shared),
        and_(NetworkRow.external.is_(True), granted(project_id, external)),
    ]
    if project_id is not None:
        clauses.append(NetworkRow.project_id == project_id)
    return or_(*clauses)
