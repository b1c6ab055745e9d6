"""The rules volume types and group types share (`type_rules.py`), without HTTP: Cinder's
`is_public` list filter, the create and update fields, renaming guards, sort and paging, and
one spec by key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vistack.common.errors import BadRequest, NotFound
from vistack.volume.db.group_tables import GroupTypeRow
from vistack.volume.db.store import Collision
from vistack.volume.db.tables import VolumeTypeRow
from vistack.volume.domain import type_rules
from vistack.volume.domain.type_rules import GROUP_TYPE, VOLUME_TYPE

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, True), ("none", None), ("None", None), ("true", True), ("False", False), ("0", False)],
)
def test_an_administrators_is_public_filter(raw: str | None, expected: bool | None) -> None:
    assert type_rules.is_public_filter(raw) is expected
    assert type_rules.public_filter(True, {} if raw is None else {"is_public": raw}) is expected


def test_a_members_list_is_public_whatever_it_asks() -> None:
    assert type_rules.public_filter(False, {"is_public": "none"}) is True
    assert type_rules.public_filter(False, {"is_public": "maybe"}) is True


@pytest.mark.parametrize("raw", ["", "maybe", "2"])
def test_a_bad_is_public_filter_is_refused(raw: str) -> None:
    with pytest.raises(BadRequest, match=r"Invalid is_public filter"):
        type_rules.is_public_filter(raw)


def test_new_type_values_read_each_kinds_public_flag() -> None:
    values = type_rules.new_type_values(
        VOLUME_TYPE, {"name": " fast ", "os-volume-type-access:is_public": "false"}
    )
    assert (values["name"], values["description"], values["is_public"]) == ("fast", None, False)
    assert type_rules.new_type_values(GROUP_TYPE, {"name": "g"})["is_public"] is True
    row = VolumeTypeRow(**values)
    assert row.id == values["id"] and row.created_at == values["created_at"]
    with pytest.raises(BadRequest, match="Group type name"):
        type_rules.new_type_values(GROUP_TYPE, {"name": " "})
    with pytest.raises(BadRequest, match="Volume type description"):
        type_rules.new_type_values(VOLUME_TYPE, {"name": "n", "description": "x" * 256})


def _group_type(name: str, **fields: Any) -> GroupTypeRow:
    return GroupTypeRow(id=name, name=name, is_public=True, created_at=T0, **fields)


def test_update_guards_the_default_and_other_names() -> None:
    default, other = _group_type("default"), _group_type("other")
    rows = {"default": default, "other": other}

    def update(row: GroupTypeRow, **fields: Any) -> None:
        type_rules.update_type(GROUP_TYPE, row, fields, default_name="default", named=rows.get)

    with pytest.raises(BadRequest, match="Specify group type name"):
        update(other)
    with pytest.raises(BadRequest, match="default group type cannot be renamed"):
        update(default, name="x")
    with pytest.raises(Collision):
        update(other, name="default")
    update(default, name="default", description="d", is_public="false")
    assert (default.description, default.is_public, default.updated_at is not None) == (
        "d",
        False,
        True,
    )


def test_page_types_sorts_newest_first_and_cuts() -> None:
    rows = [
        GroupTypeRow(id=f"id{i}", name=n, is_public=True, created_at=T0 + timedelta(minutes=i))
        for i, n in enumerate(["b", "a", "c"])
    ]
    assert [r.name for r in type_rules.page_types(rows, {})] == ["c", "a", "b"]
    assert [r.name for r in type_rules.page_types(rows, {"sort": "name:asc"})] == ["a", "b", "c"]
    assert [r.name for r in type_rules.page_types(rows, {"sort_key": "name", "limit": "1"})] == [
        "c"
    ]
    after = type_rules.page_types(rows, {"sort": "name:asc", "marker": "id1"})
    assert [r.name for r in after] == ["b", "c"]
    with pytest.raises(BadRequest):
        type_rules.page_types(rows, {"sort": "size"})
    with pytest.raises(NotFound):
        type_rules.page_types(rows, {"marker": "nope"})


def test_one_spec_by_key() -> None:
    type_rules.one_spec(VOLUME_TYPE, {"k": "v"}, "k")
    with pytest.raises(BadRequest, match="exactly one extra spec"):
        type_rules.one_spec(VOLUME_TYPE, {"k": "v", "j": "w"}, "k")
    with pytest.raises(BadRequest, match="mismatch"):
        type_rules.one_spec(GROUP_TYPE, {"j": "w"}, "k")
    assert type_rules.spec_value(GROUP_TYPE, {"k": "v"}, "t", "k") == "v"
    with pytest.raises(NotFound, match="Group Type t has no specs with key x"):
        type_rules.spec_value(GROUP_TYPE, {}, "t", "x")
    assert VOLUME_TYPE.conflict("n") == "Volume Type n already exists."
