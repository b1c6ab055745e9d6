"""Domains, projects and project tags."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.tables import DomainRow, ProjectRow, ProjectTagRow
from vistack.identity.domain.models import Domain, Project
from vistack.identity.domain.time import utcnow


def _domain(row: DomainRow) -> Domain:
    return Domain(row.id, row.name, row.description or "", row.enabled)


class DomainRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, domain_id: str) -> Domain | None:
        row = self._session.get(DomainRow, domain_id)
        return _domain(row) if row else None

    def get_by_name(self, name: str) -> Domain | None:
        row = self._session.scalars(select(DomainRow).where(DomainRow.name == name)).first()
        return _domain(row) if row else None

    def find(self, name: str | None = None, enabled: bool | None = None) -> list[Domain]:
        query = select(DomainRow).order_by(DomainRow.name)
        if name is not None:
            query = query.where(DomainRow.name == name)
        if enabled is not None:
            query = query.where(DomainRow.enabled == enabled)
        return [_domain(row) for row in self._session.scalars(query)]

    def add(self, domain: Domain) -> None:
        self._session.add(
            DomainRow(
                id=domain.id,
                name=domain.name,
                description=domain.description,
                enabled=domain.enabled,
                created_at=utcnow(),
            )
        )
        self._session.flush()

    def update(self, domain: Domain) -> None:
        row = self._session.get_one(DomainRow, domain.id)
        row.name, row.description, row.enabled = domain.name, domain.description, domain.enabled
        self._session.flush()

    def delete(self, domain_id: str) -> None:
        self._session.execute(delete(DomainRow).where(DomainRow.id == domain_id))


class ProjectRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _to_project(self, row: ProjectRow, tags: Sequence[str] | None = None) -> Project:
        if tags is None:
            tags = self._session.scalars(
                select(ProjectTagRow.name)
                .where(ProjectTagRow.project_id == row.id)
                .order_by(ProjectTagRow.name)
            ).all()
        return Project(
            id=row.id,
            name=row.name,
            domain_id=row.domain_id,
            parent_id=row.parent_id,
            description=row.description or "",
            enabled=row.enabled,
            tags=tuple(tags),
        )

    def get(self, project_id: str) -> Project | None:
        row = self._session.get(ProjectRow, project_id)
        return self._to_project(row) if row else None

    def get_by_name(self, domain_id: str, name: str) -> Project | None:
        row = self._session.scalars(
            select(ProjectRow).where(ProjectRow.domain_id == domain_id, ProjectRow.name == name)
        ).first()
        return self._to_project(row) if row else None

    def find(
        self,
        *,
        domain_id: str | None = None,
        name: str | None = None,
        parent_id: str | None = None,
        enabled: bool | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Project]:
        query = select(ProjectRow).order_by(ProjectRow.name)
        if domain_id is not None:
            query = query.where(ProjectRow.domain_id == domain_id)
        if name is not None:
            query = query.where(ProjectRow.name == name)
        if parent_id is not None:
            query = query.where(ProjectRow.parent_id == parent_id)
        if enabled is not None:
            query = query.where(ProjectRow.enabled == enabled)
        if ids is not None:
            query = query.where(ProjectRow.id.in_(list(ids)))
        rows = list(self._session.scalars(query))
        tags: dict[str, list[str]] = {row.id: [] for row in rows}
        if rows:
            for project_id, tag in self._session.execute(
                select(ProjectTagRow.project_id, ProjectTagRow.name)
                .where(ProjectTagRow.project_id.in_(list(tags)))
                .order_by(ProjectTagRow.name)
            ):
                tags[project_id].append(tag)
        return [self._to_project(row, tags[row.id]) for row in rows]

    def children_ids(self, project_id: str) -> list[str]:
        return list(
            self._session.scalars(select(ProjectRow.id).where(ProjectRow.parent_id == project_id))
        )

    def add(self, project: Project) -> None:
        self._session.add(
            ProjectRow(
                id=project.id,
                name=project.name,
                domain_id=project.domain_id,
                parent_id=project.parent_id,
                description=project.description,
                enabled=project.enabled,
                created_at=utcnow(),
            )
        )
        self._session.flush()
        self.set_tags(project.id, project.tags)

    def update(self, project: Project) -> None:
        row = self._session.get_one(ProjectRow, project.id)
        row.name, row.description, row.enabled = project.name, project.description, project.enabled
        self._session.flush()
        self.set_tags(project.id, project.tags)

    def set_tags(self, project_id: str, tags: Sequence[str]) -> None:
        self._session.execute(delete(ProjectTagRow).where(ProjectTagRow.project_id == project_id))
        for tag in dict.fromkeys(tags):
            self._session.add(ProjectTagRow(project_id=project_id, name=tag))
        self._session.flush()

    def delete(self, project_id: str) -> None:
        self._session.execute(delete(ProjectTagRow).where(ProjectTagRow.project_id == project_id))
        self._session.execute(delete(ProjectRow).where(ProjectRow.id == project_id))
