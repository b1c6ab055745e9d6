"""Domain rules of generic volume groups, without HTTP: capability specs, the member id lists
of a group update, and the group types vSphere cannot serve."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vistack.common.errors import BadRequest
from vistack.volume.db.group_tables import GroupTypeRow
from vistack.volume.domain.group_models import spec_is_true
from vistack.volume.domain.groups import id_list, refuse_unsupported_specs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<is> True", True),
        ("True", True),
        (" <is>  true ", True),
        ("<is> False", False),
        (None, False),
    ],
)
def test_capability_specs(value: str | None, expected: bool) -> None:
    assert spec_is_true(value) is expected


def test_member_id_lists() -> None:
    assert id_list("add_volumes", "a, b,,a") == ["a", "b"]
    assert id_list("add_volumes", ["x", "y"]) == ["x", "y"]
    assert id_list("add_volumes", None) == [] and id_list("add_volumes", "") == []
    with pytest.raises(BadRequest):
        id_list("add_volumes", 3)


def test_unsupported_group_types_are_refused() -> None:
    row = GroupTypeRow(id="t", name="t", is_public=True, created_at=datetime.now(UTC))
    refuse_unsupported_specs(row, {"consistent_group_snapshot_enabled": "<is> False"})
    for spec in ("consistent_group_replication_enabled", "consistent_group_snapshot_enabled"):
        with pytest.raises(BadRequest, match=spec):
            refuse_unsupported_specs(row, {spec: "<is> True"})
