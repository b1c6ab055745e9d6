"""The image repository over SQLAlchemy: visibility rules as SQL, pages by marker."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vistack.common.clock import utcnow
from vistack.common.db import Database
from vistack.common.errors import BadRequest, Conflict
from vistack.image.db.tables import (
    ImageLocationRow,
    ImageMemberRow,
    ImagePropertyRow,
    ImageRow,
    ImageTagRow,
    ImageTaskRow,
)
from vistack.image.domain.models import (
    CORE_ATTRIBUTES,
    Image,
    ImageTask,
    ListQuery,
    Member,
    MemberStatus,
    Status,
    Usage,
    Visibility,
)
from vistack.image.domain.ports import Viewer

#: Core attributes `ListQuery.filters` may name, and the column each reads.
FILTER_COLUMNS = {
    "id": ImageRow.id,
    "name": ImageRow.name,
    "owner": ImageRow.owner,
    "status": ImageRow.status,
    "disk_format": ImageRow.disk_format,
    "container_format": ImageRow.container_format,
    "checksum": ImageRow.checksum,
    "os_hash_value": ImageRow.os_hash_value,
    "protected": ImageRow.protected,
    "created_at": ImageRow.created_at,
    "updated_at": ImageRow.updated_at,
    "size": ImageRow.size,
    "virtual_size": ImageRow.virtual_size,
    "min_disk": ImageRow.min_disk,
    "min_ram": ImageRow.min_ram,
    "visibility": ImageRow.visibility,
}

SORT_COLUMNS = {
    name: column
    for name, column in FILTER_COLUMNS.items()
    if name not in {"checksum", "os_hash_value", "protected"}
}


class SqlImageRepository:
    """`ImageRepository` on the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- images -------------------------------------------------------------------------------

    def create(self, image: Image) -> None:
        try:
            with self._db.transaction() as session:
                session.add(ImageRow(**{name: getattr(image, name) for name in CORE_ATTRIBUTES}))
                session.flush()
                session.add_all(
                    ImagePropertyRow(image_id=image.id, name=k, value=v)
                    for k, v in image.properties.items()
                )
                session.add_all(ImageTagRow(image_id=image.id, value=t) for t in image.tags)
        except IntegrityError:
            raise Conflict(f"An image with identifier {image.id} already exists.") from None

    def get(self, image_id: str) -> Image | None:
        with self._db.transaction() as session:
            row = session.get(ImageRow, image_id)
            if row is None:
                return None
            return self._load(session, [row])[0]

    def list_images(self, query: ListQuery, viewer: Viewer) -> list[Image]:
        with self._db.transaction() as session:
            statement = select(ImageRow.id).where(*self._conditions(query, viewer))
            order: list[Any] = []
            for key, direction in query.sort:
                column = SORT_COLUMNS[key]
                order.append(column.desc() if direction == "desc" else column.asc())
            order.append(ImageRow.id.desc() if query.sort[-1][1] == "desc" else ImageRow.id.asc())
            ids = list(session.scalars(statement.order_by(*order)))
            start = 0
            if query.marker is not None:
                try:
                    start = ids.index(query.marker) + 1
                except ValueError:
                    raise BadRequest(
                        f"Invalid marker. Image {query.marker} could not be found."
                    ) from None
            page = ids[start : start + query.limit]
            if not page:
                return []
            rows = {r.id: r for r in session.scalars(select(ImageRow).where(ImageRow.id.in_(page)))}
            return self._load(session, [rows[i] for i in page])

    def _conditions(self, query: ListQuery, viewer: Viewer) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [self._visible(query, viewer)]
        # Glance: hidden images are left out by default, and `os_hidden=true` lists only them.
        conditions.append(ImageRow.os_hidden == (true() if query.os_hidden else false()))
        for name, (operator, values) in query.filters.items():
            conditions.append(_compare(FILTER_COLUMNS[name], operator, values))
        if query.size_min is not None:
            conditions.append(ImageRow.size >= query.size_min)
        if query.size_max is not None:
            conditions.append(ImageRow.size <= query.size_max)
        for tag in query.tags:
            conditions.append(
                exists().where(ImageTagRow.image_id == ImageRow.id, ImageTagRow.value == tag)
            )
        for key, value in query.properties.items():
            conditions.append(
                exists().where(
                    ImagePropertyRow.image_id == ImageRow.id,
                    ImagePropertyRow.name == key,
                    ImagePropertyRow.value == value,
                )
            )
        return conditions

    def _visible(self, query: ListQuery, viewer: Viewer) -> ColumnElement[bool]:
        """Which images a list returns, by Glance's rules for `visibility` and members."""
        project = viewer.project_id or ""
        owned = ImageRow.owner == project
        member = ImageMemberRow.image_id == ImageRow.id
        membership = exists().where(member, ImageMemberRow.member == project)
        if query.member_status != "all":
            membership = exists().where(
                member,
                ImageMemberRow.member == project,
                ImageMemberRow.status == query.member_status,
            )
        shared = and_(ImageRow.visibility == Visibility.SHARED, membership)
        visibility = query.visibility
        if visibility == Visibility.PUBLIC:
            return ImageRow.visibility == Visibility.PUBLIC
        if visibility == Visibility.COMMUNITY:
            return ImageRow.visibility == Visibility.COMMUNITY
        if visibility in (Visibility.PRIVATE, Visibility.SHARED):
            kind = ImageRow.visibility == visibility
            if viewer.is_admin:
                return kind
            if visibility == Visibility.SHARED:
                return and_(kind, or_(owned, membership))
            return and_(kind, owned)
        if viewer.is_admin:
            if visibility == "all":
                return ImageRow.id.is_not(None)
            return or_(ImageRow.visibility != Visibility.COMMUNITY, owned)
        everyone = or_(ImageRow.visibility == Visibility.PUBLIC, owned, shared)
        if visibility == "all":
            return or_(everyone, ImageRow.visibility == Visibility.COMMUNITY)
        return everyone

    def update(
        self,
        image_id: str,
        *,
        columns: Mapping[str, Any] | None = None,
        set_properties: Mapping[str, str] | None = None,
        remove_properties: frozenset[str] = frozenset(),
        tags: list[str] | None = None,
        expected_status: frozenset[str] | None = None,
        location: tuple[str, str, int] | None = None,
    ) -> Image | None:
        with self._db.transaction() as session:
            values = {**(columns or {}), "updated_at": utcnow()}
            statement = update(ImageRow).where(ImageRow.id == image_id).values(**values)
            if expected_status is not None:
                statement = statement.where(ImageRow.status.in_(expected_status))
            if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
                return None
            if remove_properties:
                session.execute(
                    delete(ImagePropertyRow).where(
                        ImagePropertyRow.image_id == image_id,
                        ImagePropertyRow.name.in_(remove_properties),
                    )
                )
            for name, value in (set_properties or {}).items():
                existing = session.get(ImagePropertyRow, (image_id, name))
                if existing is None:
                    session.add(ImagePropertyRow(image_id=image_id, name=name, value=value))
                else:
                    existing.value = value
            if location is not None:
                store, url, size = location
                session.add(
                    ImageLocationRow(
                        image_id=image_id, store=store, url=url, size=size, created_at=utcnow()
                    )
                )
            if tags is not None:
                session.execute(delete(ImageTagRow).where(ImageTagRow.image_id == image_id))
                session.add_all(ImageTagRow(image_id=image_id, value=t) for t in tags)
            session.flush()
            row = session.get(ImageRow, image_id, populate_existing=True)
            assert row is not None
            return self._load(session, [row])[0]

    def delete(self, image_id: str) -> bool:
        with self._db.transaction() as session:
            for table in (
                ImagePropertyRow,
                ImageTagRow,
                ImageMemberRow,
                ImageLocationRow,
                ImageTaskRow,
            ):
                session.execute(delete(table).where(table.image_id == image_id))
            result = session.execute(delete(ImageRow).where(ImageRow.id == image_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- tags and locations ------------------------------------------------------------------

    def add_tag(self, image_id: str, tag: str) -> None:
        with self._db.transaction() as session:
            if session.get(ImageTagRow, (image_id, tag)) is None:
                session.add(ImageTagRow(image_id=image_id, value=tag))
            self._touch(session, image_id)

    def remove_tag(self, image_id: str, tag: str) -> bool:
        with self._db.transaction() as session:
            result = session.execute(
                delete(ImageTagRow).where(
                    ImageTagRow.image_id == image_id, ImageTagRow.value == tag
                )
            )
            self._touch(session, image_id)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def tag_count(self, image_id: str) -> int:
        with self._db.transaction() as session:
            return int(
                session.scalar(select(func.count()).where(ImageTagRow.image_id == image_id)) or 0
            )

    def add_location(self, image_id: str, store: str, url: str, size: int) -> None:
        with self._db.transaction() as session:
            session.add(
                ImageLocationRow(
                    image_id=image_id, store=store, url=url, size=size, created_at=utcnow()
                )
            )

    def remove_location(self, image_id: str, store: str) -> bool:
        with self._db.transaction() as session:
            result = session.execute(
                delete(ImageLocationRow).where(
                    ImageLocationRow.image_id == image_id, ImageLocationRow.store == store
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- members ------------------------------------------------------------------------------

    def add_member(self, image_id: str, member_id: str) -> Member:
        now = utcnow()
        row = ImageMemberRow(
            image_id=image_id,
            member=member_id,
            status=MemberStatus.PENDING.value,
            created_at=now,
            updated_at=now,
        )
        try:
            with self._db.transaction() as session:
                session.add(row)
        except IntegrityError:
            raise Conflict(
                f"Project {member_id} is already a member of image {image_id}."
            ) from None
        return _member(row)

    def get_member(self, image_id: str, member_id: str) -> Member | None:
        with self._db.transaction() as session:
            row = session.scalar(
                select(ImageMemberRow).where(
                    ImageMemberRow.image_id == image_id, ImageMemberRow.member == member_id
                )
            )
            return None if row is None else _member(row)

    def list_members(self, image_id: str) -> list[Member]:
        with self._db.transaction() as session:
            rows = session.scalars(
                select(ImageMemberRow)
                .where(ImageMemberRow.image_id == image_id)
                .order_by(ImageMemberRow.id)
            )
            return [_member(r) for r in rows]

    def update_member(self, image_id: str, member_id: str, status: str) -> Member | None:
        with self._db.transaction() as session:
            row = session.scalar(
                select(ImageMemberRow).where(
                    ImageMemberRow.image_id == image_id, ImageMemberRow.member == member_id
                )
            )
            if row is None:
                return None
            row.status = status
            row.updated_at = utcnow()
            return _member(row)

    def delete_member(self, image_id: str, member_id: str) -> bool:
        with self._db.transaction() as session:
            result = session.execute(
                delete(ImageMemberRow).where(
                    ImageMemberRow.image_id == image_id, ImageMemberRow.member == member_id
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def member_count(self, image_id: str) -> int:
        with self._db.transaction() as session:
            return int(
                session.scalar(select(func.count()).where(ImageMemberRow.image_id == image_id)) or 0
            )

    # -- quota --------------------------------------------------------------------------------

    def usage(self, project_id: str) -> Usage:
        staging = (Status.UPLOADING.value, Status.IMPORTING.value)
        busy = (Status.SAVING.value, *staging)
        with self._db.transaction() as session:
            owned = ImageRow.owner == project_id
            count = session.scalar(select(func.count()).where(owned)) or 0
            stored = (
                session.scalar(
                    select(func.coalesce(func.sum(ImageLocationRow.size), 0))
                    .join(ImageRow, ImageRow.id == ImageLocationRow.image_id)
                    .where(owned)
                )
                or 0
            )
            staged = (
                session.scalar(
                    select(func.coalesce(func.sum(ImageRow.size), 0)).where(
                        owned, ImageRow.status.in_(staging)
                    )
                )
                or 0
            )
            uploading = (
                session.scalar(select(func.count()).where(owned, ImageRow.status.in_(busy))) or 0
            )
            return Usage(int(count), int(stored), int(staged), int(uploading))

    # -- tasks --------------------------------------------------------------------------------

    def create_task(self, task: ImageTask) -> None:
        with self._db.transaction() as session:
            session.add(
                ImageTaskRow(
                    id=task.id,
                    image_id=task.image_id,
                    type=task.type,
                    status=task.status,
                    owner=task.owner,
                    user_id=task.user_id,
                    request_id=task.request_id,
                    input=json.dumps(task.input),
                    result=None if task.result is None else json.dumps(task.result),
                    message=task.message,
                    created_at=task.created_at,
                    updated_at=task.updated_at,
                    expires_at=task.expires_at,
                )
            )

    def finish_task(
        self, task_id: str, status: str, message: str = "", result: dict[str, Any] | None = None
    ) -> None:
        with self._db.transaction() as session:
            session.execute(
                update(ImageTaskRow)
                .where(ImageTaskRow.id == task_id)
                .values(
                    status=status,
                    message=message,
                    result=None if result is None else json.dumps(result),
                    updated_at=utcnow(),
                )
            )

    def list_tasks(self, image_id: str) -> list[ImageTask]:
        with self._db.transaction() as session:
            rows = session.scalars(
                select(ImageTaskRow)
                .where(ImageTaskRow.image_id == image_id)
                .order_by(ImageTaskRow.created_at)
            )
            return [
                ImageTask(
                    id=r.id,
                    image_id=r.image_id,
                    type=r.type,
                    status=r.status,
                    owner=r.owner,
                    user_id=r.user_id,
                    request_id=r.request_id,
                    input=json.loads(r.input),
                    result=None if r.result is None else json.loads(r.result),
                    message=r.message,
                    created_at=r.created_at,
                    updated_at=r.updated_at,
                    expires_at=r.expires_at,
                )
                for r in rows
            ]

    # -- helpers ------------------------------------------------------------------------------

    def _touch(self, session: Session, image_id: str) -> None:
        session.execute(update(ImageRow).where(ImageRow.id == image_id).values(updated_at=utcnow()))

    def _load(self, session: Session, rows: Sequence[ImageRow]) -> list[Image]:
        ids = [r.id for r in rows]
        properties: dict[str, dict[str, str]] = {i: {} for i in ids}
        for prop in session.scalars(
            select(ImagePropertyRow).where(ImagePropertyRow.image_id.in_(ids))
        ):
            properties[prop.image_id][prop.name] = prop.value
        tags: dict[str, list[str]] = {i: [] for i in ids}
        for tag in session.scalars(
            select(ImageTagRow).where(ImageTagRow.image_id.in_(ids)).order_by(ImageTagRow.value)
        ):
            tags[tag.image_id].append(tag.value)
        locations: dict[str, dict[str, str]] = {i: {} for i in ids}
        for location in session.scalars(
            select(ImageLocationRow)
            .where(ImageLocationRow.image_id.in_(ids))
            .order_by(ImageLocationRow.id)
        ):
            locations[location.image_id][location.store] = location.url
        return [
            Image(
                **{name: getattr(row, name) for name in CORE_ATTRIBUTES},
                properties=properties[row.id],
                tags=tags[row.id],
                locations=locations[row.id],
            )
            for row in rows
        ]


def _compare(column: Any, operator: str, values: list[Any]) -> ColumnElement[bool]:
    """Glance's filter operators: `in:a,b`, `gt:`, `gte:`, `lt:`, `lte:`, `neq:`, `eq:`."""
    if operator == "in":
        return column.in_(values)  # type: ignore[no-any-return]
    value = values[0]
    comparisons = {
        "eq": column == value,
        "neq": column != value,
        "gt": column > value,
        "gte": column >= value,
        "lt": column < value,
        "lte": column <= value,
    }
    return comparisons[operator]  # type: ignore[no-any-return]


def _member(row: ImageMemberRow) -> Member:
    return Member(row.image_id, row.member, row.status, row.created_at, row.updated_at)
