"""Roles, implied roles and role assignments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.tables import AssignmentRow, ImpliedRoleRow, RoleRow
from vistack.identity.domain.models import (
    ActorKind,
    Assignment,
    ImpliedRole,
    Role,
    TargetKind,
)


def _role(row: RoleRow) -> Role:
    return Role(
        id=row.id,
        name=row.name,
        domain_id=row.domain_id or None,
        description=row.description,
        options=dict(row.options or {}),
    )


def _assignment(row: AssignmentRow) -> Assignment:
    actor = ActorKind.USER if row.type.startswith("User") else ActorKind.GROUP
    target = TargetKind(row.type[len(actor.value) :])
    return Assignment(actor, row.actor_id, target, row.target_id, row.role_id, row.inherited)


class RoleRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, role_id: str) -> Role | None:
        row = self._session.get(RoleRow, role_id)
        return _role(row) if row else None

    def find(
        self,
        *,
        name: str | None = None,
        domain_id: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Role]:
        """Roles of `domain_id` ('' or None: the global roles) filtered by name or ids."""
        query = select(RoleRow).order_by(RoleRow.name)
        if ids is not None:
            query = query.where(RoleRow.id.in_(list(ids)))
        else:
            query = query.where(RoleRow.domain_id == (domain_id or ""))
        if name is not None:
            query = query.where(RoleRow.name == name)
        return [_role(row) for row in self._session.scalars(query)]

    def all(self) -> list[Role]:
        return [_role(row) for row in self._session.scalars(select(RoleRow))]

    def add(self, role: Role) -> None:
        self._session.add(
            RoleRow(
                id=role.id,
                name=role.name,
                domain_id=role.domain_id or "",
                description=role.description,
                options=dict(role.options),
            )
        )
        self._session.flush()

    def update(self, role: Role) -> None:
        row = self._session.get_one(RoleRow, role.id)
        row.name, row.description, row.options = role.name, role.description, dict(role.options)
        self._session.flush()

    def delete(self, role_id: str) -> None:
        self._session.execute(
            delete(ImpliedRoleRow).where(
                (ImpliedRoleRow.prior_role_id == role_id)
                | (ImpliedRoleRow.implied_role_id == role_id)
            )
        )
        self._session.execute(delete(AssignmentRow).where(AssignmentRow.role_id == role_id))
        self._session.execute(delete(RoleRow).where(RoleRow.id == role_id))

    def implications(self) -> list[ImpliedRole]:
        return [
            ImpliedRole(row.prior_role_id, row.implied_role_id)
            for row in self._session.scalars(select(ImpliedRoleRow))
        ]

    def add_implication(self, prior_role_id: str, implied_role_id: str) -> None:
        key = {"prior_role_id": prior_role_id, "implied_role_id": implied_role_id}
        if self._session.get(ImpliedRoleRow, key) is None:
            self._session.add(ImpliedRoleRow(**key))
            self._session.flush()

    def remove_implication(self, prior_role_id: str, implied_role_id: str) -> bool:
        result = self._session.execute(
            delete(ImpliedRoleRow).where(
                ImpliedRoleRow.prior_role_id == prior_role_id,
                ImpliedRoleRow.implied_role_id == implied_role_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))


class AssignmentRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, assignment: Assignment) -> None:
        key = self._key(assignment)
        if self._session.get(AssignmentRow, key) is None:
            self._session.add(AssignmentRow(**key))
            self._session.flush()

    def exists(self, assignment: Assignment) -> bool:
        return self._session.get(AssignmentRow, self._key(assignment)) is not None

    def remove(self, assignment: Assignment) -> bool:
        key = self._key(assignment)
        result = self._session.execute(
            delete(AssignmentRow).where(*(getattr(AssignmentRow, k) == v for k, v in key.items()))
        )
        return bool(getattr(result, "rowcount", 0))

    def find(
        self,
        *,
        actor_ids: Sequence[str] | None = None,
        target_ids: Sequence[str] | None = None,
        role_id: str | None = None,
        types: Sequence[str] | None = None,
        inherited: bool | None = None,
    ) -> list[Assignment]:
        query = select(AssignmentRow)
        if actor_ids is not None:
            query = query.where(AssignmentRow.actor_id.in_(list(actor_ids)))
        if target_ids is not None:
            query = query.where(AssignmentRow.target_id.in_(list(target_ids)))
        if role_id is not None:
            query = query.where(AssignmentRow.role_id == role_id)
        if types is not None:
            query = query.where(AssignmentRow.type.in_(list(types)))
        if inherited is not None:
            query = query.where(AssignmentRow.inherited == inherited)
        return [_assignment(row) for row in self._session.scalars(query)]

    def remove_for_actor(self, actor_id: str) -> None:
        self._session.execute(delete(AssignmentRow).where(AssignmentRow.actor_id == actor_id))

    def remove_for_target(self, target_id: str) -> None:
        self._session.execute(delete(AssignmentRow).where(AssignmentRow.target_id == target_id))

    @staticmethod
    def _key(assignment: Assignment) -> dict[str, object]:
        return {
            "type": assignment.storage_type,
            "actor_id": assignment.actor_id,
            "target_id": assignment.target_id,
            "role_id": assignment.role_id,
            "inherited": assignment.inherited,
        }
