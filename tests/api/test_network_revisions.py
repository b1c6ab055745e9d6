"""`revision-if-match` through HTTP: `If-Match: revision_number=N` makes a PUT or DELETE of a
network, subnet, port or security group (and a rule's DELETE) conditional; a stale revision is
a 412 `RevisionNumberConstraintFailed` and nothing is written. Runs on the dvs backend (the
check is the same in every mode), routers on the edge backend."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import unique
from tests.api.test_networks import create_network, fault

Maker = Callable[[NetworkApi], tuple[str, str]]


def _network(api: NetworkApi) -> tuple[str, str]:
    return "networks", create_network(api)["id"]


def _subnet(api: NetworkApi) -> tuple[str, str]:
    network = create_network(api)
    body = {"subnet": {"network_id": network["id"], "cidr": "10.60.0.0/24", "ip_version": 4}}
    response = api.post("/v2.0/subnets", json=body)
    assert response.status_code == 201, response.text
    return "subnets", response.json()["subnet"]["id"]


def _port(api: NetworkApi) -> tuple[str, str]:
    network = create_network(api)
    response = api.post("/v2.0/ports", json={"port": {"network_id": network["id"]}})
    assert response.status_code == 201, response.text
    return "ports", response.json()["port"]["id"]


def _group(api: NetworkApi) -> tuple[str, str]:
    body = {"security_group": {"name": unique("sg")}}
    response = api.post("/v2.0/security-groups", json=body)
    assert response.status_code == 201, response.text
    return "security-groups", response.json()["security_group"]["id"]


MAKERS = {"network": _network, "subnet": _subnet, "port": _port, "security_group": _group}
MEMBERS = {
    "networks": "network",
    "subnets": "subnet",
    "ports": "port",
    "security-groups": "security_group",
}


def _show(api: NetworkApi, collection: str, item_id: str) -> dict[str, Any]:
    response = api.get(f"/v2.0/{collection}/{item_id}")
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()[MEMBERS[collection]]
    return item


def _rename(api: NetworkApi, collection: str, item_id: str, name: str, match: str | None) -> Any:
    headers = {"If-Match": match} if match is not None else {}
    body = {MEMBERS[collection]: {"name": name}}
    return api.put(f"/v2.0/{collection}/{item_id}", json=body, headers=headers)


def test_the_extension_is_listed(network_api: NetworkApi) -> None:
    shown = network_api.get("/v2.0/extensions/revision-if-match")
    assert shown.status_code == 200, shown.text


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_update_needs_the_current_revision(network_api: NetworkApi, kind: str) -> None:
    collection, item_id = MAKERS[kind](network_api)
    revision = _show(network_api, collection, item_id)["revision_number"]
    first = _rename(network_api, collection, item_id, "first", f"revision_number={revision}")
    assert first.status_code == 200, first.text
    assert first.json()[MEMBERS[collection]]["revision_number"] == revision + 1
    stale = _rename(network_api, collection, item_id, "second", f"revision_number={revision}")
    message = fault(stale, 412, "RevisionNumberConstraintFailed")
    assert message == f"Constrained to {revision}, but current revision is {revision + 1}"
    shown = _show(network_api, collection, item_id)
    assert shown["name"] == "first" and shown["revision_number"] == revision + 1
    unconditional = _rename(network_api, collection, item_id, "third", None)
    assert unconditional.status_code == 200, unconditional.text


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_delete_needs_the_current_revision(network_api: NetworkApi, kind: str) -> None:
    collection, item_id = MAKERS[kind](network_api)
    revision = _show(network_api, collection, item_id)["revision_number"]
    path = f"/v2.0/{collection}/{item_id}"
    stale = network_api.delete(path, headers={"If-Match": f"revision_number={revision + 5}"})
    fault(stale, 412, "RevisionNumberConstraintFailed")
    assert _show(network_api, collection, item_id)["id"] == item_id
    current = network_api.delete(path, headers={"If-Match": f"revision_number={revision}"})
    assert current.status_code == 204, current.text
    assert network_api.get(path).status_code == 404


def test_a_rule_delete_is_conditional_too(network_api: NetworkApi) -> None:
    _, group_id = _group(network_api)
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress"}}
    made = network_api.post("/v2.0/security-group-rules", json=body)
    assert made.status_code == 201, made.text
    rule = made.json()["security_group_rule"]
    path = f"/v2.0/security-group-rules/{rule['id']}"
    stale = {"If-Match": f"revision_number={rule['revision_number'] + 1}"}
    fault(network_api.delete(path, headers=stale), 412, "RevisionNumberConstraintFailed")
    current = {"If-Match": f"revision_number={rule['revision_number']}"}
    assert network_api.delete(path, headers=current).status_code == 204


@pytest.mark.parametrize("header", ["revision_number=abc", "5", "etag", "revision_number=-1"])
def test_a_malformed_header_is_refused(network_api: NetworkApi, header: str) -> None:
    collection, item_id = _network(network_api)
    response = _rename(network_api, collection, item_id, "renamed", header)
    assert "If-Match" in fault(response, 400)
    assert _show(network_api, collection, item_id)["name"] != "renamed"


def test_concurrent_writers_with_one_revision_one_wins(network_api: NetworkApi) -> None:
    """Checked in the writing transaction under a row lock: of writers sharing a revision,
    exactly one commits and the others see the revision it made."""
    collection, item_id = _network(network_api)
    revision = _show(network_api, collection, item_id)["revision_number"]
    match = f"revision_number={revision}"
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(
            pool.map(
                lambda n: _rename(network_api, collection, item_id, f"w{n}", match).status_code,
                range(4),
            )
        )
    assert codes[0] == 200 and codes.count(200) == 1, codes
    assert set(codes[1:]) == {412}, codes
    assert _show(network_api, collection, item_id)["revision_number"] == revision + 1


def test_routers_honour_if_match_in_edge_mode(edge_api: NetworkApi) -> None:
    made = edge_api.post("/v2.0/routers", json={"router": {"name": unique("router")}})
    assert made.status_code == 201, made.text
    router = made.json()["router"]
    path = f"/v2.0/routers/{router['id']}"
    revision = router["revision_number"]
    current = {"If-Match": f"revision_number={revision}"}
    renamed = edge_api.put(path, json={"router": {"name": "first"}}, headers=current)
    assert renamed.status_code == 200, renamed.text
    stale = edge_api.put(path, json={"router": {"name": "second"}}, headers=current)
    fault(stale, 412, "RevisionNumberConstraintFailed")
    fault(edge_api.delete(path, headers=current), 412, "RevisionNumberConstraintFailed")
    assert edge_api.get(path).json()["router"]["name"] == "first"
    now = {"If-Match": f"revision_number={revision + 1}"}
    assert edge_api.delete(path, headers=now).status_code == 204
