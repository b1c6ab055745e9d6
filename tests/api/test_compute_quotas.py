"""Nova quotas through HTTP (`os-quota-sets`, `os-quota-class-sets`, `limits`) and the quota
checks server and key pair creation call, on each database backend.

Usage comes from server rows written straight into the database (as a finished build leaves
them), so these tests do not depend on builds; each test uses a project of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.compute_rows import insert_server
from tests.api.conftest import ADMIN_PASSWORD, ComputeApi
from tests.api.helpers import Persona, create_project, persona_fixture, unique
from vistack.common.clock import utcnow
from vistack.compute.db.tables import KeypairRow, ServerGroupRow
from vistack.compute.domain.quotas import PLENTY, ComputeQuotas, QuotaExceeded

member = persona_fixture("compute_api")

DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "key_pairs": 100,
    "metadata_items": 128,
    "server_groups": 10,
    "server_group_members": 10,
    "floating_ips": 10,
    "fixed_ips": -1,
    "security_groups": 10,
    "security_group_rules": 20,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
}
ABSOLUTE = {
    "maxServerMeta",
    "maxImageMeta",
    "maxPersonality",
    "maxPersonalitySize",
    "maxTotalKeypairs",
    "maxServerGroups",
    "maxServerGroupMembers",
    "maxTotalCores",
    "maxTotalInstances",
    "maxTotalRAMSize",
    "totalCoresUsed",
    "totalInstancesUsed",
    "totalRAMUsed",
    "totalServerGroupsUsed",
    "maxSecurityGroups",
    "maxSecurityGroupRules",
    "maxTotalFloatingIps",
    "totalFloatingIpsUsed",
    "totalSecurityGroupsUsed",
}


def nova_fault(response: Any, code: int) -> str:
    """The response is a Nova fault with this code; returns its message."""
    names = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest"}
    assert response.status_code == code, response.text
    body = response.json()
    assert list(body) == [names[code]], body
    assert body[names[code]]["code"] == code
    message: str = body[names[code]]["message"]
    return message


def quotas_of(api: ComputeApi) -> ComputeQuotas:
    return api.cloud.compute.quotas


def add_server(
    api: ComputeApi,
    project_id: str,
    *,
    vcpus: int = 1,
    memory_mb: int = 512,
    root_gb: int = 1,
    cluster: str | None = None,
    deleted: bool = False,
) -> str:
    """A server row as a finished build leaves it (deleted: as a delete leaves it)."""
    now = utcnow()
    return insert_server(
        api,
        project_id,
        vcpus=vcpus,
        memory_mb=memory_mb,
        root_gb=root_gb,
        cluster=cluster,
        vm_state="deleted" if deleted else "active",
        deleted_at=now if deleted else None,
    )


def add_group(api: ComputeApi, project_id: str) -> None:
    row = ServerGroupRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        user_id="tester",
        name=unique("group"),
        policy="anti-affinity",
        rules={},
        created_at=utcnow(),
    )
    with api.cloud.compute.clusters._store.transaction() as unit:
        unit.add(row)


def new_project(api: ComputeApi) -> str:
    project_id: str = create_project(api.identity)["id"]
    return project_id


@pytest.fixture
def default_class(compute_api: ComputeApi) -> Iterator[None]:
    """Restores the `default` quota class (every project's defaults) after the test."""
    yield
    response = compute_api.put("/os-quota-class-sets/default", json={"quota_class_set": DEFAULTS})
    assert response.status_code == 200, response.text


# ------------------------------------------------------------------ os-quota-sets


def test_show_quota_set_has_every_2_1_resource(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    response = compute_api.get(f"/os-quota-sets/{project_id}")
    assert response.status_code == 200, response.text
    assert response.json() == {"quota_set": {"id": project_id, **DEFAULTS}}
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"


def test_defaults_are_the_configured_ones(compute_api: ComputeApi, member: Persona) -> None:
    project_id = new_project(compute_api)
    compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"cores": 3}})
    response = compute_api.get(f"/os-quota-sets/{project_id}/defaults", token=member.token)
    assert response.status_code == 200, response.text
    assert response.json() == {"quota_set": {"id": project_id, **DEFAULTS}}


def test_member_reads_its_own_project_only(compute_api: ComputeApi, member: Persona) -> None:
    own = compute_api.get(f"/os-quota-sets/{member.project_id}", token=member.token)
    assert own.status_code == 200, own.text
    assert own.json()["quota_set"]["cores"] == DEFAULTS["cores"]
    detail = compute_api.get(f"/os-quota-sets/{member.project_id}/detail", token=member.token)
    assert detail.status_code == 200, detail.text
    other = new_project(compute_api)
    for path in (f"/os-quota-sets/{other}", f"/os-quota-sets/{other}/detail"):
        assert "os-quota-sets" in nova_fault(compute_api.get(path, token=member.token), 403)


def test_member_cannot_change_quotas(compute_api: ComputeApi, member: Persona) -> None:
    path = f"/os-quota-sets/{member.project_id}"
    response = compute_api.put(path, token=member.token, json={"quota_set": {"cores": 1000}})
    nova_fault(response, 403)
    nova_fault(compute_api.delete(path, token=member.token), 403)
    assert compute_api.get(path).json()["quota_set"]["cores"] == DEFAULTS["cores"]


def test_update_answers_without_id_and_persists(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    body = {"quota_set": {"cores": 50, "ram": "5120", "instances": -1, "security_groups": 3}}
    response = compute_api.put(f"/os-quota-sets/{project_id}", json=body)
    assert response.status_code == 200, response.text
    expected = {**DEFAULTS, "cores": 50, "ram": 5120, "instances": -1, "security_groups": 3}
    assert response.json() == {"quota_set": expected}
    shown = compute_api.get(f"/os-quota-sets/{project_id}").json()["quota_set"]
    assert shown == {"id": project_id, **expected}


def test_update_of_the_whole_set_as_tempest_sends_it(compute_api: ComputeApi) -> None:
    """Tempest puts every 2.1 resource (the network-era ones too) with `force`, then restores
    the defaults it read, id removed."""
    project_id = new_project(compute_api)
    new = {r: v + 7 for r, v in DEFAULTS.items()}
    response = compute_api.put(
        f"/os-quota-sets/{project_id}", json={"quota_set": {**new, "force": True}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["quota_set"] == new
    restored = compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": DEFAULTS})
    assert restored.json()["quota_set"] == DEFAULTS


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"quota_set": {"cores": -2}}, "less than the minimum of -1"),
        ({"quota_set": {"cores": "ten"}}, "does not match"),
        ({"quota_set": {"cores": True}}, "is not of type"),
        ({"quota_set": {"cores": 1.5}}, "is not of type"),
        ({"quota_set": {"cores": 2**31}}, "greater than the maximum"),
        ({"quota_set": {"volumes": 1}}, "'volumes' was unexpected"),
        ({"quota_set": {"networks": 1}}, "networks quota has been removed"),
        ({"quota_set": {"cores": 1, "force": "maybe"}}, "force"),
        ({"quota_set": [1]}, "is not of type 'object'"),
        ({"quota": {"cores": 1}}, "'quota_set' is a required property"),
        ({"quota_set": {}, "extra": 1}, "'extra' was unexpected"),
        ([], "'quota_set' is a required property"),
    ],
)
def test_update_refuses_bad_input(compute_api: ComputeApi, body: Any, needle: str) -> None:
    project_id = new_project(compute_api)
    message = nova_fault(compute_api.put(f"/os-quota-sets/{project_id}", json=body), 400)
    assert needle in message
    assert compute_api.get(f"/os-quota-sets/{project_id}").json()["quota_set"]["cores"] == 20


def test_update_is_all_or_nothing(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    body = {"quota_set": {"cores": 5, "ram": -5}}
    nova_fault(compute_api.put(f"/os-quota-sets/{project_id}", json=body), 400)
    assert compute_api.get(f"/os-quota-sets/{project_id}").json()["quota_set"]["cores"] == 20


def test_update_below_usage_needs_force(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    add_server(compute_api, project_id, vcpus=4, memory_mb=2048)
    add_server(compute_api, project_id, vcpus=4, memory_mb=2048)
    add_server(compute_api, project_id, vcpus=16, deleted=True)
    path = f"/os-quota-sets/{project_id}"
    message = nova_fault(compute_api.put(path, json={"quota_set": {"cores": 7}}), 400)
    assert message == (
        "Quota limit 7 for cores must be greater than or equal to already used and reserved 8."
    )
    assert compute_api.put(path, json={"quota_set": {"cores": 8}}).status_code == 200
    assert compute_api.put(path, json={"quota_set": {"cores": -1}}).status_code == 200
    forced = compute_api.put(path, json={"quota_set": {"instances": 1, "force": "true"}})
    assert forced.status_code == 200, forced.text
    assert forced.json()["quota_set"]["instances"] == 1


def test_concurrent_first_updates_all_succeed(compute_api: ComputeApi) -> None:
    """Racing first writes of a project's limits (and of its lock row) never surface as 500s."""
    project_id = new_project(compute_api)
    path = f"/os-quota-sets/{project_id}"

    def put(n: int) -> int:
        body = {"quota_set": {"cores": 30 + n, "ram": 60000 + n, "force": n % 2 == 0}}
        status: int = compute_api.put(path, json=body).status_code
        return status

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(put, range(6)))
    assert statuses == [200] * 6
    shown = compute_api.get(path).json()["quota_set"]
    assert shown["cores"] - 30 == shown["ram"] - 60000  # one request's values, not a mix


def test_user_quotas_are_refused_and_reads_show_the_project(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"ram": 5120}})
    path = f"/os-quota-sets/{project_id}?user_id=someone"
    message = nova_fault(compute_api.put(path, json={"quota_set": {"ram": 2048}}), 400)
    assert "Per-user quotas are not supported" in message
    nova_fault(compute_api.delete(path), 400)
    assert compute_api.get(path).json()["quota_set"]["ram"] == 5120


def test_detail_counts_live_servers_and_groups(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    add_server(compute_api, project_id, vcpus=2, memory_mb=1024)
    add_server(compute_api, project_id, vcpus=1, memory_mb=512)
    add_server(compute_api, project_id, vcpus=8, memory_mb=8192, deleted=True)
    add_server(compute_api, new_project(compute_api), vcpus=8)
    add_group(compute_api, project_id)
    response = compute_api.get(f"/os-quota-sets/{project_id}/detail")
    assert response.status_code == 200, response.text
    detail = response.json()["quota_set"]
    assert detail.pop("id") == project_id
    assert set(detail) == set(DEFAULTS)
    assert detail["instances"] == {"in_use": 2, "limit": 10, "reserved": 0}
    assert detail["cores"] == {"in_use": 3, "limit": 20, "reserved": 0}
    assert detail["ram"] == {"in_use": 1536, "limit": 51200, "reserved": 0}
    assert detail["server_groups"] == {"in_use": 1, "limit": 10, "reserved": 0}
    assert detail["key_pairs"] == {"in_use": 0, "limit": 100, "reserved": 0}


def test_delete_reverts_to_defaults(compute_api: ComputeApi) -> None:
    project_id = new_project(compute_api)
    path = f"/os-quota-sets/{project_id}"
    compute_api.put(path, json={"quota_set": {"ram": 5120, "key_pairs": 1}})
    response = compute_api.delete(path)
    assert response.status_code == 202, response.text
    assert response.content == b""
    assert compute_api.get(path).json()["quota_set"] == {"id": project_id, **DEFAULTS}
    assert compute_api.delete(path).status_code == 202  # nothing left: still fine


# ------------------------------------------------------------------ os-quota-class-sets


def test_quota_class_default_sets_every_project_s_defaults(
    compute_api: ComputeApi, default_class: None
) -> None:
    response = compute_api.get("/os-quota-class-sets/default")
    assert response.status_code == 200, response.text
    shown = response.json()["quota_class_set"]
    # Before 2.50 a quota class shows no server group quotas.
    hidden = {"server_groups", "server_group_members"}
    assert shown == {"id": "default", **{r: v for r, v in DEFAULTS.items() if r not in hidden}}
    overridden = new_project(compute_api)
    compute_api.put(f"/os-quota-sets/{overridden}", json={"quota_set": {"cores": 3}})
    plain = new_project(compute_api)

    # Tempest's way: every shown value + 100, sent back without the id.
    body = {r: v + 100 for r, v in shown.items() if r != "id"}
    updated = compute_api.put("/os-quota-class-sets/default", json={"quota_class_set": body})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"quota_class_set": body}

    assert compute_api.get(f"/os-quota-sets/{plain}").json()["quota_set"]["cores"] == 120
    assert compute_api.get(f"/os-quota-sets/{overridden}").json()["quota_set"]["cores"] == 3
    defaults = compute_api.get(f"/os-quota-sets/{plain}/defaults").json()["quota_set"]
    assert defaults["instances"] == 110
    assert defaults["server_groups"] == 10
    limits = compute_api.get(f"/limits?tenant_id={plain}").json()["limits"]["absolute"]
    assert limits["maxTotalCores"] == 120


def test_other_quota_classes_do_not_change_defaults(compute_api: ComputeApi) -> None:
    name = unique("gold")[:20]
    response = compute_api.put(
        f"/os-quota-class-sets/{name}", json={"quota_class_set": {"cores": 999}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["quota_class_set"]["cores"] == 999
    assert compute_api.get(f"/os-quota-class-sets/{name}").json()["quota_class_set"]["id"] == name
    project_id = new_project(compute_api)
    assert compute_api.get(f"/os-quota-sets/{project_id}").json()["quota_set"]["cores"] == 20


def test_quota_classes_are_admin_only(compute_api: ComputeApi, member: Persona) -> None:
    nova_fault(compute_api.get("/os-quota-class-sets/default", token=member.token), 403)
    body = {"quota_class_set": {"cores": 1}}
    response = compute_api.put("/os-quota-class-sets/default", token=member.token, json=body)
    nova_fault(response, 403)
    assert compute_api.get("/os-quota-class-sets/default").json()["quota_class_set"]["cores"] == 20


@pytest.mark.parametrize(
    ("name", "body", "needle"),
    [
        ("default", {"quota_class_set": {"cores": "x"}}, "does not match"),
        ("default", {"quota_class_set": {"cores": 1, "force": True}}, "'force' was unexpected"),
        ("default", {"quota_set": {"cores": 1}}, "'quota_class_set' is a required property"),
        ("x" * 60, {"quota_class_set": {"cores": 1}}, "must be 1 to 54 characters"),
    ],
)
def test_quota_class_update_refuses_bad_input(
    compute_api: ComputeApi, name: str, body: Any, needle: str
) -> None:
    response = compute_api.put(f"/os-quota-class-sets/{name}", json=body)
    assert needle in nova_fault(response, 400)


# ------------------------------------------------------------------ limits


def test_limits_show_the_caller_s_project(compute_api: ComputeApi, member: Persona) -> None:
    add_server(compute_api, member.project_id, vcpus=2, memory_mb=1024)
    response = compute_api.get("/limits", token=member.token)
    assert response.status_code == 200, response.text
    limits = response.json()["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert set(absolute) == ABSOLUTE
    assert absolute["maxTotalCores"] == 20
    assert absolute["maxServerMeta"] == absolute["maxImageMeta"] == 128
    assert absolute["maxTotalFloatingIps"] == 10
    assert absolute["totalCoresUsed"] >= 2
    assert absolute["totalInstancesUsed"] >= 1
    assert absolute["totalRAMUsed"] >= 1024
    assert absolute["totalFloatingIpsUsed"] == 0


def test_limits_of_another_project_are_the_admin_s(
    compute_api: ComputeApi, member: Persona
) -> None:
    project_id = new_project(compute_api)
    compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"instances": 3}})
    add_server(compute_api, project_id)
    response = compute_api.get(f"/limits?tenant_id={project_id}")
    assert response.status_code == 200, response.text
    absolute = response.json()["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == 3
    assert absolute["totalInstancesUsed"] == 1
    other = compute_api.get(f"/limits?tenant_id={project_id}", token=member.token)
    assert "limits:other_project" in nova_fault(other, 403)
    own = compute_api.get(f"/limits?tenant_id={member.project_id}", token=member.token)
    assert own.status_code == 200, own.text


def test_limits_without_a_project_are_the_defaults(compute_api: ComputeApi) -> None:
    """A system-scoped token has no project: its limits are the defaults, nothing used."""
    response = compute_api.identity.authenticate("admin", ADMIN_PASSWORD, {"system": {"all": True}})
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    limits = compute_api.get("/limits", token=token)
    assert limits.status_code == 200, limits.text
    absolute = limits.json()["limits"]["absolute"]
    assert (absolute["maxTotalCores"], absolute["totalCoresUsed"]) == (20, 0)


# ------------------------------------------------------------------ the checks creates call


def test_check_servers_names_what_is_exceeded(compute_api: ComputeApi) -> None:
    quotas = quotas_of(compute_api)
    project_id = new_project(compute_api)
    compute_api.put(
        f"/os-quota-sets/{project_id}", json={"quota_set": {"instances": 3, "cores": 4}}
    )
    add_server(compute_api, project_id, vcpus=2, memory_mb=50000)
    add_server(compute_api, project_id, vcpus=1, memory_mb=512)
    store = compute_api.cloud.compute.clusters._store
    with store.transaction() as unit:
        unit.lock_project(project_id)
        quotas.check_servers(unit, project_id, instances=1, cores=1, ram=512)
        with pytest.raises(QuotaExceeded) as cores:
            quotas.check_servers(unit, project_id, instances=1, cores=2, ram=512)
        with pytest.raises(QuotaExceeded) as ram:
            quotas.check_servers(unit, project_id, instances=1, cores=1, ram=2048)
        with pytest.raises(QuotaExceeded) as both:
            quotas.check_servers(unit, project_id, instances=2, cores=2, ram=512)
    assert cores.value.status == 403
    assert cores.value.message == (
        "Quota exceeded for cores: Requested 2, but already used 3 of 4 cores"
    )
    assert ram.value.message == (
        "Quota exceeded for ram: Requested 2048, but already used 50512 of 51200 ram"
    )
    assert both.value.message == (
        "Quota exceeded for cores, instances: Requested 2, 2, but already used 3, 2 of 4, 3 "
        "cores, instances"
    )


def test_max_servers_counts_the_headroom(compute_api: ComputeApi) -> None:
    quotas = quotas_of(compute_api)
    project_id = new_project(compute_api)
    add_server(compute_api, project_id, vcpus=4, memory_mb=4096)
    store = compute_api.cloud.compute.clusters._store
    with store.transaction() as unit:
        # instances 10-1=9, cores (20-4)//4=4, ram (51200-4096)//8192=5
        assert quotas.max_servers(unit, project_id, cores_each=4, ram_each=8192) == 4
        assert quotas.max_servers(unit, project_id, cores_each=1, ram_each=1) == 9
    compute_api.put(
        f"/os-quota-sets/{project_id}",
        json={"quota_set": {"instances": -1, "cores": -1, "ram": -1}},
    )
    with store.transaction() as unit:
        assert quotas.max_servers(unit, project_id, cores_each=4, ram_each=8192) == PLENTY
    compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"cores": 2, "force": True}})
    with store.transaction() as unit:
        assert quotas.max_servers(unit, project_id, cores_each=1, ram_each=1) == 0
        assert quotas.limit(unit, project_id, "cores") == 2
        assert quotas.limit(unit, project_id, "injected_files") == 5


def test_key_pairs_are_counted_per_user(compute_api: ComputeApi) -> None:
    quotas = quotas_of(compute_api)
    project_id = new_project(compute_api)
    compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"key_pairs": 2}})
    user_id = uuid.uuid4().hex
    store = compute_api.cloud.compute.clusters._store
    with store.transaction() as unit:
        for n in range(2):
            unit.add(
                KeypairRow(
                    user_id=user_id,
                    name=f"key-{n}",
                    type="ssh",
                    public_key="ssh-ed25519 AAAA",
                    fingerprint="00",
                    created_at=utcnow(),
                )
            )
    with store.transaction() as unit:
        quotas.check_keypairs(unit, user_id=uuid.uuid4().hex, project_id=project_id)
        quotas.check_keypairs(unit, user_id=user_id, project_id=None)  # default: 100
        with pytest.raises(QuotaExceeded) as exceeded:
            quotas.check_keypairs(unit, user_id=user_id, project_id=project_id)
    assert exceeded.value.message == "Quota exceeded, too many key pairs."


def test_metadata_items_limit(compute_api: ComputeApi) -> None:
    quotas = quotas_of(compute_api)
    project_id = new_project(compute_api)
    quotas.check_metadata_items(project_id, 128)
    with pytest.raises(QuotaExceeded) as exceeded:
        quotas.check_metadata_items(project_id, 129)
    assert exceeded.value.message == "Maximum number of metadata items exceeds 128"
    compute_api.put(f"/os-quota-sets/{project_id}", json={"quota_set": {"metadata_items": -1}})
    quotas.check_metadata_items(project_id, 10_000)
