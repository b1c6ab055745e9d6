"""Unified limits: `/v3/registered_limits`, `/v3/limits`, `/v3/limits/model`, their policy,
their cascades with projects, domains, services and regions, and `LimitService.effective_limit`
(what other vistack services ask before letting a project use more)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    assert_fault,
    authenticate_by_id,
    create_project,
    create_user,
    created,
    persona,
    role_id,
    unique,
)


def _service(api: IdentityApi, type: str | None = None) -> dict[str, Any]:
    body = {"type": type or unique("type"), "name": unique("svc")}
    return created(api.post("/services", json={"service": body}), "service")


def _region(api: IdentityApi) -> str:
    region: dict[str, Any] = created(
        api.post("/regions", json={"region": {"id": unique("Region")}}), "region"
    )
    return str(region["id"])


def _register(api: IdentityApi, *specs: dict[str, Any], token: str | None = None) -> Any:
    return api.post("/registered_limits", token=token, json={"registered_limits": list(specs)})


def _registered(api: IdentityApi, service_id: str, **fields: Any) -> dict[str, Any]:
    spec = {"service_id": service_id, "resource_name": unique("res"), "default_limit": 10}
    response = _register(api, {**spec, **fields})
    assert response.status_code == 201, response.text
    found: list[dict[str, Any]] = response.json()["registered_limits"]
    assert len(found) == 1
    return found[0]


def _create_limits(api: IdentityApi, *specs: dict[str, Any], token: str | None = None) -> Any:
    return api.post("/limits", token=token, json={"limits": list(specs)})


def _limit(api: IdentityApi, registered: dict[str, Any], **fields: Any) -> dict[str, Any]:
    spec = {
        "service_id": registered["service_id"],
        "resource_name": registered["resource_name"],
        "resource_limit": 3,
    }
    if registered["region_id"] is not None:
        spec["region_id"] = registered["region_id"]
    response = _create_limits(api, {**spec, **fields})
    assert response.status_code == 201, response.text
    found: list[dict[str, Any]] = response.json()["limits"]
    assert len(found) == 1
    return found[0]


def _ids(response: Any, key: str) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()[key]}


def _create_domain(api: IdentityApi) -> dict[str, Any]:
    return created(api.post("/domains", json={"domain": {"name": unique("dom")}}), "domain")


@contextmanager
def _statements(api: IdentityApi) -> Iterator[list[str]]:
    """Every SQL statement the cloud runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = api.cloud.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_model_is_flat(api: IdentityApi) -> None:
    member = persona(api)
    for token in (None, member.token):
        response = api.get("/limits/model", token=token)
        assert response.status_code == 200, response.text
        model = response.json()["model"]
        assert model["name"] == "flat"
        assert "hierarchy" in model["description"]


def test_registered_limits_crud_and_filters(api: IdentityApi) -> None:
    service, other = _service(api), _service(api)
    region = _region(api)
    name = unique("res")
    response = _register(
        api,
        {"service_id": service["id"], "resource_name": name, "default_limit": 10},
        {
            "service_id": service["id"],
            "resource_name": name,
            "default_limit": 5,
            "region_id": region,
            "description": "per region",
        },
        {"service_id": other["id"], "resource_name": name, "default_limit": -1},
    )
    assert response.status_code == 201, response.text
    everywhere, in_region, unlimited = response.json()["registered_limits"]
    assert list(response.json()) == ["registered_limits"]
    assert everywhere["service_id"] == service["id"] and everywhere["region_id"] is None
    assert (everywhere["resource_name"], everywhere["default_limit"]) == (name, 10)
    assert everywhere["description"] is None and len(everywhere["id"]) == 32
    assert everywhere["links"]["self"].endswith(
        f"/identity/v3/registered_limits/{everywhere['id']}"
    )
    assert (in_region["region_id"], in_region["description"]) == (region, "per region")
    assert unlimited["default_limit"] == -1

    path = f"/registered_limits/{in_region['id']}"
    assert api.get(path).json() == {"registered_limit": in_region}
    every = _ids(api.get("/registered_limits"), "registered_limits")
    assert {everywhere["id"], in_region["id"], unlimited["id"]} <= every
    by_service = api.get("/registered_limits", params={"service_id": service["id"]})
    assert _ids(by_service, "registered_limits") == {everywhere["id"], in_region["id"]}
    by_region = api.get("/registered_limits", params={"region_id": region})
    assert _ids(by_region, "registered_limits") == {in_region["id"]}
    by_name = api.get("/registered_limits", params={"resource_name": name})
    assert _ids(by_name, "registered_limits") == {
        everywhere["id"],
        in_region["id"],
        unlimited["id"],
    }
    both = api.get("/registered_limits", params={"resource_name": name, "service_id": other["id"]})
    assert _ids(both, "registered_limits") == {unlimited["id"]}
    assert api.get("/registered_limits").json()["links"]["next"] is None

    updated = api.patch(
        path, json={"registered_limit": {"default_limit": 7, "description": "changed"}}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["registered_limit"] == {
        **in_region,
        "default_limit": 7,
        "description": "changed",
    }
    renamed = api.patch(
        path, json={"registered_limit": {"resource_name": unique("res"), "description": None}}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["registered_limit"]["description"] is None
    assert api.get(path).json() == renamed.json()
    # null moves the registration to every region.
    moved = api.patch(path, json={"registered_limit": {"region_id": None}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["registered_limit"]["region_id"] is None

    assert api.delete(path).status_code == 204
    assert_fault(api.get(path), 404)
    assert_fault(api.delete(path), 404)
    assert_fault(api.patch(path, json={"registered_limit": {"default_limit": 1}}), 404)


def test_registered_limit_conflicts(api: IdentityApi) -> None:
    service = _service(api)
    region = _region(api)
    existing = _registered(api, service["id"])
    name = existing["resource_name"]
    same = {"service_id": service["id"], "resource_name": name, "default_limit": 1}
    assert_fault(_register(api, same), 409)
    in_region = _registered(api, service["id"], resource_name=name, region_id=region)
    assert_fault(_register(api, {**same, "region_id": region}), 409)

    # All or nothing: a duplicate inside one request leaves nothing behind.
    fresh = unique("res")
    twice = {"service_id": service["id"], "resource_name": fresh, "default_limit": 1}
    assert_fault(_register(api, twice, twice), 409)
    assert not api.get("/registered_limits", params={"resource_name": fresh}).json()[
        "registered_limits"
    ]
    ok = {"service_id": service["id"], "resource_name": fresh, "default_limit": 1}
    assert_fault(_register(api, ok, same), 409)
    assert not api.get("/registered_limits", params={"resource_name": fresh}).json()[
        "registered_limits"
    ]

    # An update may not land on another registration's (service, region, resource).
    path = f"/registered_limits/{in_region['id']}"
    assert_fault(api.patch(path, json={"registered_limit": {"region_id": None}}), 409)
    other = _registered(api, service["id"])
    assert_fault(
        api.patch(
            f"/registered_limits/{other['id']}", json={"registered_limit": {"resource_name": name}}
        ),
        409,
    )


def test_registered_limit_validation(api: IdentityApi) -> None:
    service = _service(api)
    good = {"service_id": service["id"], "resource_name": unique("res"), "default_limit": 1}
    for bad in (
        {**good, "service_id": "no-such-service"},
        {**good, "region_id": "no-such-region"},
        {**good, "default_limit": -2},
        {**good, "default_limit": 2**31},
        {**good, "default_limit": "5"},
        {**good, "default_limit": True},
        {**good, "resource_name": ""},
        {**good, "unexpected": 1},
        {key: value for key, value in good.items() if key != "resource_name"},
        {key: value for key, value in good.items() if key != "default_limit"},
    ):
        assert_fault(_register(api, bad), 400)
    assert_fault(api.post("/registered_limits", json={"registered_limits": []}), 400)
    assert_fault(api.post("/registered_limits", json={"registered_limit": good}), 400)
    assert not api.get(
        "/registered_limits", params={"resource_name": good["resource_name"]}
    ).json()["registered_limits"]

    path = f"/registered_limits/{_registered(api, service['id'])['id']}"
    for change in (
        {"default_limit": None},
        {"default_limit": -5},
        {"service_id": "no-such-service"},
        {"region_id": "no-such-region"},
        {"id": "other"},
    ):
        assert_fault(api.patch(path, json={"registered_limit": change}), 400)
    assert_fault(api.get("/registered_limits/nope"), 404)


def test_limits_crud_and_filters(api: IdentityApi) -> None:
    service = _service(api)
    region = _region(api)
    registered = _registered(api, service["id"])
    regional = _registered(
        api, service["id"], resource_name=registered["resource_name"], region_id=region
    )
    project, other = create_project(api), create_project(api)
    domain = _create_domain(api)

    response = _create_limits(
        api,
        {
            "service_id": service["id"],
            "resource_name": registered["resource_name"],
            "resource_limit": 3,
            "project_id": project["id"],
            "description": "three",
        },
        {
            "service_id": service["id"],
            "resource_name": registered["resource_name"],
            "region_id": region,
            "resource_limit": 0,
            "project_id": project["id"],
        },
    )
    assert response.status_code == 201, response.text
    assert list(response.json()) == ["limits"]
    mine, mine_regional = response.json()["limits"]
    assert mine == {
        "id": mine["id"],
        "project_id": project["id"],
        "domain_id": None,
        "service_id": service["id"],
        "region_id": None,
        "resource_name": registered["resource_name"],
        "resource_limit": 3,
        "description": "three",
        "links": {"self": mine["links"]["self"]},
    }
    assert mine["links"]["self"].endswith(f"/identity/v3/limits/{mine['id']}")
    assert (mine_regional["region_id"], mine_regional["resource_limit"]) == (region, 0)
    theirs = _limit(api, registered, project_id=other["id"], resource_limit=-1)
    for_domain = _limit(api, regional, domain_id=domain["id"])
    assert (for_domain["domain_id"], for_domain["project_id"]) == (domain["id"], None)

    path = f"/limits/{mine['id']}"
    assert api.get(path).json() == {"limit": mine}
    every = {mine["id"], mine_regional["id"], theirs["id"], for_domain["id"]}
    assert every <= _ids(api.get("/limits"), "limits")
    assert _ids(api.get("/limits", params={"service_id": service["id"]}), "limits") == every
    assert _ids(api.get("/limits", params={"project_id": project["id"]}), "limits") == {
        mine["id"],
        mine_regional["id"],
    }
    assert _ids(api.get("/limits", params={"domain_id": domain["id"]}), "limits") == {
        for_domain["id"]
    }
    assert _ids(api.get("/limits", params={"region_id": region}), "limits") == {
        mine_regional["id"],
        for_domain["id"],
    }
    by_resource = api.get(
        "/limits",
        params={"resource_name": registered["resource_name"], "project_id": other["id"]},
    )
    assert _ids(by_resource, "limits") == {theirs["id"]}

    updated = api.patch(path, json={"limit": {"resource_limit": 0, "description": "none left"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["limit"] == {**mine, "resource_limit": 0, "description": "none left"}
    cleared = api.patch(path, json={"limit": {"description": None}})
    assert cleared.json()["limit"] == {**mine, "resource_limit": 0, "description": None}
    assert api.get(path).json() == cleared.json()

    assert api.delete(path).status_code == 204
    assert_fault(api.get(path), 404)
    assert_fault(api.delete(path), 404)
    assert_fault(api.patch(path, json={"limit": {"resource_limit": 1}}), 404)


def test_a_limit_needs_a_registered_limit(api: IdentityApi) -> None:
    """Keystone's NoLimitReference is a 403, which Tempest relies on to skip quota tests."""
    service = _service(api)
    project = create_project(api)
    registered = _registered(api, service["id"])
    spec = {
        "service_id": service["id"],
        "resource_name": unique("unregistered"),
        "resource_limit": 1,
        "project_id": project["id"],
    }
    assert_fault(_create_limits(api, spec), 403)
    # The registration is for every region, not for this one in particular.
    regional = {**spec, "resource_name": registered["resource_name"], "region_id": _region(api)}
    assert_fault(_create_limits(api, regional), 403)
    assert not api.get("/limits", params={"project_id": project["id"]}).json()["limits"]


def test_limit_validation(api: IdentityApi) -> None:
    service = _service(api)
    registered = _registered(api, service["id"])
    project = create_project(api)
    domain = _create_domain(api)
    good = {
        "service_id": service["id"],
        "resource_name": registered["resource_name"],
        "resource_limit": 1,
        "project_id": project["id"],
    }
    without_owner = {key: value for key, value in good.items() if key != "project_id"}
    for bad in (
        without_owner,
        {**good, "domain_id": domain["id"]},
        {**good, "project_id": "no-such-project"},
        {**without_owner, "domain_id": "no-such-domain"},
        {**good, "service_id": "no-such-service"},
        {**good, "region_id": "no-such-region"},
        {**good, "resource_limit": -2},
        {**good, "resource_limit": 1.5},
        {**good, "unexpected": True},
        {key: value for key, value in good.items() if key != "resource_limit"},
    ):
        assert_fault(_create_limits(api, bad), 400)
    assert_fault(api.post("/limits", json={"limits": []}), 400)
    assert not api.get("/limits", params={"project_id": project["id"]}).json()["limits"]

    path = f"/limits/{_limit(api, registered, project_id=project['id'])['id']}"
    for change in (
        {"resource_limit": None},
        {"resource_limit": -3},
        {"project_id": create_project(api)["id"]},
        {"service_id": service["id"]},
    ):
        assert_fault(api.patch(path, json={"limit": change}), 400)
    assert api.get(path).json()["limit"]["resource_limit"] == 3


def test_limit_conflicts(api: IdentityApi) -> None:
    service = _service(api)
    registered = _registered(api, service["id"])
    project, other = create_project(api), create_project(api)
    domain = _create_domain(api)
    _limit(api, registered, project_id=project["id"])
    spec = {
        "service_id": service["id"],
        "resource_name": registered["resource_name"],
        "resource_limit": 9,
        "project_id": project["id"],
    }
    assert_fault(_create_limits(api, spec), 409)
    # All or nothing: the other project's limit is not created either.
    assert_fault(_create_limits(api, {**spec, "project_id": other["id"]}, spec), 409)
    assert not api.get("/limits", params={"project_id": other["id"]}).json()["limits"]
    _limit(api, registered, project_id=other["id"])
    _limit(api, registered, domain_id=domain["id"])
    domain_spec = {key: value for key, value in spec.items() if key != "project_id"}
    assert_fault(_create_limits(api, {**domain_spec, "domain_id": domain["id"]}), 409)


def test_a_registered_limit_in_use_cannot_change(api: IdentityApi) -> None:
    """Keystone refuses (403) to change or delete a registration limits refer to."""
    registered = _registered(api, _service(api)["id"])
    limit = _limit(api, registered, project_id=create_project(api)["id"])
    path = f"/registered_limits/{registered['id']}"
    assert_fault(api.patch(path, json={"registered_limit": {"default_limit": 20}}), 403)
    assert_fault(api.delete(path), 403)
    assert api.get(path).json()["registered_limit"] == registered
    assert api.delete(f"/limits/{limit['id']}").status_code == 204
    assert api.patch(path, json={"registered_limit": {"default_limit": 20}}).status_code == 200
    assert api.delete(path).status_code == 204


def test_a_member_reads_registered_limits_and_its_own_limits_only(api: IdentityApi) -> None:
    member = persona(api)
    service = _service(api)
    registered = _registered(api, service["id"])
    mine = _limit(api, registered, project_id=member.project_id)
    theirs = _limit(api, registered, project_id=create_project(api)["id"])
    for_domain = _limit(api, registered, domain_id=_create_domain(api)["id"])
    token = member.token

    assert registered["id"] in _ids(api.get("/registered_limits", token=token), "registered_limits")
    shown = api.get(f"/registered_limits/{registered['id']}", token=token)
    assert shown.status_code == 200, shown.text
    assert _ids(api.get("/limits", token=token), "limits") == {mine["id"]}
    filtered = api.get("/limits", token=token, params={"service_id": service["id"]})
    assert _ids(filtered, "limits") == {mine["id"]}
    assert api.get(f"/limits/{mine['id']}", token=token).json() == {"limit": mine}
    assert_fault(api.get(f"/limits/{theirs['id']}", token=token), 403)
    assert_fault(api.get(f"/limits/{for_domain['id']}", token=token), 403)
    # 403 before 404, as in Keystone: a member learns nothing about which ids exist.
    assert_fault(api.get("/limits/no-such-limit", token=token), 403)

    spec = {"service_id": service["id"], "resource_name": unique("res"), "default_limit": 1}
    assert_fault(_register(api, spec, token=token), 403)
    for method, path, body in (
        ("PATCH", f"/registered_limits/{registered['id']}", {"registered_limit": {}}),
        ("DELETE", f"/registered_limits/{registered['id']}", None),
        ("PATCH", f"/limits/{mine['id']}", {"limit": {"resource_limit": 100}}),
        ("DELETE", f"/limits/{mine['id']}", None),
        ("DELETE", f"/limits/{theirs['id']}", None),
    ):
        assert_fault(api.request(method, path, token=token, json=body), 403)
    raise_own = {
        "service_id": service["id"],
        "resource_name": registered["resource_name"],
        "resource_limit": 100,
        "project_id": member.project_id,
    }
    assert_fault(_create_limits(api, raise_own, token=token), 403)
    assert api.get(f"/limits/{mine['id']}").json() == {"limit": mine}


def test_a_domain_scoped_token_reads_its_domains_limits(api: IdentityApi) -> None:
    domain = _create_domain(api)
    registered = _registered(api, _service(api)["id"])
    inside = create_project(api, domain_id=domain["id"])
    in_domain = _limit(api, registered, project_id=inside["id"])
    of_domain = _limit(api, registered, domain_id=domain["id"])
    outside = _limit(api, registered, project_id=create_project(api)["id"])
    password = unique("pw")
    user = create_user(api, password=password, domain_id=domain["id"])
    grant = f"/domains/{domain['id']}/users/{user['id']}/roles/{role_id(api, 'reader')}"
    assert api.put(grant).status_code == 204
    response = authenticate_by_id(api, user["id"], password, {"domain": {"id": domain["id"]}})
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]

    assert _ids(api.get("/limits", token=token), "limits") == {in_domain["id"], of_domain["id"]}
    assert api.get(f"/limits/{in_domain['id']}", token=token).status_code == 200
    assert api.get(f"/limits/{of_domain['id']}", token=token).status_code == 200
    assert_fault(api.get(f"/limits/{outside['id']}", token=token), 403)


def test_effective_limit_resolution(api: IdentityApi) -> None:
    limits = api.cloud.identity.limits
    type = unique("type")
    resource = unique("res")
    project, other = create_project(api), create_project(api)
    assert limits.effective_limit(type, resource, project["id"]) is None

    service = _service(api, type)
    assert limits.effective_limit(type, resource, project["id"]) is None
    region = _region(api)
    everywhere = _registered(api, service["id"], resource_name=resource, default_limit=10)
    assert limits.effective_limit(type, resource, project["id"]) == 10
    assert limits.effective_limit(type, resource, project["id"], region) == 10
    assert limits.effective_limit(type, unique("res"), project["id"]) is None
    assert limits.effective_limit(unique("type"), resource, project["id"]) is None

    # A registration for the region beats the region-less one, in that region only.
    _registered(api, service["id"], resource_name=resource, region_id=region, default_limit=7)
    assert limits.effective_limit(type, resource, project["id"], region) == 7
    assert limits.effective_limit(type, resource, project["id"]) == 10
    assert limits.effective_limit(type, resource, project["id"], _region(api)) == 10

    # The project's own limit beats any default; its limit for the region beats its other one.
    _limit(api, everywhere, project_id=project["id"], resource_limit=3)
    assert limits.effective_limit(type, resource, project["id"]) == 3
    assert limits.effective_limit(type, resource, project["id"], region) == 3
    assert limits.effective_limit(type, resource, other["id"], region) == 7
    regional = api.get("/registered_limits", params={"region_id": region}).json()
    _limit(api, regional["registered_limits"][0], project_id=project["id"], resource_limit=-1)
    assert limits.effective_limit(type, resource, project["id"], region) == -1
    assert limits.effective_limit(type, resource, project["id"]) == 3

    # A second service of the type (another image service) does not hide the first one's.
    _service(api, type)
    assert limits.effective_limit(type, resource, project["id"]) == 3


def test_effective_limit_is_cached_until_limits_change(api: IdentityApi) -> None:
    limits = api.cloud.identity.limits
    type = unique("type")
    service = _service(api, type)
    registered = _registered(api, service["id"], default_limit=10)
    resource = registered["resource_name"]
    project = create_project(api)
    limit = _limit(api, registered, project_id=project["id"], resource_limit=3)

    assert limits.effective_limit(type, resource, project["id"]) == 3
    with _statements(api) as statements:
        assert limits.effective_limit(type, resource, project["id"]) == 3
        assert limits.effective_limit(type, unique("res"), project["id"]) is None
        assert limits.effective_limit(type, unique("res"), project["id"]) is None
    # Only the first unknown resource went to the database; nothing else did.
    assert 0 < len(statements) <= 4, statements
    with _statements(api) as statements:
        assert limits.effective_limit(type, resource, project["id"]) == 3
    assert statements == []

    path = f"/limits/{limit['id']}"
    assert api.patch(path, json={"limit": {"resource_limit": 5}}).status_code == 200
    assert limits.effective_limit(type, resource, project["id"]) == 5
    assert api.delete(path).status_code == 204
    assert limits.effective_limit(type, resource, project["id"]) == 10
    registered_path = f"/registered_limits/{registered['id']}"
    patched = api.patch(registered_path, json={"registered_limit": {"default_limit": 12}})
    assert patched.status_code == 200, patched.text
    assert limits.effective_limit(type, resource, project["id"]) == 12
    assert api.delete(registered_path).status_code == 204
    assert limits.effective_limit(type, resource, project["id"]) is None


def test_deleting_a_project_or_domain_deletes_its_limits(api: IdentityApi) -> None:
    registered = _registered(api, _service(api)["id"])
    project = create_project(api)
    limit = _limit(api, registered, project_id=project["id"])
    kept = _limit(api, registered, project_id=create_project(api)["id"])
    assert api.delete(f"/projects/{project['id']}").status_code == 204
    assert_fault(api.get(f"/limits/{limit['id']}"), 404)
    assert limit["id"] not in _ids(api.get("/limits"), "limits")
    assert api.get(f"/limits/{kept['id']}").status_code == 200

    domain = _create_domain(api)
    of_domain = _limit(api, registered, domain_id=domain["id"])
    in_domain = _limit(
        api, registered, project_id=create_project(api, domain_id=domain["id"])["id"]
    )
    assert (
        api.patch(f"/domains/{domain['id']}", json={"domain": {"enabled": False}}).status_code
        == 200
    )
    assert api.delete(f"/domains/{domain['id']}").status_code == 204
    assert_fault(api.get(f"/limits/{of_domain['id']}"), 404)
    assert_fault(api.get(f"/limits/{in_domain['id']}"), 404)
    # The registration outlives them, and may now be deleted once the last limit goes.
    assert api.delete(f"/limits/{kept['id']}").status_code == 204
    assert api.delete(f"/registered_limits/{registered['id']}").status_code == 204


def test_a_service_or_region_in_use_cannot_be_deleted(api: IdentityApi) -> None:
    service = _service(api)
    region = _region(api)
    registered = _registered(api, service["id"], region_id=region)
    assert_fault(api.delete(f"/services/{service['id']}"), 409)
    assert_fault(api.delete(f"/regions/{region}"), 409)
    assert api.get(f"/services/{service['id']}").status_code == 200
    assert api.get(f"/regions/{region}").status_code == 200

    assert api.delete(f"/registered_limits/{registered['id']}").status_code == 204
    assert api.delete(f"/services/{service['id']}").status_code == 204
    assert api.delete(f"/regions/{region}").status_code == 204
