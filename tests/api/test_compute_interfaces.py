"""`/servers/{id}/os-interface` and the security group actions through HTTP on the fake
vCenter: an attach plugs a NIC with the port's MAC on the network's port group and shows the
port's addresses on the server; a detach removes the NIC and deletes (or gives back) the port;
refusals are Nova's, and a failed attach leaves no port and no NIC behind."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.compute_env import Env, active_server, make_env
from tests.api.conftest import ComputeApi, NetworkApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_compute_servers import ADMIN, fault, make_network, wait_status
from vistack.compute.api.microversion import MAX_VERSION
from vistack.drivers.errors import InvalidStateError

member = persona_fixture("compute_api")


class _V:
    def __init__(self, text: str) -> None:
        self.text = text

    def at_least(self, version: str) -> bool:
        def key(v: str) -> tuple[int, int]:
            major, minor = v.split(".")
            return int(major), int(minor)

        return key(self.text) >= key(version)


def microversion(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def needs(version: str) -> pytest.MarkDecorator:
    major, minor = (int(p) for p in version.split("."))
    return pytest.mark.skipif(
        (major, minor) > MAX_VERSION, reason=f"microversion {version} not served yet"
    )


@pytest.fixture(scope="module")
def env(compute_api: ComputeApi, member: Persona, tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(compute_api, member, tmp_path_factory.mktemp("vmdk"), "10.30.0.0/24")


def port_of(api: ComputeApi, port_id: str) -> dict[str, Any]:
    response = api.other(NetworkApi).get(f"/v2.0/ports/{port_id}")
    assert response.status_code == 200, response.text
    port: dict[str, Any] = response.json()["port"]
    return port


def test_attach_by_network_plugs_a_nic_and_detach_takes_it_and_the_port_away(
    compute_api: ComputeApi, env: Env
) -> None:
    member = env.member
    server_id = active_server(compute_api, env)
    other = make_network(compute_api, member.token, "10.31.0.0/24")
    path = f"/servers/{server_id}/os-interface"
    body = {"interfaceAttachment": {"net_id": other["id"]}}
    response = compute_api.post(path, token=member.token, json=body)
    assert response.status_code == 200, response.text
    attachment = response.json()["interfaceAttachment"]
    assert set(attachment) == {"net_id", "port_id", "mac_addr", "port_state", "fixed_ips"}
    assert attachment["net_id"] == other["id"]
    (fixed,) = attachment["fixed_ips"]
    assert set(fixed) == {"subnet_id", "ip_address"} and fixed["ip_address"].startswith("10.31.")
    port = port_of(compute_api, attachment["port_id"])
    assert port["device_id"] == server_id and port["device_owner"].startswith("compute:")
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert [n.mac for n in vm.nics][-1] == attachment["mac_addr"]
    assert len(vm.nics) == 2
    server = compute_api.get(f"/servers/{server_id}", token=member.token).json()["server"]
    (address,) = server["addresses"][other["name"]]
    assert address["addr"] == fixed["ip_address"]
    listed = compute_api.get(path, token=member.token).json()["interfaceAttachments"]
    assert {a["port_id"] for a in listed} >= {attachment["port_id"]} and len(listed) == 2
    shown = compute_api.get(f"{path}/{attachment['port_id']}", token=member.token)
    assert shown.json()["interfaceAttachment"] == attachment

    detached = compute_api.delete(f"{path}/{attachment['port_id']}", token=member.token)
    assert detached.status_code == 202, detached.text
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert [n.mac for n in vm.nics] != [] and attachment["mac_addr"] not in [n.mac for n in vm.nics]
    gone = compute_api.other(NetworkApi).get(f"/v2.0/ports/{attachment['port_id']}")
    assert gone.status_code == 404  # Nova made it, so the detach deleted it
    server = compute_api.get(f"/servers/{server_id}", token=member.token).json()["server"]
    assert other["name"] not in server["addresses"]
    again = compute_api.delete(f"{path}/{attachment['port_id']}", token=member.token)
    assert fault(again, 404, "itemNotFound") == f"Port {attachment['port_id']} is not attached"
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    names = [a["action"] for a in actions.json()["instanceActions"]]
    assert names[:2] == ["detach_interface", "attach_interface"]
    subresources = compute_api.cloud.compute.subresources
    assert subresources is not None
    attach_request = actions.json()["instanceActions"][1]["request_id"]
    events = subresources.events.events(ADMIN, server_id, attach_request, _V("2.1"))
    assert events is not None
    (event,) = events
    assert (event["event"], event["result"]) == ("compute_attach_interface", "Success")


def test_attach_a_given_port_claims_it_and_detach_gives_it_back(
    compute_api: ComputeApi, env: Env
) -> None:
    member, network = env.member, env.network
    server_id = active_server(compute_api, env)
    networks = compute_api.other(NetworkApi)
    made = networks.post(
        "/v2.0/ports", token=member.token, json={"port": {"network_id": network["id"]}}
    )
    port = made.json()["port"]
    path = f"/servers/{server_id}/os-interface"
    body = {"interfaceAttachment": {"port_id": port["id"]}}
    response = compute_api.post(path, token=member.token, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["interfaceAttachment"]["mac_addr"] == port["mac_address"]
    assert port_of(compute_api, port["id"])["device_id"] == server_id
    second = compute_api.post(path, token=member.token, json=body)
    assert fault(second, 409, "conflictingRequest") == f"Port {port['id']} is still in use."
    assert compute_api.delete(f"{path}/{port['id']}", token=member.token).status_code == 202
    given_back = port_of(compute_api, port["id"])
    assert (given_back["device_id"], given_back["device_owner"]) == ("", "")
    macs = [n.mac for n in compute_api.fake.drivers().compute.get_vm(server_id).nics]
    assert port["mac_address"] not in macs and len(macs) == 1


def test_attach_refusals_are_novas(compute_api: ComputeApi, env: Env) -> None:
    member, network = env.member, env.network
    server_id = active_server(compute_api, env)
    path = f"/servers/{server_id}/os-interface"
    missing = "5a0e5c39-0f1c-4a8e-9d5d-3d1b0c3f6a11"

    def attach(attachment: dict[str, Any], token: str = member.token) -> Any:
        return compute_api.post(path, token=token, json={"interfaceAttachment": attachment})

    assert fault(attach({"port_id": missing}), 404, "itemNotFound") == (
        f"Port id {missing} could not be found."
    )
    assert fault(attach({"net_id": missing}), 404, "itemNotFound") == (
        f"Network {missing} could not be found."
    )
    both = attach({"net_id": network["id"], "port_id": missing})
    assert fault(both, 400, "badRequest") == "Must not input both network_id and port_id"
    ip_only = attach({"fixed_ips": [{"ip_address": "10.20.0.50"}]})
    assert fault(ip_only, 400, "badRequest") == "Must input network_id when request IP address"
    fault(attach({"net_id": network["id"], "tag": "eth1"}), 400, "badRequest")  # tag: 2.49
    fault(attach({"net_id": "not-a-uuid"}), 400, "badRequest")
    unknown = compute_api.post(f"/servers/{missing}/os-interface", token=member.token, json={})
    fault(unknown, 404, "itemNotFound")
    show = compute_api.get(f"{path}/{missing}", token=member.token)
    fault(show, 404, "itemNotFound")
    # A port of the server's project on no server is not this server's.
    networks = compute_api.other(NetworkApi)
    loose = networks.post(
        "/v2.0/ports", token=member.token, json={"port": {"network_id": network["id"]}}
    ).json()["port"]
    not_ours = compute_api.get(f"{path}/{loose['id']}", token=member.token)
    assert fault(not_ours, 404, "itemNotFound") == (
        f"Instance {server_id} does not have a port with id {loose['id']}"
    )
    # Locked: the owner is refused, the admin is not.
    action = f"/servers/{server_id}/action"
    assert compute_api.post(action, token=member.token, json={"lock": None}).status_code == 202
    locked = attach({"net_id": network["id"]})
    assert fault(locked, 409, "conflictingRequest") == f"Instance {server_id} is locked"
    assert compute_api.post(action, token=member.token, json={"unlock": None}).status_code == 202
    # Stopped is fine (vSphere adds a NIC to a powered-off VM); a task in progress is not.
    assert compute_api.post(action, token=member.token, json={"os-stop": None}).status_code == 202
    wait_status(compute_api, server_id, member.token, "SHUTOFF")
    stopped = attach({"net_id": network["id"]})
    assert stopped.status_code == 200, stopped.text
    assert len(compute_api.fake.drivers().compute.get_vm(server_id).nics) == 2


def test_a_failed_attach_leaves_no_port_and_no_nic(compute_api: ComputeApi, env: Env) -> None:
    member, network = env.member, env.network
    server_id = active_server(compute_api, env)
    before = {p["id"] for p in compute_api.other(NetworkApi).get("/v2.0/ports").json()["ports"]}
    compute_api.fake.fail_next("attach_nic", InvalidStateError("the VM is being migrated"))
    path = f"/servers/{server_id}/os-interface"
    body = {"interfaceAttachment": {"net_id": network["id"]}}
    response = compute_api.post(path, token=member.token, json=body)
    message = fault(response, 500, "computeFault")
    assert message.startswith(f"Failed to attach network adapter device to {server_id}")
    after = {p["id"] for p in compute_api.other(NetworkApi).get("/v2.0/ports").json()["ports"]}
    assert after == before
    assert len(compute_api.fake.drivers().compute.get_vm(server_id).nics) == 1
    listed = compute_api.get(path, token=member.token).json()["interfaceAttachments"]
    assert len(listed) == 1
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions", token=member.token)
    latest = actions.json()["instanceActions"][0]
    assert latest["action"] == "attach_interface"
    # The server still deletes cleanly, leaving no port.
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204


@needs("2.70")
def test_a_tag_given_at_2_49_shows_at_2_70(compute_api: ComputeApi, env: Env) -> None:
    member, network = env.member, env.network
    server_id = active_server(compute_api, env)
    path = f"/servers/{server_id}/os-interface"
    body = {"interfaceAttachment": {"net_id": network["id"], "tag": "storage"}}
    response = compute_api.post(path, token=member.token, json=body, headers=microversion("2.70"))
    assert response.status_code == 200, response.text
    attachment = response.json()["interfaceAttachment"]
    assert attachment["tag"] == "storage"
    listed = compute_api.get(path, token=member.token, headers=microversion("2.70"))
    tags = {a["port_id"]: a["tag"] for a in listed.json()["interfaceAttachments"]}
    assert tags[attachment["port_id"]] == "storage" and list(tags.values()).count(None) == 1


def test_security_groups_are_added_to_and_removed_from_every_port(
    compute_api: ComputeApi, env: Env
) -> None:
    member = env.member
    server_id = active_server(compute_api, env)
    networks = compute_api.other(NetworkApi)
    name = unique("web")
    group = networks.post(
        "/v2.0/security-groups", token=member.token, json={"security_group": {"name": name}}
    ).json()["security_group"]
    rule = {
        "security_group_id": group["id"],
        "direction": "ingress",
        "protocol": "tcp",
        "port_range_min": 80,
        "port_range_max": 80,
        "remote_ip_prefix": "192.0.2.0/24",
    }
    made = networks.post(
        "/v2.0/security-group-rules", token=member.token, json={"security_group_rule": rule}
    )
    assert made.status_code == 201, made.text
    action = f"/servers/{server_id}/action"

    def act(body: Any) -> Any:
        return compute_api.post(action, token=member.token, json=body)

    assert act({"addSecurityGroup": {"name": name}}).status_code == 202
    ports = networks.get(f"/v2.0/ports?device_id={server_id}").json()["ports"]
    assert all(group["id"] in p["security_groups"] for p in ports)
    server = compute_api.get(f"/servers/{server_id}", token=member.token).json()["server"]
    assert {"name": name} in server["security_groups"]
    listed = compute_api.get(f"/servers/{server_id}/os-security-groups", token=member.token)
    shown = {g["name"]: g for g in listed.json()["security_groups"]}
    web = shown[name]
    assert web["id"] == group["id"] and web["tenant_id"] == member.project_id
    (nova_rule,) = web["rules"]  # egress rules are not Nova's
    assert nova_rule["ip_protocol"] == "tcp" and (nova_rule["from_port"], nova_rule["to_port"]) == (
        80,
        80,
    )
    assert nova_rule["ip_range"] == {"cidr": "192.0.2.0/24"} and nova_rule["group"] == {}
    assert act({"removeSecurityGroup": {"name": name}}).status_code == 202
    ports = networks.get(f"/v2.0/ports?device_id={server_id}").json()["ports"]
    assert not any(group["id"] in p["security_groups"] for p in ports)
    again = act({"removeSecurityGroup": {"name": name}})
    assert fault(again, 404, "itemNotFound") == (
        f"Security group {name} not associated with the instance {server_id}"
    )
    missing = act({"addSecurityGroup": {"name": "no-such-group"}})
    assert fault(missing, 404, "itemNotFound") == (
        f"Security group no-such-group is not found for project {member.project_id}"
    )
    assert fault(act({"addSecurityGroup": {}}), 400, "badRequest") == "Security group not specified"
    empty = act({"addSecurityGroup": {"name": " "}})
    assert fault(empty, 400, "badRequest") == "Security group name cannot be empty"
    assert fault(act({"addSecurityGroup": None}), 400, "badRequest") == "Missing parameter dict"
