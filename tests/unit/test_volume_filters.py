"""The microversioned list filters (`volume/domain/filters.py`), metadata ETags (`etags.py`)
and pool filters (`pool_filters.py`) as pure rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from vistack.common.errors import BadRequest
from vistack.volume.domain import etags, filters, pool_filters

ITEM = {
    "name": "Data-Disk",
    "bootable": False,
    "metadata": {"a": "1", "b": "2"},
    "created_at": datetime(2026, 1, 2, 3, 4, 5),
    "size": 2,
    "volume_type": frozenset({"tid", "gold"}),
}


def keeps(query: dict[str, str], version: tuple[int, int], admin: bool = False) -> bool:
    parsed = filters.parse(query, "volume", version, admin=admin)
    return filters.matches(parsed, ITEM, lambda item, key: item.get(key))


def test_filters_by_version() -> None:
    assert keeps({"name~": "disk"}, (3, 34)) and not keeps({"name~": "other"}, (3, 34))
    assert keeps({"name~": "other"}, (3, 33))  # dropped before 3.34
    assert not keeps({"bootable": "maybe"}, (3, 1))  # anything but false means bootable
    with pytest.raises(BadRequest):
        keeps({"bootable": "maybe"}, (3, 2))
    assert keeps({"user_id": "x"}, (3, 30))  # dropped for a member before 3.31
    with pytest.raises(BadRequest):
        keeps({"user_id": "x"}, (3, 31))
    assert not keeps({"user_id": "x"}, (3, 31), admin=True)
    assert keeps({"metadata": '{"a": "1"}'}, (3, 0)) and keeps({"metadata": "{'b': '2'}"}, (3, 0))
    assert keeps({"volume_type": "gold"}, (3, 0)) and keeps({"size": "2"}, (3, 31))


def test_time_comparisons_from_3_60() -> None:
    assert keeps({"created_at": "gte:2026-01-02T03:04:05"}, (3, 60))
    assert not keeps({"created_at": "gt:2026-01-02T03:04:05,lt:2027-01-01T00:00:00"}, (3, 60))
    assert keeps({"created_at": "2026-01-02T03:04:05Z"}, (3, 60))  # a bare time is eq
    with pytest.raises(BadRequest):
        keeps({"created_at": "gt:soon"}, (3, 60))


def test_etags() -> None:
    tag = etags.etag({"a": "1"})
    etags.check({"a": "1"}, (tag,))
    etags.check({"a": "2"}, None)
    etags.check({"a": "2"}, ("*",))
    assert etags.parse_if_match(f'"{tag}", W/"x"') == (tag, "x")
    with pytest.raises(etags.PreconditionFailed):
        etags.check({"a": "2"}, (tag,))


def test_pool_filters() -> None:
    pools: list[dict[str, Any]] = [{"name": "h@vmware#ds1"}, {"name": "h@vmware#ds2"}]
    specs = {"t": {"vmware:datastore_regex": "ds2"}}
    pick = pool_filters.select(pools, {"volume_type": "t"}, (3, 35), specs.__getitem__)
    assert pick == [pools[1]]
    assert pool_filters.select(pools, {"name": "h@vmware#ds1"}, (3, 27), specs.__getitem__) == pools
    with pytest.raises(BadRequest):
        pool_filters.select(pools, {"size": "1"}, (3, 31), specs.__getitem__)
