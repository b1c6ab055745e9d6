"""The metadef repository over SQLAlchemy: one transaction per call, names unique by constraint.

Every write that could collide (a create, a rename, a second process seeding the catalogue)
relies on the unique constraints rather than a read-then-write, and turns the database's
IntegrityError into `Conflict`. Pages are cut by marker over the ordered names: catalogues hold
tens to hundreds of entries, so reading the ordered keys is cheaper than keyset queries that
would need a different comparison for every sort key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from vistack.common.clock import utcnow
from vistack.common.db import Base, Database
from vistack.common.errors import BadRequest, Conflict, NotFound
from vistack.image.db.metadef_tables import (
    MetadefAssociationRow,
    MetadefNamespaceRow,
    MetadefObjectRow,
    MetadefPropertyRow,
    MetadefResourceTypeRow,
    MetadefTagRow,
)
from vistack.image.domain.metadefs import (
    Association,
    MetadefObject,
    Namespace,
    NamespaceContents,
    NamespaceQuery,
    Page,
    PropertyDefinition,
    ResourceType,
    Tag,
)
from vistack.image.domain.ports import Viewer

NS = MetadefNamespaceRow
RT = MetadefResourceTypeRow
ASSOC = MetadefAssociationRow

NAMESPACE_SORT: dict[str, InstrumentedAttribute[Any]] = {
    "namespace": NS.namespace,
    "display_name": NS.display_name,
    "visibility": NS.visibility,
    "protected": NS.protected,
    "owner": NS.owner,
    "created_at": NS.created_at,
    "updated_at": NS.updated_at,
}

Child = TypeVar("Child", MetadefObjectRow, MetadefPropertyRow, MetadefTagRow)


def _window(names: Sequence[str], page: Page, what: str) -> tuple[int, int]:
    """The [start, end) of the page after `page.marker` in `names`."""
    start = 0
    if page.marker is not None:
        try:
            start = names.index(page.marker) + 1
        except ValueError:
            raise BadRequest(f"Invalid marker: no {what} named {page.marker}.") from None
    end = len(names) if page.limit is None else start + page.limit
    return start, end


class SqlMetadefRepository:
    """`MetadefRepository` on the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- namespaces ------------------------------------------------------------------------

    def list_namespaces(self, query: NamespaceQuery, viewer: Viewer) -> list[Namespace]:
        conditions: list[ColumnElement[bool]] = []
        if not viewer.is_admin:
            visible = or_(NS.visibility == "public", NS.owner.is_(None))
            if viewer.project_id is not None:
                visible = or_(visible, NS.owner == viewer.project_id)
            conditions.append(visible)
        if query.visibility is not None:
            conditions.append(NS.visibility == query.visibility)
        if query.resource_types:
            conditions.append(
                exists().where(
                    ASSOC.namespace_id == NS.id,
                    ASSOC.resource_type_id == RT.id,
                    RT.name.in_(query.resource_types),
                )
            )
        column = NAMESPACE_SORT[query.page.sort_key]
        descending = query.page.sort_dir == "desc"
        order = [column.desc(), NS.id.desc()] if descending else [column.asc(), NS.id.asc()]
        with self._db.transaction() as session:
            keys = session.execute(
                select(NS.id, NS.namespace).where(*conditions).order_by(*order)
            ).all()
            start, end = _window([name for _, name in keys], query.page, "namespace")
            wanted = [ns_id for ns_id, _ in keys[start:end]]
            if not wanted:
                return []
            rows = {r.id: r for r in session.scalars(select(NS).where(NS.id.in_(wanted)))}
            associations = self._associations(session, wanted)
            return [_namespace(rows[i], associations.get(i, [])) for i in wanted]

    def get_namespace(self, name: str) -> Namespace | None:
        with self._db.transaction() as session:
            row = self._namespace_row(session, name)
            if row is None:
                return None
            return _namespace(row, self._associations(session, [row.id]).get(row.id, []))

    def get_contents(self, name: str) -> NamespaceContents | None:
        with self._db.transaction() as session:
            row = self._namespace_row(session, name)
            if row is None:
                return None
            namespace = _namespace(row, self._associations(session, [row.id]).get(row.id, []))
            properties = session.scalars(
                select(MetadefPropertyRow)
                .where(MetadefPropertyRow.namespace_id == row.id)
                .order_by(MetadefPropertyRow.name)
            )
            objects = session.scalars(
                select(MetadefObjectRow)
                .where(MetadefObjectRow.namespace_id == row.id)
                .order_by(MetadefObjectRow.name)
            )
            tags = session.scalars(
                select(MetadefTagRow)
                .where(MetadefTagRow.namespace_id == row.id)
                .order_by(MetadefTagRow.name)
            )
            return NamespaceContents(
                namespace,
                tuple(_property(p) for p in properties),
                tuple(_object(o) for o in objects),
                tuple(_tag(t) for t in tags),
            )

    def create_namespace(self, contents: NamespaceContents) -> None:
        namespace = contents.namespace
        with self._db.transaction() as session:
            row = NS(
                namespace=namespace.namespace,
                display_name=namespace.display_name,
                description=namespace.description,
                visibility=namespace.visibility,
                protected=namespace.protected,
                owner=namespace.owner,
                created_at=namespace.created_at,
                updated_at=namespace.updated_at,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    f"A metadata definition namespace named {namespace.namespace} already exists."
                ) from None
            types = self._resource_type_ids(session, [a.name for a in namespace.associations])
            session.add_all(
                _association_row(row.id, types[a.name], a) for a in namespace.associations
            )
            session.add_all(_property_row(row.id, p) for p in contents.properties)
            session.add_all(_object_row(row.id, o) for o in contents.objects)
            session.add_all(_tag_row(row.id, t) for t in contents.tags)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    f"Namespace {namespace.namespace} would hold two definitions of one name."
                ) from None

    def update_namespace(self, name: str, values: Mapping[str, Any]) -> Namespace | None:
        with self._db.transaction() as session:
            row = self._namespace_row(session, name)
            if row is None:
                return None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    f"A metadata definition namespace named {values.get('namespace')} "
                    "already exists."
                ) from None
            return _namespace(row, self._associations(session, [row.id]).get(row.id, []))

    def delete_namespace(self, name: str) -> bool:
        with self._db.transaction() as session:
            row = self._namespace_row(session, name)
            if row is None:
                return False
            # Children go by ON DELETE CASCADE; deleting them here too keeps a database whose
            # foreign keys are not enforced (a misconfigured SQLite) free of orphans.
            for table in (MetadefObjectRow, MetadefPropertyRow, MetadefTagRow, ASSOC):
                session.execute(delete(table).where(table.namespace_id == row.id))
            session.execute(delete(NS).where(NS.id == row.id))
            return True

    # -- objects ---------------------------------------------------------------------------

    def list_objects(self, namespace: str, page: Page) -> list[MetadefObject]:
        with self._db.transaction() as session:
            rows = self._children(session, MetadefObjectRow, namespace, page, "object")
            return [_object(r) for r in rows]

    def get_object(self, namespace: str, name: str) -> MetadefObject | None:
        with self._db.transaction() as session:
            row = self._child(session, MetadefObjectRow, namespace, name)
            return None if row is None else _object(row)

    def add_object(self, namespace: str, item: MetadefObject) -> None:
        self._add(namespace, lambda ns_id: [_object_row(ns_id, item)], f"object {item.name}")

    def replace_object(self, namespace: str, name: str, item: MetadefObject) -> bool:
        with self._db.transaction() as session:
            row = self._child(session, MetadefObjectRow, namespace, name)
            if row is None:
                return False
            row.name = item.name
            row.description = item.description
            row.required = json.dumps(list(item.required))
            row.properties = json.dumps(item.properties)
            row.updated_at = item.updated_at
            self._flush(session, f"object {item.name}", namespace)
            return True

    def delete_object(self, namespace: str, name: str) -> bool:
        return self._delete_child(MetadefObjectRow, namespace, name)

    def delete_objects(self, namespace: str) -> None:
        self._delete_children(MetadefObjectRow, namespace)

    # -- properties ------------------------------------------------------------------------

    def list_properties(self, namespace: str) -> list[PropertyDefinition]:
        with self._db.transaction() as session:
            rows = self._children(
                session, MetadefPropertyRow, namespace, Page("name", "asc"), "property"
            )
            return [_property(r) for r in rows]

    def get_property(self, namespace: str, name: str) -> PropertyDefinition | None:
        with self._db.transaction() as session:
            row = self._child(session, MetadefPropertyRow, namespace, name)
            return None if row is None else _property(row)

    def add_property(self, namespace: str, item: PropertyDefinition) -> None:
        self._add(namespace, lambda ns_id: [_property_row(ns_id, item)], f"property {item.name}")

    def replace_property(self, namespace: str, name: str, item: PropertyDefinition) -> bool:
        with self._db.transaction() as session:
            row = self._child(session, MetadefPropertyRow, namespace, name)
            if row is None:
                return False
            row.name = item.name
            row.json_schema = json.dumps(item.schema)
            row.updated_at = item.updated_at
            self._flush(session, f"property {item.name}", namespace)
            return True

    def delete_property(self, namespace: str, name: str) -> bool:
        return self._delete_child(MetadefPropertyRow, namespace, name)

    def delete_properties(self, namespace: str) -> None:
        self._delete_children(MetadefPropertyRow, namespace)

    # -- tags ------------------------------------------------------------------------------

    def list_tags(self, namespace: str, page: Page) -> list[Tag]:
        with self._db.transaction() as session:
            return [_tag(r) for r in self._children(session, MetadefTagRow, namespace, page, "tag")]

    def get_tag(self, namespace: str, name: str) -> Tag | None:
        with self._db.transaction() as session:
            row = self._child(session, MetadefTagRow, namespace, name)
            return None if row is None else _tag(row)

    def add_tags(self, namespace: str, tags: list[Tag], *, replace: bool) -> None:
        with self._db.transaction() as session:
            ns_id = self._namespace_id(session, namespace)
            if replace:
                session.execute(delete(MetadefTagRow).where(MetadefTagRow.namespace_id == ns_id))
            session.add_all(_tag_row(ns_id, t) for t in tags)
            names = ", ".join(t.name for t in tags)
            what = f"tag {names}" if len(tags) == 1 else f"tag among {names}"
            self._flush(session, what, namespace)

    def rename_tag(self, namespace: str, name: str, new_name: str) -> Tag | None:
        with self._db.transaction() as session:
            row = self._child(session, MetadefTagRow, namespace, name)
            if row is None:
                return None
            row.name = new_name
            row.updated_at = utcnow()
            self._flush(session, f"tag {new_name}", namespace)
            return _tag(row)

    def delete_tag(self, namespace: str, name: str) -> bool:
        return self._delete_child(MetadefTagRow, namespace, name)

    def delete_tags(self, namespace: str) -> None:
        self._delete_children(MetadefTagRow, namespace)

    # -- resource types --------------------------------------------------------------------

    def list_resource_types(self) -> list[ResourceType]:
        with self._db.transaction() as session:
            rows = session.scalars(select(RT).order_by(RT.name))
            return [ResourceType(r.name, r.protected, r.created_at, r.updated_at) for r in rows]

    def ensure_resource_types(self, names: Iterable[str], *, protected: bool) -> None:
        for name in dict.fromkeys(names):
            with self._db.transaction() as session:
                if session.scalar(select(RT.id).where(RT.name == name)) is not None:
                    continue
            now = utcnow()
            try:
                with self._db.transaction() as session:
                    session.add(RT(name=name, protected=protected, created_at=now, updated_at=now))
            except IntegrityError:
                pass  # another request or process created it first: that is all we wanted

    def associate(self, namespace: str, association: Association) -> None:
        with self._db.transaction() as session:
            ns_id = self._namespace_id(session, namespace)
            types = self._resource_type_ids(session, [association.name])
            session.add(_association_row(ns_id, types[association.name], association))
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    f"Namespace {namespace} is already associated with {association.name}."
                ) from None

    def dissociate(self, namespace: str, resource_type: str) -> bool:
        with self._db.transaction() as session:
            ns_id = self._namespace_id(session, namespace)
            type_id = session.scalar(select(RT.id).where(RT.name == resource_type))
            if type_id is None:
                return False
            result = session.execute(
                delete(ASSOC).where(ASSOC.namespace_id == ns_id, ASSOC.resource_type_id == type_id)
            )
            return bool(getattr(result, "rowcount", 0))

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _namespace_row(session: Session, name: str) -> MetadefNamespaceRow | None:
        return session.scalars(select(NS).where(NS.namespace == name)).one_or_none()

    def _namespace_id(self, session: Session, name: str) -> int:
        ns_id = session.scalar(select(NS.id).where(NS.namespace == name))
        if ns_id is None:
            raise NotFound(f"Metadata definition namespace {name} was not found.")
        return ns_id

    @staticmethod
    def _resource_type_ids(session: Session, names: list[str]) -> dict[str, int]:
        if not names:
            return {}
        found = dict(session.execute(select(RT.name, RT.id).where(RT.name.in_(names))).all())
        missing = sorted(set(names) - set(found))
        if missing:
            raise NotFound(f"Resource type {', '.join(missing)} was not found.")
        return found

    @staticmethod
    def _associations(session: Session, ns_ids: list[int]) -> dict[int, list[Association]]:
        rows = session.execute(
            select(ASSOC, RT.name)
            .join(RT, RT.id == ASSOC.resource_type_id)
            .where(ASSOC.namespace_id.in_(ns_ids))
            .order_by(ASSOC.created_at, RT.name)
        )
        found: dict[int, list[Association]] = {}
        for row, name in rows:
            found.setdefault(row.namespace_id, []).append(
                Association(name, row.prefix, row.properties_target, row.created_at, row.updated_at)
            )
        return found

    @staticmethod
    def _child(session: Session, table: type[Child], namespace: str, name: str) -> Child | None:
        statement = (
            select(table)
            .join(NS, NS.id == table.namespace_id)
            .where(NS.namespace == namespace, table.name == name)
        )
        return session.scalars(statement).one_or_none()

    @staticmethod
    def _children(
        session: Session, table: type[Child], namespace: str, page: Page, what: str
    ) -> list[Child]:
        column = getattr(table, page.sort_key)
        descending = page.sort_dir == "desc"
        order = [column.desc(), table.id.desc()] if descending else [column.asc(), table.id.asc()]
        rows = list(
            session.scalars(
                select(table)
                .join(NS, NS.id == table.namespace_id)
                .where(NS.namespace == namespace)
                .order_by(*order)
            )
        )
        start, end = _window([r.name for r in rows], page, what)
        return rows[start:end]

    def _add(self, namespace: str, build: Callable[[int], list[Base]], what: str) -> None:
        with self._db.transaction() as session:
            session.add_all(build(self._namespace_id(session, namespace)))
            self._flush(session, what, namespace)

    @staticmethod
    def _flush(session: Session, what: str, namespace: str) -> None:
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"A metadata definition {what} already exists in {namespace}.") from None

    def _delete_child(self, table: type[Child], namespace: str, name: str) -> bool:
        with self._db.transaction() as session:
            row = self._child(session, table, namespace, name)
            if row is None:
                return False
            session.execute(delete(table).where(table.id == row.id))
            return True

    def _delete_children(self, table: type[Child], namespace: str) -> None:
        with self._db.transaction() as session:
            ns_id = self._namespace_id(session, namespace)
            session.execute(delete(table).where(table.namespace_id == ns_id))


# -- rows ↔ values ---------------------------------------------------------------------------


def _namespace(row: MetadefNamespaceRow, associations: list[Association]) -> Namespace:
    return Namespace(
        namespace=row.namespace,
        display_name=row.display_name,
        description=row.description,
        visibility=row.visibility,
        protected=row.protected,
        owner=row.owner,
        created_at=row.created_at,
        updated_at=row.updated_at,
        associations=tuple(associations),
    )


def _association_row(ns_id: int, type_id: int, association: Association) -> MetadefAssociationRow:
    return ASSOC(
        namespace_id=ns_id,
        resource_type_id=type_id,
        prefix=association.prefix,
        properties_target=association.properties_target,
        created_at=association.created_at,
        updated_at=association.updated_at,
    )


def _property(row: MetadefPropertyRow) -> PropertyDefinition:
    return PropertyDefinition(row.name, json.loads(row.json_schema), row.created_at, row.updated_at)


def _property_row(ns_id: int, item: PropertyDefinition) -> MetadefPropertyRow:
    return MetadefPropertyRow(
        namespace_id=ns_id,
        name=item.name,
        json_schema=json.dumps(item.schema),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _object(row: MetadefObjectRow) -> MetadefObject:
    return MetadefObject(
        name=row.name,
        description=row.description,
        required=tuple(json.loads(row.required)),
        properties=json.loads(row.properties),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _object_row(ns_id: int, item: MetadefObject) -> MetadefObjectRow:
    return MetadefObjectRow(
        namespace_id=ns_id,
        name=item.name,
        description=item.description,
        required=json.dumps(list(item.required)),
        properties=json.dumps(item.properties),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _tag(row: MetadefTagRow) -> Tag:
    return Tag(row.name, row.created_at, row.updated_at)


def _tag_row(ns_id: int, tag: Tag) -> MetadefTagRow:
    return MetadefTagRow(
        namespace_id=ns_id, name=tag.name, created_at=tag.created_at, updated_at=tag.updated_at
    )
