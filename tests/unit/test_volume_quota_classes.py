"""Quota classes and per-volume-type quotas without HTTP (SQLite, the fake vCenter): how a
limit is resolved (project, else default class, else configuration), the per-type checks of
several volumes at once (a group's), and what a limit may be."""

from __future__ import annotations

import pytest

from tests.unit.test_volume_domain import VolumeDomain, admin, domain, member
from vistack.common.errors import BadRequest, Forbidden
from vistack.volume.domain.quotas import MAX_LIMIT, QuotaExceeded, limit_value

__all__ = ["domain"]


def test_a_limit_is_an_integer_from_minus_one_to_max_int() -> None:
    assert limit_value("volumes", "7") == 7
    assert limit_value("volumes", -1) == -1
    assert limit_value("volumes", MAX_LIMIT) == MAX_LIMIT
    for bad in (-2, MAX_LIMIT + 1, True, None, "x", [1]):
        with pytest.raises(BadRequest):
            limit_value("volumes", bad)


def test_limits_resolve_project_then_default_class_then_configuration(
    domain: VolumeDomain,
) -> None:
    services = domain.services
    project = member()
    assert services.quotas.defaults()["volumes"] == 5  # the configuration's
    services.quota_classes.update(admin(), "default", {"quota_class_set": {"volumes": 8}})
    services.quota_classes.update(admin(), "silver", {"quota_class_set": {"snapshots": 1}})
    assert services.quotas.defaults()["volumes"] == 8
    assert services.quotas.show(admin(), project.project_id or "", usage=False)["volumes"] == 8
    silver = services.quota_classes.show(admin(), "silver")
    assert (silver["volumes"], silver["snapshots"]) == (8, 1)  # the rest: the default class
    assert services.quotas.defaults()["snapshots"] == 3  # nobody follows silver
    own = {"quota_set": {"volumes": 2}}
    services.quotas.update(admin(), project.project_id or "", own)
    assert services.quotas.show(admin(), project.project_id or "", usage=False)["volumes"] == 2
    with pytest.raises(Forbidden):
        services.quota_classes.show(project, "default")


def test_several_volumes_of_mixed_types_are_checked_per_type(domain: VolumeDomain) -> None:
    services = domain.services
    project = member().project_id or ""
    gold = services.types.create(admin(), {"volume_type": {"name": "gold"}})
    iron = services.types.create(admin(), {"volume_type": {"name": "iron"}})
    limits = {"snapshots_gold": 1, "gigabytes_iron": 3}
    services.quotas.update(admin(), project, {"quota_set": limits})
    quotas, store = services.quotas, services.volumes.store
    with store.transaction() as unit:
        unit.lock_project(project)
        quotas.check_each_type(unit, project, [(gold.id, 5), (iron.id, 3)], snapshots=True)
        with pytest.raises(QuotaExceeded, match="'snapshots_gold'"):
            quotas.check_each_type(unit, project, [(gold.id, 1), (gold.id, 1)], snapshots=True)
        with pytest.raises(QuotaExceeded, match=r"gigabytes_iron quota\. Requested 4G"):
            quotas.check_each_type(unit, project, [(iron.id, 2), (iron.id, 2)])
    with pytest.raises(BadRequest, match="Bad key"):
        services.quotas.update(admin(), project, {"quota_set": {"volumes_steel": 1}})
    with pytest.raises(BadRequest, match="1 to 255"):
        services.quota_classes.update(admin(), "x" * 256, {"quota_class_set": {}})
