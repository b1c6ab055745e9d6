"""The domain rules of QoS specs (which keys vSphere applies, and how), transfer keys (only a
salted hash is kept) and encryption spec bodies, without HTTP or a database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from vistack.common.errors import BadRequest
from vistack.drivers.models import DiskIo
from vistack.volume.domain import encryption, qos_specs, transfers


def test_front_end_specs_become_the_disks_io_allocation() -> None:
    assert qos_specs.disk_io("front-end", {"total_iops_sec": "500"}) == DiskIo(iops_limit=500)
    assert qos_specs.disk_io("both", {"maxIOPS": "20", "shares": "High"}) == DiskIo(
        iops_limit=20, shares_level="high"
    )
    assert qos_specs.disk_io("both", {"shares": "1500"}) == DiskIo(
        shares_level="custom", shares=1500
    )
    assert qos_specs.disk_io("front-end", {}) is None
    # Back-end specs are stored only: this cloud's back-end reads none of their keys.
    assert qos_specs.disk_io("back-end", {"total_iops_sec": "500"}) is None


@pytest.mark.parametrize(
    "specs",
    [
        {"read_iops_sec": "1"},
        {"total_bytes_sec": "1"},
        {"total_iops_sec": "0"},
        {"limit": "-3"},
        {"total_iops_sec": "1", "maxIOPS": "2"},
        {"shares": "0"},
        {"shares": "many"},
    ],
)
def test_keys_and_values_vsphere_cannot_apply_are_refused(specs: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        qos_specs.check_specs("front-end", specs)
    qos_specs.check_specs("back-end", specs)  # stored as given


def test_agreeing_aliases_and_levels_are_accepted() -> None:
    qos_specs.check_specs("both", {"total_iops_sec": "7", "limit": "7", "shares": "low"})


def test_a_transfer_key_is_kept_only_as_a_salted_hash() -> None:
    row: Any = SimpleNamespace(salt="s1", crypt_hash=transfers.hash_key("s1", "secret"))
    assert row.crypt_hash != "secret" and len(row.crypt_hash) == 64
    assert transfers.key_matches(row, "secret")
    assert not transfers.key_matches(row, "Secret")
    assert transfers.hash_key("s2", "secret") != row.crypt_hash


def test_encryption_bodies() -> None:
    body = {"encryption": {"provider": "luks", "key_size": 256}}
    assert encryption._fields(body, creating=True) == {
        "provider": "luks",
        "key_size": 256,
        "control_location": "front-end",
    }
    assert encryption._fields({"encryption": {"cipher": None}}, creating=False) == {"cipher": None}
    bad: dict[str, Any]
    for bad in (
        {"encryption": {}},
        {"encryption": {"provider": "luks", "key_size": True}},
        {"encryption": {"provider": "luks", "colour": "red"}},
        {"enc": {"provider": "luks"}},
    ):
        with pytest.raises(BadRequest):
            encryption._fields(bad, creating=True)
