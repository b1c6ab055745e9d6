"""Registered limits and project/domain limits (Keystone's unified limits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.tables import LimitRow, RegisteredLimitRow
from vistack.identity.domain.limits import Limit, RegisteredLimit

#: How a registration for every region is stored (see `RegisteredLimitRow`).
NO_REGION = ""


class LimitRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # registered limits
    def get_registered(self, registered_limit_id: str) -> RegisteredLimit | None:
        row = self._session.get(RegisteredLimitRow, registered_limit_id)
        return _registered(row) if row else None

    def find_registered(
        self,
        *,
        service_ids: Sequence[str] | None = None,
        region_id: str | None = None,
        resource_name: str | None = None,
    ) -> list[RegisteredLimit]:
        query = select(RegisteredLimitRow).order_by(
            RegisteredLimitRow.service_id,
            RegisteredLimitRow.region_id,
            RegisteredLimitRow.resource_name,
        )
        if service_ids is not None:
            query = query.where(RegisteredLimitRow.service_id.in_(service_ids))
        if region_id is not None:
            query = query.where(RegisteredLimitRow.region_id == region_id)
        if resource_name is not None:
            query = query.where(RegisteredLimitRow.resource_name == resource_name)
        return [_registered(row) for row in self._session.scalars(query)]

    def find_registration(
        self, service_id: str, region_id: str | None, resource_name: str
    ) -> RegisteredLimit | None:
        row = self._session.scalar(
            select(RegisteredLimitRow).where(
                RegisteredLimitRow.service_id == service_id,
                RegisteredLimitRow.region_id == (region_id or NO_REGION),
                RegisteredLimitRow.resource_name == resource_name,
            )
        )
        return _registered(row) if row else None

    def add_registered(self, registered: RegisteredLimit) -> None:
        self._session.add(RegisteredLimitRow(id=registered.id, **_registered_fields(registered)))
        self._session.flush()

    def update_registered(self, registered: RegisteredLimit) -> None:
        row = self._session.get(RegisteredLimitRow, registered.id)
        if row is None:
            return
        for name, value in _registered_fields(registered).items():
            setattr(row, name, value)
        self._session.flush()

    def delete_registered(self, registered_limit_id: str) -> None:
        self._session.execute(
            delete(RegisteredLimitRow).where(RegisteredLimitRow.id == registered_limit_id)
        )

    # project and domain limits
    def get(self, limit_id: str) -> Limit | None:
        found = self._session.execute(
            select(LimitRow, RegisteredLimitRow)
            .join(RegisteredLimitRow, LimitRow.registered_limit_id == RegisteredLimitRow.id)
            .where(LimitRow.id == limit_id)
        ).first()
        return _limit(*found) if found else None

    def find(
        self,
        *,
        service_id: str | None = None,
        region_id: str | None = None,
        resource_name: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
        registered_limit_ids: Sequence[str] | None = None,
    ) -> list[Limit]:
        query = (
            select(LimitRow, RegisteredLimitRow)
            .join(RegisteredLimitRow, LimitRow.registered_limit_id == RegisteredLimitRow.id)
            .order_by(RegisteredLimitRow.service_id, RegisteredLimitRow.resource_name, LimitRow.id)
        )
        if service_id is not None:
            query = query.where(RegisteredLimitRow.service_id == service_id)
        if region_id is not None:
            query = query.where(RegisteredLimitRow.region_id == region_id)
        if resource_name is not None:
            query = query.where(RegisteredLimitRow.resource_name == resource_name)
        if project_id is not None:
            query = query.where(LimitRow.project_id == project_id)
        if domain_id is not None:
            query = query.where(LimitRow.domain_id == domain_id)
        if registered_limit_ids is not None:
            query = query.where(LimitRow.registered_limit_id.in_(registered_limit_ids))
        return [_limit(row, registered) for row, registered in self._session.execute(query)]

    def add(self, limit: Limit) -> None:
        self._session.add(
            LimitRow(
                id=limit.id,
                registered_limit_id=limit.registered_limit_id,
                project_id=limit.project_id,
                domain_id=limit.domain_id,
                resource_limit=limit.resource_limit,
                description=limit.description,
            )
        )
        self._session.flush()

    def update(self, limit: Limit) -> None:
        """Only the value and the description of a limit ever change."""
        row = self._session.get(LimitRow, limit.id)
        if row is None:
            return
        row.resource_limit, row.description = limit.resource_limit, limit.description
        self._session.flush()

    def delete(self, limit_id: str) -> None:
        self._session.execute(delete(LimitRow).where(LimitRow.id == limit_id))

    def delete_for_project(self, project_id: str) -> None:
        self._session.execute(delete(LimitRow).where(LimitRow.project_id == project_id))

    def delete_for_domain(self, domain_id: str) -> None:
        self._session.execute(delete(LimitRow).where(LimitRow.domain_id == domain_id))


def _registered_fields(registered: RegisteredLimit) -> dict[str, Any]:
    return {
        "service_id": registered.service_id,
        "region_id": registered.region_id or NO_REGION,
        "resource_name": registered.resource_name,
        "default_limit": registered.default_limit,
        "description": registered.description,
    }


def _registered(row: RegisteredLimitRow) -> RegisteredLimit:
    return RegisteredLimit(
        id=row.id,
        service_id=row.service_id,
        resource_name=row.resource_name,
        default_limit=row.default_limit,
        region_id=row.region_id or None,
        description=row.description,
    )


def _limit(row: LimitRow, registered: RegisteredLimitRow) -> Limit:
    return Limit(
        id=row.id,
        registered_limit_id=row.registered_limit_id,
        resource_limit=row.resource_limit,
        service_id=registered.service_id,
        resource_name=registered.resource_name,
        region_id=registered.region_id or None,
        project_id=row.project_id,
        domain_id=row.domain_id,
        description=row.description,
    )
