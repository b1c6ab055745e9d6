"""Server groups through HTTP on the fake vCenter: Nova's shapes at each microversion, who sees
which group, the two quotas, servers joining with the `group` hint, the scheduler keeping
members together or apart across clusters, and the DRS rule in the cluster (created with the
second member, edited, removed with the members and with the group).

The advertised microversion is below 2.13 for now; the tests of later shapes raise the
maximum for themselves (`monkeypatch`), which is what advertising it will do.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona, persona_fixture
from tests.api.test_compute_servers import (
    fault,
    image_id,
    make_network,
    wait_gone,
    wait_status,
)
from vistack.compute.api import microversion
from vistack.drivers.errors import TransientError
from vistack.drivers.vm_rules import RuleKind

__all__ = ["image_id"]  # the module-scoped image fixture, shared

member = persona_fixture("compute_api")
GROUPS = "/os-server-groups"


def _at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


@pytest.fixture
def modern(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve microversions up to 2.75 for this test."""
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 75))


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.61.0.0/24")


def make_group(api: ComputeApi, token: str, policy: str, name: str = "g") -> dict[str, Any]:
    response = api.post(
        GROUPS, token=token, json={"server_group": {"name": name, "policies": [policy]}}
    )
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()["server_group"]
    return group


def boot_in(
    api: ComputeApi, member: Persona, image: str, network_id: str, group_id: str, **extra: Any
) -> Any:
    body = {
        "server": {
            "name": "member",
            "imageRef": image,
            "flavorRef": "1",
            "networks": [{"uuid": network_id}],
            **extra,
        },
        "os:scheduler_hints": {"group": group_id},
    }
    return api.post("/servers", token=member.token, json=body)


def booted(api: ComputeApi, member: Persona, image: str, network_id: str, group_id: str) -> str:
    response = boot_in(api, member, image, network_id, group_id)
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]
    return server_id


def rules_of(api: ComputeApi, group_id: str) -> dict[str, Any]:
    """cluster → the group's DRS rule there, as the (fake) vCenter holds it."""
    compute = api.fake.drivers().compute
    found = {}
    for cluster in api.fake.drivers().topology.clusters:
        for rule in compute.list_vm_group_rules(cluster):
            if rule.name == f"vistack-{group_id}":
                found[cluster] = rule
    return found


def test_create_show_list_delete_at_2_1(compute_api: ComputeApi, member: Persona) -> None:
    created = make_group(compute_api, member.token, "anti-affinity", "web")
    assert set(created) == {"id", "name", "policies", "members", "metadata"}
    assert (created["name"], created["policies"], created["members"], created["metadata"]) == (
        "web",
        ["anti-affinity"],
        [],
        {},
    )
    path = f"{GROUPS}/{created['id']}"
    assert compute_api.get(path, token=member.token).json() == {"server_group": created}
    listed = compute_api.get(GROUPS, token=member.token).json()["server_groups"]
    assert created in listed
    assert compute_api.delete(path, token=member.token).status_code == 204
    message = fault(compute_api.get(path, token=member.token), 404, "itemNotFound")
    assert message == f"Instance group {created['id']} could not be found."
    fault(compute_api.delete(path, token=member.token), 404, "itemNotFound")


@pytest.mark.parametrize(
    "body",
    [
        {"server_group": {"name": "x", "policies": ["soft-affinity"]}},  # 2.15's
        {"server_group": {"name": "x", "policies": ["affinity", "anti-affinity"]}},
        {"server_group": {"name": "x", "policies": []}},
        {"server_group": {"name": "x"}},
        {"server_group": {"policies": ["affinity"]}},
        {"server_group": {"name": " x", "policies": ["affinity"]}},
        {"server_group": {"name": "x", "policy": "affinity"}},  # 2.64's
        {"server_group": {"name": "x", "policies": ["affinity"], "extra": 1}},
        {"group": {}},
    ],
)
def test_create_refusals_at_2_1(compute_api: ComputeApi, member: Persona, body: Any) -> None:
    fault(compute_api.post(GROUPS, token=member.token, json=body), 400, "badRequest")


def test_later_microversions(compute_api: ComputeApi, member: Persona, modern: None) -> None:
    token = member.token
    v213 = compute_api.post(
        GROUPS,
        token=token,
        headers=_at("2.13"),
        json={"server_group": {"name": "a", "policies": ["affinity"]}},
    ).json()["server_group"]
    assert (v213["project_id"], v213["user_id"]) == (member.project_id, member.user_id)
    fault(
        compute_api.post(
            GROUPS,
            token=token,
            headers=_at("2.14"),
            json={"server_group": {"name": "s", "policies": ["soft-anti-affinity"]}},
        ),
        400,
        "badRequest",
    )
    soft = compute_api.post(
        GROUPS,
        token=token,
        headers=_at("2.15"),
        json={"server_group": {"name": "s", "policies": ["soft-anti-affinity"]}},
    )
    assert soft.status_code == 200 and soft.json()["server_group"]["policies"] == [
        "soft-anti-affinity"
    ]
    body = {"name": "r", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}
    v264 = compute_api.post(
        GROUPS, token=token, headers=_at("2.64"), json={"server_group": body}
    ).json()["server_group"]
    assert set(v264) == {"id", "name", "policy", "rules", "members", "project_id", "user_id"}
    assert (v264["policy"], v264["rules"]) == ("anti-affinity", {"max_server_per_host": 2})
    # The same group at 2.1: a policies list and empty metadata.
    old = compute_api.get(f"{GROUPS}/{v264['id']}", token=token).json()["server_group"]
    assert (old["policies"], old["metadata"]) == (["anti-affinity"], {})
    plain = compute_api.post(
        GROUPS,
        token=token,
        headers=_at("2.64"),
        json={"server_group": {"name": "p", "policy": "affinity"}},
    ).json()["server_group"]
    assert plain["rules"] == {}
    message = fault(
        compute_api.post(
            GROUPS,
            token=token,
            headers=_at("2.64"),
            json={
                "server_group": {
                    "name": "bad",
                    "policy": "affinity",
                    "rules": {"max_server_per_host": 2},
                }
            },
        ),
        400,
        "badRequest",
    )
    assert message == "Only anti-affinity policy supports rules."
    for rules in ({"max_server_per_host": 0}, {"max_server_per_host": "x"}, {"other": 1}):
        bad = {"server_group": {"name": "b", "policy": "anti-affinity", "rules": rules}}
        fault(
            compute_api.post(GROUPS, token=token, headers=_at("2.64"), json=bad), 400, "badRequest"
        )
    fault(
        compute_api.get(f"{GROUPS}?colour=red", token=token, headers=_at("2.75")),
        400,
        "badRequest",
    )
    assert compute_api.get(f"{GROUPS}?colour=red", token=token).status_code == 200
    for group in (v213, soft.json()["server_group"], v264, plain):
        assert compute_api.delete(f"{GROUPS}/{group['id']}", token=token).status_code == 204


def test_who_sees_which_group_and_pages(compute_api: ComputeApi) -> None:
    alice = persona(compute_api.identity)
    bob = persona(compute_api.identity)
    mine = [make_group(compute_api, alice.token, "affinity", f"a{i}") for i in range(3)]
    theirs = make_group(compute_api, bob.token, "affinity", "b")
    listed = compute_api.get(GROUPS, token=alice.token).json()["server_groups"]
    assert [g["id"] for g in listed] == [g["id"] for g in mine]
    # A member asking for every project gets its own (Nova), an admin gets them all.
    everyone = compute_api.get(f"{GROUPS}?all_projects=True", token=alice.token).json()
    assert [g["id"] for g in everyone["server_groups"]] == [g["id"] for g in mine]
    admin = compute_api.get(f"{GROUPS}?all_projects=True").json()["server_groups"]
    assert {g["id"] for g in mine} | {theirs["id"]} <= {g["id"] for g in admin}
    page = compute_api.get(f"{GROUPS}?limit=1&offset=1", token=alice.token).json()
    assert [g["id"] for g in page["server_groups"]] == [mine[1]["id"]]
    fault(compute_api.get(f"{GROUPS}?limit=-1", token=alice.token), 400, "badRequest")
    fault(compute_api.get(f"{GROUPS}?offset=x", token=alice.token), 400, "badRequest")
    fault(compute_api.get(f"{GROUPS}/{theirs['id']}", token=alice.token), 403, "forbidden")
    fault(compute_api.delete(f"{GROUPS}/{theirs['id']}", token=alice.token), 403, "forbidden")
    assert compute_api.get(f"{GROUPS}/{theirs['id']}").status_code == 200  # the admin


def test_server_groups_quota(compute_api: ComputeApi) -> None:
    someone = persona(compute_api.identity)
    quota = f"/os-quota-sets/{someone.project_id}"
    assert compute_api.put(quota, json={"quota_set": {"server_groups": 1}}).status_code == 200
    make_group(compute_api, someone.token, "affinity")
    message = fault(
        compute_api.post(
            GROUPS,
            token=someone.token,
            json={"server_group": {"name": "n", "policies": ["affinity"]}},
        ),
        403,
        "forbidden",
    )
    assert message == "Quota exceeded, too many server groups."
    detail = compute_api.get(f"{quota}/detail").json()["quota_set"]
    assert detail["server_groups"] == {"in_use": 1, "limit": 1, "reserved": 0}
    assert detail["server_group_members"]["limit"] == 10


def test_the_group_hint_is_checked(
    compute_api: ComputeApi, image_id: str, network: dict[str, Any]
) -> None:
    someone = persona(compute_api.identity)
    own = make_network(compute_api, someone.token, "10.65.0.0/24")
    other = persona(compute_api.identity)
    theirs = make_group(compute_api, other.token, "affinity")
    unknown = str(theirs["id"])[::-1]
    cases = {
        "not-a-uuid": "Invalid input for field/attribute group. Value: not-a-uuid. "
        "'not-a-uuid' is not a 'uuid'",
        theirs["id"]: f"Instance group {theirs['id']} could not be found.",
        unknown: f"Instance group {unknown} could not be found.",
    }
    for group_id, expected in cases.items():
        response = boot_in(compute_api, someone, image_id, own["id"], group_id)
        assert fault(response, 400, "badRequest") == expected
    # The refused creates left nothing: no server, no member in the other's group.
    assert compute_api.get("/servers", token=someone.token).json()["servers"] == []
    shown = compute_api.get(f"{GROUPS}/{theirs['id']}", token=other.token).json()
    assert shown["server_group"]["members"] == []


def test_group_members_quota(compute_api: ComputeApi, image_id: str, modern: None) -> None:
    someone = persona(compute_api.identity)
    network = make_network(compute_api, someone.token, "10.62.0.0/24")
    quota = f"/os-quota-sets/{someone.project_id}"
    assert (
        compute_api.put(quota, json={"quota_set": {"server_group_members": 1}}).status_code == 200
    )
    group = compute_api.post(
        GROUPS,
        token=someone.token,
        headers=_at("2.15"),
        json={"server_group": {"name": "m", "policies": ["soft-affinity"]}},
    ).json()["server_group"]
    message = fault(
        boot_in(compute_api, someone, image_id, network["id"], group["id"], max_count=2),
        403,
        "forbidden",
    )
    assert message == "Quota exceeded, too many servers in group"
    assert compute_api.get("/servers", token=someone.token).json()["servers"] == []
    first = booted(compute_api, someone, image_id, network["id"], group["id"])
    wait_status(compute_api, first, someone.token, "ACTIVE")
    fault(boot_in(compute_api, someone, image_id, network["id"], group["id"]), 403, "forbidden")
    assert compute_api.delete(f"/servers/{first}", token=someone.token).status_code == 204
    wait_gone(compute_api, first, someone.token)
    # A deleted server is no member any more: its place is free again.
    again = booted(compute_api, someone, image_id, network["id"], group["id"])
    wait_status(compute_api, again, someone.token, "ACTIVE")
    shown = compute_api.get(f"{GROUPS}/{group['id']}", token=someone.token).json()
    assert shown["server_group"]["members"] == [again]


def test_anti_affinity_spreads_then_shares_a_cluster_under_a_drs_rule(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    group = make_group(compute_api, member.token, "anti-affinity")
    ids = [booted(compute_api, member, image_id, network["id"], group["id"]) for _ in range(2)]
    clusters = [wait_status(compute_api, s, member.token, "ACTIVE") for s in ids]
    compute = compute_api.fake.drivers().compute
    placed = [compute.get_vm(s).cluster for s in ids]
    assert len(set(placed)) == 2, placed  # one per cluster while a cluster is free
    assert rules_of(compute_api, group["id"]) == {}  # no cluster holds two members yet
    third = booted(compute_api, member, image_id, network["id"], group["id"])
    wait_status(compute_api, third, member.token, "ACTIVE")
    shared = compute.get_vm(third).cluster
    (rule,) = rules_of(compute_api, group["id"]).values()
    together = sorted([s for s, c in zip(ids, placed, strict=True) if c == shared] + [third])
    assert (rule.kind, rule.mandatory, rule.enabled) == (RuleKind.ANTI_AFFINITY, True, True)
    assert list(rule.vm_uuids) == together
    assert clusters and sorted(
        compute_api.get(f"{GROUPS}/{group['id']}", token=member.token).json()["server_group"][
            "members"
        ]
    ) == sorted([*ids, third])
    # The third moves to the other cluster: the rule follows it (live migration, admin).
    (elsewhere,) = set(placed) - {shared}
    body = {
        "os-migrateLive": {"host": elsewhere, "block_migration": False, "disk_over_commit": False}
    }
    moved = compute_api.post(f"/servers/{third}/action", json=body)
    assert moved.status_code == 202, moved.text
    wait_status(compute_api, third, member.token, "ACTIVE")
    assert compute.get_vm(third).cluster == elsewhere
    (rule,) = rules_of(compute_api, group["id"]).values()
    mates = sorted([s for s, c in zip(ids, placed, strict=True) if c == elsewhere] + [third])
    assert list(rule.vm_uuids) == mates and rules_of(compute_api, group["id"]).keys() == {elsewhere}
    # One of the two leaves: a rule needs two VMs, so it goes.
    assert compute_api.delete(f"/servers/{third}", token=member.token).status_code == 204
    wait_gone(compute_api, third, member.token)
    assert rules_of(compute_api, group["id"]) == {}


def test_strict_anti_affinity_fills_every_host_then_no_valid_host(
    compute_api: ComputeApi, image_id: str
) -> None:
    someone = persona(compute_api.identity)
    network = make_network(compute_api, someone.token, "10.63.0.0/24")
    group = make_group(compute_api, someone.token, "anti-affinity")
    topology = compute_api.fake.state.spec
    hosts = topology.clusters * topology.hosts_per_cluster  # 2 clusters of 3 ESXi hosts
    response = boot_in(
        compute_api, someone, image_id, network["id"], group["id"], min_count=hosts + 1
    )
    assert response.status_code == 202, response.text
    servers = compute_api.get("/servers", token=someone.token).json()["servers"]
    finals = [wait_for_end(compute_api, s["id"], someone.token) for s in servers]
    assert Counter(s["status"] for s in finals) == {"ACTIVE": hosts, "ERROR": 1}
    (failed,) = [s for s in finals if s["status"] == "ERROR"]
    assert (
        failed["fault"]["message"]
        == "No valid host was found. There are not enough hosts available."
    )
    compute = compute_api.fake.drivers().compute
    per_cluster = Counter(
        compute.get_vm(s["id"]).cluster for s in finals if s["status"] == "ACTIVE"
    )
    assert set(per_cluster.values()) == {topology.hosts_per_cluster}
    rules = rules_of(compute_api, group["id"])
    assert {c: len(r.vm_uuids) for c, r in rules.items()} == dict(per_cluster)
    # Deleting the group removes its rules from every cluster; the servers stay.
    assert compute_api.delete(f"{GROUPS}/{group['id']}", token=someone.token).status_code == 204
    assert rules_of(compute_api, group["id"]) == {}
    for server in servers:
        compute_api.delete(f"/servers/{server['id']}", token=someone.token)


def wait_for_end(api: ComputeApi, server_id: str, token: str) -> dict[str, Any]:
    """The server once its build ended (ACTIVE or ERROR)."""
    from tests.api.test_compute_servers import wait_for

    response = wait_for(
        api,
        server_id,
        token,
        lambda r: r.status_code == 200 and r.json()["server"]["status"] in ("ACTIVE", "ERROR"),
    )
    server: dict[str, Any] = response.json()["server"]
    return server


def test_affinity_keeps_members_in_one_cluster_under_an_affinity_rule(
    compute_api: ComputeApi, image_id: str
) -> None:
    someone = persona(compute_api.identity)
    network = make_network(compute_api, someone.token, "10.64.0.0/24")
    group = make_group(compute_api, someone.token, "affinity")
    response = boot_in(compute_api, someone, image_id, network["id"], group["id"], min_count=3)
    assert response.status_code == 202, response.text
    servers = compute_api.get("/servers", token=someone.token).json()["servers"]
    for server in servers:
        wait_status(compute_api, server["id"], someone.token, "ACTIVE")
    compute = compute_api.fake.drivers().compute
    (cluster,) = {compute.get_vm(s["id"]).cluster for s in servers}
    rule = rules_of(compute_api, group["id"])[cluster]
    assert (rule.kind, rule.mandatory) == (RuleKind.AFFINITY, True)
    assert sorted(rule.vm_uuids) == sorted(s["id"] for s in servers)


def test_vcenter_refusing_the_rule_fails_the_build_and_keeps_the_group(
    compute_api: ComputeApi, image_id: str
) -> None:
    someone = persona(compute_api.identity)
    network = make_network(compute_api, someone.token, "10.66.0.0/24")
    group = make_group(compute_api, someone.token, "affinity")
    first = booted(compute_api, someone, image_id, network["id"], group["id"])
    wait_status(compute_api, first, someone.token, "ACTIVE")
    compute_api.fake.fail_next("set_vm_group_rule", TransientError("vCenter is restarting"))
    second = booted(compute_api, someone, image_id, network["id"], group["id"])
    failed = wait_status(compute_api, second, someone.token, "ERROR")
    assert "vCenter is restarting" in failed["fault"]["message"]
    compute = compute_api.fake.drivers().compute
    assert second not in {vm.instance_uuid for vm in compute.list_vms()}  # no VM left
    assert rules_of(compute_api, group["id"]) == {}
    # A group whose rules vCenter cannot remove is kept, and deleted on the next try.
    third = booted(compute_api, someone, image_id, network["id"], group["id"])
    wait_status(compute_api, third, someone.token, "ACTIVE")
    (rule,) = rules_of(compute_api, group["id"]).values()
    assert rule.vm_uuids == tuple(sorted([first, third]))
    compute_api.fake.fail_next("delete_vm_group_rule", TransientError("vCenter is away"))
    path = f"{GROUPS}/{group['id']}"
    message = fault(compute_api.delete(path, token=someone.token), 503, "serviceUnavailable")
    assert "the group is kept" in message
    assert compute_api.get(path, token=someone.token).status_code == 200
    assert compute_api.delete(path, token=someone.token).status_code == 204
    assert rules_of(compute_api, group["id"]) == {}
