"""`POST /os-server-external-events`: Neutron's and Cinder's callbacks. Each event is answered
with its own code (200, 404 unknown server, 422 not on a cluster yet, 400 a required tag
missing), the whole with 200 (all accepted) or 207; the names follow the microversion; an accepted
`network-*` event refreshes the server's addresses from Neutron, `power-update` makes the
server follow its VM and is recorded as Nova records it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest

from tests.api.compute_env import Env, active_server, make_env
from tests.api.compute_rows import insert_server
from tests.api.conftest import ComputeApi, NetworkApi
from tests.api.helpers import Persona, create_role, persona, persona_fixture
from tests.api.test_compute_servers import fault
from vistack.common.clock import utcnow
from vistack.compute.api import microversion
from vistack.compute.db import servers as queries
from vistack.compute.domain.external_events import ExternalEvents
from vistack.compute.domain.small_apis import required
from vistack.drivers.bundle import Drivers
from vistack.drivers.models import PowerState, VMInfo

member = persona_fixture("compute_api")

PATH = "/os-server-external-events"
UNKNOWN = "6a0c9f0e-1d5b-4c4e-8d7f-3b2a1c0d9e8f"


@pytest.fixture(scope="module")
def env(compute_api: ComputeApi, member: Persona, tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(compute_api, member, tmp_path_factory.mktemp("vmdk"), "10.42.0.0/24")


def post(
    api: ComputeApi, events: Any, *, token: str | None = None, version: str | None = None
) -> Any:
    headers = {"OpenStack-API-Version": f"compute {version}"} if version else {}
    kwargs: dict[str, Any] = {"json": {"events": events}, "headers": headers}
    if token is not None:
        kwargs["token"] = token
    return api.post(PATH, **kwargs)


def placed(api: ComputeApi, project_id: str) -> str:
    """A server row on a cluster (not launched: the power sync leaves it alone)."""
    return insert_server(api, project_id, cluster="cluster-a", vm_host="esx-1")


def test_network_changed_refreshes_the_addresses_from_neutron(
    compute_api: ComputeApi, env: Env
) -> None:
    server_id = active_server(compute_api, env)
    networks = compute_api.other(NetworkApi)
    (port,) = networks.get(f"/v2.0/ports?device_id={server_id}").json()["ports"]
    subnet_id = port["fixed_ips"][0]["subnet_id"]
    moved = {"port": {"fixed_ips": [{"subnet_id": subnet_id, "ip_address": "10.42.0.201"}]}}
    assert networks.put(f"/v2.0/ports/{port['id']}", json=moved).status_code == 200
    before = compute_api.get(f"/servers/{server_id}").json()["server"]["addresses"]
    assert before[env.network["name"]][0]["addr"] == port["fixed_ips"][0]["ip_address"]
    response = post(compute_api, [{"name": "network-changed", "server_uuid": server_id}])
    assert response.status_code == 200, response.text
    # Tempest's schema: the event as sent, with its code and status, nothing else.
    assert response.json() == {
        "events": [
            {
                "name": "network-changed",
                "server_uuid": server_id,
                "status": "completed",
                "code": 200,
            }
        ]
    }
    after = compute_api.get(f"/servers/{server_id}").json()["server"]["addresses"]
    (address,) = after[env.network["name"]]
    assert address["addr"] == "10.42.0.201"
    assert address["OS-EXT-IPS-MAC:mac_addr"] == port["mac_address"]


def test_vif_deleted_drops_a_port_gone_from_neutron(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    networks = compute_api.other(NetworkApi)
    (port,) = networks.get(f"/v2.0/ports?device_id={server_id}").json()["ports"]
    assert networks.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    event = {"name": "network-vif-deleted", "server_uuid": server_id, "tag": port["id"]}
    response = post(compute_api, [event])
    assert response.status_code == 200, response.text
    assert response.json()["events"] == [{**event, "status": "completed", "code": 200}]
    assert compute_api.get(f"/servers/{server_id}").json()["server"]["addresses"] == {}


def test_each_event_has_its_code_and_the_whole_is_207(
    compute_api: ComputeApi, member: Persona
) -> None:
    on_cluster = placed(compute_api, member.project_id)
    unplaced = insert_server(compute_api, member.project_id)  # no cluster yet
    events = [
        {"name": "network-changed", "server_uuid": on_cluster},
        {"name": "network-vif-plugged", "server_uuid": unplaced, "tag": "port-1"},
        {"name": "network-vif-unplugged", "server_uuid": UNKNOWN, "status": "failed"},
        {"name": "volume-extended", "server_uuid": on_cluster},  # no tag: which volume?
    ]
    response = post(compute_api, events, version="2.51")
    assert response.status_code == 207, response.text
    answers = response.json()["events"]
    assert [a["code"] for a in answers] == [200, 422, 404, 400]
    assert [a["status"] for a in answers] == ["completed", "failed", "failed", "failed"]
    assert answers[1]["tag"] == "port-1"
    assert [a["server_uuid"] for a in answers] == [e["server_uuid"] for e in events]


def test_none_accepted_is_207_too(compute_api: ComputeApi, member: Persona) -> None:
    """Nova's API has no error for a batch it drops whole: each event says why."""
    unplaced = insert_server(compute_api, member.project_id)
    deleted = placed(compute_api, member.project_id)
    with compute_api.cloud.compute.clusters._store.transaction() as unit:
        queries.set_fields(unit, deleted, deleted_at=utcnow())
    events = [
        {"name": "network-changed", "server_uuid": UNKNOWN},
        {"name": "network-changed", "server_uuid": unplaced},
        {"name": "network-changed", "server_uuid": deleted},
    ]
    response = post(compute_api, events)
    assert response.status_code == 207, response.text
    assert [(a["code"], a["status"]) for a in response.json()["events"]] == [
        (404, "failed"),
        (422, "failed"),
        (404, "failed"),
    ]


@pytest.mark.parametrize(
    ("body", "version"),
    [
        ({}, None),
        ({"events": []}, None),
        ({"events": {}}, None),
        ({"events": [{"name": "network-changed"}]}, None),
        ({"events": [{"server_uuid": UNKNOWN}]}, None),
        ({"events": [{"name": "network-changed", "server_uuid": "not-a-uuid"}]}, None),
        ({"events": [{"name": "reboot", "server_uuid": UNKNOWN}]}, None),
        ({"events": [{"name": "network-changed", "server_uuid": UNKNOWN, "status": "x"}]}, None),
        ({"events": [{"name": "network-changed", "server_uuid": UNKNOWN, "tag": 5}]}, None),
        ({"events": [{"name": "network-changed", "server_uuid": UNKNOWN, "tag": "t" * 256}]}, None),
        ({"events": [{"name": "network-changed", "server_uuid": UNKNOWN, "code": 200}]}, None),
        ({"events": [{"name": "network-changed", "server_uuid": UNKNOWN}], "x": 1}, None),
        ({"events": [{"name": "volume-extended", "server_uuid": UNKNOWN, "tag": "v"}]}, "2.50"),
        ({"events": [{"name": "power-update", "server_uuid": UNKNOWN, "tag": "POWER_ON"}]}, "2.75"),
        ({"events": [{"name": "accelerator-request-bound", "server_uuid": UNKNOWN}]}, "2.81"),
        ({"events": [{"name": "volume-reimaged", "server_uuid": UNKNOWN, "tag": "v"}]}, "2.92"),
    ],
)
def test_bad_bodies_are_400(compute_api: ComputeApi, body: Any, version: str | None) -> None:
    headers = {"OpenStack-API-Version": f"compute {version}"} if version else {}
    fault(compute_api.post(PATH, json=body, headers=headers), 400, "badRequest")


def test_later_names_at_their_microversions(
    compute_api: ComputeApi, member: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    # volume-reimaged is 2.93's: the range is pinned to 2.96 here, whatever is advertised.
    monkeypatch.setattr(microversion, "MAX_VERSION", (2, 96))
    server_id = placed(compute_api, member.project_id)
    for name, version, tag in (
        ("volume-extended", "2.51", "a-volume"),
        ("power-update", "2.76", "POWER_ON"),
        ("accelerator-request-bound", "2.82", "an-arq"),
        ("volume-reimaged", "2.93", "a-volume"),
    ):
        event = {"name": name, "server_uuid": server_id, "tag": tag, "status": "in-progress"}
        response = post(compute_api, [event], version=version)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["events"] == [{**event, "status": "completed", "code": 200}]
    # Nova's tag-requiring events without one: dropped (400), the others taken.
    for name, version in (("power-update", "2.76"), ("accelerator-request-bound", "2.82")):
        response = post(compute_api, [{"name": name, "server_uuid": server_id}], version=version)
        assert response.status_code == 207, response.text
        assert response.json()["events"][0]["code"] == 400
    reimaged = {"name": "volume-reimaged", "server_uuid": server_id}
    assert post(compute_api, [reimaged], version="2.93").status_code == 200


def test_power_update_and_volume_extended_are_recorded_as_nova_does(
    compute_api: ComputeApi, member: Persona
) -> None:
    server_id = placed(compute_api, member.project_id)
    off = {"name": "power-update", "server_uuid": server_id, "tag": "POWER_OFF"}
    assert post(compute_api, [off], version="2.76").status_code == 200
    extended = {"name": "volume-extended", "server_uuid": server_id, "tag": "a-volume"}
    assert post(compute_api, [extended], version="2.51").status_code == 200
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions").json()
    listed = actions["instanceActions"]
    assert [a["action"] for a in listed] == ["extend_volume", "stop"]
    assert all(a["message"] is None for a in listed)
    stop = listed[1]
    shown = compute_api.get(f"/servers/{server_id}/os-instance-actions/{stop['request_id']}")
    (event,) = shown.json()["instanceAction"]["events"]
    assert (event["event"], event["result"]) == ("compute_power_update", "Success")
    extend = listed[0]
    shown = compute_api.get(f"/servers/{server_id}/os-instance-actions/{extend['request_id']}")
    (event,) = shown.json()["instanceAction"]["events"]
    assert (event["event"], event["result"]) == ("compute_extend_volume", "Success")
    # Cinder in this process sends the same event without HTTP; not for a server Nova lacks.
    events = required(compute_api.cloud.compute.small_apis).external_events
    assert events.volume_extended(server_id, "b-volume") is True
    assert events.volume_extended(UNKNOWN, "b-volume") is False
    actions = compute_api.get(f"/servers/{server_id}/os-instance-actions").json()
    assert [a["action"] for a in actions["instanceActions"]] == [
        "extend_volume",
        "extend_volume",
        "stop",
    ]


def test_an_administrators_or_a_services(compute_api: ComputeApi, member: Persona) -> None:
    server_id = placed(compute_api, member.project_id)
    events = [{"name": "network-changed", "server_uuid": server_id}]
    fault(post(compute_api, events, token=member.token), 403, "forbidden")
    identity = compute_api.identity
    if not identity.get("/roles", params={"name": "service"}).json()["roles"]:
        create_role(identity, name="service")
    service_user = persona(identity, role="service")
    assert post(compute_api, events, token=service_user.token).status_code == 200


class _OneVM:
    """A vCenter stand-in reporting one VM as `vm` (the rest of the drivers unused)."""

    def __init__(self, vm: VMInfo) -> None:
        self.vm = vm

    def get_vm(self, instance_uuid: str) -> VMInfo:
        assert instance_uuid == self.vm.instance_uuid
        return self.vm


class _Drivers:
    def __init__(self, vm: VMInfo) -> None:
        self.compute = _OneVM(vm)


def test_power_update_makes_the_server_follow_its_vm(compute_api: ComputeApi, env: Env) -> None:
    server_id = active_server(compute_api, env)
    real = required(compute_api.cloud.compute.small_apis).external_events
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    powered_off = replace(vm, power_state=PowerState.OFF)
    events = ExternalEvents(
        compute_api.cloud.compute.clusters._store,
        real._policy,
        real._networks,
        cast(Drivers, _Drivers(powered_off)),
    )
    # ACTIVE → SHUTOFF, as the VM says (the real power sync then puts it back: the fake's VM
    # is still on, so no state is checked after).
    assert events.sync_power(server_id) is True
