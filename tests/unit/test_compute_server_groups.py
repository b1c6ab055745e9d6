"""Server group rules without HTTP: the create body at each microversion, the clusters each
policy allows (ESXi hosts as Nova's hosts inside a cluster), the DRS rule names, the views per
microversion, and a suspended VM as the power sync reads it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from vistack.common.errors import BadRequest
from vistack.compute.api.microversion import Version
from vistack.compute.api.server_groups import view
from vistack.compute.domain import states
from vistack.compute.domain.clusters import ClusterCapacity
from vistack.compute.domain.group_placement import allowed_for_move, narrow, rule_names
from vistack.compute.domain.models import Server
from vistack.compute.domain.power_sync import changes_for
from vistack.compute.domain.server_groups import ServerGroup, parse_create
from vistack.drivers.models import PowerState, VMInfo


def _cluster(name: str, hosts: int = 3, memory: int = 10_000) -> ClusterCapacity:
    return ClusterCapacity(
        name=name,
        zone="nova",
        hosts=tuple(f"{name}_H{i}" for i in range(hosts)),
        datastores=("ds",),
        vcpus_free=100,
        memory_mb_free=memory,
        disk_gb_free=100,
        running=0,
    )


def _server(ram: int = 512) -> Server:
    now = datetime.now(UTC)
    return Server(
        id="s",
        project_id="p",
        user_id="u",
        name="s",
        hostname="s",
        description=None,
        flavor={"id": "1", "vcpus": 1, "ram": ram, "disk": 1},
        image_id="i",
        key_name=None,
        config_drive=False,
        metadata={},
        addresses={},
        security_groups=[],
        availability_zone=None,
        vm_state=states.BUILDING,
        task_state=states.SCHEDULING,
        power_state=0,
        cluster=None,
        vm_host=None,
        locked=False,
        launched_at=None,
        terminated_at=None,
        created_at=now,
        updated_at=now,
        deleted_at=None,
        fault=None,
    )


def _group(policy: str, rules: dict[str, Any] | None = None) -> ServerGroup:
    return ServerGroup("g", "n", policy, rules or {}, "p", "u", ("a", "b"))


def _names(found: list[ClusterCapacity]) -> list[str]:
    return sorted(c.name for c in found)


CLUSTERS = [_cluster("C0"), _cluster("C1"), _cluster("C2", hosts=1)]


def test_anti_affinity_prefers_empty_clusters_then_hosts_inside_a_cluster() -> None:
    group = _group("anti-affinity")
    assert _names(narrow(group, Counter({"C0": 1}), _server(), CLUSTERS)) == ["C1", "C2"]
    full = Counter({"C0": 2, "C1": 3, "C2": 1})
    assert _names(narrow(group, full, _server(), CLUSTERS)) == ["C0"]  # 2 members, 3 hosts
    assert narrow(group, Counter({"C0": 3, "C1": 3, "C2": 1}), _server(), CLUSTERS) == []
    # max_server_per_host 2: a 3-host cluster takes 6.
    wider = _group("anti-affinity", {"max_server_per_host": 2})
    assert _names(narrow(wider, Counter({"C0": 5, "C1": 6, "C2": 2}), _server(), CLUSTERS)) == [
        "C0"
    ]
    # A free cluster that cannot fit the flavor is no preference.
    small = [_cluster("C0"), _cluster("C1", memory=100)]
    assert _names(narrow(group, Counter({"C0": 1}), _server(), small)) == ["C0"]


def test_affinity_follows_the_members_and_soft_policies_only_prefer() -> None:
    assert _names(narrow(_group("affinity"), Counter(), _server(), CLUSTERS)) == [
        "C0",
        "C1",
        "C2",
    ]
    assert _names(narrow(_group("affinity"), Counter({"C1": 2}), _server(), CLUSTERS)) == ["C1"]
    tight = [_cluster("C0"), _cluster("C1", memory=100)]
    assert _names(narrow(_group("affinity"), Counter({"C1": 1}), _server(), tight)) == ["C1"]
    soft = _group("soft-affinity")
    assert _names(narrow(soft, Counter({"C1": 1}), _server(), tight)) == ["C0", "C1"]
    spread = _group("soft-anti-affinity")
    assert _names(narrow(spread, Counter({"C0": 2, "C1": 1, "C2": 1}), _server(), CLUSTERS)) == [
        "C1",
        "C2",
    ]


def test_a_move_may_go_wherever_the_strict_policy_has_room() -> None:
    anti = _group("anti-affinity")
    # The member leaves C0 (its own place is not counted): C1 has room, C2's one host is taken.
    assert _names(allowed_for_move(anti, Counter({"C1": 2, "C2": 1}), CLUSTERS)) == ["C0", "C1"]
    assert _names(allowed_for_move(_group("affinity"), Counter({"C1": 1}), CLUSTERS)) == ["C1"]
    assert allowed_for_move(_group("affinity"), Counter(), CLUSTERS) == CLUSTERS
    assert allowed_for_move(_group("soft-affinity"), Counter({"C1": 1}), CLUSTERS) == CLUSTERS


def test_rule_names() -> None:
    assert rule_names(_group("affinity")) == ["vistack-g"]
    assert rule_names(_group("anti-affinity", {"max_server_per_host": 3})) == [
        "vistack-g-1",
        "vistack-g-2",
        "vistack-g-3",
    ]


def test_parse_create_per_microversion() -> None:
    body = {"server_group": {"name": "x", "policies": ["anti-affinity"]}}
    assert parse_create(body, soft=False, policy_object=False) == ("x", "anti-affinity", {})
    soft = {"server_group": {"name": "x", "policies": ["soft-affinity"]}}
    with pytest.raises(BadRequest):
        parse_create(soft, soft=False, policy_object=False)
    assert parse_create(soft, soft=True, policy_object=False)[1] == "soft-affinity"
    modern = {"server_group": {"name": "x", "policy": "anti-affinity", "rules": {}}}
    assert parse_create(modern, soft=True, policy_object=True) == ("x", "anti-affinity", {})
    ruled = {
        "server_group": {
            "name": "x",
            "policy": "anti-affinity",
            "rules": {"max_server_per_host": "2"},
        }
    }
    assert parse_create(ruled, soft=True, policy_object=True)[2] == {"max_server_per_host": 2}
    with pytest.raises(BadRequest):
        parse_create(body, soft=True, policy_object=True)  # `policies` is gone at 2.64


def test_views_per_microversion() -> None:
    group = _group("anti-affinity", {"max_server_per_host": 2})
    assert view(group, Version(2, 1)) == {
        "id": "g",
        "name": "n",
        "policies": ["anti-affinity"],
        "metadata": {},
        "members": ["a", "b"],
    }
    assert view(group, Version(2, 13))["user_id"] == "u"
    assert view(group, Version(2, 64)) == {
        "id": "g",
        "name": "n",
        "policy": "anti-affinity",
        "rules": {"max_server_per_host": 2},
        "members": ["a", "b"],
        "project_id": "p",
        "user_id": "u",
    }


def _vm(power: PowerState) -> VMInfo:
    return VMInfo(
        instance_uuid="s",
        id="vm-1",
        name="s",
        cluster="C0",
        host="h",
        power_state=power,
        cpus=1,
        cores_per_socket=1,
        memory_mb=512,
    )


def test_power_sync_shows_a_vm_suspended_in_vcenter() -> None:
    suspended = changes_for(states.ACTIVE, "C0", "h", _vm(PowerState.SUSPENDED))
    assert suspended == {"vm_state": states.SUSPENDED, "power_state": states.SUSPENDED_POWER}
    assert changes_for(states.ACTIVE, "C0", "h", _vm(PowerState.ON)) == {}


def test_a_server_created_outside_any_group_is_never_looked_up_as_a_member() -> None:
    from dataclasses import replace

    from vistack.compute.domain.models import SERVER_GROUP_KEY

    legacy = _server()  # recorded before the key existed: it may be a member
    assert legacy.may_be_in_group
    outside = replace(legacy, system_metadata={SERVER_GROUP_KEY: ""})
    assert not outside.may_be_in_group
    member = replace(legacy, system_metadata={SERVER_GROUP_KEY: "g-1"})
    assert member.may_be_in_group
