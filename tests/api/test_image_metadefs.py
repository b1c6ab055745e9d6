"""Glance metadata definitions (`/image/v2/metadefs/*`) through HTTP, on every database backend.

Every body the API returns is also checked against the schema the API publishes for it,
because glanceclient validates what it receives against those schemas and fails on a mismatch.
Namespaces are given unique names: the cloud is shared by the whole module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.conftest import IdentityApi
from tests.api.helpers import Persona, persona, unique
from vistack.common.context import RequestContext
from vistack.common.db import Database
from vistack.common.errors import Forbidden
from vistack.common.policy import PolicyEngine
from vistack.image.db.metadefs import SqlMetadefRepository
from vistack.image.domain.metadefs import MetadefService
from vistack.image.metadefs import schemas
from vistack.image.policies import IMAGE_RULES

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)

SEEDED = (
    "OS::Compute::VMware",
    "OS::Compute::VMwareHardware",
    "OS::Compute::VMwareFlavor",
    "OS::Compute::VMwareQuotaFlavor",
)
STANDARD_TYPES = {
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
}
ROOT = "/metadefs/namespaces"


class Glance:
    """Requests to `/image/v2` on the test cloud, as the admin unless a token is given."""

    def __init__(self, api: IdentityApi) -> None:
        self.api = api

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("X-Auth-Token", token or self.api.admin_token)
        return self.api.client.request(method, "/image/v2" + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="module")
def glance(api: IdentityApi) -> Glance:
    return Glance(api)


@pytest.fixture(scope="module")
def member(api: IdentityApi) -> Persona:
    return persona(api, "member")


@pytest.fixture(scope="module")
def outsider(api: IdentityApi) -> Persona:
    """A member of another project."""
    return persona(api, "member")


def fault(response: Any, status: int) -> str:
    """The response is a Glance (webob) fault with this status; returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "title", "message"}, body
    assert body["code"].startswith(f"{status} "), body
    message: str = body["message"]
    assert message
    return message


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def conforms(glance: Glance, body: Any, name: str) -> None:
    """`body` is valid against `/v2/schemas/metadefs/<name>` as the API serves it."""
    schemas.check(body, ok(glance.get(f"/schemas/metadefs/{name}")), f"{name} response")


def new_namespace(glance: Glance, token: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"namespace": unique("ns"), **fields}
    namespace: dict[str, Any] = ok(glance.post(ROOT, json=body, token=token), 201)
    return namespace


def unprotect(glance: Glance, name: str) -> None:
    ok(glance.put(f"{ROOT}/{name}", json={"namespace": name, "protected": False}))


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def page(glance: Glance, path: str, **params: Any) -> list[str]:
    body = ok(glance.get(path, params=params))
    listed = body.get("namespaces") or body.get("objects") or body.get("tags") or []
    return [item.get("namespace") or item["name"] for item in listed]


# -- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("namespace", "namespace"),
        ("namespaces", "namespaces"),
        ("object", "object"),
        ("objects", "objects"),
        ("property", "property"),
        ("properties", "properties"),
        ("tag", "tag"),
        ("tags", "tags"),
        ("resource_type", "resource_type_association"),
        ("resource_types", "resource_type_associations"),
    ],
)
def test_schemas_are_served_under_the_names_tempest_expects(
    glance: Glance, path: str, name: str
) -> None:
    schema = ok(glance.get(f"/schemas/metadefs/{path}"))
    assert schema["name"] == name
    assert schema["properties"]
    assert schema["additionalProperties"] is False


def test_unknown_schema_is_404_and_schemas_need_a_token(glance: Glance) -> None:
    fault(glance.get("/schemas/metadefs/nothing"), 404)
    response = glance.api.client.get("/image/v2/schemas/metadefs/namespace")
    fault(response, 401)


def test_collection_schemas_describe_paging_links(glance: Glance) -> None:
    schema = ok(glance.get("/schemas/metadefs/namespaces"))
    assert {link["rel"] for link in schema["links"]} == {"first", "next", "describedby"}
    assert schema["properties"]["namespaces"]["items"]["required"] == ["namespace"]


# -- seed catalogue --------------------------------------------------------------------------


def test_seed_namespaces_are_loaded_public_and_protected(glance: Glance, member: Persona) -> None:
    body = ok(glance.get(ROOT, params={"limit": 1000}, token=member.token))
    conforms(glance, body, "namespaces")
    listed = {n["namespace"]: n for n in body["namespaces"]}
    for name in SEEDED:
        assert listed[name]["visibility"] == "public"
        assert listed[name]["protected"] is True
        assert "owner" not in listed[name]
        assert listed[name]["resource_type_associations"]


def test_standard_resource_types_exist(glance: Glance, member: Persona) -> None:
    types = ok(glance.get("/metadefs/resource_types", token=member.token))["resource_types"]
    assert set(names(types)) >= STANDARD_TYPES
    for item in types:
        conforms(glance, item, "resource_type")


def test_vmware_image_namespace_lists_what_the_driver_reads(glance: Glance) -> None:
    body = ok(glance.get(f"{ROOT}/OS::Compute::VMware"))
    conforms(glance, body, "namespace")
    properties = body["properties"]
    assert properties["vmware_disktype"]["enum"] == [
        "sparse",
        "streamOptimized",
        "preallocated",
        "thin",
        "eagerZeroedThick",
    ]
    assert set(properties["vmware_adaptertype"]["enum"]) == {
        "lsiLogic",
        "lsiLogicsas",
        "busLogic",
        "paraVirtual",
        "ide",
    }
    assert properties["hw_vif_model"]["enum"] == [
        "e1000",
        "e1000e",
        "VirtualE1000",
        "VirtualE1000e",
        "VirtualPCNet32",
        "VirtualVmxnet",
        "VirtualVmxnet3",
    ]
    assert {"ubuntu64Guest", "windows2019srvNext_64Guest", "rhel9_64Guest"} <= set(
        properties["vmware_ostype"]["enum"]
    )
    assert {a["name"] for a in body["resource_type_associations"]} == {
        "OS::Glance::Image",
        "OS::Cinder::Volume",
    }
    for definition in properties.values():
        assert definition["title"] and definition["description"]


def test_hardware_namespace_names_take_the_image_prefix(glance: Glance) -> None:
    plain = ok(glance.get(f"{ROOT}/OS::Compute::VMwareHardware"))
    assert "cpu_cores" in plain["properties"]
    image = ok(
        glance.get(
            f"{ROOT}/OS::Compute::VMwareHardware", params={"resource_type": "OS::Glance::Image"}
        )
    )
    conforms(glance, image, "namespace")
    assert set(image["properties"]) == {
        "hw_cpu_sockets",
        "hw_cpu_cores",
        "hw_max_cpu_sockets",
        "hw_max_cpu_cores",
        "hw_video_ram",
        "hw_firmware_type",
    }
    # vSphere has no guest-visible threads, and no libvirt-only knobs are offered.
    assert not any("thread" in name for name in image["properties"])
    # Not associated with flavors: no prefix applies.
    flavor = ok(
        glance.get(
            f"{ROOT}/OS::Compute::VMwareHardware", params={"resource_type": "OS::Nova::Flavor"}
        )
    )
    assert "cpu_cores" in flavor["properties"]


def test_quota_flavor_namespace_groups_allocations_in_objects(glance: Glance) -> None:
    body = ok(glance.get(f"{ROOT}/OS::Compute::VMwareQuotaFlavor"))
    conforms(glance, body, "namespace")
    objects = {o["name"]: o for o in body["objects"]}
    assert set(objects) == {
        "CPU Allocation",
        "Memory Allocation",
        "Disk I/O Allocation",
        "Network Allocation",
    }
    cpu = objects["CPU Allocation"]["properties"]
    assert set(cpu) == {
        "quota:cpu_limit",
        "quota:cpu_reservation",
        "quota:cpu_shares_level",
        "quota:cpu_shares_share",
    }
    assert set(cpu["quota:cpu_shares_level"]["enum"]) == {"low", "normal", "high", "custom"}
    assert "quota:memory_reservation" in objects["Memory Allocation"]["properties"]
    flavor = ok(glance.get(f"{ROOT}/OS::Compute::VMwareFlavor"))
    assert {"vmware:hw_version", "vmware:storage_policy"} <= set(flavor["properties"])


def test_resource_type_filter_finds_flavor_and_image_namespaces(glance: Glance) -> None:
    flavor = page(glance, ROOT, resource_types="OS::Nova::Flavor", limit=1000)
    assert {"OS::Compute::VMwareFlavor", "OS::Compute::VMwareQuotaFlavor"} <= set(flavor)
    assert "OS::Compute::VMware" not in flavor
    image = page(glance, ROOT, resource_types="OS::Glance::Image", limit=1000)
    assert {"OS::Compute::VMware", "OS::Compute::VMwareHardware"} <= set(image)
    assert "OS::Compute::VMwareFlavor" not in image
    both = page(glance, ROOT, resource_types="OS::Glance::Image,OS::Nova::Flavor", limit=1000)
    assert set(SEEDED) <= set(both)


def test_seed_loading_is_idempotent_and_keeps_operator_changes(glance: Glance) -> None:
    service = glance.api.cloud.image.metadefs
    assert service.load_seed() == []
    name = unique("Seed::Test")
    document = {
        "namespace": name,
        "visibility": "public",
        "protected": True,
        "resource_type_associations": [{"name": "OS::Glance::Image"}],
        "properties": {"p": {"type": "string", "title": "P"}},
    }
    assert service.load_seed([document]) == [name]
    ok(glance.put(f"{ROOT}/{name}", json={"namespace": name, "description": "changed"}))
    assert service.load_seed([document]) == []
    body = ok(glance.get(f"{ROOT}/{name}"))
    assert body["description"] == "changed"
    assert body["properties"] == {"p": {"type": "string", "title": "P"}}


def test_two_processes_seeding_at_once_create_each_namespace_once(glance: Glance) -> None:
    cloud = glance.api.cloud
    name = unique("Seed::Race")
    race_type = unique("Race::Type")
    document: dict[str, Any] = {
        "namespace": name,
        "visibility": "public",
        "resource_type_associations": [{"name": race_type}],
        "tags": [{"name": "a"}, {"name": "b"}],
    }
    # Two services on their own engines, as two processes would have.
    databases = [Database.from_url(cloud.settings.database_url) for _ in range(2)]
    services = [
        MetadefService(SqlMetadefRepository(db), PolicyEngine(IMAGE_RULES)) for db in databases
    ]
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def seed(service: MetadefService) -> None:
        barrier.wait()
        try:
            results.append(service.load_seed([document]))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=seed, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.dispose()
    assert not errors, errors
    assert sorted(len(r) for r in results) == [0, 1]
    assert names(ok(glance.get(f"{ROOT}/{name}/tags"))["tags"]) == ["b", "a"]
    assert page(glance, ROOT, resource_types=race_type) == [name]


# -- namespaces ------------------------------------------------------------------------------


def test_create_namespace_with_everything_inline(glance: Glance, api: IdentityApi) -> None:
    body: dict[str, Any] = {
        "namespace": unique("ns"),
        "display_name": "Everything",
        "description": "All inline",
        "visibility": "public",
        "protected": False,
        "resource_type_associations": [
            {"name": "OS::Glance::Image", "prefix": "ev_", "properties_target": "image"}
        ],
        "properties": {
            "speed": {"type": "integer", "title": "Speed", "minimum": 1, "maximum": 10},
        },
        "objects": [
            {
                "name": "Group",
                "description": "a group",
                "required": ["size"],
                "properties": {"size": {"type": "string", "title": "Size", "enum": ["s", "l"]}},
            }
        ],
        "tags": [{"name": "t1"}, {"name": "t2"}],
    }
    created = ok(glance.post(ROOT, json=body), 201)
    conforms(glance, created, "namespace")
    name = body["namespace"]
    assert created["self"] == f"/v2/metadefs/namespaces/{name}"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    shown = ok(glance.get(f"{ROOT}/{name}"))
    conforms(glance, shown, "namespace")
    for key in ("display_name", "description", "visibility", "protected", "properties"):
        assert shown[key] == body[key] == created[key]
    assert shown["owner"] == created["owner"]
    assert (
        shown["owner"]
        == ok(api.get("/auth/tokens", headers={"X-Subject-Token": api.admin_token}))["token"][
            "project"
        ]["id"]
    )
    assert [
        (a["name"], a["prefix"], a["properties_target"])
        for a in shown["resource_type_associations"]
    ] == [("OS::Glance::Image", "ev_", "image")]
    assert shown["objects"][0]["required"] == ["size"]
    assert shown["objects"][0]["properties"] == body["objects"][0]["properties"]
    assert sorted(names(shown["tags"])) == ["t1", "t2"]
    prefixed = ok(glance.get(f"{ROOT}/{name}", params={"resource_type": "OS::Glance::Image"}))
    assert list(prefixed["properties"]) == ["ev_speed"]
    assert prefixed["objects"][0]["required"] == ["ev_size"]
    assert list(prefixed["objects"][0]["properties"]) == ["ev_size"]


def test_created_namespace_defaults(glance: Glance) -> None:
    created = new_namespace(glance)
    assert created["visibility"] == "private"
    assert created["protected"] is False
    for absent in (
        "display_name",
        "description",
        "properties",
        "objects",
        "tags",
        "resource_type_associations",
    ):
        assert absent not in created


def test_duplicate_namespace_is_409(glance: Glance) -> None:
    created = new_namespace(glance)
    fault(glance.post(ROOT, json={"namespace": created["namespace"]}), 409)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"namespace": ""},
        {"namespace": "x" * 81},
        {"namespace": 7},
        {"visibility": "shared"},
        {"protected": "yes"},
        {"description": "d" * 501},
        {"colour": "blue"},
        {"properties": {"p": {"type": "string"}}},
        {"properties": {"p": {"title": "P"}}},
        {"properties": {"p": {"title": "P", "type": "float"}}},
        {"properties": {"p": {"title": "P", "type": "string", "pattern": "(["}}},
        {"properties": {"p": {"title": "P", "type": "string", "minLength": -1}}},
        {"properties": {"p": {"title": "P", "type": "array", "items": {"type": "list"}}}},
        {"properties": {"p": {"title": "P", "type": "string", "surprise": 1}}},
        {"objects": [{"description": "no name"}]},
        {"objects": [{"name": "o", "required": ["a", "a"]}]},
        {"tags": [{"label": "x"}]},
        {"tags": ["x"]},
        {"resource_type_associations": [{"prefix": "x_"}]},
    ],
)
def test_invalid_namespace_bodies_are_400(glance: Glance, body: dict[str, Any]) -> None:
    if "namespace" not in body and body:
        body = {"namespace": unique("ns"), **body}
    fault(glance.post(ROOT, json=body), 400)


def test_malformed_bodies_are_400(glance: Glance) -> None:
    headers = {"Content-Type": "application/json"}
    fault(glance.post(ROOT, content=b"{nope", headers=headers), 400)
    fault(glance.post(ROOT, content=b"", headers=headers), 400)
    fault(glance.post(ROOT, json=["namespace"]), 400)


@pytest.mark.parametrize("attribute", ["created_at", "updated_at", "self", "schema"])
def test_read_only_attributes_are_403(glance: Glance, attribute: str) -> None:
    message = fault(glance.post(ROOT, json={"namespace": unique("ns"), attribute: "x"}), 403)
    assert attribute in message


def test_inline_duplicates_are_409(glance: Glance) -> None:
    fault(glance.post(ROOT, json={"namespace": unique("ns"), "tags": [{"name": "a"}] * 2}), 409)
    two = [{"name": "o"}, {"name": "o"}]
    fault(glance.post(ROOT, json={"namespace": unique("ns"), "objects": two}), 409)
    assoc = [{"name": "OS::Glance::Image"}, {"name": "OS::Glance::Image", "prefix": "x"}]
    fault(
        glance.post(ROOT, json={"namespace": unique("ns"), "resource_type_associations": assoc}),
        409,
    )


def test_tempest_namespace_lifecycle(glance: Glance) -> None:
    """test_basic_metadata_definition_namespaces, step by step."""
    resource_type = ok(glance.get("/metadefs/resource_types"))["resource_types"][0]["name"]
    name = unique("namespace")
    ok(
        glance.post(
            ROOT,
            json={
                "namespace": name,
                "visibility": "public",
                "description": "Tempest",
                "display_name": name,
                "resource_type_associations": [{"name": resource_type}],
                "protected": True,
            },
        ),
        201,
    )
    assert name in page(glance, ROOT)
    shown = ok(glance.get(f"{ROOT}/{name}"))
    assert (shown["namespace"], shown["visibility"]) == (name, "public")
    fault(glance.delete(f"{ROOT}/{name}"), 403)
    updated = ok(
        glance.put(
            f"{ROOT}/{name}",
            json={
                "namespace": name,
                "description": "Tempest",
                "visibility": "private",
                "display_name": name,
                "protected": False,
            },
        )
    )
    conforms(glance, updated, "namespace")
    assert (updated["visibility"], updated["protected"]) == ("private", False)
    assert glance.delete(f"{ROOT}/{name}").status_code == 204
    fault(glance.get(f"{ROOT}/{name}"), 404)
    fault(glance.delete(f"{ROOT}/{name}"), 404)


def test_update_renames_and_replaces_attributes(glance: Glance) -> None:
    created = new_namespace(
        glance,
        display_name="before",
        description="before",
        visibility="public",
        protected=True,
        properties={"p": {"type": "string", "title": "P"}},
        tags=[{"name": "kept"}],
    )
    old = created["namespace"]
    new = unique("renamed")
    # What glanceclient sends back: the namespace as it read it, minus the read-only keys.
    sent = {k: v for k, v in created.items() if k not in schemas.READ_ONLY}
    ignored = {"ignored": {"type": "string", "title": "Ignored"}}
    sent.update(namespace=new, display_name="after", properties=ignored)
    del sent["description"]
    updated = ok(glance.put(f"{ROOT}/{old}", json=sent))
    conforms(glance, updated, "namespace")
    assert updated["namespace"] == new
    assert updated["display_name"] == "after"
    assert updated["description"] == "before"  # not sent: kept
    assert (updated["visibility"], updated["protected"]) == ("public", True)
    assert updated["owner"] == created["owner"]
    assert updated["properties"] == {"p": {"type": "string", "title": "P"}}
    assert names(updated["tags"]) == ["kept"]
    fault(glance.get(f"{ROOT}/{old}"), 404)
    # What openstacksdk sends for `openstack image metadef namespace set --unprotected`:
    # only what changes. The namespace must stay public and keep its description.
    partial = ok(glance.put(f"{ROOT}/{new}", json={"namespace": new, "protected": False}))
    assert (partial["visibility"], partial["protected"]) == ("public", False)
    assert (partial["display_name"], partial["description"]) == ("after", "before")
    cleared = ok(glance.put(f"{ROOT}/{new}", json={"namespace": new, "description": None}))
    assert "description" not in cleared


def test_update_errors(glance: Glance) -> None:
    first, second = new_namespace(glance), new_namespace(glance)
    path = f"{ROOT}/{first['namespace']}"
    fault(glance.put(path, json={"namespace": second["namespace"]}), 409)
    fault(glance.put(path, json={"display_name": "no namespace"}), 400)
    fault(glance.put(path, json={"namespace": first["namespace"], "visibility": "x"}), 400)
    fault(glance.put(path, json={"namespace": first["namespace"], "created_at": "x"}), 403)
    fault(glance.put(f"{ROOT}/{unique('missing')}", json={"namespace": "x"}), 404)


def test_delete_cascades_to_everything_inside(glance: Glance) -> None:
    body: dict[str, Any] = {
        "resource_type_associations": [{"name": "OS::Nova::Flavor"}],
        "properties": {"p": {"type": "string", "title": "P"}},
        "objects": [{"name": "o"}],
        "tags": [{"name": "t"}],
    }
    name = new_namespace(glance, **body)["namespace"]
    assert glance.delete(f"{ROOT}/{name}").status_code == 204
    fault(glance.get(f"{ROOT}/{name}/objects"), 404)
    again = new_namespace(glance, namespace=name)
    for key in body:
        assert key not in again
    assert ok(glance.get(f"{ROOT}/{name}/properties")) == {"properties": {}}


def test_list_pages_with_next_links(glance: Glance) -> None:
    marker_type = unique("Test::Paging")
    made = [
        new_namespace(glance, resource_type_associations=[{"name": marker_type}])["namespace"]
        for _ in range(3)
    ]
    created = sorted(made)
    params = {
        "resource_types": marker_type,
        "limit": "2",
        "sort_key": "namespace",
        "sort_dir": "asc",
    }
    first = ok(glance.get(ROOT, params=params))
    conforms(glance, first, "namespaces")
    assert [n["namespace"] for n in first["namespaces"]] == created[:2]
    assert first["first"] == "/v2/metadefs/namespaces"
    assert first["schema"] == "/v2/schemas/metadefs/namespaces"
    link = urlsplit(first["next"])
    assert link.path == "/v2/metadefs/namespaces"
    query = parse_qs(link.query)
    assert query["marker"] == [created[1]]
    assert query["resource_types"] == [marker_type]
    second = ok(glance.get(ROOT, params={k: v[0] for k, v in query.items()}))
    assert [n["namespace"] for n in second["namespaces"]] == created[2:]
    assert "next" not in second
    assert page(glance, ROOT, resource_types=marker_type) == made[::-1]  # newest first
    assert page(glance, ROOT, resource_types=marker_type, limit=0) == []


def test_list_filters_by_visibility(glance: Glance) -> None:
    marker_type = unique("Test::Visibility")
    assoc = [{"name": marker_type}]
    public = new_namespace(glance, visibility="public", resource_type_associations=assoc)
    private = new_namespace(glance, resource_type_associations=assoc)
    listed = page(glance, ROOT, resource_types=marker_type, visibility="private")
    assert listed == [private["namespace"]]
    listed = page(glance, ROOT, resource_types=marker_type, visibility="public")
    assert listed == [public["namespace"]]


@pytest.mark.parametrize(
    "params",
    [
        {"sort_key": "colour"},
        {"sort_dir": "sideways"},
        {"limit": "many"},
        {"limit": "-1"},
        {"visibility": "shared"},
        {"marker": "no-such-namespace"},
    ],
)
def test_invalid_list_parameters_are_400(glance: Glance, params: dict[str, str]) -> None:
    fault(glance.get(ROOT, params=params), 400)


# -- who may see and change what -------------------------------------------------------------


def test_non_admin_cannot_change_the_catalogue(glance: Glance, member: Persona) -> None:
    token = member.token
    fault(glance.post(ROOT, json={"namespace": unique("ns")}, token=token), 403)
    name = new_namespace(
        glance,
        visibility="public",
        objects=[{"name": "o"}],
        tags=[{"name": "t"}],
        properties={"p": {"type": "string", "title": "P"}},
        resource_type_associations=[{"name": "OS::Glance::Image"}],
    )["namespace"]
    path = f"{ROOT}/{name}"
    attempts: list[Callable[[], Any]] = [
        lambda: glance.put(path, json={"namespace": name}, token=token),
        lambda: glance.delete(path, token=token),
        lambda: glance.post(f"{path}/objects", json={"name": "x"}, token=token),
        lambda: glance.put(f"{path}/objects/o", json={"name": "o"}, token=token),
        lambda: glance.delete(f"{path}/objects/o", token=token),
        lambda: glance.delete(f"{path}/objects", token=token),
        lambda: glance.post(
            f"{path}/properties", json={"name": "x", "title": "X", "type": "string"}, token=token
        ),
        lambda: glance.put(
            f"{path}/properties/p",
            json={"name": "p", "title": "P", "type": "string"},
            token=token,
        ),
        lambda: glance.delete(f"{path}/properties/p", token=token),
        lambda: glance.delete(f"{path}/properties", token=token),
        lambda: glance.post(f"{path}/tags", json={"tags": [{"name": "x"}]}, token=token),
        lambda: glance.post(f"{path}/tags/x", token=token),
        lambda: glance.put(f"{path}/tags/t", json={"name": "u"}, token=token),
        lambda: glance.delete(f"{path}/tags/t", token=token),
        lambda: glance.delete(f"{path}/tags", token=token),
        lambda: glance.post(
            f"{path}/resource_types", json={"name": "OS::Nova::Flavor"}, token=token
        ),
        lambda: glance.delete(f"{path}/resource_types/OS::Glance::Image", token=token),
    ]
    for attempt in attempts:
        fault(attempt(), 403)
    # …and nothing changed.
    shown = ok(glance.get(path))
    assert names(shown["objects"]) == ["o"] and names(shown["tags"]) == ["t"]
    assert list(shown["properties"]) == ["p"]


def test_readers_read_public_namespaces(glance: Glance, api: IdentityApi) -> None:
    reader = persona(api, "reader")
    name = new_namespace(
        glance,
        visibility="public",
        objects=[{"name": "o"}],
        tags=[{"name": "t"}],
        properties={"p": {"type": "string", "title": "P"}},
        resource_type_associations=[{"name": "OS::Glance::Image"}],
    )["namespace"]
    path = f"{ROOT}/{name}"
    for sub in (
        "",
        "/objects",
        "/objects/o",
        "/properties",
        "/properties/p",
        "/tags",
        "/tags/t",
        "/resource_types",
    ):
        ok(glance.get(path + sub, token=reader.token))
    assert name in page_as(glance, reader.token)
    ok(glance.get("/metadefs/resource_types", token=reader.token))


def page_as(glance: Glance, token: str, **params: Any) -> list[str]:
    body = ok(glance.get(ROOT, params={"limit": 1000, **params}, token=token))
    return [n["namespace"] for n in body["namespaces"]]


def test_private_namespace_is_visible_to_its_project_only(
    glance: Glance, member: Persona, outsider: Persona
) -> None:
    name = new_namespace(
        glance,
        owner=member.project_id,
        objects=[{"name": "o"}],
        tags=[{"name": "t"}],
        properties={"p": {"type": "string", "title": "P"}},
    )["namespace"]
    path = f"{ROOT}/{name}"
    shown = ok(glance.get(path, token=member.token))
    assert (shown["owner"], shown["visibility"]) == (member.project_id, "private")
    assert name in page_as(glance, member.token)
    assert name in page_as(glance, glance.api.admin_token)
    assert name not in page_as(glance, outsider.token)
    for sub in (
        "",
        "/objects",
        "/objects/o",
        "/properties",
        "/properties/p",
        "/tags",
        "/tags/t",
        "/resource_types",
    ):
        fault(glance.get(path + sub, token=outsider.token), 404)
    # A write to a namespace one cannot see is a 404 as well, never a 403 that confirms it.
    fault(glance.delete(path, token=outsider.token), 404)
    # The admin's own private namespaces are hidden from projects too.
    admins = new_namespace(glance)["namespace"]
    fault(glance.get(f"{ROOT}/{admins}", token=member.token), 404)
    assert admins not in page_as(glance, member.token)
    # Made public, everyone sees it.
    ok(glance.put(path, json={"namespace": name, "visibility": "public"}))
    assert ok(glance.get(path, token=outsider.token))["owner"] == member.project_id


def test_inline_content_needs_its_own_rules(glance: Glance, tmp_path: Path) -> None:
    """As in Glance: opening namespace creation does not open tags, objects, … with it.

    Checked on a service with its own policy file (on the same database): rewriting the shared
    cloud's policy would leak into the other tests of this module.
    """
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        '"image:add_metadef_namespace": "role:member"\n'
        '"image:add_metadef_object": "role:member"\n'
        '"image:add_metadef_tag": "!"\n'
    )
    service = MetadefService(
        SqlMetadefRepository(glance.api.cloud.database), PolicyEngine(IMAGE_RULES, policy_file)
    )
    context = RequestContext("req-test", user_id="u", project_id="p", roles=("member", "reader"))
    allowed = unique("ns")
    service.create_namespace(context, {"namespace": allowed, "objects": [{"name": "o"}]})
    assert ok(glance.get(f"{ROOT}/{allowed}"))["owner"] == "p"
    refused = unique("ns")
    with pytest.raises(Forbidden):
        service.create_namespace(context, {"namespace": refused, "tags": [{"name": "t"}]})
    fault(glance.get(f"{ROOT}/{refused}"), 404)
    # Giving the namespace to another project stays an administrator's call.
    with pytest.raises(Forbidden):
        service.create_namespace(context, {"namespace": refused, "owner": "someone-else"})


def test_metadefs_need_a_token(glance: Glance) -> None:
    fault(glance.api.client.get("/image/v2/metadefs/namespaces"), 401)
    fault(glance.api.client.get("/image/v2/metadefs/resource_types"), 401)


# -- objects ---------------------------------------------------------------------------------


def test_tempest_object_lifecycle(glance: Glance) -> None:
    namespace = new_namespace(glance, visibility="public")["namespace"]
    path = f"{ROOT}/{namespace}/objects"
    created = ok(glance.post(path, json={"name": "first"}), 201)
    conforms(glance, created, "object")
    assert created["self"] == f"/v2/metadefs/namespaces/{namespace}/objects/first"
    assert created["schema"] == "/v2/schemas/metadefs/object"
    assert (created["required"], created["properties"]) == ([], {})
    listed = ok(glance.get(path))
    conforms(glance, listed, "objects")
    assert names(listed["objects"]) == ["first"]
    assert ok(glance.get(f"{path}/first"))["name"] == "first"
    updated = ok(glance.put(f"{path}/first", json={"name": "second"}))
    conforms(glance, updated, "object")
    assert updated["name"] == "second"
    assert updated["created_at"] == created["created_at"]
    fault(glance.get(f"{path}/first"), 404)
    assert glance.delete(f"{path}/second").status_code == 204
    assert ok(glance.get(path))["objects"] == []


def test_object_with_properties_round_trips(glance: Glance) -> None:
    namespace = new_namespace(glance)["namespace"]
    body = {
        "name": "Limits",
        "description": "CPU limits",
        "required": ["quota:cpu_limit"],
        "properties": {
            "quota:cpu_limit": {"type": "integer", "title": "Limit", "minimum": -1},
            "quota:cpu_shares_level": {
                "type": "string",
                "title": "Shares",
                "enum": ["low", "normal", "high", "custom"],
                "default": "normal",
            },
        },
    }
    created = ok(glance.post(f"{ROOT}/{namespace}/objects", json=body), 201)
    shown = ok(glance.get(f"{ROOT}/{namespace}/objects/Limits"))
    for key, value in body.items():
        assert created[key] == shown[key] == value
    renamed = ok(glance.put(f"{ROOT}/{namespace}/objects/Limits", json={"name": "CPU"}))
    assert (renamed["properties"], renamed["required"]) == (body["properties"], ["quota:cpu_limit"])
    assert renamed["description"] == "CPU limits"
    emptied = ok(
        glance.put(
            f"{ROOT}/{namespace}/objects/CPU",
            json={"name": "CPU", "properties": {}, "required": [], "description": None},
        )
    )
    assert (emptied["properties"], emptied["required"]) == ({}, [])
    assert "description" not in emptied


def test_object_errors(glance: Glance) -> None:
    namespace = new_namespace(glance, objects=[{"name": "a"}, {"name": "b"}])["namespace"]
    path = f"{ROOT}/{namespace}/objects"
    fault(glance.post(path, json={"name": "a"}), 409)
    fault(glance.put(f"{path}/a", json={"name": "b"}), 409)
    fault(glance.post(path, json={"description": "nameless"}), 400)
    fault(glance.post(path, json={"name": "c", "properties": {"p": {"type": "x"}}}), 400)
    fault(glance.post(path, json={"name": "c", "self": "/x"}), 403)
    fault(glance.get(f"{path}/zzz"), 404)
    fault(glance.put(f"{path}/zzz", json={"name": "zzz"}), 404)
    fault(glance.delete(f"{path}/zzz"), 404)
    missing = f"{ROOT}/{unique('missing')}/objects"
    fault(glance.get(missing), 404)
    fault(glance.post(missing, json={"name": "x"}), 404)


def test_objects_page_and_sort(glance: Glance) -> None:
    namespace = new_namespace(glance)["namespace"]
    path = f"{ROOT}/{namespace}/objects"
    for name in ("b", "c", "a"):
        ok(glance.post(path, json={"name": name}), 201)
    assert page(glance, path, sort_key="name", sort_dir="asc") == ["a", "b", "c"]
    assert page(glance, path, sort_key="name", sort_dir="asc", limit=1, marker="a") == ["b"]
    assert page(glance, path) == ["a", "c", "b"]  # newest first by default
    fault(glance.get(path, params={"sort_key": "description"}), 400)
    fault(glance.get(path, params={"marker": "zzz"}), 400)


def test_delete_all_objects_and_protection(glance: Glance) -> None:
    namespace = new_namespace(glance, protected=True, objects=[{"name": "a"}, {"name": "b"}])[
        "namespace"
    ]
    path = f"{ROOT}/{namespace}/objects"
    fault(glance.delete(path), 403)
    fault(glance.delete(f"{path}/a"), 403)
    # A protected namespace still takes new and changed objects.
    ok(glance.post(path, json={"name": "c"}), 201)
    ok(glance.put(f"{path}/c", json={"name": "c", "description": "changed"}))
    unprotect(glance, namespace)
    assert glance.delete(f"{path}/a").status_code == 204
    assert glance.delete(path).status_code == 204
    assert ok(glance.get(path))["objects"] == []
    assert glance.delete(path).status_code == 204  # nothing left is still success


# -- properties ------------------------------------------------------------------------------


def test_tempest_property_lifecycle(glance: Glance) -> None:
    """test_basic_meta_def_namespace_property: the property is named after a resource type."""
    resource_type = ok(glance.get("/metadefs/resource_types"))["resource_types"][0]["name"]
    enum = ["xen", "qemu", "kvm", "lxc", "uml", "vmware", "hyperv"]
    namespace = new_namespace(glance, visibility="public")["namespace"]
    ok(glance.post(f"{ROOT}/{namespace}/resource_types", json={"name": resource_type}), 201)
    path = f"{ROOT}/{namespace}/properties"
    body = {"name": resource_type, "title": unique("property"), "type": "string", "enum": enum}
    created = ok(glance.post(path, json=body), 201)
    conforms(glance, created, "property")
    assert created == body
    assert ok(glance.get(f"{path}/{resource_type}"))["name"] == resource_type
    title = unique("update-property")
    updated = ok(
        glance.put(
            f"{path}/{resource_type}",
            json={"title": title, "type": "string", "enum": enum, "name": resource_type},
        )
    )
    assert updated["title"] == title
    assert glance.delete(f"{path}/{resource_type}").status_code == 204
    listed = ok(glance.get(path))
    conforms(glance, listed, "properties")
    assert title not in [p["title"] for p in listed["properties"].values()]


def test_property_keeps_every_schema_field(glance: Glance) -> None:
    namespace = new_namespace(glance)["namespace"]
    path = f"{ROOT}/{namespace}/properties"
    body = {
        "name": "disks",
        "title": "Disks",
        "description": "Which disks",
        "type": "array",
        "items": {"type": "string", "enum": ["a", "b"]},
        "uniqueItems": True,
        "minItems": 1,
        "maxItems": 2,
        "additionalItems": False,
        "readonly": False,
        "operators": ["<all-in>"],
        "default": ["a"],
    }
    assert ok(glance.post(path, json=body), 201) == body
    number = {
        "name": "n",
        "title": "N",
        "type": "number",
        "minimum": 0.5,
        "maximum": 9,
        "default": 1,
    }
    string = {
        "name": "s",
        "title": "S",
        "type": "string",
        "pattern": "^[a-z]+$",
        "minLength": 1,
        "maxLength": 8,
        "readonly": True,
    }
    for item in (number, string):
        ok(glance.post(path, json=item), 201)
    listed = ok(glance.get(path))["properties"]
    assert listed["disks"] == {k: v for k, v in body.items() if k != "name"}
    assert ok(glance.get(f"{path}/s")) == string
    assert ok(glance.get(f"{path}/n")) == number


def test_property_lookup_with_a_resource_type_prefix(glance: Glance) -> None:
    namespace = new_namespace(
        glance,
        resource_type_associations=[
            {"name": "OS::Glance::Image", "prefix": "vs_"},
            {"name": "OS::Nova::Server"},
        ],
        properties={"speed": {"type": "integer", "title": "Speed"}},
    )["namespace"]
    path = f"{ROOT}/{namespace}/properties"
    image = {"resource_type": "OS::Glance::Image"}
    assert ok(glance.get(f"{path}/vs_speed", params=image))["name"] == "speed"
    fault(glance.get(f"{path}/speed", params=image), 404)
    server = {"resource_type": "OS::Nova::Server"}  # associated without a prefix
    assert ok(glance.get(f"{path}/speed", params=server))["name"] == "speed"
    fault(glance.get(f"{path}/vs_speed", params={"resource_type": "OS::Nova::Flavor"}), 404)


def test_property_errors(glance: Glance) -> None:
    namespace = new_namespace(
        glance,
        protected=True,
        properties={
            "a": {"type": "string", "title": "A"},
            "b": {"type": "string", "title": "B"},
        },
    )["namespace"]
    path = f"{ROOT}/{namespace}/properties"
    fault(glance.post(path, json={"name": "a", "title": "A", "type": "string"}), 409)
    fault(glance.put(f"{path}/a", json={"name": "b", "title": "A", "type": "string"}), 409)
    fault(glance.post(path, json={"title": "nameless", "type": "string"}), 400)
    fault(glance.post(path, json={"name": "c", "type": "string"}), 400)
    fault(glance.post(path, json={"name": "c", "title": "C", "type": "text"}), 400)
    fault(
        glance.post(path, json={"name": "c", "title": "C", "type": "integer", "minimum": "one"}),
        400,
    )
    fault(glance.get(f"{path}/zzz"), 404)
    fault(glance.put(f"{path}/zzz", json={"name": "zzz", "title": "Z", "type": "string"}), 404)
    fault(glance.delete(f"{path}/zzz"), 404)
    fault(glance.delete(f"{path}/a"), 403)
    fault(glance.delete(path), 403)
    renamed = ok(glance.put(f"{path}/a", json={"name": "c", "title": "C", "type": "boolean"}))
    assert renamed == {"name": "c", "title": "C", "type": "boolean"}
    unprotect(glance, namespace)
    assert glance.delete(f"{path}/c").status_code == 204
    assert glance.delete(path).status_code == 204
    assert ok(glance.get(path)) == {"properties": {}}


# -- tags ------------------------------------------------------------------------------------


def test_tempest_tags_lifecycle(glance: Glance) -> None:
    namespace = new_namespace(glance, visibility="public")["namespace"]
    path = f"{ROOT}/{namespace}/tags"
    tags = [{"name": "sample-tag1"}, {"name": "sample-tag2"}, {"name": "sample-tag3"}]
    created = ok(glance.post(path, json={"tags": tags}), 201)
    conforms(glance, created, "tags")
    assert names(created["tags"]) == names(tags)
    listed = ok(glance.get(path))
    conforms(glance, listed, "tags")
    assert sorted(names(listed["tags"])) == names(tags)
    tag = unique("tag_name")
    made = ok(glance.post(f"{path}/{tag}"), 201)
    conforms(glance, made, "tag")
    assert ok(glance.get(f"{path}/{tag}"))["name"] == tag
    renamed = unique("update-tag")
    assert ok(glance.put(f"{path}/{tag}", json={"name": renamed}))["name"] == renamed
    fault(glance.get(f"{path}/{tag}"), 404)
    assert glance.delete(f"{path}/{renamed}").status_code == 204
    assert renamed not in names(ok(glance.get(path))["tags"])
    assert glance.delete(path).status_code == 204
    assert ok(glance.get(path))["tags"] == []


def test_bulk_tags_replace_unless_appending(glance: Glance) -> None:
    namespace = new_namespace(glance, tags=[{"name": "old"}])["namespace"]
    path = f"{ROOT}/{namespace}/tags"
    ok(glance.post(path, json={"tags": [{"name": "a"}, {"name": "b"}]}), 201)
    assert sorted(names(ok(glance.get(path))["tags"])) == ["a", "b"]
    append = {"X-Openstack-Append": "True"}
    ok(glance.post(path, json={"tags": [{"name": "c"}]}, headers=append), 201)
    assert sorted(names(ok(glance.get(path))["tags"])) == ["a", "b", "c"]
    fault(glance.post(path, json={"tags": [{"name": "a"}]}, headers=append), 409)
    no_append = {"X-Openstack-Append": "false"}
    ok(glance.post(path, json={"tags": [{"name": "d"}]}, headers=no_append), 201)
    assert names(ok(glance.get(path))["tags"]) == ["d"]
    fault(glance.post(path, json={"tags": [{"name": "x"}, {"name": "x"}]}), 409)
    assert names(ok(glance.get(path))["tags"]) == ["d"]  # a refused request changes nothing
    # An empty list changes nothing either (Glance does the same).
    assert ok(glance.post(path, json={"tags": []}), 201) == {"tags": []}
    assert names(ok(glance.get(path))["tags"]) == ["d"]


def test_tag_errors_and_protection(glance: Glance) -> None:
    namespace = new_namespace(glance, protected=True, tags=[{"name": "a"}, {"name": "b"}])[
        "namespace"
    ]
    path = f"{ROOT}/{namespace}/tags"
    fault(glance.post(f"{path}/a"), 409)
    fault(glance.put(f"{path}/a", json={"name": "b"}), 409)
    fault(glance.put(f"{path}/a", json={}), 400)
    fault(glance.put(f"{path}/a", json={"name": "x" * 81}), 400)
    fault(glance.post(f"{path}/{'x' * 81}"), 400)
    fault(glance.post(path, json={}), 400)
    fault(glance.post(path, json={"tags": [{"title": "x"}]}), 400)
    fault(glance.post(path, json={"tags": "a,b"}), 400)
    fault(glance.get(f"{path}/zzz"), 404)
    fault(glance.put(f"{path}/zzz", json={"name": "y"}), 404)
    fault(glance.delete(f"{path}/zzz"), 404)
    fault(glance.delete(f"{path}/a"), 403)
    fault(glance.delete(path), 403)
    unprotect(glance, namespace)
    assert glance.delete(f"{path}/a").status_code == 204
    assert names(ok(glance.get(path))["tags"]) == ["b"]


def test_tags_page_and_sort(glance: Glance) -> None:
    namespace = new_namespace(glance)["namespace"]
    path = f"{ROOT}/{namespace}/tags"
    for name in ("b", "c", "a"):
        ok(glance.post(f"{path}/{name}"), 201)
    assert page(glance, path, sort_key="name", sort_dir="asc") == ["a", "b", "c"]
    assert page(glance, path, sort_key="name", sort_dir="desc", limit=2) == ["c", "b"]
    assert page(glance, path, sort_key="name", marker="b", sort_dir="asc") == ["c"]
    fault(glance.get(path, params={"sort_dir": "up"}), 400)


# -- resource types --------------------------------------------------------------------------


def test_tempest_resource_type_association_lifecycle(glance: Glance) -> None:
    resource_type = ok(glance.get("/metadefs/resource_types"))["resource_types"][0]["name"]
    namespace = new_namespace(glance, visibility="public")["namespace"]
    path = f"{ROOT}/{namespace}/resource_types"
    created = ok(glance.post(path, json={"name": resource_type}), 201)
    conforms(glance, created, "resource_type")
    assert created["name"] == resource_type
    listed = ok(glance.get(path))
    conforms(glance, listed, "resource_types")
    assert names(listed["resource_type_associations"]) == [resource_type]
    fault(glance.post(path, json={"name": resource_type}), 409)
    assert glance.delete(f"{path}/{resource_type}").status_code == 204
    assert ok(glance.get(path))["resource_type_associations"] == []
    fault(glance.delete(f"{path}/{resource_type}"), 404)


def test_association_keeps_prefix_and_target(glance: Glance) -> None:
    namespace = new_namespace(glance)["namespace"]
    path = f"{ROOT}/{namespace}/resource_types"
    body = {"name": "OS::Cinder::Volume", "prefix": "hw_", "properties_target": "image"}
    created = ok(glance.post(path, json=body), 201)
    assert {k: created[k] for k in body} == body
    shown = ok(glance.get(f"{ROOT}/{namespace}"))["resource_type_associations"]
    assert [{k: a[k] for k in body} for a in shown] == [body]


def test_associating_an_unknown_resource_type_creates_it(glance: Glance) -> None:
    namespace = new_namespace(glance)["namespace"]
    new_type = unique("Vistack::Test")
    ok(glance.post(f"{ROOT}/{namespace}/resource_types", json={"name": new_type}), 201)
    assert new_type in names(ok(glance.get("/metadefs/resource_types"))["resource_types"])


def test_association_errors_and_protection(glance: Glance) -> None:
    namespace = new_namespace(
        glance, protected=True, resource_type_associations=[{"name": "OS::Nova::Flavor"}]
    )["namespace"]
    path = f"{ROOT}/{namespace}/resource_types"
    fault(glance.post(path, json={"prefix": "x_"}), 400)
    fault(glance.post(path, json={"name": "OS::Glance::Image", "prefix": 3}), 400)
    fault(glance.post(path, json={"name": "OS::Glance::Image", "created_at": "x"}), 403)
    fault(glance.delete(f"{path}/OS::Nova::Flavor"), 403)
    fault(glance.delete(f"{path}/OS::Nova::Server"), 404)
    fault(glance.delete(f"{path}/{unique('Nothing::Like::It')}"), 404)
    missing = f"{ROOT}/{unique('missing')}/resource_types"
    fault(glance.get(missing), 404)
    fault(glance.post(missing, json={"name": "OS::Glance::Image"}), 404)
    unprotect(glance, namespace)
    assert glance.delete(f"{path}/OS::Nova::Flavor").status_code == 204
