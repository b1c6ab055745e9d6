"""Users, their password hashes, groups and group membership."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.tables import GroupMemberRow, GroupRow, PasswordHistoryRow, UserRow
from vistack.identity.domain.models import Group, PasswordState, User
from vistack.identity.domain.time import utcnow


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        domain_id=row.domain_id,
        enabled=row.enabled,
        email=row.email,
        description=row.description,
        default_project_id=row.default_project_id,
        password_expires_at=row.password_expires_at,
        options=dict(row.options or {}),
        extra=dict(row.extra or {}),
    )


def _group(row: GroupRow) -> Group:
    return Group(row.id, row.name, row.domain_id, row.description or "", dict(row.extra or {}))


class UserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, user_id: str) -> User | None:
        row = self._session.get(UserRow, user_id)
        return _user(row) if row else None

    def get_by_name(self, domain_id: str, name: str) -> User | None:
        row = self._session.scalars(
            select(UserRow).where(UserRow.domain_id == domain_id, UserRow.name == name)
        ).first()
        return _user(row) if row else None

    def find(
        self,
        *,
        domain_id: str | None = None,
        name: str | None = None,
        enabled: bool | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[User]:
        query = select(UserRow).order_by(UserRow.name)
        if domain_id is not None:
            query = query.where(UserRow.domain_id == domain_id)
        if name is not None:
            query = query.where(UserRow.name == name)
        if enabled is not None:
            query = query.where(UserRow.enabled == enabled)
        if ids is not None:
            query = query.where(UserRow.id.in_(list(ids)))
        return [_user(row) for row in self._session.scalars(query)]

    def add(self, user: User, password_hash: str | None) -> None:
        now = utcnow()
        self._session.add(
            UserRow(
                id=user.id,
                name=user.name,
                domain_id=user.domain_id,
                enabled=user.enabled,
                email=user.email,
                description=user.description,
                default_project_id=user.default_project_id,
                password_hash=password_hash,
                password_created_at=now if password_hash else None,
                password_expires_at=user.password_expires_at,
                options=dict(user.options),
                extra=dict(user.extra),
                created_at=now,
            )
        )
        self._session.flush()

    def update(self, user: User) -> None:
        row = self._session.get_one(UserRow, user.id)
        row.name, row.enabled, row.email = user.name, user.enabled, user.email
        row.description, row.default_project_id = user.description, user.default_project_id
        row.options = dict(user.options)
        row.extra = dict(user.extra)
        row.password_expires_at = user.password_expires_at
        self._session.flush()

    def password_state(self, user_id: str, history: int = 0) -> PasswordState | None:
        row = self._session.get(UserRow, user_id)
        if row is None:
            return None
        earlier: list[str] = []
        if history > 0:
            earlier = list(
                self._session.scalars(
                    select(PasswordHistoryRow.password_hash)
                    .where(PasswordHistoryRow.user_id == user_id)
                    .order_by(PasswordHistoryRow.id.desc())
                    .limit(history)
                )
            )
        return PasswordState(
            row.password_hash,
            row.password_created_at,
            tuple(earlier),
            row.failed_auth_count or 0,
            row.failed_auth_at,
        )

    def record_auth_failure(self, user_id: str, at: datetime) -> None:
        row = self._session.get(UserRow, user_id)
        if row is not None:
            row.failed_auth_count = (row.failed_auth_count or 0) + 1
            row.failed_auth_at = at
            self._session.flush()

    def clear_auth_failures(self, user_id: str) -> None:
        row = self._session.get(UserRow, user_id)
        if row is not None and row.failed_auth_count:
            row.failed_auth_count = 0
            row.failed_auth_at = None
            self._session.flush()

    def set_password(
        self,
        user_id: str,
        password_hash: str,
        expires_at: datetime | None = None,
        keep_history: int = 0,
    ) -> None:
        """Replace the password; the old hash joins the history when `keep_history` > 0."""
        row = self._session.get_one(UserRow, user_id)
        if keep_history > 0 and row.password_hash:
            self._session.add(
                PasswordHistoryRow(
                    user_id=user_id,
                    password_hash=row.password_hash,
                    created_at=row.password_created_at or utcnow(),
                )
            )
            self._session.flush()
            stale = list(
                self._session.scalars(
                    select(PasswordHistoryRow.id)
                    .where(PasswordHistoryRow.user_id == user_id)
                    .order_by(PasswordHistoryRow.id.desc())
                    .offset(keep_history)
                )
            )
            if stale:
                self._session.execute(
                    delete(PasswordHistoryRow).where(PasswordHistoryRow.id.in_(stale))
                )
        row.failed_auth_count = 0
        row.failed_auth_at = None
        row.password_hash = password_hash
        row.password_created_at = utcnow()
        row.password_expires_at = expires_at
        self._session.flush()

    def delete(self, user_id: str) -> None:
        self._session.execute(delete(GroupMemberRow).where(GroupMemberRow.user_id == user_id))
        self._session.execute(
            delete(PasswordHistoryRow).where(PasswordHistoryRow.user_id == user_id)
        )
        self._session.execute(delete(UserRow).where(UserRow.id == user_id))


class GroupRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, group_id: str) -> Group | None:
        row = self._session.get(GroupRow, group_id)
        return _group(row) if row else None

    def find(
        self,
        *,
        domain_id: str | None = None,
        name: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Group]:
        query = select(GroupRow).order_by(GroupRow.name)
        if domain_id is not None:
            query = query.where(GroupRow.domain_id == domain_id)
        if name is not None:
            query = query.where(GroupRow.name == name)
        if ids is not None:
            query = query.where(GroupRow.id.in_(list(ids)))
        return [_group(row) for row in self._session.scalars(query)]

    def get_by_name(self, domain_id: str, name: str) -> Group | None:
        found = self.find(domain_id=domain_id, name=name)
        return found[0] if found else None

    def add(self, group: Group) -> None:
        self._session.add(
            GroupRow(
                id=group.id,
                name=group.name,
                domain_id=group.domain_id,
                description=group.description,
                extra=dict(group.extra),
            )
        )
        self._session.flush()

    def update(self, group: Group) -> None:
        row = self._session.get_one(GroupRow, group.id)
        row.name, row.description, row.extra = group.name, group.description, dict(group.extra)
        self._session.flush()

    def delete(self, group_id: str) -> None:
        self._session.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == group_id))
        self._session.execute(delete(GroupRow).where(GroupRow.id == group_id))

    def add_member(self, group_id: str, user_id: str) -> None:
        if not self.is_member(group_id, user_id):
            self._session.add(GroupMemberRow(group_id=group_id, user_id=user_id))
            self._session.flush()

    def remove_member(self, group_id: str, user_id: str) -> bool:
        result = self._session.execute(
            delete(GroupMemberRow).where(
                GroupMemberRow.group_id == group_id, GroupMemberRow.user_id == user_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    def is_member(self, group_id: str, user_id: str) -> bool:
        return (
            self._session.get(GroupMemberRow, {"group_id": group_id, "user_id": user_id})
            is not None
        )

    def member_ids(self, group_id: str) -> list[str]:
        return list(
            self._session.scalars(
                select(GroupMemberRow.user_id).where(GroupMemberRow.group_id == group_id)
            )
        )

    def group_ids_of_user(self, user_id: str) -> list[str]:
        return list(
            self._session.scalars(
                select(GroupMemberRow.group_id).where(GroupMemberRow.user_id == user_id)
            )
        )
