"""Neutron RBAC policies through HTTP: sharing a network with one project or all, who may
share, what the target may do, in-use and duplicate refusals, `shared` as the wildcard
policy, and `access_as_external`.

Every test removes the networks it makes (as admin): the tenant VLAN range is 100..119.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from tests.api import test_networks
from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_networks import create_network, fault
from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.network.db.tables import NetworkRow
from vistack.network.domain import rbac
from vistack.network.policies import NETWORK_RULES

alice = persona_fixture()
bob = persona_fixture()
carol = persona_fixture()
cleanup = test_networks.cleanup  # networks, and the ports a test left on them


def share(
    api: NetworkApi,
    network_id: str,
    target: Any,
    token: str | None = None,
    action: str = "access_as_shared",
) -> Any:
    body = {
        "rbac_policy": {
            "object_type": "network",
            "object_id": network_id,
            "action": action,
            "target_tenant": target,
        }
    }
    return api.post("/v2.0/rbac-policies", token=token, json=body)


def shared(api: NetworkApi, network_id: str, target: str, token: str | None = None) -> Any:
    response = share(api, network_id, target, token)
    assert response.status_code == 201, response.text
    return response.json()["rbac_policy"]


def make_port(api: NetworkApi, token: str, network_id: str) -> dict[str, Any]:
    response = api.post("/v2.0/ports", token=token, json={"port": {"network_id": network_id}})
    assert response.status_code == 201, response.text
    port: dict[str, Any] = response.json()["port"]
    return port


def admin_net_with_subnet(api: NetworkApi, cleanup: list[str]) -> tuple[dict[str, Any], str]:
    network = create_network(api)
    cleanup.append(network["id"])
    body = {"subnet": {"network_id": network["id"], "cidr": "10.50.0.0/24", "ip_version": 4}}
    response = api.post("/v2.0/subnets", json=body)
    assert response.status_code == 201, response.text
    return network, response.json()["subnet"]["id"]


def test_extension_is_listed(network_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert "rbac-policies" in aliases


def test_network_and_subnets_visible_only_to_the_target(
    network_api: NetworkApi, alice: Persona, bob: Persona, cleanup: list[str]
) -> None:
    network, subnet_id = admin_net_with_subnet(network_api, cleanup)
    assert network_api.get(f"/v2.0/networks/{network['id']}", token=alice.token).status_code == 404
    policy = shared(network_api, network["id"], alice.project_id)
    assert policy == {
        "id": policy["id"],
        "object_type": "network",
        "object_id": network["id"],
        "action": "access_as_shared",
        "target_tenant": alice.project_id,
        "project_id": network["project_id"],
        "tenant_id": network["project_id"],
    }
    shown = network_api.get(f"/v2.0/networks/{network['id']}", token=alice.token)
    assert shown.status_code == 200, shown.text
    assert network_api.get(f"/v2.0/subnets/{subnet_id}", token=alice.token).status_code == 200
    listed = network_api.get("/v2.0/networks", token=alice.token).json()["networks"]
    assert network["id"] in {n["id"] for n in listed}
    subnets = network_api.get("/v2.0/subnets", token=alice.token).json()["subnets"]
    assert subnet_id in {s["id"] for s in subnets}
    # Bob was not granted anything.
    fault(network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token), 404)
    fault(network_api.get(f"/v2.0/subnets/{subnet_id}", token=bob.token), 404)
    listed = network_api.get("/v2.0/networks", token=bob.token).json()["networks"]
    assert network["id"] not in {n["id"] for n in listed}
    # The target sees the network but not the policy (the admin's).
    fault(network_api.get(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token), 404)
    assert network_api.get(f"/v2.0/rbac-policies/{policy['id']}").json() == {"rbac_policy": policy}


def test_target_creates_ports_not_subnets(
    network_api: NetworkApi, alice: Persona, cleanup: list[str]
) -> None:
    network, _ = admin_net_with_subnet(network_api, cleanup)
    shared(network_api, network["id"], alice.project_id)
    port = make_port(network_api, alice.token, network["id"])
    assert port["project_id"] == alice.project_id and port["fixed_ips"]
    body = {"subnet": {"network_id": network["id"], "cidr": "10.51.0.0/24", "ip_version": 4}}
    fault(network_api.post("/v2.0/subnets", token=alice.token, json=body), 403)


def test_policy_in_use_cannot_go_until_the_ports_do(
    network_api: NetworkApi, alice: Persona, cleanup: list[str]
) -> None:
    network, _ = admin_net_with_subnet(network_api, cleanup)
    policy = shared(network_api, network["id"], alice.project_id)
    port = make_port(network_api, alice.token, network["id"])
    message = fault(
        network_api.delete(f"/v2.0/rbac-policies/{policy['id']}"), 409, "RbacPolicyInUse"
    )
    assert port["id"] in message
    # A wildcard covers alice too: the targeted policy may then go, the wildcard not.
    wildcard = shared(network_api, network["id"], "*")
    assert network_api.delete(f"/v2.0/rbac-policies/{policy['id']}").status_code == 204
    fault(network_api.delete(f"/v2.0/rbac-policies/{wildcard['id']}"), 409, "RbacPolicyInUse")
    assert network_api.delete(f"/v2.0/ports/{port['id']}", token=alice.token).status_code == 204
    assert network_api.delete(f"/v2.0/rbac-policies/{wildcard['id']}").status_code == 204
    fault(network_api.get(f"/v2.0/networks/{network['id']}", token=alice.token), 404)


def test_duplicate_and_bad_input(
    network_api: NetworkApi, alice: Persona, cleanup: list[str]
) -> None:
    network, _ = admin_net_with_subnet(network_api, cleanup)
    shared(network_api, network["id"], alice.project_id)
    fault(share(network_api, network["id"], alice.project_id), 409, "DuplicateRbacPolicy")
    fault(share(network_api, network["id"], None), 400)
    fault(share(network_api, network["id"], "1234" * 100), 400)
    fault(share(network_api, network["id"], alice.project_id, action="access_as_nothing"), 400)
    fault(share(network_api, "no-such-network", alice.project_id), 400)
    body = {
        "rbac_policy": {
            "object_type": "qos_policy",
            "object_id": network["id"],
            "action": "access_as_shared",
            "target_tenant": "*",
        }
    }
    fault(network_api.post("/v2.0/rbac-policies", json=body), 400)
    body["rbac_policy"]["object_type"] = "network"
    body["rbac_policy"]["color"] = "red"
    fault(network_api.post("/v2.0/rbac-policies", json=body), 400)
    del body["rbac_policy"]["color"]
    del body["rbac_policy"]["target_tenant"]
    fault(network_api.post("/v2.0/rbac-policies", json=body), 400)
    fault(network_api.get("/v2.0/rbac-policies/nope"), 404, "RbacPolicyNotFound")
    # Nothing half-written: only the first policy exists.
    listed = network_api.get(f"/v2.0/rbac-policies?object_id={network['id']}").json()
    assert len(listed["rbac_policies"]) == 1


def test_member_shares_own_network_with_another(
    network_api: NetworkApi, alice: Persona, bob: Persona, carol: Persona, cleanup: list[str]
) -> None:
    network = create_network(network_api, alice.token)
    cleanup.append(network["id"])
    fault(network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token), 404)
    # Only an admin shares with everyone, on create and on update.
    fault(share(network_api, network["id"], "*", alice.token), 403)
    policy = shared(network_api, network["id"], bob.project_id, alice.token)
    assert policy["project_id"] == alice.project_id
    # A member's policies are its own project's.
    body = {
        "rbac_policy": {
            "object_type": "network",
            "object_id": network["id"],
            "action": "access_as_shared",
            "target_tenant": carol.project_id,
            "project_id": bob.project_id,
        }
    }
    fault(network_api.post("/v2.0/rbac-policies", token=alice.token, json=body), 403)
    body = {"rbac_policy": {"target_tenant": "*"}}
    fault(network_api.put(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token, json=body), 403)
    assert network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token).status_code == 200
    # Seeing is not owning: bob may neither delete nor update alice's network.
    fault(network_api.delete(f"/v2.0/networks/{network['id']}", token=bob.token), 403)
    rename = {"network": {"name": "bob-was-here"}}
    fault(network_api.put(f"/v2.0/networks/{network['id']}", token=bob.token, json=rename), 403)
    mine = network_api.get("/v2.0/rbac-policies", token=alice.token).json()["rbac_policies"]
    assert policy in mine
    theirs = network_api.get("/v2.0/rbac-policies", token=bob.token).json()["rbac_policies"]
    assert policy["id"] not in {p["id"] for p in theirs}
    fields = network_api.get(
        "/v2.0/rbac-policies?fields=id&fields=action", token=alice.token
    ).json()["rbac_policies"]
    assert fields and all(set(p) == {"id", "action"} for p in fields)
    # Bob sees it but may not share alice's network further (400, as Neutron).
    message = fault(share(network_api, network["id"], carol.project_id, bob.token), 400)
    assert "do not own" in message
    # Retargeting: carol gains it, bob loses it, everything else stays.
    body = {"rbac_policy": {"target_tenant": carol.project_id}}
    updated = network_api.put(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token, json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["rbac_policy"] == {**policy, "target_tenant": carol.project_id}
    fault(network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token), 404)
    assert network_api.get(f"/v2.0/networks/{network['id']}", token=carol.token).status_code == 200
    # Bob may not touch alice's policy; alice deletes it.
    fault(network_api.delete(f"/v2.0/rbac-policies/{policy['id']}", token=bob.token), 404)
    assert (
        network_api.delete(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token).status_code
        == 204
    )


def test_retarget_refused_while_old_target_has_ports(
    network_api: NetworkApi, alice: Persona, bob: Persona, cleanup: list[str]
) -> None:
    network = create_network(network_api, alice.token)
    cleanup.append(network["id"])
    body = {"subnet": {"network_id": network["id"], "cidr": "10.52.0.0/24", "ip_version": 4}}
    assert network_api.post("/v2.0/subnets", token=alice.token, json=body).status_code == 201
    policy = shared(network_api, network["id"], bob.project_id, alice.token)
    make_port(network_api, bob.token, network["id"])
    body = {"rbac_policy": {"target_tenant": alice.project_id}}
    response = network_api.put(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token, json=body)
    fault(response, 409, "RbacPolicyInUse")
    shown = network_api.get(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token).json()
    assert shown["rbac_policy"]["target_tenant"] == bob.project_id


def test_self_share_goes_even_with_own_ports(
    network_api: NetworkApi, alice: Persona, cleanup: list[str]
) -> None:
    network = create_network(network_api, alice.token)
    cleanup.append(network["id"])
    policy = shared(network_api, network["id"], alice.project_id, alice.token)
    port = make_port(network_api, alice.token, network["id"])
    assert (
        network_api.delete(f"/v2.0/rbac-policies/{policy['id']}", token=alice.token).status_code
        == 204
    )
    assert network_api.delete(f"/v2.0/ports/{port['id']}", token=alice.token).status_code == 204


def test_shared_flag_is_the_wildcard_policy(
    network_api: NetworkApi, alice: Persona, bob: Persona, cleanup: list[str]
) -> None:
    network = create_network(network_api, alice.token)
    cleanup.append(network["id"])
    revision = network["revision_number"]
    body = {"network": {"shared": True}}
    updated = network_api.put(f"/v2.0/networks/{network['id']}", json=body).json()["network"]
    assert updated["shared"] is True
    policies = network_api.get(f"/v2.0/rbac-policies?object_id={network['id']}").json()
    assert [(p["action"], p["target_tenant"]) for p in policies["rbac_policies"]] == [
        ("access_as_shared", "*")
    ]
    assert network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token).status_code == 200
    shared_list = network_api.get("/v2.0/networks?shared=true", token=bob.token).json()
    assert network["id"] in {n["id"] for n in shared_list["networks"]}
    port = make_port(network_api, bob.token, network["id"])
    body = {"network": {"shared": False}}
    response = network_api.put(f"/v2.0/networks/{network['id']}", json=body)
    fault(response, 409, "InvalidSharedSetting")
    assert network_api.delete(f"/v2.0/ports/{port['id']}", token=bob.token).status_code == 204
    unshared = network_api.put(f"/v2.0/networks/{network['id']}", json=body).json()["network"]
    assert unshared["shared"] is False
    assert network_api.get(f"/v2.0/rbac-policies?object_id={network['id']}").json() == {
        "rbac_policies": []
    }
    # Deleting the wildcard policy directly unshares too; creating one bumps the revision.
    wildcard = shared(network_api, network["id"], "*")
    shown = network_api.get(f"/v2.0/networks/{network['id']}", token=alice.token).json()
    assert shown["network"]["shared"] is True
    assert shown["network"]["revision_number"] > revision
    network_api.delete(f"/v2.0/rbac-policies/{wildcard['id']}")
    shown = network_api.get(f"/v2.0/networks/{network['id']}", token=alice.token).json()
    assert shown["network"]["shared"] is False


def test_shared_on_create_and_policies_go_with_the_network(
    network_api: NetworkApi, bob: Persona
) -> None:
    network = create_network(network_api, shared=True)
    policies = network_api.get(f"/v2.0/rbac-policies?object_id={network['id']}").json()
    (policy,) = policies["rbac_policies"]
    assert policy["target_tenant"] == "*"
    assert network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token).status_code == 200
    assert network_api.delete(f"/v2.0/networks/{network['id']}").status_code == 204
    fault(network_api.get(f"/v2.0/rbac-policies/{policy['id']}"), 404)


def test_access_as_external(
    network_api: NetworkApi, alice: Persona, bob: Persona, carol: Persona, cleanup: list[str]
) -> None:
    network = create_network(network_api, alice.token)
    cleanup.append(network["id"])
    response = share(network_api, network["id"], bob.project_id, alice.token, "access_as_external")
    assert response.status_code == 201, response.text
    shown = network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token)
    assert shown.status_code == 200 and shown.json()["network"]["router:external"] is True
    assert shown.json()["network"]["shared"] is False
    fault(network_api.get(f"/v2.0/networks/{network['id']}", token=carol.token), 404)
    # External is not shared: bob may not put ports on it.
    body = {"port": {"network_id": network["id"]}}
    fault(network_api.post("/v2.0/ports", token=bob.token, json=body), 404)
    # router:external false removes every external policy.
    body = {"network": {"router:external": False}}
    assert network_api.put(f"/v2.0/networks/{network['id']}", json=body).status_code == 200
    assert network_api.get(f"/v2.0/rbac-policies?object_id={network['id']}").json() == {
        "rbac_policies": []
    }
    fault(network_api.get(f"/v2.0/networks/{network['id']}", token=bob.token), 404)


def test_unsharing_races_port_creates_consistently(
    network_api: NetworkApi, alice: Persona, cleanup: list[str]
) -> None:
    """A policy delete racing the target's port create: either the port is made and the
    delete refused, or the policy goes and the port is refused; never a port left on a
    network its project can no longer see."""
    network, _ = admin_net_with_subnet(network_api, cleanup)
    for _ in range(6):
        policy = shared(network_api, network["id"], alice.project_id)
        body = {"port": {"network_id": network["id"]}}
        with ThreadPoolExecutor(max_workers=2) as executor:
            port_future = executor.submit(
                network_api.post, "/v2.0/ports", token=alice.token, json=body
            )
            delete_future = executor.submit(
                network_api.delete, f"/v2.0/rbac-policies/{policy['id']}"
            )
            port, deleted = port_future.result(), delete_future.result()
        assert (port.status_code, deleted.status_code) in {(201, 409), (404, 204)}, (
            port.text,
            deleted.text,
        )
        if port.status_code == 201:
            network_api.delete(f"/v2.0/ports/{port.json()['port']['id']}")
            assert network_api.delete(f"/v2.0/rbac-policies/{policy['id']}").status_code == 204


def test_sql_clause_and_predicate_agree(
    network_api: NetworkApi, alice: Persona, cleanup: list[str]
) -> None:
    """`visible_networks_clause` selects exactly what the API shows the caller."""
    own = create_network(network_api, alice.token)
    everyone = create_network(network_api, shared=True)
    targeted = create_network(network_api)
    external = create_network(network_api)
    private = create_network(network_api)
    made = [own, everyone, targeted, external, private]
    cleanup.extend(n["id"] for n in made)
    shared(network_api, targeted["id"], alice.project_id)
    response = share(network_api, external["id"], alice.project_id, action="access_as_external")
    assert response.status_code == 201, response.text
    ids = {n["id"] for n in made}
    listed = network_api.get("/v2.0/networks", token=alice.token).json()["networks"]
    expected = {n["id"] for n in listed} & ids
    assert expected == {own["id"], everyone["id"], targeted["id"], external["id"]}
    context = RequestContext(
        request_id="test",
        user_id=alice.user_id,
        project_id=alice.project_id,
        roles=("member", "reader"),
    )
    engine = PolicyEngine(NETWORK_RULES)
    with network_api.cloud.database.transaction() as session:
        query = select(NetworkRow.id).where(rbac.visible_networks_clause(engine, context))
        assert set(session.scalars(query)) & ids == expected
        admin = RequestContext(
            request_id="test", user_id="admin", project_id="admin-project", roles=("admin",)
        )
        query = select(NetworkRow.id).where(rbac.visible_networks_clause(engine, admin))
        assert set(session.scalars(query)) >= ids
