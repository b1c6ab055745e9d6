"""Nova's security group proxy through HTTP (`/os-security-groups`, `/os-security-group-rules`,
2.1 to 2.35): Neutron's groups in Nova's form, Nova's checks and messages, and 404 from 2.36."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ComputeApi, NetworkApi
from tests.api.helpers import Persona, persona, unique
from tests.api.test_compute_servers import fault
from vistack.compute.api import microversion


@pytest.fixture(autouse=True)
def serves_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))


@pytest.fixture(scope="module")
def owner(compute_api: ComputeApi) -> Persona:
    return persona(compute_api.identity)


def make(api: ComputeApi, token: str, **fields: Any) -> Any:
    body = {"security_group": {"name": unique("sg"), "description": "d", **fields}}
    return api.post("/os-security-groups", token=token, json=body)


def test_groups(compute_api: ComputeApi, owner: Persona) -> None:
    token = owner.token
    made = make(compute_api, token)
    assert made.status_code == 200, made.text
    group = made.json()["security_group"]
    assert set(group) == {"id", "name", "description", "tenant_id", "rules"}
    assert group["tenant_id"] == owner.project_id and group["rules"] == []
    listed = compute_api.get("/os-security-groups", token=token).json()["security_groups"]
    assert {"default", group["name"]} <= {g["name"] for g in listed}
    path = f"/os-security-groups/{group['id']}"
    shown = compute_api.get(path, token=token).json()["security_group"]
    assert shown["name"] == group["name"]
    changed = compute_api.put(
        path, token=token, json={"security_group": {"name": "renamed", "description": "e"}}
    )
    assert changed.json()["security_group"]["name"] == "renamed"
    for bad in ({"name": ""}, {"name": "x" * 256}, {"description": " "}, {"name": 7}):
        fault(make(compute_api, token, **bad), 400, "badRequest")
    neutron = compute_api.other(NetworkApi).get(f"/v2.0/security-groups/{group['id']}", token=token)
    assert neutron.json()["security_group"]["name"] == "renamed"
    default = next(g for g in listed if g["name"] == "default")
    fault(
        compute_api.delete(f"/os-security-groups/{default['id']}", token=token), 400, "badRequest"
    )
    assert compute_api.delete(path, token=token).status_code == 202
    fault(compute_api.get(path, token=token), 404, "itemNotFound")
    fault(
        compute_api.get(
            "/os-security-groups", token=token, headers={"OpenStack-API-Version": "compute 2.36"}
        ),
        404,
        "itemNotFound",
    )


def test_rules(compute_api: ComputeApi, owner: Persona) -> None:
    token = owner.token
    group = make(compute_api, token).json()["security_group"]
    source = make(compute_api, token).json()["security_group"]

    def add(**fields: Any) -> Any:
        body = {"security_group_rule": {"parent_group_id": group["id"], **fields}}
        return compute_api.post("/os-security-group-rules", token=token, json=body)

    tcp = add(ip_protocol="tcp", from_port=22, to_port=22, cidr="10.0.0.0/8")
    assert tcp.status_code == 200, tcp.text
    rule = tcp.json()["security_group_rule"]
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 22, 22)
    assert rule["ip_range"] == {"cidr": "10.0.0.0/8"} and rule["group"] == {}
    icmp = add(ip_protocol="icmp", from_port=-1, to_port=-1).json()["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"], icmp["ip_range"]) == (-1, -1, {"cidr": "0.0.0.0/0"})
    grouped = add(ip_protocol="udp", from_port=53, to_port=53, group_id=source["id"])
    assert grouped.json()["security_group_rule"]["group"] == {
        "name": source["name"],
        "tenant_id": owner.project_id,
    }
    fault(add(ip_protocol="tcp", from_port=22, to_port=22, cidr="10.0.0.0/8"), 400, "badRequest")
    fault(add(ip_protocol="tcp", from_port=30, to_port=20), 400, "badRequest")
    fault(add(ip_protocol="tcp", from_port=0, to_port=20), 400, "badRequest")
    fault(add(ip_protocol="icmp", from_port=256, to_port=0), 400, "badRequest")
    fault(add(ip_protocol="gre", from_port=1, to_port=2), 400, "badRequest")
    fault(add(ip_protocol="tcp", from_port="a", to_port=2), 400, "badRequest")
    fault(add(cidr="10.0.0.0/8"), 400, "badRequest")
    fault(add(ip_protocol="tcp", from_port=1, to_port=2, cidr="nope"), 400, "badRequest")
    missing = {"security_group_rule": {"parent_group_id": "0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"}}
    fault(
        compute_api.post("/os-security-group-rules", token=token, json=missing), 404, "itemNotFound"
    )
    shown = compute_api.get(f"/os-security-groups/{group['id']}", token=token).json()
    assert {r["id"] for r in shown["security_group"]["rules"]} >= {rule["id"], icmp["id"]}
    assert (
        compute_api.delete(f"/os-security-group-rules/{rule['id']}", token=token).status_code == 202
    )
    fault(
        compute_api.delete(f"/os-security-group-rules/{rule['id']}", token=token),
        404,
        "itemNotFound",
    )


def test_rule_cidr_as_sent(compute_api: ComputeApi, owner: Persona) -> None:
    """Tempest's optional-cidr case: Nova shows back the range as sent (host bits and all) on
    create, show and list, as Neutron keeps it (its `normalized_cidr` is the network); a range
    needs its prefix length, and /0 is only for 0.0.0.0 or ::."""
    token = owner.token
    group = make(compute_api, token).json()["security_group"]

    def add(cidr: str, port: int) -> Any:
        rule = {"ip_protocol": "tcp", "from_port": port, "to_port": port, "cidr": cidr}
        body = {"security_group_rule": {"parent_group_id": group["id"], **rule}}
        return compute_api.post("/os-security-group-rules", token=token, json=body)

    made = add("10.2.3.124/24", 22)
    assert made.status_code == 200, made.text
    assert made.json()["security_group_rule"]["ip_range"] == {"cidr": "10.2.3.124/24"}
    quoted = add("10.9.0.0%2F16", 23).json()["security_group_rule"]
    assert quoted["ip_range"] == {"cidr": "10.9.0.0/16"}
    v6 = add("2001:DB8::1/64", 24).json()["security_group_rule"]
    assert v6["ip_range"] == {"cidr": "2001:db8::1/64"}
    sent = {made.json()["security_group_rule"]["id"]: "10.2.3.124/24", v6["id"]: "2001:db8::1/64"}
    shown = compute_api.get(f"/os-security-groups/{group['id']}", token=token).json()
    listed = compute_api.get("/os-security-groups", token=token).json()["security_groups"]
    for rules in (
        shown["security_group"]["rules"],
        next(g for g in listed if g["id"] == group["id"])["rules"],
    ):
        ranges = {r["id"]: r["ip_range"].get("cidr") for r in rules if r["id"] in sent}
        assert ranges == sent
    fault(add("10.2.3.124", 25), 400, "badRequest")
    fault(add("fe80::1%25eth0/64", 25), 400, "badRequest")
    fault(add("10.2.3.124/0", 26), 400, "badRequest")
    fault(add("10.2.3.124/33", 27), 400, "badRequest")
