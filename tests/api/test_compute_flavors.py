"""Nova flavors through HTTP at 2.1: the default flavors, views and links, create and delete
with Nova's checks, lists (filters, sort, pages), private flavors and their access lists, extra
specs with the vSphere driver's keys checked, and the snapshot a server build takes.

The module's cloud is shared: tests make flavors of unique names and remove them, and the
default flavors are only changed by the last test, which restores them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture, unique
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest
from vistack.compute.api import microversion
from vistack.compute.db.tables import FlavorRow

member = persona_fixture("compute_api")
outsider = persona_fixture("compute_api")

BASE = "http://vistack.test/compute"
PRIVATE: dict[str, Any] = {"os-flavor-access:is_public": False}
DEFAULTS = {
    "1": ("m1.tiny", 1, 512, 1),
    "2": ("m1.small", 1, 2048, 20),
    "3": ("m1.medium", 2, 4096, 40),
    "4": ("m1.large", 4, 8192, 80),
    "5": ("m1.xlarge", 8, 16384, 160),
}


def fault(response: Any, status: int) -> str:
    """The response is a Nova fault with this status; returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert len(body) == 1, body
    (error,) = body.values()
    assert error["code"] == status, body
    message: str = error["message"]
    assert message
    return message


@pytest.fixture
def made(compute_api: ComputeApi) -> Iterator[list[str]]:
    """Ids of flavors to delete (as admin) after the test."""
    ids: list[str] = []
    yield ids
    for flavor_id in ids:
        compute_api.delete(f"/flavors/{flavor_id}")


def create(
    api: ComputeApi, made: list[str], token: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"name": unique("flavor"), "ram": 1024, "vcpus": 2, "disk": 10, **fields}
    response = api.post("/flavors", token=token, json={"flavor": body})
    assert response.status_code == 200, response.text
    flavor: dict[str, Any] = response.json()["flavor"]
    made.append(flavor["id"])
    return flavor


def context_of(person: Persona) -> RequestContext:
    return RequestContext(
        "req-test", user_id=person.user_id, project_id=person.project_id, roles=("member", "reader")
    )


def admin_context(api: ComputeApi) -> RequestContext:
    project = api.identity.get("/projects?name=admin").json()["projects"][0]["id"]
    return RequestContext("req-test", user_id="admin", project_id=project, roles=("admin",))


# ---------------------------------------------------------------------- defaults and views


def test_default_flavors_exist(compute_api: ComputeApi) -> None:
    response = compute_api.get("/flavors/detail")
    assert response.status_code == 200, response.text
    flavors = {f["id"]: f for f in response.json()["flavors"]}
    for flavor_id, (name, vcpus, ram, disk) in DEFAULTS.items():
        flavor = flavors[flavor_id]
        assert (flavor["name"], flavor["vcpus"], flavor["ram"], flavor["disk"]) == (
            name,
            vcpus,
            ram,
            disk,
        )


def test_ensure_defaults_is_idempotent(compute_api: ComputeApi) -> None:
    before = compute_api.get("/flavors/detail?is_public=none").json()["flavors"]
    compute_api.cloud.compute.flavors.ensure_defaults()
    compute_api.cloud.compute.flavors.ensure_defaults()
    assert compute_api.get("/flavors/detail?is_public=none").json()["flavors"] == before


def test_full_view_and_links_are_nova_s(compute_api: ComputeApi) -> None:
    response = compute_api.get("/flavors/1")
    assert response.status_code == 200, response.text
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.json() == {
        "flavor": {
            "id": "1",
            "name": "m1.tiny",
            "ram": 512,
            "disk": 1,
            "vcpus": 1,
            "swap": "",
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": True,
            "rxtx_factor": 1.0,
            "links": [
                {"rel": "self", "href": f"{BASE}/v2.1/flavors/1"},
                {"rel": "bookmark", "href": f"{BASE}/flavors/1"},
            ],
        }
    }


def test_brief_list_has_id_name_and_links(compute_api: ComputeApi, member: Persona) -> None:
    response = compute_api.get("/flavors", token=member.token)
    assert response.status_code == 200, response.text
    tiny = next(f for f in response.json()["flavors"] if f["id"] == "1")
    assert tiny == {
        "id": "1",
        "name": "m1.tiny",
        "links": [
            {"rel": "self", "href": f"{BASE}/v2.1/flavors/1"},
            {"rel": "bookmark", "href": f"{BASE}/flavors/1"},
        ],
    }
    assert "flavors_links" not in response.json()


def test_authentication_is_required(compute_api: ComputeApi) -> None:
    assert compute_api.client.get("/compute/v2.1/flavors").status_code == 401


def test_unknown_flavor_is_404(compute_api: ComputeApi) -> None:
    assert fault(compute_api.get("/flavors/nope"), 404) == "Flavor nope could not be found."
    assert fault(compute_api.delete("/flavors/nope"), 404) == "Flavor nope could not be found."
    # Compared exactly, whatever the database's collation.
    fault(compute_api.get("/flavors/1%20"), 404)


def test_answers_carry_nova_s_request_id_header(compute_api: ComputeApi) -> None:
    """Nova repeats the request id as `x-compute-request-id` (Tempest's instance action tests
    read it), on successes, faults and microversion refusals alike."""
    for response in (
        compute_api.get("/flavors/1"),
        compute_api.get("/flavors/nope"),
        compute_api.get("/flavors", headers={"OpenStack-API-Version": "compute 2.999"}),
    ):
        request_id = response.headers["x-openstack-request-id"]
        assert request_id.startswith("req-"), response.headers
        assert response.headers["x-compute-request-id"] == request_id


def test_put_is_not_served_at_2_1(compute_api: ComputeApi) -> None:
    response = compute_api.put("/flavors/1", json={"flavor": {"description": "x"}})
    assert response.status_code in (404, 405), response.text
    fault(response, response.status_code)


# ---------------------------------------------------------------------- create and delete


EPHEMERAL_5_PRIVATE: dict[str, Any] = {
    "OS-FLV-EXT-DATA:ephemeral": 5,
    "os-flavor-access:is_public": "false",
}


def test_create_with_every_field(compute_api: ComputeApi, made: list[str]) -> None:
    flavor_id = unique("id")
    name = unique("flavor")
    flavor = create(
        compute_api,
        made,
        id=flavor_id,
        name=name,
        ram="2048",
        vcpus="4",
        disk=0,
        swap=512,
        rxtx_factor="2.5",
        **EPHEMERAL_5_PRIVATE,
    )
    expected = {
        "id": flavor_id,
        "name": name,
        "ram": 2048,
        "vcpus": 4,
        "disk": 0,
        "swap": 512,
        "rxtx_factor": 2.5,
        "OS-FLV-EXT-DATA:ephemeral": 5,
        "OS-FLV-DISABLED:disabled": False,
        "os-flavor-access:is_public": False,
        "links": [
            {"rel": "self", "href": f"{BASE}/v2.1/flavors/{flavor_id}"},
            {"rel": "bookmark", "href": f"{BASE}/flavors/{flavor_id}"},
        ],
    }
    assert flavor == expected
    assert compute_api.get(f"/flavors/{flavor_id}").json()["flavor"] == expected


@pytest.mark.parametrize("given", [None, "absent"])
def test_create_without_id_gets_a_uuid(
    compute_api: ComputeApi, made: list[str], given: str | None
) -> None:
    fields = {} if given == "absent" else {"id": None}
    flavor = create(compute_api, made, **fields)
    assert str(uuid.UUID(flavor["id"])) == flavor["id"]
    assert flavor["swap"] == "" and flavor["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert flavor["rxtx_factor"] == 1.0 and flavor["os-flavor-access:is_public"] is True


def test_numeric_id_and_spaces_inside(compute_api: ComputeApi, made: list[str]) -> None:
    number = int(uuid.uuid4().int % 10**9) + 1000
    assert create(compute_api, made, id=number)["id"] == str(number)
    spaced = unique("my flavor")
    flavor = create(compute_api, made, id=spaced)
    assert compute_api.get(f"/flavors/{spaced}").json()["flavor"]["id"] == flavor["id"]


@pytest.mark.parametrize(
    ("fields", "hint"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": " lead"}, "name"),
        ({"name": "trail "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 42}, "name"),
        ({"name": "bell\x07"}, "name"),
        ({"id": ""}, "id"),
        ({"id": " lead"}, "id"),
        ({"id": "a/b"}, "id"),
        ({"id": "x" * 256}, "id"),
        ({"id": True}, "id"),
        ({"ram": 0}, "ram"),
        ({"ram": -1}, "ram"),
        ({"ram": "1.5"}, "ram"),
        ({"ram": 1.5}, "ram"),
        ({"ram": 2**31}, "ram"),
        ({"ram": True}, "ram"),
        ({"vcpus": 0}, "vcpus"),
        ({"vcpus": "many"}, "vcpus"),
        ({"disk": -1}, "disk"),
        ({"disk": None}, "disk"),
        ({"OS-FLV-EXT-DATA:ephemeral": -1}, "ephemeral"),
        ({"swap": -1}, "swap"),
        ({"swap": "-1"}, "swap"),
        ({"rxtx_factor": 0}, "rxtx_factor"),
        ({"rxtx_factor": -1.0}, "rxtx_factor"),
        ({"rxtx_factor": "fast"}, "rxtx_factor"),
        ({"os-flavor-access:is_public": "maybe"}, "is_public"),
        ({"description": "2.55 only"}, "description"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_create_refuses_bad_fields(
    compute_api: ComputeApi, fields: dict[str, Any], hint: str
) -> None:
    body = {"name": unique("flavor"), "ram": 1024, "vcpus": 2, "disk": 10, **fields}
    message = fault(compute_api.post("/flavors", json={"flavor": body}), 400)
    assert hint in message


@pytest.mark.parametrize("missing", ["name", "ram", "vcpus", "disk"])
def test_create_needs_the_required_fields(compute_api: ComputeApi, missing: str) -> None:
    body = {"name": unique("flavor"), "ram": 1024, "vcpus": 2, "disk": 10}
    del body[missing]
    assert missing in fault(compute_api.post("/flavors", json={"flavor": body}), 400)


@pytest.mark.parametrize("body", [{}, {"flavor": "x"}, [], {"flavor": {}, "more": 1}])
def test_create_refuses_malformed_bodies(compute_api: ComputeApi, body: Any) -> None:
    fault(compute_api.post("/flavors", json=body), 400)


def test_create_refuses_invalid_json(compute_api: ComputeApi) -> None:
    response = compute_api.post(
        "/flavors", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    fault(response, 400)
    assert "'flavor' is a required property" in fault(compute_api.post("/flavors"), 400)


def test_duplicates_are_409(compute_api: ComputeApi, made: list[str]) -> None:
    flavor = create(compute_api, made)
    same_name = {"name": flavor["name"], "ram": 1, "vcpus": 1, "disk": 1}
    message = fault(compute_api.post("/flavors", json={"flavor": same_name}), 409)
    assert message == f"Flavor with name {flavor['name']} already exists."
    same_id = {"id": flavor["id"], "name": unique("flavor"), "ram": 1, "vcpus": 1, "disk": 1}
    message = fault(compute_api.post("/flavors", json={"flavor": same_id}), 409)
    assert message == f"Flavor with ID {flavor['id']} already exists."


def test_concurrent_creates_of_one_name(compute_api: ComputeApi, made: list[str]) -> None:
    name = unique("race")

    def attempt(_: int) -> int:
        body = {"flavor": {"name": name, "ram": 512, "vcpus": 1, "disk": 1}}
        response = compute_api.post("/flavors", json=body)
        if response.status_code == 200:
            made.append(response.json()["flavor"]["id"])
        else:
            assert response.json()["conflictingRequest"]["code"] == 409, response.text
        status: int = response.status_code
        return status

    with ThreadPoolExecutor(4) as pool:
        statuses = Counter(pool.map(attempt, range(4)))
    assert statuses == Counter({200: 1, 409: 3})


def test_delete(compute_api: ComputeApi, made: list[str]) -> None:
    flavor = create(compute_api, made)
    compute_api.post(
        f"/flavors/{flavor['id']}/os-extra_specs", json={"extra_specs": {"hw:cpu_cores": "2"}}
    )
    assert compute_api.delete(f"/flavors/{flavor['id']}").status_code == 202
    fault(compute_api.get(f"/flavors/{flavor['id']}"), 404)
    fault(compute_api.get(f"/flavors/{flavor['id']}/os-extra_specs"), 404)
    # The name and id are free again, with no leftover extra specs.
    again = create(compute_api, made, id=flavor["id"], name=flavor["name"])
    specs = compute_api.get(f"/flavors/{again['id']}/os-extra_specs").json()
    assert specs == {"extra_specs": {}}


def test_members_cannot_manage_flavors(
    compute_api: ComputeApi, made: list[str], member: Persona
) -> None:
    body = {"name": unique("flavor"), "ram": 1024, "vcpus": 2, "disk": 10}
    message = fault(compute_api.post("/flavors", token=member.token, json={"flavor": body}), 403)
    assert "os_compute_api:os-flavor-manage:create" in message
    names = [f["name"] for f in compute_api.get("/flavors?is_public=none").json()["flavors"]]
    assert body["name"] not in names
    fault(compute_api.delete("/flavors/1", token=member.token), 403)
    assert compute_api.get("/flavors/1").status_code == 200


# ---------------------------------------------------------------------- lists


def test_min_ram_and_min_disk(compute_api: ComputeApi, made: list[str]) -> None:
    big = create(compute_api, made, ram=16384 + 1, disk=500)
    ids = [f["id"] for f in compute_api.get("/flavors?minRam=16385").json()["flavors"]]
    assert big["id"] in ids and "5" not in ids
    ids = [f["id"] for f in compute_api.get("/flavors?minDisk=161").json()["flavors"]]
    assert big["id"] in ids and "5" not in ids
    ids = [f["id"] for f in compute_api.get("/flavors?minDisk=160&minRam=16384").json()["flavors"]]
    assert {"5", big["id"]} <= set(ids) and "4" not in ids
    assert fault(compute_api.get("/flavors?minRam=lots"), 400) == "Invalid minRam filter [lots]"
    assert fault(compute_api.get("/flavors?minDisk=1.5"), 400) == "Invalid minDisk filter [1.5]"


def test_sort_keys_and_directions(compute_api: ComputeApi) -> None:
    def ids(query: str) -> list[str]:
        flavors = compute_api.get(f"/flavors/detail?minRam=0&{query}").json()["flavors"]
        return [f["id"] for f in flavors if f["id"] in DEFAULTS]

    assert ids("") == ["1", "2", "3", "4", "5"]
    assert ids("sort_dir=desc") == ["5", "4", "3", "2", "1"]
    assert ids("sort_key=memory_mb&sort_dir=desc") == ["5", "4", "3", "2", "1"]
    assert ids("sort_key=name") == ["4", "3", "2", "1", "5"]
    assert ids("sort_key=vcpus&sort_dir=asc") == ["1", "2", "3", "4", "5"]
    assert ids("sort_key=root_gb") == ["1", "2", "3", "4", "5"]
    assert ids("sort_key=created_at") == ["1", "2", "3", "4", "5"]
    fault(compute_api.get("/flavors?sort_key=bogus"), 400)
    fault(compute_api.get("/flavors?sort_dir=sideways"), 400)


def test_pages_with_limit_and_marker(compute_api: ComputeApi) -> None:
    response = compute_api.get("/flavors?limit=2")
    body = response.json()
    assert [f["id"] for f in body["flavors"]] == ["1", "2"]
    (link,) = body["flavors_links"]
    assert link["rel"] == "next"
    assert link["href"].startswith(f"{BASE}/v2.1/flavors?")
    assert "limit=2" in link["href"] and "marker=2" in link["href"]
    page = compute_api.get("/flavors/detail?limit=2&marker=2").json()
    assert [f["id"] for f in page["flavors"]] == ["3", "4"]
    assert page["flavors_links"][0]["href"].startswith(f"{BASE}/v2.1/flavors/detail?")
    page = compute_api.get("/flavors?sort_dir=desc&limit=2&marker=3").json()
    assert [f["id"] for f in page["flavors"]] == ["2", "1"]
    assert compute_api.get("/flavors?limit=0").json() == {"flavors": []}


def test_page_follows_its_sort_key(compute_api: ComputeApi) -> None:
    page = compute_api.get("/flavors?sort_key=name&marker=3&limit=2").json()["flavors"]
    assert [f["id"] for f in page] == ["2", "1"]  # after m1.medium: m1.small, m1.tiny


def test_bad_pages(compute_api: ComputeApi, made: list[str], member: Persona) -> None:
    assert fault(compute_api.get("/flavors?marker=nope"), 400) == "marker [nope] not found"
    fault(compute_api.get("/flavors?limit=-1"), 400)
    fault(compute_api.get("/flavors?limit=many"), 400)
    # A private flavor the caller cannot see is no marker either.
    private = create(compute_api, made, **PRIVATE)
    response = compute_api.get(f"/flavors?marker={private['id']}", token=member.token)
    assert fault(response, 400) == f"marker [{private['id']}] not found"


# ---------------------------------------------------------------------- private flavors


def test_private_flavors_are_seen_by_the_projects_granted(
    compute_api: ComputeApi, made: list[str], member: Persona, outsider: Persona
) -> None:
    private = create(compute_api, made, **PRIVATE)
    path = f"/flavors/{private['id']}"

    def listed(token: str | None, query: str = "") -> list[str]:
        response = compute_api.get(f"/flavors/detail{query}", token=token)
        assert response.status_code == 200, response.text
        return [f["id"] for f in response.json()["flavors"]]

    assert private["id"] not in listed(member.token)
    fault(compute_api.get(path, token=member.token), 404)
    fault(compute_api.get(f"{path}/os-extra_specs", token=member.token), 404)

    grant = {"addTenantAccess": {"tenant": member.project_id}}
    response = compute_api.post(f"{path}/action", json=grant)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "flavor_access": [{"flavor_id": private["id"], "tenant_id": member.project_id}]
    }
    assert private["id"] in listed(member.token)
    # A non-admin's is_public is ignored: public ones and those granted, always.
    assert private["id"] in listed(member.token, "?is_public=false")
    assert "1" in listed(member.token, "?is_public=false")
    assert compute_api.get(path, token=member.token).json()["flavor"]["id"] == private["id"]
    assert private["id"] not in listed(outsider.token)
    fault(compute_api.get(path, token=outsider.token), 404)

    # The administrator: by default public ones (and those granted to its project); false the
    # private ones only; none every one.
    assert private["id"] not in listed(None)
    assert private["id"] in listed(None, "?is_public=false")
    assert "1" not in listed(None, "?is_public=false")
    assert {private["id"], "1"} <= set(listed(None, "?is_public=None"))
    assert fault(compute_api.get("/flavors?is_public=perhaps"), 400) == (
        "Invalid is_public filter [perhaps]"
    )
    assert compute_api.get(path).status_code == 200


def test_access_list_and_actions(compute_api: ComputeApi, made: list[str]) -> None:
    private = create(compute_api, made, **PRIVATE)
    path = f"/flavors/{private['id']}"
    assert compute_api.get(f"{path}/os-flavor-access").json() == {"flavor_access": []}
    projects = sorted(uuid.uuid4().hex for _ in range(2))
    for project in projects:
        body = {"addTenantAccess": {"tenant": project}}
        assert compute_api.post(f"{path}/action", json=body).status_code == 200
    assert compute_api.get(f"{path}/os-flavor-access").json() == {
        "flavor_access": [{"flavor_id": private["id"], "tenant_id": p} for p in projects]
    }
    again = compute_api.post(f"{path}/action", json={"addTenantAccess": {"tenant": projects[0]}})
    assert fault(again, 409) == (
        f"Flavor access already exists for flavor {private['id']} and project {projects[0]} "
        "combination."
    )
    response = compute_api.post(
        f"{path}/action", json={"removeTenantAccess": {"tenant": projects[0]}}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "flavor_access": [{"flavor_id": private["id"], "tenant_id": projects[1]}]
    }
    response = compute_api.post(
        f"{path}/action", json={"removeTenantAccess": {"tenant": projects[0]}}
    )
    assert fault(response, 404) == (
        f"Flavor access not found for {private['id']} / {projects[0]} combination."
    )


def test_public_flavors_have_no_access_list(
    compute_api: ComputeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = fault(compute_api.get("/flavors/1/os-flavor-access"), 404)
    assert message == "Access list not available for public flavors."
    # From 2.7 (before, Nova records the grant: see test_compute_microversions).
    monkeypatch.setattr(microversion, "MAX_VERSION", max(microversion.MAX_VERSION, (2, 7)))
    response = compute_api.post(
        "/flavors/1/action",
        headers={"OpenStack-API-Version": "compute 2.7"},
        json={"addTenantAccess": {"tenant": "p1"}},
    )
    assert fault(response, 409) == "Can not add access to a public flavor."
    fault(compute_api.get("/flavors/nope/os-flavor-access"), 404)
    response = compute_api.post("/flavors/nope/action", json={"addTenantAccess": {"tenant": "p"}})
    assert fault(response, 404) == "Flavor nope could not be found."


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"addTenantAccess": {"tenant": "p"}, "removeTenantAccess": {"tenant": "p"}},
        {"reboot": {}},
        {"addTenantAccess": {}},
        {"addTenantAccess": {"tenant": ""}},
        {"addTenantAccess": {"tenant": "bad/id"}},
        {"addTenantAccess": {"tenant": 42}},
        {"addTenantAccess": {"tenant": "p", "extra": 1}},
        {"removeTenantAccess": "p"},
    ],
)
def test_malformed_actions(compute_api: ComputeApi, made: list[str], body: Any) -> None:
    private = create(compute_api, made, **PRIVATE)
    fault(compute_api.post(f"/flavors/{private['id']}/action", json=body), 400)


def test_members_cannot_manage_access(
    compute_api: ComputeApi, made: list[str], member: Persona
) -> None:
    private = create(compute_api, made, **PRIVATE)
    path = f"/flavors/{private['id']}"
    body = {"addTenantAccess": {"tenant": member.project_id}}
    fault(compute_api.post(f"{path}/action", json=body, token=member.token), 403)
    fault(compute_api.get(f"{path}/os-flavor-access", token=member.token), 403)
    assert compute_api.get(f"{path}/os-flavor-access").json() == {"flavor_access": []}


# ---------------------------------------------------------------------- extra specs


def test_extra_specs_lifecycle(compute_api: ComputeApi, made: list[str], member: Persona) -> None:
    flavor = create(compute_api, made)
    path = f"/flavors/{flavor['id']}/os-extra_specs"
    assert compute_api.get(path).json() == {"extra_specs": {}}
    specs = {"hw:cpu_cores": 2, "quota:cpu_limit": "-1", "custom:flag": True, "x.y z": 1.5}
    response = compute_api.post(path, json={"extra_specs": specs})
    assert response.status_code == 200, response.text
    stored = {"hw:cpu_cores": "2", "quota:cpu_limit": "-1", "custom:flag": "True", "x.y z": "1.5"}
    assert response.json() == {"extra_specs": stored}
    # A merge: keys not named stay, named ones change.
    response = compute_api.post(path, json={"extra_specs": {"hw:cpu_cores": "4", "a": "b"}})
    assert response.json() == {"extra_specs": {"hw:cpu_cores": "4", "a": "b"}}
    stored.update({"hw:cpu_cores": "4", "a": "b"})
    assert compute_api.get(path).json() == {"extra_specs": stored}
    # Members read a visible flavor's extra specs.
    assert compute_api.get(path, token=member.token).json() == {"extra_specs": stored}
    assert compute_api.get(f"{path}/hw:cpu_cores").json() == {"hw:cpu_cores": "4"}
    assert compute_api.get(f"{path}/x.y%20z", token=member.token).json() == {"x.y z": "1.5"}

    response = compute_api.put(f"{path}/a", json={"a": "c"})
    assert response.status_code == 200, response.text
    assert response.json() == {"a": "c"}
    assert compute_api.get(f"{path}/a").json() == {"a": "c"}
    response = compute_api.put(f"{path}/new", json={"new": 7})
    assert response.json() == {"new": "7"}

    response = compute_api.delete(f"{path}/a")
    assert response.status_code == 200, response.text
    message = fault(compute_api.get(f"{path}/a"), 404)
    assert message == f"Flavor {flavor['id']} has no extra specs with key a."
    assert fault(compute_api.delete(f"{path}/a"), 404) == message


def test_extra_spec_update_must_match_the_uri(compute_api: ComputeApi, made: list[str]) -> None:
    path = f"/flavors/{create(compute_api, made)['id']}/os-extra_specs"
    response = compute_api.put(f"{path}/a", json={"b": "1"})
    assert fault(response, 400) == "Request body and URI mismatch"
    fault(compute_api.put(f"{path}/a", json={"a": "1", "b": "2"}), 400)
    fault(compute_api.put(f"{path}/a", json={}), 400)
    fault(compute_api.put(f"{path}/a", json=["a"]), 400)
    assert compute_api.get(path).json() == {"extra_specs": {}}


@pytest.mark.parametrize(
    ("specs", "hint"),
    [
        ({"quota:cpu_limit": "-2"}, "quota:cpu_limit"),
        ({"quota:cpu_limit": "lots"}, "quota:cpu_limit"),
        ({"quota:memory_limit": "1.5"}, "quota:memory_limit"),
        ({"quota:cpu_reservation": "-1"}, "quota:cpu_reservation"),
        ({"quota:memory_reservation": -5}, "quota:memory_reservation"),
        ({"quota:cpu_shares_level": "extreme"}, "low, normal, high, custom"),
        ({"quota:memory_shares_level": "High"}, "quota:memory_shares_level"),
        ({"quota:cpu_shares_share": "-1"}, "quota:cpu_shares_share"),
        ({"quota:memory_shares_share": "x"}, "quota:memory_shares_share"),
        ({"hw:cpu_cores": 0}, "hw:cpu_cores"),
        ({"hw:cpu_sockets": "two"}, "hw:cpu_sockets"),
        ({"vmware:hw_version": "13"}, "vmx-"),
        ({"vmware:hw_version": "vmx-1"}, "vmware:hw_version"),
        ({"bad/key": "1"}, "bad/key"),
        ({"": "1"}, "key"),
        ({"k": ""}, "k"),
        ({"k": "x" * 256}, "k"),
        ({"k": None}, "k"),
        ({"k": {"nested": 1}}, "k"),
        # One bad value refuses the whole request: nothing half-written.
        ({"good": "1", "hw:cpu_cores": "0"}, "hw:cpu_cores"),
    ],
)
def test_extra_specs_are_checked(
    compute_api: ComputeApi, made: list[str], specs: dict[str, Any], hint: str
) -> None:
    path = f"/flavors/{create(compute_api, made)['id']}/os-extra_specs"
    assert hint in fault(compute_api.post(path, json={"extra_specs": specs}), 400)
    assert compute_api.get(path).json() == {"extra_specs": {}}
    (key,) = [k for k in specs if k != "good"] or [""]
    if key and "/" not in key:
        fault(compute_api.put(f"{path}/{key}", json={key: specs[key]}), 400)


def test_valid_vmware_extra_specs(compute_api: ComputeApi, made: list[str]) -> None:
    path = f"/flavors/{create(compute_api, made)['id']}/os-extra_specs"
    specs = {
        "quota:cpu_limit": "4000",
        "quota:cpu_reservation": "0",
        "quota:cpu_shares_level": "custom",
        "quota:cpu_shares_share": "2000",
        "quota:memory_limit": "-1",
        "quota:memory_reservation": "512",
        "quota:memory_shares_level": "high",
        "quota:memory_shares_share": "0",
        "hw:cpu_cores": "2",
        "hw:cpu_sockets": "1",
        "vmware:hw_version": "vmx-19",
    }
    response = compute_api.post(path, json={"extra_specs": specs})
    assert response.status_code == 200, response.text
    assert compute_api.get(path).json() == {"extra_specs": specs}


@pytest.mark.parametrize("body", [{}, {"extra_specs": "x"}, {"extra_specs": {}, "more": 1}, []])
def test_malformed_extra_specs_bodies(compute_api: ComputeApi, made: list[str], body: Any) -> None:
    path = f"/flavors/{create(compute_api, made)['id']}/os-extra_specs"
    fault(compute_api.post(path, json=body), 400)


def test_extra_specs_of_unknown_flavors(compute_api: ComputeApi) -> None:
    path = "/flavors/nope/os-extra_specs"
    assert fault(compute_api.get(path), 404) == "Flavor nope could not be found."
    fault(compute_api.post(path, json={"extra_specs": {"a": "b"}}), 404)
    fault(compute_api.get(f"{path}/a"), 404)
    fault(compute_api.put(f"{path}/a", json={"a": "b"}), 404)
    fault(compute_api.delete(f"{path}/a"), 404)


def test_members_cannot_write_extra_specs(
    compute_api: ComputeApi, made: list[str], member: Persona
) -> None:
    path = f"/flavors/{create(compute_api, made)['id']}/os-extra_specs"
    token = member.token
    fault(compute_api.post(path, json={"extra_specs": {"a": "b"}}, token=token), 403)
    compute_api.post(path, json={"extra_specs": {"a": "b"}})
    fault(compute_api.put(f"{path}/a", json={"a": "c"}, token=token), 403)
    fault(compute_api.delete(f"{path}/a", token=token), 403)
    assert compute_api.get(path).json() == {"extra_specs": {"a": "b"}}


# ---------------------------------------------------------------------- what a build takes


def test_for_build_snapshot(compute_api: ComputeApi, made: list[str], member: Persona) -> None:
    flavors = compute_api.cloud.compute.flavors
    ephemeral: dict[str, Any] = {"OS-FLV-EXT-DATA:ephemeral": 3}
    flavor = create(compute_api, made, swap=256, **ephemeral)
    compute_api.post(
        f"/flavors/{flavor['id']}/os-extra_specs", json={"extra_specs": {"hw:cpu_cores": "2"}}
    )
    assert flavors.for_build(context_of(member), flavor["id"]) == {
        "id": flavor["id"],
        "name": flavor["name"],
        "vcpus": 2,
        "ram": 1024,
        "disk": 10,
        "ephemeral": 3,
        "swap": 256,
        "rxtx_factor": 1.0,
        "extra_specs": {"hw:cpu_cores": "2"},
        "is_public": True,
    }
    with pytest.raises(BadRequest) as caught:
        flavors.for_build(context_of(member), "nope")
    assert caught.value.message == "Flavor nope could not be found."


def test_for_build_respects_private_and_disabled_flavors(
    compute_api: ComputeApi, made: list[str], member: Persona, outsider: Persona
) -> None:
    flavors = compute_api.cloud.compute.flavors
    private = create(compute_api, made, **PRIVATE)["id"]
    with pytest.raises(BadRequest, match=f"Flavor {private} could not be found."):
        flavors.for_build(context_of(member), private)
    assert flavors.for_build(admin_context(compute_api), private)["is_public"] is False
    grant = {"addTenantAccess": {"tenant": member.project_id}}
    assert compute_api.post(f"/flavors/{private}/action", json=grant).status_code == 200
    assert flavors.for_build(context_of(member), private)["id"] == private
    with pytest.raises(BadRequest):
        flavors.for_build(context_of(outsider), private)

    disabled = create(compute_api, made)["id"]
    with compute_api.cloud.database.transaction() as session:
        row = session.get(FlavorRow, disabled)
        assert row is not None
        row.disabled = True
    for context in (context_of(member), admin_context(compute_api)):
        with pytest.raises(BadRequest, match=f"Flavor {disabled} could not be found."):
            flavors.for_build(context, disabled)
    # Lists hide it from members, not from administrators; a show finds it (Nova's rules).
    listed = compute_api.get("/flavors", token=member.token).json()["flavors"]
    assert disabled not in [f["id"] for f in listed]
    assert disabled in [f["id"] for f in compute_api.get("/flavors").json()["flavors"]]
    shown = compute_api.get(f"/flavors/{disabled}", token=member.token).json()["flavor"]
    assert shown["OS-FLV-DISABLED:disabled"] is True


# ---------------------------------------------------------------------- last: the defaults


def test_ensure_defaults_keeps_what_an_admin_did_with_ids_and_names(
    compute_api: ComputeApi, made: list[str]
) -> None:
    flavors = compute_api.cloud.compute.flavors
    assert compute_api.delete("/flavors/5").status_code == 202
    custom = create(compute_api, made, id="5", name=unique("custom-five"))
    flavors.ensure_defaults()
    # The id is taken by the admin's flavor: m1.xlarge is not brought back under another id.
    assert compute_api.get("/flavors/5").json()["flavor"]["name"] == custom["name"]
    names = [f["name"] for f in compute_api.get("/flavors?is_public=none").json()["flavors"]]
    assert "m1.xlarge" not in names
    assert compute_api.delete("/flavors/5").status_code == 202
    made.remove("5")
    flavors.ensure_defaults()
    restored = compute_api.get("/flavors/5").json()["flavor"]
    assert (restored["name"], restored["vcpus"], restored["ram"], restored["disk"]) == (
        "m1.xlarge",
        8,
        16384,
        160,
    )
