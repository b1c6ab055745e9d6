"""Domain and parsing rules of resize and migrations, without HTTP: Nova's boolean spellings,
the resize body, where a resize keeps its root disk copy, and the flavor keys migrations show."""

from __future__ import annotations

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.api.actions_migrate import boolean
from vistack.compute.api.actions_resize import flavor_ref
from vistack.compute.api.migration_views import flavor_number
from vistack.compute.domain.resize import backup_path


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("true", True), ("True", True), ("YES", True), ("1", True), ("on", True),
     (False, False), ("false", False), ("Off", False), ("0", False), ("NO", False)],
)  # fmt: skip
def test_booleans_as_nova_spells_them(value: object, expected: bool) -> None:
    assert boolean("block_migration", value) is expected


@pytest.mark.parametrize("value", ["tRuE", "2", "", None, 1, "auto"])
def test_other_booleans_are_refused(value: object) -> None:
    with pytest.raises(BadRequest):
        boolean("block_migration", value)


def test_auto_only_where_allowed() -> None:
    assert boolean("block_migration", "auto", auto=True) is None


def test_flavor_ref_is_checked_as_nova_schema() -> None:
    assert flavor_ref({"flavorRef": "2"}) == "2"
    assert flavor_ref({"flavorRef": 3, "OS-DCF:diskConfig": "AUTO"}) == "3"
    for bad in (None, {}, {"flavorRef": ""}, {"flavorRef": True}, {"flavorRef": "2", "x": 1}):
        with pytest.raises(BadRequest):
            flavor_ref(bad)
    with pytest.raises(BadRequest):
        flavor_ref({"flavorRef": "2", "OS-DCF:diskConfig": "SOMETIMES"})


def test_the_root_copy_lives_beside_the_root() -> None:
    root = "[LocalDS_0] vm-1/vm-1.vmdk"
    assert backup_path(root) == "[LocalDS_0] vm-1/vm-1-resize-backup.vmdk"


def test_flavor_numbers_are_integers() -> None:
    assert flavor_number("7") == 7
    assert flavor_number(None) is None
    custom = flavor_number("m1.custom")
    assert isinstance(custom, int) and custom >= 0
    assert custom == flavor_number("m1.custom")
    assert flavor_number("m1.custom") != flavor_number("m1.other")
