"""Queries on flavors, their extra specs and their project access (the flavor domain calls
these with its unit).

Ids, names and keys are compared exactly: MariaDB's binary collation still pads spaces (`"1 "`
would find flavor `"1"`), so every lookup re-checks what the database matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, exists, or_, select

from vistack.compute.db.store import ComputeUnit
from vistack.compute.db.tables import FlavorAccessRow, FlavorExtraSpecRow, FlavorRow

if TYPE_CHECKING:
    from vistack.compute.domain.flavors import NewFlavor


def get(unit: ComputeUnit, flavor_id: str) -> FlavorRow | None:
    row = unit.session.get(FlavorRow, flavor_id)
    return row if row is not None and row.id == flavor_id else None


def by_name(unit: ComputeUnit, name: str) -> FlavorRow | None:
    rows = unit.session.scalars(select(FlavorRow).where(FlavorRow.name == name))
    return next((row for row in rows if row.name == name), None)


def _granted(project_id: str | None) -> ColumnElement[bool]:
    """The flavor is granted to `project_id` (never, for a token without a project)."""
    return exists().where(
        FlavorAccessRow.flavor_id == FlavorRow.id, FlavorAccessRow.project_id == (project_id or "")
    )


def visible(
    unit: ComputeUnit, flavor_id: str, project_id: str | None, admin: bool
) -> FlavorRow | None:
    """The flavor when the caller may see it: any for an administrator, else a public one or
    one granted to `project_id` (disabled ones included, as Nova shows them)."""
    row = get(unit, flavor_id)
    if row is None or admin or row.is_public:
        return row
    granted = unit.session.scalar(
        select(FlavorAccessRow.flavor_id).where(
            FlavorAccessRow.flavor_id == flavor_id, FlavorAccessRow.project_id == (project_id or "")
        )
    )
    return row if granted is not None else None


def listed(
    unit: ComputeUnit,
    *,
    project_id: str | None,
    is_public: bool | None,
    include_disabled: bool,
    min_ram: int | None,
    min_disk: int | None,
) -> list[FlavorRow]:
    """Flavors matching a list's filters, unsorted (flavors are few; the domain sorts and
    pages them, exactly and alike on every backend).

    `is_public` True means Nova's "public ones and those granted to the caller's project",
    False the private ones only, None all of them.
    """
    query = select(FlavorRow)
    if is_public is True:
        query = query.where(or_(FlavorRow.is_public.is_(True), _granted(project_id)))
    elif is_public is False:
        query = query.where(FlavorRow.is_public.is_(False))
    if not include_disabled:
        query = query.where(FlavorRow.disabled.is_(False))
    if min_ram is not None:
        query = query.where(FlavorRow.memory_mb >= min_ram)
    if min_disk is not None:
        query = query.where(FlavorRow.root_gb >= min_disk)
    return list(unit.session.scalars(query))


def create(unit: ComputeUnit, new: NewFlavor, now: datetime) -> FlavorRow:
    """:raises Collision: the id or the name is taken."""
    row = FlavorRow(
        id=new.id,
        name=new.name,
        vcpus=new.vcpus,
        memory_mb=new.memory_mb,
        root_gb=new.root_gb,
        ephemeral_gb=new.ephemeral_gb,
        swap_mb=new.swap_mb,
        rxtx_factor=new.rxtx_factor,
        is_public=new.is_public,
        disabled=False,
        description=new.description,
        created_at=now,
        updated_at=None,
    )
    unit.add(row)
    return row


def set_description(
    unit: ComputeUnit, row: FlavorRow, description: str | None, now: datetime
) -> None:
    row.description = description
    row.updated_at = now
    unit.flush()


def delete_flavor(unit: ComputeUnit, row: FlavorRow) -> None:
    """The flavor with its extra specs and access (explicitly: not every engine cascades)."""
    unit.session.execute(delete(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id == row.id))
    unit.session.execute(delete(FlavorAccessRow).where(FlavorAccessRow.flavor_id == row.id))
    unit.delete(row)


def extra_specs(unit: ComputeUnit, flavor_id: str) -> dict[str, str]:
    rows = unit.session.scalars(
        select(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id == flavor_id)
    )
    return {row.key: row.value for row in sorted(rows, key=lambda r: r.key)}


def set_extra_specs(unit: ComputeUnit, flavor_id: str, specs: Mapping[str, str]) -> None:
    """Add or overwrite these keys; the others stay.

    :raises Collision: a concurrent request added one of the keys, or deleted the flavor.
    """
    existing = {
        row.key: row
        for row in unit.session.scalars(
            select(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id == flavor_id)
        )
    }
    for key, value in specs.items():
        row = existing.get(key)
        if row is None:
            unit.session.add(FlavorExtraSpecRow(flavor_id=flavor_id, key=key, value=value))
        else:
            row.value = value
    unit.flush()


def delete_extra_spec(unit: ComputeUnit, flavor_id: str, key: str) -> bool:
    """Whether the key existed (and is now gone)."""
    rows = unit.session.scalars(
        select(FlavorExtraSpecRow).where(
            FlavorExtraSpecRow.flavor_id == flavor_id, FlavorExtraSpecRow.key == key
        )
    )
    row = next((r for r in rows if r.key == key), None)
    if row is None:
        return False
    unit.delete(row)
    return True


def access_projects(unit: ComputeUnit, flavor_id: str) -> list[str]:
    return sorted(
        unit.session.scalars(
            select(FlavorAccessRow.project_id).where(FlavorAccessRow.flavor_id == flavor_id)
        )
    )


def add_access(unit: ComputeUnit, flavor_id: str, project_id: str) -> None:
    """:raises Collision: the project has access already (a concurrent grant)."""
    unit.add(FlavorAccessRow(flavor_id=flavor_id, project_id=project_id))


def remove_access(unit: ComputeUnit, flavor_id: str, project_id: str) -> bool:
    """Whether the project had access (and now has not)."""
    rows = unit.session.scalars(
        select(FlavorAccessRow).where(
            FlavorAccessRow.flavor_id == flavor_id, FlavorAccessRow.project_id == project_id
        )
    )
    row = next((r for r in rows if r.project_id == project_id), None)
    if row is None:
        return False
    unit.delete(row)
    return True
