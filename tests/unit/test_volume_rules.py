"""Volume domain rules without HTTP: placement, request parsing, extra specs, list paging,
and what a create, extend or delete refuses (on SQLite and the fake vCenter)."""

from __future__ import annotations

import pytest

from tests.unit.test_volume_domain import VolumeDomain, admin, domain, member
from vistack.common.errors import BadRequest, NotFound
from vistack.drivers.models import DatastoreInfo, Provisioning
from vistack.volume.domain import listing, placement, requests, spec_ops
from vistack.volume.domain.quotas import QuotaExceeded
from vistack.volume.domain.requests import CreateVolume
from vistack.volume.domain.types import check_extra_specs, provisioning_of

__all__ = ["domain"]

POOLS = [
    DatastoreInfo("ds-1", "LocalDS_0", 100, 40),
    DatastoreInfo("ds-2", "LocalDS_1", 100, 90),
    DatastoreInfo("ds-3", "Shared_0", 500, 60),
]


def test_placement_takes_the_most_free_space() -> None:
    assert placement.choose(POOLS, 10).name == "LocalDS_1"
    assert placement.choose(POOLS, 10, regex="Local.*_0|Shared.*").name == "Shared_0"
    assert placement.choose(POOLS, 10, configured=["LocalDS_0"]).name == "LocalDS_0"


def test_placement_says_why_nothing_fits() -> None:
    with pytest.raises(placement.NoValidDatastore, match="90 GB"):
        placement.choose(POOLS, 91)
    with pytest.raises(placement.NoValidDatastore, match="regex"):
        placement.choose(POOLS, 1, regex="nothing")


@pytest.mark.parametrize(
    ("value", "requirement", "expected"),
    [
        ("vmdk", "vmdk", True),
        ("vmdk", "iSCSI", False),
        (True, "<is> True", True),
        (False, "<is> True", False),
        (False, "<is> False", True),
        ("VMware vSphere", "<in> vSphere", True),
        ("VMware", "<in> NetApp", False),
        (60, ">= 50", True),
        (60, "<= 50", False),
        (60, "== 60", True),
        (60, "!= 60", False),
        (60, "= 50", True),  # Cinder's '=' is "at least"
        ("vmdk", ">= 1", False),  # not a number: no match, no error
        ("vmdk", "s== vmdk", True),
        ("vmdk", "s!= vmdk", False),
        ("b", "s> a", True),
        ("nfs", "<or> iscsi <or> nfs", True),
        ("fc", "<or> iscsi <or> nfs", False),
    ],
)
def test_extra_spec_operators(value: object, requirement: str, expected: bool) -> None:
    assert spec_ops.matches(value, requirement) is expected


def test_placement_matches_capability_specs() -> None:
    ok = {"vendor_name": "VMware", "capabilities:storage_protocol": "<in> vmdk"}
    assert placement.choose(POOLS, 10, specs=ok).name == "LocalDS_1"
    # Driver-scoped keys and keys no pool reports are not the capability filter's.
    other = {"vmware:vmdk_type": "thick", "replication_enabled": "<is> True"}
    assert placement.choose(POOLS, 10, specs=other).name == "LocalDS_1"
    # A spec about one pool: only that pool satisfies it.
    one = {"pool_name": "Shared_0", "free_capacity_gb": ">= 50"}
    assert placement.choose(POOLS, 10, specs=one).name == "Shared_0"
    bogus = {"storage_protocol": "bogus-proto", "vendor_name": "bogus-vendor"}
    with pytest.raises(placement.NoValidDatastore, match=r"No valid backend.*bogus-proto"):
        placement.choose(POOLS, 1, specs=bogus)
    # Every datastore takes multi-writer disks: a multiattach type schedules anywhere.
    assert placement.choose(POOLS, 1, specs={"multiattach": "<is> True"}).name == "LocalDS_1"
    with pytest.raises(placement.NoValidDatastore, match="multiattach"):
        placement.choose(POOLS, 1, specs={"multiattach": "<is> False"})


def test_create_request_parsing() -> None:
    parsed = requests.create_volume({"volume": {"size": "3", "display_name": "n"}})
    assert (parsed.size, parsed.name) == (3, "n")
    from_volume = requests.create_volume({"volume": {"source_volid": "v"}})
    assert from_volume.size is None and from_volume.source_volid == "v"
    assert requests.create_volume({"volume": {"size": 1, "group_id": "g"}}).group_id == "g"
    for body in (
        {"volume": {"size": 1.5}},
        {"volume": {"size": -1}},
        {"volume": {"size": 1, "imageRef": "i", "snapshot_id": "s"}},
        {"volume": {"size": 1, "multiattach": "perhaps"}},
        {"volume": {"size": 1, "volume_type": 7}},
        {"volume": {"size": 1, "group_id": 7}},
        {"volume": {"imageRef": "i"}},
        "volume",
    ):
        with pytest.raises(BadRequest):
            requests.create_volume(body)


def test_metadata_filter_accepts_cinders_literal_form() -> None:
    assert requests.metadata_filter("{'a': 'b'}") == {"a": "b"}
    assert requests.metadata_filter('{"a": 1}') == {"a": "1"}
    with pytest.raises(BadRequest):
        requests.metadata_filter("[1]")


def test_extra_specs_validation() -> None:
    specs = check_extra_specs({"vmware:vmdk_type": "thick", "n": 1, "b": True})
    assert specs == {"vmware:vmdk_type": "thick", "n": "1", "b": "True"}
    assert provisioning_of(specs) is Provisioning.THICK
    assert provisioning_of({}) is Provisioning.THIN
    bad_specs: list[object] = [
        {"vmware:vmdk_type": "sparse"},
        {"vmware:datastore_regex": "("},
        {"": "x"},
        [],
    ]
    for bad in bad_specs:
        with pytest.raises(BadRequest):
            check_extra_specs(bad)


def test_list_params_and_pages() -> None:
    params = listing.parse_params({"sort": "name:asc", "limit": "2"}, ("name", "id"))
    assert params.sort == (("name", False), ("id", False))
    items = [{"id": str(i), "name": n} for i, n in enumerate("cab")]
    page, more = listing.page(items, params, lambda x, k: x[k], lambda x: x["id"])
    assert [x["name"] for x in page] == ["a", "b"] and more
    after = listing.ListParams(params.sort, 2, page[-1]["id"])
    rest, more = listing.page(items, after, lambda x, k: x[k], lambda x: x["id"])
    assert [x["name"] for x in rest] == ["c"] and not more
    with pytest.raises(NotFound):
        listing.page(items, listing.ListParams(params.sort, None, "x"), lambda x, k: x[k], str)
    with pytest.raises(BadRequest):
        listing.parse_params({"sort": "name", "sort_key": "id"}, ("name", "id"))


def test_quota_counts_volumes_and_snapshots(domain: VolumeDomain) -> None:
    context = member()
    volume = domain.services.volumes.create(context, {"volume": {"size": 10}})
    domain.settle()
    domain.services.snapshots.create(context, {"snapshot": {"volume_id": volume.id}})
    domain.settle()
    with pytest.raises(QuotaExceeded, match="Requested 1G, quota is 20G and 20G"):
        domain.services.volumes.create(context, {"volume": {"size": 1}})
    limits = domain.services.quotas.absolute_limits(context)
    assert (limits["totalGigabytesUsed"], limits["totalSnapshotsUsed"]) == (20, 1)


def test_per_volume_limit(domain: VolumeDomain) -> None:
    domain.settings.volume.quota_per_volume_gigabytes = 2
    context = member()
    with pytest.raises(QuotaExceeded, match="maximum allowed limit 2G"):
        domain.services.volumes.create(context, {"volume": {"size": 3}})
    volume = domain.services.volumes.create(context, {"volume": {"size": 2}})
    domain.settle()
    with pytest.raises(QuotaExceeded, match="size 3G is larger"):
        domain.services.actions.extend(context, volume.id, {"os-extend": {"new_size": 3}})


def test_extend_and_delete_refusals(domain: VolumeDomain) -> None:
    context = member()
    volume = domain.services.volumes.create(context, {"volume": {"size": 1}})
    domain.settle()
    domain.services.actions.reserve(context, volume.id)
    with pytest.raises(BadRequest, match="attaching"):
        domain.services.actions.extend(context, volume.id, {"os-extend": {"new_size": 2}})
    with pytest.raises(BadRequest, match="attaching"):
        domain.services.volumes.delete(context, volume.id)
    domain.services.actions.unreserve(context, volume.id)
    domain.services.actions.extend(context, volume.id, {"os-extend": {"new_size": 2}})
    domain.settle()
    shown = domain.services.volumes.get(context, volume.id)
    assert (shown.status, shown.size_gb) == ("available", 2)
    assert domain.fake.state.disks[shown.path or ""].capacity_gb == 2
    domain.services.volumes.delete(admin(), volume.id)
    domain.settle()
    assert shown.path not in domain.fake.state.disks


def test_a_restart_fails_interrupted_creates_and_finishes_deletes(domain: VolumeDomain) -> None:
    context = member()
    services = domain.services
    # A create whose job was lost after it made its disk.
    row, _source = services.volumes.record(context, CreateVolume(size=1))
    datastore = sorted(domain.fake.state.datastores)[0]
    made = domain.fake.drivers().volumes.create_disk(datastore, row.id, 1, Provisioning.THIN)
    # A delete whose job was lost.
    doomed = services.volumes.create(context, {"volume": {"size": 1}})
    domain.settle()
    doomed_path = services.volumes.get(context, doomed.id).path
    domain.bus.stop()
    services.volumes.delete(context, doomed.id)  # queued on a stopped bus: never runs
    # The restarted process: a fresh bus with the handlers, then recovery.
    domain.bus = type(domain.bus)(2)
    assert services.work is not None
    services.work.register(domain.bus)
    services.start(domain.bus)
    domain.bus.start()
    domain.settle()
    failed = services.volumes.get(context, row.id)
    assert failed.status == "error" and "restart" in (failed.error_message or "")
    assert made.path not in domain.fake.state.disks
    with pytest.raises(NotFound):
        services.volumes.get(context, doomed.id)
    assert doomed_path not in domain.fake.state.disks


def test_a_source_being_cloned_cannot_be_deleted(domain: VolumeDomain) -> None:
    context = member()
    source = domain.services.volumes.create(context, {"volume": {"size": 1}})
    domain.settle()
    clone, _source = domain.services.volumes.record(
        context, CreateVolume(size=1, source_volid=source.id)
    )
    with pytest.raises(BadRequest, match="being created from it"):
        domain.services.volumes.delete(context, source.id)
    assert clone.status == "creating"
