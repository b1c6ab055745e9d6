"""Application credential access rules (the links to credentials are written by
`ApplicationCredentialRepository`)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.tables import AccessRuleRow, ApplicationCredentialAccessRuleRow
from vistack.identity.domain.models import AccessRule


def to_access_rule(row: AccessRuleRow) -> AccessRule:
    return AccessRule(row.id, row.user_id, row.service, row.path, row.method)


class AccessRuleRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, rule_id: str) -> AccessRule | None:
        row = self._session.get(AccessRuleRow, rule_id)
        return to_access_rule(row) if row else None

    def find(
        self,
        user_id: str,
        *,
        service: str | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> list[AccessRule]:
        query = (
            select(AccessRuleRow)
            .where(AccessRuleRow.user_id == user_id)
            .order_by(AccessRuleRow.service, AccessRuleRow.path, AccessRuleRow.method)
        )
        if service is not None:
            query = query.where(AccessRuleRow.service == service)
        if path is not None:
            query = query.where(AccessRuleRow.path == path)
        if method is not None:
            query = query.where(AccessRuleRow.method == method)
        return [to_access_rule(row) for row in self._session.scalars(query)]

    def add(self, rule: AccessRule) -> None:
        self._session.add(
            AccessRuleRow(
                id=rule.id,
                user_id=rule.user_id,
                service=rule.service,
                path=rule.path,
                method=rule.method,
            )
        )
        self._session.flush()

    def delete_unused(self, rule_id: str) -> bool:
        # Lock the rule first: a credential being created with it either committed its link
        # before (the locking read below sees it) or waits for this transaction and then fails
        # its foreign key check. A plain check-then-delete would let the link's ON DELETE
        # CASCADE silently strip the rule from a new credential, leaving it unrestricted.
        locked = self._session.scalar(
            select(AccessRuleRow.id).where(AccessRuleRow.id == rule_id).with_for_update()
        )
        if locked is None:
            return True
        used = self._session.scalar(
            select(ApplicationCredentialAccessRuleRow.application_credential_id)
            .where(ApplicationCredentialAccessRuleRow.access_rule_id == rule_id)
            .limit(1)
            .with_for_update()
        )
        if used is not None:
            return False
        self._session.execute(delete(AccessRuleRow).where(AccessRuleRow.id == rule_id))
        return True
