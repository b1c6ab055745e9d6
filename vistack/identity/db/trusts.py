"""Trusts (OS-TRUST) and the roles they delegate."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from vistack.identity.db.tables import RoleRow, TrustRoleRow, TrustRow
from vistack.identity.domain.models import Role, Trust
from vistack.identity.domain.time import utcnow


class TrustRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _to_models(self, rows: Sequence[TrustRow]) -> list[Trust]:
        if not rows:
            return []
        links = self._session.execute(
            select(TrustRoleRow.trust_id, TrustRoleRow.role_id)
            .where(TrustRoleRow.trust_id.in_([row.id for row in rows]))
            .order_by(TrustRoleRow.role_id)
        ).all()
        role_ids: dict[str, list[str]] = {}
        for trust_id, role_id in links:
            role_ids.setdefault(trust_id, []).append(role_id)
        wanted = sorted({role_id for _, role_id in links})
        roles = {
            row.id: Role(
                row.id,
                row.name,
                row.domain_id or None,
                row.description,
                dict(row.options or {}),
            )
            for row in self._session.scalars(select(RoleRow).where(RoleRow.id.in_(wanted)))
        }
        models = []
        for row in rows:
            ids = role_ids.get(row.id, [])
            held = sorted((roles[i] for i in ids if i in roles), key=lambda r: r.name)
            models.append(
                Trust(
                    id=row.id,
                    trustor_user_id=row.trustor_user_id,
                    trustee_user_id=row.trustee_user_id,
                    project_id=row.project_id,
                    impersonation=row.impersonation,
                    roles=tuple(held),
                    role_ids=tuple(ids),
                    expires_at=row.expires_at,
                    remaining_uses=row.remaining_uses,
                    redelegation_count=row.redelegation_count,
                    redelegated_trust_id=row.redelegated_trust_id,
                )
            )
        return models

    def get(self, trust_id: str) -> Trust | None:
        row = self._session.get(TrustRow, trust_id)
        return self._to_models([row])[0] if row else None

    def find(
        self, *, trustor_user_id: str | None = None, trustee_user_id: str | None = None
    ) -> list[Trust]:
        query = select(TrustRow).order_by(TrustRow.created_at, TrustRow.id)
        if trustor_user_id is not None:
            query = query.where(TrustRow.trustor_user_id == trustor_user_id)
        if trustee_user_id is not None:
            query = query.where(TrustRow.trustee_user_id == trustee_user_id)
        return self._to_models(list(self._session.scalars(query)))

    def add(self, trust: Trust) -> None:
        self._session.add(
            TrustRow(
                id=trust.id,
                trustor_user_id=trust.trustor_user_id,
                trustee_user_id=trust.trustee_user_id,
                project_id=trust.project_id,
                impersonation=trust.impersonation,
                expires_at=trust.expires_at,
                remaining_uses=trust.remaining_uses,
                redelegation_count=trust.redelegation_count,
                redelegated_trust_id=trust.redelegated_trust_id,
                created_at=utcnow(),
            )
        )
        self._session.flush()
        for role_id in dict.fromkeys(trust.role_ids):
            self._session.add(TrustRoleRow(trust_id=trust.id, role_id=role_id))
        self._session.flush()

    def consume_use(self, trust_id: str) -> bool:
        # One conditional UPDATE: the row lock serialises concurrent consumers on every backend,
        # so two requests racing for the last use cannot both get it.
        result = self._session.execute(
            update(TrustRow)
            .where(TrustRow.id == trust_id, TrustRow.remaining_uses > 0)
            .values(remaining_uses=TrustRow.remaining_uses - 1)
        )
        if getattr(result, "rowcount", 0) == 1:
            return True
        row = self._session.get(TrustRow, trust_id)
        return row is not None and row.remaining_uses is None

    def delete(self, trust_id: str) -> None:
        self._delete_where(TrustRow.id == trust_id)

    def delete_for_user(self, user_id: str) -> None:
        self._delete_where(
            (TrustRow.trustor_user_id == user_id) | (TrustRow.trustee_user_id == user_id)
        )

    def delete_for_project(self, project_id: str) -> None:
        self._delete_where(TrustRow.project_id == project_id)

    def _delete_where(self, condition: ColumnElement[bool]) -> None:
        """Delete the matching trusts and their redelegations, newest generation first."""
        levels = [list(self._session.scalars(select(TrustRow.id).where(condition)))]
        seen = set(levels[0])
        while levels[-1]:
            children = self._session.scalars(
                select(TrustRow.id).where(TrustRow.redelegated_trust_id.in_(levels[-1]))
            )
            fresh = [child for child in children if child not in seen]
            seen.update(fresh)
            levels.append(fresh)
        for level in reversed(levels):
            if level:
                self._session.execute(delete(TrustRoleRow).where(TrustRoleRow.trust_id.in_(level)))
                self._session.execute(delete(TrustRow).where(TrustRow.id.in_(level)))
