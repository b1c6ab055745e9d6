"""Neutron security groups and rules through HTTP: CRUD, the lazy per-project `default` group
(exactly once under concurrent first requests), rule validation and duplicates, ports' groups,
the in-use rule, visibility, list semantics, tags and quotas."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona, persona_fixture, unique
from tests.api.test_network_ports import create_port
from tests.api.test_network_subnets import create_subnet
from tests.api.test_networks import create_network, fault

member = persona_fixture()


def create_group(api: NetworkApi, token: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("sg"), **fields}
    response = api.post("/v2.0/security-groups", token=token, json={"security_group": body})
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()["security_group"]
    return group


def add_rule(api: NetworkApi, token: str | None, group_id: str, **fields: Any) -> Any:
    body = {"security_group_id": group_id, "direction": "ingress", **fields}
    return api.post("/v2.0/security-group-rules", token=token, json={"security_group_rule": body})


def groups_of(api: NetworkApi, token: str) -> list[dict[str, Any]]:
    response = api.get("/v2.0/security-groups", token=token)
    assert response.status_code == 200, response.text
    groups: list[dict[str, Any]] = response.json()["security_groups"]
    return groups


def default_group(api: NetworkApi, token: str) -> dict[str, Any]:
    defaults = [g for g in groups_of(api, token) if g["name"] == "default"]
    assert len(defaults) == 1, defaults
    return defaults[0]


def rule_shapes(group: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (
            r["direction"],
            r["ethertype"],
            r["protocol"],
            r["remote_ip_prefix"],
            r["remote_group_id"],
        )
        for r in group["security_group_rules"]
    }


@pytest.fixture
def network(network_api: NetworkApi, member: Persona) -> Iterator[dict[str, Any]]:
    made = create_network(network_api, member.token)
    create_subnet(network_api, member.token, made["id"], "10.60.0.0/24")
    yield made
    for port in network_api.get(f"/v2.0/ports?network_id={made['id']}").json()["ports"]:
        network_api.delete(f"/v2.0/ports/{port['id']}")
    network_api.delete(f"/v2.0/networks/{made['id']}")


def test_group_crud(network_api: NetworkApi, member: Persona) -> None:
    token = member.token
    group = create_group(network_api, token, description="web servers")
    assert group["project_id"] == group["tenant_id"] == member.project_id
    assert group["stateful"] is True and group["description"] == "web servers"
    assert group["revision_number"] == 0 and group["tags"] == []
    assert rule_shapes(group) == {
        ("egress", "IPv4", None, None, None),
        ("egress", "IPv6", None, None, None),
    }
    assert {r["security_group_id"] for r in group["security_group_rules"]} == {group["id"]}
    listed = {g["id"] for g in groups_of(network_api, token)}
    assert group["id"] in listed and len(listed) >= 2  # with the default group
    path = f"/v2.0/security-groups/{group['id']}"
    updated = network_api.put(
        path, token=token, json={"security_group": {"name": "web2", "description": "d2"}}
    ).json()["security_group"]
    assert updated["name"] == "web2" and updated["description"] == "d2"
    assert updated["revision_number"] == 1
    shown = network_api.get(path, token=token).json()["security_group"]
    assert shown["name"] == "web2" and len(shown["security_group_rules"]) == 2
    assert network_api.get(f"{path}?fields=name", token=token).json() == {
        "security_group": {"name": "web2"}
    }
    assert network_api.delete(path, token=token).status_code == 204
    fault(network_api.get(path, token=token), 404, "SecurityGroupNotFound")
    fault(network_api.delete(path, token=token), 404, "SecurityGroupNotFound")
    rule_id = group["security_group_rules"][0]["id"]
    fault(
        network_api.get(f"/v2.0/security-group-rules/{rule_id}", token=token),
        404,
        "SecurityGroupRuleNotFound",
    )


def test_group_refusals(network_api: NetworkApi, member: Persona) -> None:
    token = member.token
    message = fault(
        network_api.post(
            "/v2.0/security-groups",
            token=token,
            json={"security_group": {"name": "x", "stateful": False}},
        ),
        400,
        "InvalidInput",
    )
    assert "stateful" in message
    fault(
        network_api.post(
            "/v2.0/security-groups", token=token, json={"security_group": {"name": "default"}}
        ),
        409,
        "SecurityGroupDefaultAlreadyExists",
    )
    group = create_group(network_api, token, stateful=True)
    path = f"/v2.0/security-groups/{group['id']}"
    fault(
        network_api.put(path, token=token, json={"security_group": {"name": "default"}}),
        409,
    )
    fault(network_api.put(path, token=token, json={"security_group": {"stateful": False}}), 400)
    fault(network_api.put(path, token=token, json={"security_group": {"bogus": 1}}), 400)
    fault(network_api.post("/v2.0/security-groups", token=token, json={"nope": {}}), 400)
    other = persona(network_api.identity)
    fault(network_api.get(path, token=other.token), 404, "SecurityGroupNotFound")
    fault(network_api.delete(path, token=other.token), 404, "SecurityGroupNotFound")
    assert group["id"] not in {g["id"] for g in groups_of(network_api, other.token)}
    fault(
        network_api.post(
            "/v2.0/security-groups",
            token=other.token,
            json={"security_group": {"name": "x", "project_id": member.project_id}},
        ),
        403,
    )
    admin_view = network_api.get(path).json()["security_group"]  # admin sees all
    assert admin_view["id"] == group["id"]
    assert network_api.delete(path, token=token).status_code == 204


def test_default_group_is_made_once_under_concurrent_first_requests(
    network_api: NetworkApi,
) -> None:
    fresh = persona(network_api.identity)

    def first(_: int) -> Any:
        return network_api.get("/v2.0/security-groups", token=fresh.token)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(first, range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    ids = {
        g["id"] for r in responses for g in r.json()["security_groups"] if g["name"] == "default"
    }
    assert len(ids) == 1
    group = default_group(network_api, fresh.token)
    assert group["id"] in ids and group["project_id"] == fresh.project_id
    assert group["description"] == "Default security group"
    assert rule_shapes(group) == {
        ("egress", "IPv4", None, None, None),
        ("egress", "IPv6", None, None, None),
        ("ingress", "IPv4", None, None, group["id"]),
        ("ingress", "IPv6", None, None, group["id"]),
    }
    admin_defaults = network_api.get(
        f"/v2.0/security-groups?project_id={fresh.project_id}&name=default"
    ).json()["security_groups"]
    assert [g["id"] for g in admin_defaults] == [group["id"]]


def test_default_group_deletion(network_api: NetworkApi) -> None:
    owner = persona(network_api.identity)
    group = default_group(network_api, owner.token)
    path = f"/v2.0/security-groups/{group['id']}"
    fault(network_api.delete(path, token=owner.token), 409, "SecurityGroupCannotRemoveDefault")
    fault(
        network_api.put(path, token=owner.token, json={"security_group": {"name": "x"}}),
        409,
        "SecurityGroupCannotUpdateDefault",
    )
    described = network_api.put(
        path, token=owner.token, json={"security_group": {"description": "mine"}}
    )
    assert described.json()["security_group"]["description"] == "mine"
    assert network_api.delete(path).status_code == 204  # an administrator may
    again = default_group(network_api, owner.token)  # made anew when next needed
    assert again["id"] != group["id"] and len(again["security_group_rules"]) == 4


def test_rules_crud_and_normalisation(network_api: NetworkApi, member: Persona) -> None:
    token = member.token
    group = create_group(network_api, token)
    remote = create_group(network_api, token)
    response = add_rule(
        network_api,
        token,
        group["id"],
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="10.1.2.3/16",
        description="ssh",
    )
    assert response.status_code == 201, response.text
    rule = response.json()["security_group_rule"]
    assert rule["remote_ip_prefix"] == "10.1.2.3/16" and rule["ethertype"] == "IPv4"
    assert rule["normalized_cidr"] == "10.1.0.0/16"
    assert rule["protocol"] == "tcp" and (rule["port_range_min"], rule["port_range_max"]) == (
        22,
        22,
    )
    assert rule["project_id"] == member.project_id and rule["description"] == "ssh"
    host = add_rule(
        network_api, token, group["id"], ethertype="IPv6", remote_ip_prefix="2001:db8::1"
    ).json()["security_group_rule"]
    assert host["remote_ip_prefix"] == "2001:db8::1/128" and host["protocol"] is None
    assert host["normalized_cidr"] == "2001:db8::1/128"
    numbered = add_rule(network_api, token, group["id"], protocol=17).json()["security_group_rule"]
    assert numbered["protocol"] == "17"
    icmp = add_rule(
        network_api, token, group["id"], protocol="icmp", port_range_min=8, port_range_max=0
    ).json()["security_group_rule"]
    assert (icmp["port_range_min"], icmp["port_range_max"]) == (8, 0)
    grouped = add_rule(
        network_api, token, group["id"], protocol="udp", remote_group_id=remote["id"]
    ).json()["security_group_rule"]
    assert grouped["remote_group_id"] == remote["id"]
    anything = add_rule(network_api, token, group["id"], protocol="any", direction="egress")
    fault(anything, 409, "SecurityGroupRuleExists")  # `any` is the default egress rule
    shown = network_api.get(f"/v2.0/security-groups/{group['id']}", token=token).json()
    assert len(shown["security_group"]["security_group_rules"]) == 7
    assert shown["security_group"]["revision_number"] == 5
    listed = network_api.get(
        f"/v2.0/security-group-rules?security_group_id={group['id']}&direction=ingress",
        token=token,
    ).json()["security_group_rules"]
    assert {r["id"] for r in listed} == {
        rule["id"],
        host["id"],
        numbered["id"],
        icmp["id"],
        grouped["id"],
    }
    fault(network_api.put(f"/v2.0/security-group-rules/{rule['id']}", json={}), 405)
    rule_path = f"/v2.0/security-group-rules/{rule['id']}"
    assert network_api.get(rule_path, token=token).json()["security_group_rule"] == rule
    other = persona(network_api.identity)
    fault(network_api.get(rule_path, token=other.token), 404, "SecurityGroupRuleNotFound")
    fault(network_api.delete(rule_path, token=other.token), 404, "SecurityGroupRuleNotFound")
    assert network_api.delete(rule_path, token=token).status_code == 204
    # Deleting a group takes its rules, and the rules that name it as their remote group.
    remote_path = f"/v2.0/security-groups/{remote['id']}"
    assert network_api.delete(remote_path, token=token).status_code == 204
    fault(
        network_api.get(f"/v2.0/security-group-rules/{grouped['id']}", token=token),
        404,
    )
    group_path = f"/v2.0/security-groups/{group['id']}"
    assert network_api.delete(group_path, token=token).status_code == 204
    fault(network_api.get(f"/v2.0/security-group-rules/{icmp['id']}", token=token), 404)


@pytest.mark.parametrize(
    ("fields", "status", "kind", "words"),
    [
        ({"protocol": "bad_protocol_name"}, 400, "SecurityGroupRuleInvalidProtocol", "protocol"),
        ({"protocol": 256}, 400, "SecurityGroupRuleInvalidProtocol", "protocol"),
        ({"direction": "sideways"}, 400, "InvalidInput", "sideways"),
        ({"ethertype": "bad_ethertype"}, 400, "InvalidInput", "bad_ethertype"),
        ({"remote_ip_prefix": "192.168.1./24"}, 400, "InvalidInput", "192.168.1./24"),
        ({"remote_ip_prefix": "192.168.1.1/33"}, 400, "InvalidInput", "192.168.1.1/33"),
        ({"remote_ip_prefix": "256"}, 400, "InvalidInput", "256"),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "fe80::1%eth0/64"},
            400,
            "InvalidInput",
            "fe80::1%eth0/64",
        ),
        (
            {"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/24"},
            400,
            "SecurityGroupRuleParameterConflict",
            "Conflicting value ethertype IPv6",
        ),
        (
            {"remote_ip_prefix": "2001:db8::/64"},
            400,
            "SecurityGroupRuleParameterConflict",
            "Conflicting value ethertype IPv4",
        ),
        (
            {"protocol": "tcp", "port_range_min": -16, "port_range_max": 80},
            400,
            None,
            "Invalid value for port -16",
        ),
        (
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 79},
            400,
            "SecurityGroupInvalidPortRange",
            "port_range_min must be <= port_range_max",
        ),
        (
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 65536},
            400,
            None,
            "Invalid value for port 65536",
        ),
        (
            {"protocol": "tcp", "port_range_max": 6},
            400,
            None,
            "port_range_min must be <= port_range_max",
        ),
        ({"protocol": "udp", "port_range_min": 0, "port_range_max": 5}, 400, None, "port 0"),
        (
            {"protocol": "icmp", "port_range_min": 1, "port_range_max": 256},
            400,
            "SecurityGroupInvalidIcmpValue",
            "Invalid value for ICMP code",
        ),
        (
            {"protocol": "icmp", "port_range_min": 300, "port_range_max": 1},
            400,
            "SecurityGroupInvalidIcmpValue",
            "Invalid value for ICMP type",
        ),
        (
            {"protocol": "icmp", "port_range_max": 6},
            400,
            "SecurityGroupMissingIcmpType",
            "ICMP type (port-range-min) is missing",
        ),
        ({"protocol": "icmp", "port_range_min": -1}, 400, None, "Invalid value"),
        (
            {"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
            400,
            "SecurityGroupInvalidProtocolForPortRange",
            "only supported for TCP",
        ),
        (
            {"port_range_min": 1, "port_range_max": 2},
            400,
            "SecurityGroupProtocolRequiredWithPorts",
            "protocol",
        ),
        (
            {"protocol": "ipv6-icmp"},
            400,
            "SecurityGroupEthertypeConflictWithProtocol",
            "IPv6",
        ),
        (
            {"remote_address_group_id": "5e6e1a52-6a55-4f4b-a5a8-1b6d8e27b5a6"},
            400,
            "InvalidInput",
            "address groups",
        ),
        ({"remote_group_id": "bad_group_id"}, 404, "SecurityGroupNotFound", "bad_group_id"),
        ({"unknown": 1}, 400, None, "unknown"),
    ],
)
def test_rule_validation(
    network_api: NetworkApi,
    member: Persona,
    fields: dict[str, Any],
    status: int,
    kind: str | None,
    words: str,
) -> None:
    group = create_group(network_api, member.token)
    try:
        message = fault(add_rule(network_api, member.token, group["id"], **fields), status, kind)
        assert words in message, message
    finally:
        network_api.delete(f"/v2.0/security-groups/{group['id']}")


def test_rule_refusals_needing_groups(network_api: NetworkApi, member: Persona) -> None:
    token = member.token
    group = create_group(network_api, token)
    remote = create_group(network_api, token)
    message = fault(
        add_rule(
            network_api,
            token,
            group["id"],
            protocol="tcp",
            remote_ip_prefix="10.0.0.0/8",
            remote_group_id=remote["id"],
        ),
        400,
        "SecurityGroupRemoteGroupAndRemoteIpPrefix",
    )
    assert "remote_ip_prefix or remote_group_id" in message
    fault(
        add_rule(network_api, token, "5e6e1a52-6a55-4f4b-a5a8-1b6d8e27b5a6"),
        404,
        "SecurityGroupNotFound",
    )
    other = persona(network_api.identity)
    fault(add_rule(network_api, other.token, group["id"]), 404, "SecurityGroupNotFound")
    theirs = create_group(network_api, other.token)
    fault(
        add_rule(network_api, token, group["id"], remote_group_id=theirs["id"]),
        404,
        "SecurityGroupNotFound",
    )
    fault(
        network_api.post(
            "/v2.0/security-group-rules", token=token, json={"security_group_rule": {}}
        ),
        400,
    )
    for made in (group, remote, theirs):
        network_api.delete(f"/v2.0/security-groups/{made['id']}")


def test_duplicate_rules_conflict_even_when_racing(
    network_api: NetworkApi, member: Persona
) -> None:
    token = member.token
    group = create_group(network_api, token)
    first = add_rule(
        network_api, token, group["id"], protocol="tcp", port_range_min=66, port_range_max=67
    )
    assert first.status_code == 201, first.text
    rule_id = first.json()["security_group_rule"]["id"]
    again = add_rule(
        network_api, token, group["id"], protocol="6", port_range_min=66, port_range_max=67
    )
    assert rule_id in fault(again, 409, "SecurityGroupRuleExists")
    same_prefix = add_rule(
        network_api, token, group["id"], direction="egress", remote_ip_prefix="0.0.0.0/0"
    )
    fault(same_prefix, 409, "SecurityGroupRuleExists")

    def create(_: int) -> Any:
        return add_rule(
            network_api, token, group["id"], protocol="udp", port_range_min=53, port_range_max=53
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(create, range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    network_api.delete(f"/v2.0/security-groups/{group['id']}")


def test_remote_ip_prefix_kept_as_sent(network_api: NetworkApi, member: Persona) -> None:
    """Neutron keeps the prefix as sent (canonically spelled, host bits and all) and shows its
    network as `normalized_cidr`; duplicates compare the prefix as kept, so a prefix differing
    only in host bits is another rule, as in Neutron."""
    token = member.token
    group = create_group(network_api, token)
    ssh = {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    made = add_rule(network_api, token, group["id"], remote_ip_prefix="10.2.3.124/24", **ssh)
    assert made.status_code == 201, made.text
    rule = made.json()["security_group_rule"]
    assert (rule["remote_ip_prefix"], rule["normalized_cidr"]) == ("10.2.3.124/24", "10.2.3.0/24")
    path = f"/v2.0/security-group-rules/{rule['id']}"
    assert network_api.get(path, token=token).json()["security_group_rule"] == rule
    shown = network_api.get(f"/v2.0/security-groups/{group['id']}", token=token).json()
    assert rule in shown["security_group"]["security_group_rules"]
    listed = [g for g in groups_of(network_api, token) if g["id"] == group["id"]]
    assert rule in listed[0]["security_group_rules"]
    # The same prefix spelled otherwise (a netmask) is the same rule.
    spelled = add_rule(
        network_api, token, group["id"], remote_ip_prefix="10.2.3.124/255.255.255.0", **ssh
    )
    assert rule["id"] in fault(spelled, 409, "SecurityGroupRuleExists")
    network = add_rule(network_api, token, group["id"], remote_ip_prefix="10.2.3.0/24", **ssh)
    assert network.status_code == 201, network.text
    twin = network.json()["security_group_rule"]
    assert (twin["remote_ip_prefix"], twin["normalized_cidr"]) == ("10.2.3.0/24", "10.2.3.0/24")
    fault(
        add_rule(network_api, token, group["id"], remote_ip_prefix="10.2.3.0/24", **ssh),
        409,
        "SecurityGroupRuleExists",
    )
    v6 = add_rule(
        network_api, token, group["id"], ethertype="IPv6", remote_ip_prefix="2001:DB8:0::1/64"
    ).json()["security_group_rule"]
    assert (v6["remote_ip_prefix"], v6["normalized_cidr"]) == ("2001:db8::1/64", "2001:db8::/64")
    anywhere = add_rule(network_api, token, group["id"], protocol="udp").json()
    assert anywhere["security_group_rule"]["normalized_cidr"] is None
    base = f"/v2.0/security-group-rules?security_group_id={group['id']}"
    by_network = network_api.get(f"{base}&normalized_cidr=10.2.3.0/24", token=token).json()
    assert {r["id"] for r in by_network["security_group_rules"]} == {rule["id"], twin["id"]}
    by_prefix = network_api.get(f"{base}&remote_ip_prefix=10.2.3.124/24", token=token).json()
    assert [r["id"] for r in by_prefix["security_group_rules"]] == [rule["id"]]
    only = network_api.get(f"{path}?fields=normalized_cidr", token=token).json()
    assert only["security_group_rule"] == {"normalized_cidr": "10.2.3.0/24"}
    network_api.delete(f"/v2.0/security-groups/{group['id']}")


def test_ports_get_the_default_group(
    network_api: NetworkApi, member: Persona, network: dict[str, Any]
) -> None:
    token = member.token
    fresh = persona(network_api.identity)
    network_api.put(f"/v2.0/networks/{network['id']}", json={"network": {"shared": True}})
    # A port is a project's first request needing its default group: it is made then.
    port = create_port(network_api, fresh.token, network["id"]).json()["port"]
    default = default_group(network_api, fresh.token)
    assert port["security_groups"] == [default["id"]]
    assert network_api.get(f"/v2.0/ports/{port['id']}").json()["port"]["security_groups"] == [
        default["id"]
    ]
    network_api.delete(f"/v2.0/ports/{port['id']}")

    group = create_group(network_api, token)
    mine = default_group(network_api, token)
    chosen = create_port(network_api, token, network["id"], security_groups=[group["id"]])
    assert chosen.json()["port"]["security_groups"] == [group["id"]]
    bare = create_port(network_api, token, network["id"], security_groups=[]).json()["port"]
    assert bare["security_groups"] == []
    unsecured = create_port(network_api, token, network["id"], port_security_enabled=False)
    assert unsecured.json()["port"]["security_groups"] == []
    dhcp = create_port(network_api, token, network["id"], device_owner="network:dhcp")
    assert dhcp.status_code == 201, dhcp.text
    assert dhcp.json()["port"]["security_groups"] == []
    fault(
        create_port(
            network_api,
            token,
            network["id"],
            port_security_enabled=False,
            security_groups=[group["id"]],
        ),
        400,
        "PortSecurityAndIPRequiredForSecurityGroups",
    )
    theirs = create_group(network_api, fresh.token)
    fault(
        create_port(network_api, token, network["id"], security_groups=[theirs["id"]]),
        404,
        "SecurityGroupNotFound",
    )
    fault(create_port(network_api, token, network["id"], security_groups="x"), 400)

    path = f"/v2.0/ports/{bare['id']}"
    both = network_api.put(
        path, token=token, json={"port": {"security_groups": [group["id"], mine["id"]]}}
    ).json()["port"]
    assert both["security_groups"] == sorted([group["id"], mine["id"]])
    fault(
        network_api.put(path, token=token, json={"port": {"port_security_enabled": False}}),
        409,
        "PortSecurityPortHasSecurityGroup",
    )
    off = network_api.put(
        path,
        token=token,
        json={"port": {"port_security_enabled": False, "security_groups": []}},
    ).json()["port"]
    assert off["security_groups"] == [] and off["port_security_enabled"] is False
    fault(
        network_api.put(path, token=token, json={"port": {"security_groups": [group["id"]]}}),
        400,
        "PortSecurityAndIPRequiredForSecurityGroups",
    )
    listed = network_api.get(f"/v2.0/ports?security_groups={group['id']}", token=token).json()[
        "ports"
    ]
    assert [p["id"] for p in listed] == [chosen.json()["port"]["id"]]

    group_path = f"/v2.0/security-groups/{group['id']}"
    message = fault(network_api.delete(group_path, token=token), 409, "SecurityGroupInUse")
    assert group["id"] in message
    network_api.delete(f"/v2.0/ports/{chosen.json()['port']['id']}")
    assert network_api.delete(group_path, token=token).status_code == 204
    network_api.delete(f"/v2.0/security-groups/{theirs['id']}")


def test_lists_filter_sort_page_and_tag(network_api: NetworkApi) -> None:
    owner = persona(network_api.identity)
    token = owner.token
    made = [create_group(network_api, token, name=f"grp-{i}") for i in range(3)]
    names = [
        g["name"]
        for g in network_api.get(
            "/v2.0/security-groups?sort_key=name&sort_dir=desc", token=token
        ).json()["security_groups"]
    ]
    assert names == ["grp-2", "grp-1", "grp-0", "default"]
    page = network_api.get("/v2.0/security-groups?limit=2&sort_key=name", token=token).json()
    assert [g["name"] for g in page["security_groups"]] == ["default", "grp-0"]
    assert page["security_groups_links"][0]["rel"] == "next"
    assert "/v2.0/security-groups?" in page["security_groups_links"][0]["href"]
    only = network_api.get("/v2.0/security-groups?name=grp-1&fields=id", token=token).json()
    assert only == {"security_groups": [{"id": made[1]["id"]}]}
    rules = network_api.get(
        f"/v2.0/security-group-rules?security_group_id={made[0]['id']}&ethertype=IPv6",
        token=token,
    ).json()["security_group_rules"]
    assert len(rules) == 1 and rules[0]["direction"] == "egress"
    path = f"/v2.0/security-groups/{made[0]['id']}/tags"
    assert network_api.put(f"{path}/blue", token=token).status_code == 201
    assert network_api.get(path, token=token).json() == {"tags": ["blue"]}
    tagged = network_api.get("/v2.0/security-groups?tags=blue", token=token).json()
    assert [g["id"] for g in tagged["security_groups"]] == [made[0]["id"]]
    for group in made:
        network_api.delete(f"/v2.0/security-groups/{group['id']}", token=token)


def test_security_group_quotas(network_api: NetworkApi) -> None:
    holder = persona(network_api.identity)
    project = holder.project_id
    quota = network_api.get(f"/v2.0/quotas/{project}").json()["quota"]
    assert quota["security_group"] == 10 and quota["security_group_rule"] == 100
    network_api.put(
        f"/v2.0/quotas/{project}",
        json={"quota": {"security_group": 2, "security_group_rule": 7}},
    )
    group = create_group(network_api, holder.token)  # the default group is the first
    fault(
        network_api.post(
            "/v2.0/security-groups", token=holder.token, json={"security_group": {"name": "x"}}
        ),
        409,
        "OverQuota",
    )
    assert add_rule(network_api, holder.token, group["id"], protocol="tcp").status_code == 201
    fault(add_rule(network_api, holder.token, group["id"], protocol="udp"), 409, "OverQuota")
    details = network_api.get(f"/v2.0/quotas/{project}/details", token=holder.token).json()
    assert details["quota"]["security_group"] == {"limit": 2, "used": 2, "reserved": 0}
    assert details["quota"]["security_group_rule"] == {"limit": 7, "used": 7, "reserved": 0}
    network_api.delete(f"/v2.0/security-groups/{group['id']}")
    network_api.delete(f"/v2.0/quotas/{project}")


def test_extension_listing(network_api: NetworkApi) -> None:
    extension = network_api.get("/v2.0/extensions/security-group").json()["extension"]
    assert extension["alias"] == "security-group"
    cidr = network_api.get("/v2.0/extensions/security-groups-normalized-cidr").json()
    assert cidr["extension"]["alias"] == "security-groups-normalized-cidr"
    fault(network_api.get("/v2.0/extensions/stateful-security-group"), 404)
