"""Application credentials and token revocation events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.access_rules import to_access_rule
from vistack.identity.db.tables import (
    AccessRuleRow,
    ApplicationCredentialAccessRuleRow,
    ApplicationCredentialRoleRow,
    ApplicationCredentialRow,
    RevocationEventRow,
    RoleRow,
)
from vistack.identity.domain.models import ApplicationCredential, RevocationEvent, Role
from vistack.identity.domain.time import utcnow


class ApplicationCredentialRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _to_model(self, row: ApplicationCredentialRow) -> ApplicationCredential:
        # An outer join: a delegated role deleted since stays in the list (nameless), so the
        # credential stops validating instead of quietly delegating fewer roles.
        delegated = self._session.execute(
            select(ApplicationCredentialRoleRow.role_id, RoleRow)
            .outerjoin(RoleRow, ApplicationCredentialRoleRow.role_id == RoleRow.id)
            .where(ApplicationCredentialRoleRow.application_credential_id == row.id)
            .order_by(RoleRow.name, ApplicationCredentialRoleRow.role_id)
        )
        roles = tuple(
            Role(r.id, r.name, r.domain_id or None) if r is not None else Role(role_id, "")
            for role_id, r in delegated
        )
        access_rules = tuple(
            to_access_rule(rule)
            for rule in self._session.scalars(
                select(AccessRuleRow)
                .join(
                    ApplicationCredentialAccessRuleRow,
                    ApplicationCredentialAccessRuleRow.access_rule_id == AccessRuleRow.id,
                )
                .where(ApplicationCredentialAccessRuleRow.application_credential_id == row.id)
                .order_by(AccessRuleRow.service, AccessRuleRow.path, AccessRuleRow.method)
            )
        )
        return ApplicationCredential(
            id=row.id,
            name=row.name,
            user_id=row.user_id,
            project_id=row.project_id,
            roles=roles,
            description=row.description,
            system=row.system,
            expires_at=row.expires_at,
            unrestricted=row.unrestricted,
            access_rules=access_rules,
        )

    def get(self, credential_id: str) -> ApplicationCredential | None:
        row = self._session.get(ApplicationCredentialRow, credential_id)
        return self._to_model(row) if row else None

    def secret_hash(self, credential_id: str) -> str | None:
        return self._session.scalar(
            select(ApplicationCredentialRow.secret_hash).where(
                ApplicationCredentialRow.id == credential_id
            )
        )

    def find(self, user_id: str, name: str | None = None) -> list[ApplicationCredential]:
        query = (
            select(ApplicationCredentialRow)
            .where(ApplicationCredentialRow.user_id == user_id)
            .order_by(ApplicationCredentialRow.name)
        )
        if name is not None:
            query = query.where(ApplicationCredentialRow.name == name)
        return [self._to_model(row) for row in self._session.scalars(query)]

    def add(self, credential: ApplicationCredential, secret_hash: str) -> None:
        self._session.add(
            ApplicationCredentialRow(
                id=credential.id,
                name=credential.name,
                secret_hash=secret_hash,
                description=credential.description,
                user_id=credential.user_id,
                project_id=credential.project_id,
                system=credential.system,
                expires_at=credential.expires_at,
                unrestricted=credential.unrestricted,
                created_at=utcnow(),
            )
        )
        self._session.flush()
        for role in credential.roles:
            self._session.add(
                ApplicationCredentialRoleRow(
                    application_credential_id=credential.id, role_id=role.id
                )
            )
        for rule in credential.access_rules:
            # The rules themselves are added first, by `AccessRuleRepository.add`.
            self._session.add(
                ApplicationCredentialAccessRuleRow(
                    application_credential_id=credential.id, access_rule_id=rule.id
                )
            )
        self._session.flush()

    def delete(self, credential_id: str) -> None:
        # The rules stay: they belong to the user, who may reuse or delete them.
        self._session.execute(
            delete(ApplicationCredentialAccessRuleRow).where(
                ApplicationCredentialAccessRuleRow.application_credential_id == credential_id
            )
        )
        self._session.execute(
            delete(ApplicationCredentialRoleRow).where(
                ApplicationCredentialRoleRow.application_credential_id == credential_id
            )
        )
        self._session.execute(
            delete(ApplicationCredentialRow).where(ApplicationCredentialRow.id == credential_id)
        )

    def ids_for_user(self, user_id: str, project_id: str | None = None) -> list[str]:
        query = select(ApplicationCredentialRow.id).where(
            ApplicationCredentialRow.user_id == user_id
        )
        if project_id is not None:
            query = query.where(ApplicationCredentialRow.project_id == project_id)
        return list(self._session.scalars(query))


class RevocationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, event: RevocationEvent) -> None:
        self._session.add(
            RevocationEventRow(
                audit_id=event.audit_id,
                user_id=event.user_id,
                issued_before=event.issued_before,
                prune_after=event.prune_after,
            )
        )
        self._session.flush()

    def active(self) -> list[RevocationEvent]:
        now = utcnow()
        rows = self._session.scalars(
            select(RevocationEventRow).where(RevocationEventRow.prune_after >= now)
        )
        return [
            RevocationEvent(row.issued_before, row.prune_after, row.audit_id, row.user_id)
            for row in rows
        ]

    def prune(self, before: datetime) -> None:
        self._session.execute(
            delete(RevocationEventRow).where(RevocationEventRow.prune_after < before)
        )
