"""Neutron metering labels and rules through HTTP (edge backend): the shapes tempest's
test_metering_extensions reads, admin-only policy, validation (nothing half-written), the
overlap 409 (also when two creates race), lists, what the data plane is told, and the dvs
backend's 404. The counters themselves are tests/edge/test_neutron_metering.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import NetworkApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_networks import fault
from vistack.edge.state import MeterLabel, MeterRule
from vistack.network.dataplane.compile import read_state

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)

LABELS = "/v2.0/metering/metering-labels"
RULES = "/v2.0/metering/metering-label-rules"
LABEL_KEYS = {"id", "name", "description", "shared", "project_id", "tenant_id"}
RULE_KEYS = {
    "id",
    "metering_label_id",
    "direction",
    "excluded",
    "remote_ip_prefix",
    "source_ip_prefix",
    "destination_ip_prefix",
    "project_id",
    "tenant_id",
}


member = persona_fixture("edge_api")


@pytest.fixture
def labels(edge_api: NetworkApi) -> Iterator[list[str]]:
    """Label ids a test made, deleted afterwards (their rules go with them)."""
    made: list[str] = []
    yield made
    for label_id in made:
        edge_api.delete(f"{LABELS}/{label_id}")


def create_label(
    api: NetworkApi, made: list[str], token: str | None = None, **attrs: Any
) -> dict[str, Any]:
    attrs.setdefault("name", unique("label"))
    response = api.post(LABELS, json={"metering_label": attrs}, token=token)
    assert response.status_code == 201, response.text
    label: dict[str, Any] = response.json()["metering_label"]
    made.append(label["id"])
    return label


def post_rule(api: NetworkApi, token: str | None = None, **attrs: Any) -> Any:
    return api.post(RULES, json={"metering_label_rule": attrs}, token=token)


def create_rule(api: NetworkApi, label_id: str, **attrs: Any) -> dict[str, Any]:
    response = post_rule(api, metering_label_id=label_id, **attrs)
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()["metering_label_rule"]
    return rule


def rules_of(api: NetworkApi, label_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(f"{RULES}?metering_label_id={label_id}").json()[
        "metering_label_rules"
    ]
    return found


# ---------------------------------------------------------------- labels


def test_label_create_show_list_delete(edge_api: NetworkApi, labels: list[str]) -> None:
    label = create_label(edge_api, labels, description="counted by tempest")
    assert set(label) == LABEL_KEYS
    assert label["shared"] is False and label["description"] == "counted by tempest"
    assert label["project_id"] == label["tenant_id"] != ""
    shown = edge_api.get(f"{LABELS}/{label['id']}").json()["metering_label"]
    assert shown == label
    listed = edge_api.get(f"{LABELS}?id={label['id']}").json()["metering_labels"]
    assert listed == [label]
    assert edge_api.get(f"{LABELS}?id=33").json()["metering_labels"] == []
    fields = edge_api.get(f"{LABELS}/{label['id']}?fields=name").json()["metering_label"]
    assert fields == {"name": label["name"]}
    assert edge_api.delete(f"{LABELS}/{label['id']}").status_code == 204
    fault(edge_api.get(f"{LABELS}/{label['id']}"), 404, "MeteringLabelNotFound")
    fault(edge_api.delete(f"{LABELS}/{label['id']}"), 404, "MeteringLabelNotFound")
    assert edge_api.get(f"{LABELS}?id={label['id']}").json()["metering_labels"] == []


def test_label_for_another_project_and_shared(
    edge_api: NetworkApi, labels: list[str], member: Persona
) -> None:
    label = create_label(edge_api, labels, project_id=member.project_id, shared=True)
    assert label["project_id"] == member.project_id and label["shared"] is True
    listed = edge_api.get(f"{LABELS}?shared=true&id={label['id']}").json()["metering_labels"]
    assert [x["id"] for x in listed] == [label["id"]]


def test_label_lists_sort_and_page(edge_api: NetworkApi, labels: list[str]) -> None:
    tag = unique("page")
    made = [create_label(edge_api, labels, name=f"{tag}-{i}") for i in range(3)]
    query = f"{LABELS}?description=&sort_key=name&sort_dir=desc"
    names = [x["name"] for x in edge_api.get(query).json()["metering_labels"]]
    ours = [n for n in names if n.startswith(tag)]
    assert ours == sorted((m["name"] for m in made), reverse=True)
    first = edge_api.get(f"{LABELS}?name={tag}-0&name={tag}-1&sort_key=name&limit=1").json()
    assert [x["name"] for x in first["metering_labels"]] == [f"{tag}-0"]
    assert [link["rel"] for link in first["metering_labels_links"]] == ["next"]


def test_label_bad_input_writes_nothing(edge_api: NetworkApi) -> None:
    before = len(edge_api.get(LABELS).json()["metering_labels"])
    bodies: tuple[Any, ...] = (
        {"metering_label": {"name": 5}},
        {"metering_label": {"shared": "maybe"}},
        {"metering_label": {"name": "x" * 256}},
        {"metering_label": {"colour": "red"}},
        {"metering_labels": {}},
        [],
    )
    for body in bodies:
        fault(edge_api.post(LABELS, json=body), 400)
    assert len(edge_api.get(LABELS).json()["metering_labels"]) == before


def test_labels_and_rules_are_admin_only(
    edge_api: NetworkApi, labels: list[str], member: Persona
) -> None:
    mine = create_label(edge_api, labels, project_id=member.project_id)
    rule = create_rule(edge_api, mine["id"], remote_ip_prefix="10.0.0.0/24")
    token = member.token
    fault(edge_api.post(LABELS, json={"metering_label": {"name": "m"}}, token=token), 403)
    assert edge_api.get(LABELS, token=token).json()["metering_labels"] == []
    assert edge_api.get(RULES, token=token).json()["metering_label_rules"] == []
    fault(edge_api.get(f"{LABELS}/{mine['id']}", token=token), 404, "MeteringLabelNotFound")
    fault(edge_api.delete(f"{LABELS}/{mine['id']}", token=token), 404)
    fault(edge_api.get(f"{RULES}/{rule['id']}", token=token), 404, "MeteringLabelRuleNotFound")
    fault(edge_api.delete(f"{RULES}/{rule['id']}", token=token), 404)
    refused = post_rule(
        edge_api, token, metering_label_id=mine["id"], remote_ip_prefix="10.9.0.0/24"
    )
    assert refused.status_code in (403, 404), refused.text
    assert [r["id"] for r in rules_of(edge_api, mine["id"])] == [rule["id"]]
    assert edge_api.get(f"{LABELS}/{mine['id']}").status_code == 200


# ---------------------------------------------------------------- rules


def test_rule_create_show_list_delete(edge_api: NetworkApi, labels: list[str]) -> None:
    label = create_label(edge_api, labels)
    rule = create_rule(edge_api, label["id"], remote_ip_prefix="10.0.0.0/24", direction="ingress")
    assert set(rule) == RULE_KEYS
    assert rule["excluded"] is False and rule["direction"] == "ingress"
    assert rule["remote_ip_prefix"] == "10.0.0.0/24"
    assert rule["source_ip_prefix"] is None and rule["destination_ip_prefix"] is None
    assert rule["project_id"] == label["project_id"]
    assert edge_api.get(f"{RULES}/{rule['id']}").json()["metering_label_rule"] == rule
    assert edge_api.get(f"{RULES}?id={rule['id']}").json()["metering_label_rules"] == [rule]
    assert edge_api.get(f"{RULES}?id=33").json()["metering_label_rules"] == []
    v6 = create_rule(edge_api, label["id"], remote_ip_prefix="fd02::/64")
    assert v6["direction"] == "ingress"  # the default
    both = create_rule(
        edge_api,
        label["id"],
        direction="egress",
        source_ip_prefix="192.168.0.0/24",
        destination_ip_prefix="0.0.0.0/0",
        excluded=True,
    )
    assert both["remote_ip_prefix"] is None and both["excluded"] is True
    assert both["destination_ip_prefix"] == "0.0.0.0/0"
    egress = edge_api.get(f"{RULES}?metering_label_id={label['id']}&direction=egress").json()
    assert [r["id"] for r in egress["metering_label_rules"]] == [both["id"]]
    assert edge_api.delete(f"{RULES}/{rule['id']}").status_code == 204
    fault(edge_api.get(f"{RULES}/{rule['id']}"), 404, "MeteringLabelRuleNotFound")
    assert {r["id"] for r in rules_of(edge_api, label["id"])} == {v6["id"], both["id"]}
    # Deleting the label takes its rules along.
    assert edge_api.delete(f"{LABELS}/{label['id']}").status_code == 204
    assert rules_of(edge_api, label["id"]) == []
    fault(edge_api.get(f"{RULES}/{v6['id']}"), 404, "MeteringLabelRuleNotFound")


@pytest.mark.parametrize(
    ("attrs", "status"),
    [
        ({"remote_ip_prefix": "10.0.0.1/24"}, 400),  # host bits: the CIDR meant is named
        ({"remote_ip_prefix": "not-a-prefix"}, 400),
        ({"remote_ip_prefix": "10.0.0.0/33"}, 400),
        ({"remote_ip_prefix": 10}, 400),
        ({"source_ip_prefix": "10.0.0.0/8", "remote_ip_prefix": "10.0.0.0/8"}, 400),
        ({}, 400),  # no prefix at all
        ({"source_ip_prefix": "10.0.0.0/8", "destination_ip_prefix": "fd00::/8"}, 400),
        ({"remote_ip_prefix": "10.0.0.0/8", "direction": "sideways"}, 400),
        ({"remote_ip_prefix": "10.0.0.0/8", "excluded": "perhaps"}, 400),
        ({"remote_ip_prefix": "10.0.0.0/8", "colour": "red"}, 400),
    ],
)
def test_rule_bad_input_writes_nothing(
    edge_api: NetworkApi, labels: list[str], attrs: dict[str, Any], status: int
) -> None:
    label = create_label(edge_api, labels)
    fault(post_rule(edge_api, metering_label_id=label["id"], **attrs), status)
    assert rules_of(edge_api, label["id"]) == []


def test_rule_recommends_the_cidr(edge_api: NetworkApi, labels: list[str]) -> None:
    label = create_label(edge_api, labels)
    message = fault(
        post_rule(edge_api, metering_label_id=label["id"], remote_ip_prefix="10.0.0.1/24"), 400
    )
    assert "'10.0.0.0/24' is recommended" in message


def test_rule_needs_an_existing_label(edge_api: NetworkApi) -> None:
    fault(post_rule(edge_api, remote_ip_prefix="10.0.0.0/24"), 400)
    fault(
        post_rule(edge_api, metering_label_id="nope", remote_ip_prefix="10.0.0.0/24"),
        404,
        "MeteringLabelNotFound",
    )


def test_overlapping_rules_conflict(edge_api: NetworkApi, labels: list[str]) -> None:
    label = create_label(edge_api, labels)
    other = create_label(edge_api, labels)
    create_rule(edge_api, label["id"], remote_ip_prefix="10.0.0.0/16", direction="egress")
    for attrs in (
        {"remote_ip_prefix": "10.0.0.0/16", "direction": "egress"},  # a duplicate
        {"remote_ip_prefix": "10.0.5.0/24", "direction": "egress"},  # inside it
        {"remote_ip_prefix": "10.0.0.0/8", "direction": "egress"},  # around it
        {"destination_ip_prefix": "10.0.7.0/24", "direction": "egress"},  # the same end
        {"source_ip_prefix": "10.0.0.0/16", "direction": "egress"},  # to anywhere, so also 10/16
    ):
        message = fault(
            post_rule(edge_api, metering_label_id=label["id"], **attrs),
            409,
            "MeteringLabelRuleOverlaps",
        )
        assert "overlaps another" in message
    assert len(rules_of(edge_api, label["id"])) == 1
    # Another direction, excluded, another end, another version or another label: no overlap.
    create_rule(edge_api, label["id"], remote_ip_prefix="10.0.0.0/16", direction="ingress")
    create_rule(
        edge_api, label["id"], remote_ip_prefix="10.0.9.0/24", direction="egress", excluded=True
    )
    create_rule(
        edge_api,
        label["id"],
        source_ip_prefix="10.0.0.0/16",
        destination_ip_prefix="172.16.0.0/12",
        direction="egress",
    )
    create_rule(edge_api, label["id"], remote_ip_prefix="fd00::/8", direction="egress")
    create_rule(edge_api, label["id"], remote_ip_prefix="10.1.0.0/16", direction="egress")
    create_rule(edge_api, other["id"], remote_ip_prefix="10.0.0.0/16", direction="egress")
    assert len(rules_of(edge_api, label["id"])) == 6


def test_racing_overlapping_rules_one_wins(edge_api: NetworkApi, labels: list[str]) -> None:
    """Nested prefixes, so every pair overlaps: whichever commits first, the others see it."""
    label = create_label(edge_api, labels)

    def attempt(prefix: str) -> int:
        response = post_rule(edge_api, metering_label_id=label["id"], remote_ip_prefix=prefix)
        return int(response.status_code)

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(
            pool.map(attempt, ["10.4.0.0/16", "10.4.0.0/20", "10.4.0.0/24", "10.4.0.0/28"])
        )
    assert statuses == [201, 409, 409, 409]
    assert len(rules_of(edge_api, label["id"])) == 1


# ---------------------------------------------------------------- what the data plane gets


def test_labels_reach_their_projects_routers(
    edge_api: NetworkApi, labels: list[str], member: Persona
) -> None:
    store = edge_api.cloud.network.networks._store
    own = edge_api.post("/v2.0/routers", json={"router": {"name": "m"}}, token=member.token)
    admin = edge_api.post("/v2.0/routers", json={"router": {"name": "a"}})
    assert own.status_code == admin.status_code == 201
    routers = {own.json()["router"]["id"]: "member", admin.json()["router"]["id"]: "admin"}
    try:
        theirs = create_label(edge_api, labels, project_id=member.project_id)
        create_rule(edge_api, theirs["id"], remote_ip_prefix="203.0.113.0/24", direction="egress")
        create_rule(edge_api, theirs["id"], source_ip_prefix="198.51.100.0/24", direction="ingress")
        shared = create_label(edge_api, labels, shared=True)
        create_rule(
            edge_api,
            shared["id"],
            remote_ip_prefix="203.0.113.9/32",
            excluded=True,
            direction="egress",
        )
        meters = {
            routers[r.router_id]: r.meters
            for r in read_state(store).routers
            if r.router_id in routers
        }
        shared_meter = MeterLabel(
            shared["id"],
            (MeterRule("egress", True, None, "203.0.113.9/32"),),
        )
        theirs_rules = {
            MeterRule("egress", False, None, "203.0.113.0/24"),
            MeterRule("ingress", False, "198.51.100.0/24", None),
        }
        assert meters["admin"] == (shared_meter,)
        by_id = {m.label_id: m for m in meters["member"]}
        assert set(by_id) == {theirs["id"], shared["id"]}
        assert set(by_id[theirs["id"]].rules) == theirs_rules
        assert by_id[shared["id"]] == shared_meter
    finally:
        for router_id in routers:
            edge_api.delete(f"/v2.0/routers/{router_id}")


def test_extensions_listed_in_edge_mode(edge_api: NetworkApi) -> None:
    aliases = {e["alias"] for e in edge_api.get("/v2.0/extensions").json()["extensions"]}
    assert {"metering", "metering_source_and_destination_fields"} <= aliases
    shown = edge_api.get("/v2.0/extensions/metering").json()["extension"]
    assert shown["alias"] == "metering"


# ---------------------------------------------------------------- dvs


@pytest.mark.parametrize("path", [LABELS, RULES])
def test_dvs_has_nothing_to_meter(network_api: NetworkApi, path: str) -> None:
    message = fault(network_api.post(path, json={"metering_label": {"name": "x"}}), 404)
    assert "dvs network backend has no L3 and so nothing to meter" in message
    fault(network_api.get(path), 404)
    fault(network_api.get(f"{path}/some-id"), 404)
    fault(network_api.delete(f"{path}/some-id"), 404)
    aliases = {e["alias"] for e in network_api.get("/v2.0/extensions").json()["extensions"]}
    assert "metering" not in aliases
    assert "metering_source_and_destination_fields" not in aliases


def test_labels_and_rules_cannot_be_updated(edge_api: NetworkApi, labels: list[str]) -> None:
    label = create_label(edge_api, labels)
    rule = create_rule(edge_api, label["id"], remote_ip_prefix="10.0.0.0/24")
    fault(edge_api.put(f"{LABELS}/{label['id']}", json={"metering_label": {"name": "x"}}), 405)
    fault(edge_api.put(f"{RULES}/{rule['id']}", json={"metering_label_rule": {}}), 405)
    assert edge_api.get(f"{LABELS}/{label['id']}").json()["metering_label"]["name"] == label["name"]
