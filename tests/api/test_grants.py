"""Role grants on projects, domains and the system (OS-INHERIT too), and `/v3/role_assignments`."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    assert_fault,
    authenticate_by_id,
    create_group,
    create_project,
    create_role,
    create_user,
    grant,
    persona,
    project_token,
    revoke,
    role_id,
    token_status,
    unique,
)


def _assignments(api: IdentityApi, query: str) -> list[dict[str, Any]]:
    response = api.get(f"/role_assignments?{query}")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["role_assignments"]
    return found


def _triples(found: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(actor id, role id, target id) of each assignment."""
    result = set()
    for a in found:
        actor = (a.get("user") or a["group"])["id"]
        scope = a["scope"]
        target = (scope.get("project") or scope.get("domain") or {"id": "system"})["id"]
        result.add((actor, a["role"]["id"], target))
    return result


def test_grant_check_list_and_revoke_a_project_role(api: IdentityApi) -> None:
    user, project = create_user(api), create_project(api)
    member = role_id(api, "member")
    path = f"/projects/{project['id']}/users/{user['id']}/roles"
    assert api.head(f"{path}/{member}").status_code == 404
    assert api.get(path).json()["roles"] == []

    assert api.put(f"{path}/{member}").status_code == 204
    assert api.put(f"{path}/{member}").status_code == 204  # granting twice is harmless
    assert api.head(f"{path}/{member}").status_code == 204
    assert api.get(f"{path}/{member}").status_code == 204
    roles = api.get(path).json()["roles"]
    assert [(r["id"], r["name"]) for r in roles] == [(member, "member")]

    assert api.delete(f"{path}/{member}").status_code == 204
    assert api.head(f"{path}/{member}").status_code == 404
    assert_fault(api.delete(f"{path}/{member}"), 404)
    assert api.get(path).json()["roles"] == []


def test_grants_on_a_domain(api: IdentityApi) -> None:
    user = create_user(api)
    group = create_group(api)
    reader = role_id(api, "reader")
    for actor in (f"users/{user['id']}", f"groups/{group['id']}"):
        path = f"/domains/default/{actor}/roles"
        assert api.put(f"{path}/{reader}").status_code == 204
        assert [r["id"] for r in api.get(path).json()["roles"]] == [reader]
    found = _assignments(api, "scope.domain.id=default&role.id=" + reader)
    assert {(user["id"], reader, "default"), (group["id"], reader, "default")} <= _triples(found)


def test_grants_with_unknown_parts_are_404(api: IdentityApi) -> None:
    user, project = create_user(api), create_project(api)
    member = role_id(api, "member")
    assert_fault(api.put(f"/projects/{project['id']}/users/{user['id']}/roles/nope"), 404)
    assert_fault(api.put(f"/projects/{project['id']}/users/nope/roles/{member}"), 404)
    assert_fault(api.put(f"/projects/nope/users/{user['id']}/roles/{member}"), 404)
    assert_fault(api.put(f"/projects/{project['id']}/groups/nope/roles/{member}"), 404)
    assert_fault(api.put(f"/domains/nope/users/{user['id']}/roles/{member}"), 404)


def test_removing_a_role_invalidates_the_project_token(api: IdentityApi) -> None:
    user = persona(api, "member")
    assert token_status(api, user.token) == 200
    revoke(api, user.project_id, "member", user_id=user.user_id)
    assert token_status(api, user.token) == 404
    assert_fault(api.get(f"/users/{user.user_id}", token=user.token), 401)
    assert_fault(
        authenticate_by_id(api, user.user_id, user.password, {"project": {"id": user.project_id}}),
        401,
    )


def test_removing_one_of_two_roles_keeps_the_token_with_fewer_roles(api: IdentityApi) -> None:
    user = persona(api, "member")
    extra = create_role(api)
    api.put(f"/projects/{user.project_id}/users/{user.user_id}/roles/{extra['id']}")
    body = api.get("/auth/tokens", headers={"X-Subject-Token": user.token}).json()["token"]
    assert {r["name"] for r in body["roles"]} == {"member", "reader", extra["name"]}
    revoke(api, user.project_id, "member", user_id=user.user_id)
    body = api.get("/auth/tokens", headers={"X-Subject-Token": user.token}).json()["token"]
    assert {r["name"] for r in body["roles"]} == {extra["name"]}


def test_role_assignments_filters_and_links(api: IdentityApi) -> None:
    user, project = create_user(api), create_project(api)
    grant(api, project["id"], "member", user_id=user["id"])
    member = role_id(api, "member")
    found = _assignments(api, f"user.id={user['id']}")
    assert found == [
        {
            "user": {"id": user["id"]},
            "role": {"id": member},
            "scope": {"project": {"id": project["id"]}},
            "links": {
                "assignment": (
                    f"http://vistack.test/identity/v3/projects/{project['id']}"
                    f"/users/{user['id']}/roles/{member}"
                )
            },
        }
    ]
    assert _assignments(api, f"scope.project.id={project['id']}") == found
    assert _assignments(api, f"scope.project.id={project['id']}&role.id={member}") == found
    reader = role_id(api, "reader")
    assert _assignments(api, f"scope.project.id={project['id']}&role.id={reader}") == []


def test_effective_assignments_expand_groups_and_implied_roles(api: IdentityApi) -> None:
    user, project, group = create_user(api), create_project(api), create_group(api)
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    grant(api, project["id"], "member", group_id=group["id"])
    member, reader = role_id(api, "member"), role_id(api, "reader")

    direct = _assignments(api, f"user.id={user['id']}")
    assert direct == []
    effective = _assignments(api, f"user.id={user['id']}&effective")
    assert _triples(effective) == {
        (user["id"], member, project["id"]),
        (user["id"], reader, project["id"]),
    }
    for a in effective:
        assert a["links"]["membership"].endswith(f"/groups/{group['id']}/users/{user['id']}")
    implied = next(a for a in effective if a["role"]["id"] == reader)
    assert implied["links"]["prior_role"].endswith(f"/roles/{member}")
    assert "group" not in implied

    by_group = _assignments(api, f"group.id={group['id']}")
    assert _triples(by_group) == {(group["id"], member, project["id"])}


def test_effective_with_a_group_filter_is_400(api: IdentityApi) -> None:
    group = create_group(api)
    assert_fault(api.get(f"/role_assignments?effective&group.id={group['id']}"), 400)


def test_include_names(api: IdentityApi) -> None:
    user, project = create_user(api), create_project(api)
    grant(api, project["id"], "reader", user_id=user["id"])
    [assignment] = _assignments(api, f"user.id={user['id']}&include_names=true")
    default = {"id": "default", "name": "Default"}
    assert assignment["user"] == {"id": user["id"], "name": user["name"], "domain": default}
    assert assignment["role"] == {"id": role_id(api, "reader"), "name": "reader"}
    assert assignment["scope"]["project"] == {
        "id": project["id"],
        "name": project["name"],
        "domain": default,
    }


def test_inherited_domain_grant_reaches_every_project_of_the_domain(api: IdentityApi) -> None:
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    password = unique("pw")
    user = api.post(
        "/users",
        json={"user": {"name": unique("u"), "domain_id": domain["id"], "password": password}},
    ).json()["user"]
    first = create_project(api, domain_id=domain["id"])
    second = create_project(api, domain_id=domain["id"])
    member = role_id(api, "member")
    path = (
        f"/OS-INHERIT/domains/{domain['id']}/users/{user['id']}/roles/{member}"
        "/inherited_to_projects"
    )
    assert api.put(path).status_code == 204, api.put(path).text
    assert api.head(path).status_code == 204
    listed = api.get(
        f"/OS-INHERIT/domains/{domain['id']}/users/{user['id']}/roles/inherited_to_projects"
    )
    assert [r["id"] for r in listed.json()["roles"]] == [member]
    # Not a grant on the domain itself.
    assert api.get(f"/domains/{domain['id']}/users/{user['id']}/roles").json()["roles"] == []

    [raw] = _assignments(api, f"user.id={user['id']}")
    assert raw["scope"] == {"domain": {"id": domain["id"]}, "OS-INHERIT:inherited_to": "projects"}
    assert raw["links"]["assignment"].endswith(path)
    assert _assignments(api, f"user.id={user['id']}&scope.OS-INHERIT:inherited_to=projects") == [
        raw
    ]

    effective = _triples(_assignments(api, f"user.id={user['id']}&effective"))
    assert (user["id"], member, first["id"]) in effective
    assert (user["id"], member, second["id"]) in effective
    assert all(target != domain["id"] for _, _, target in effective)
    on_second = _assignments(api, f"scope.project.id={second['id']}&effective")
    reader = role_id(api, "reader")  # implied by member
    assert _triples(on_second) == {
        (user["id"], member, second["id"]),
        (user["id"], reader, second["id"]),
    }

    token = project_token(api, user["id"], password, second["id"])
    assert token_status(api, token) == 200
    assert_fault(
        authenticate_by_id(api, user["id"], password, {"domain": {"id": domain["id"]}}), 401
    )

    assert api.delete(path).status_code == 204
    assert token_status(api, token) == 404


def test_inherited_project_grant_reaches_the_subtree_only(api: IdentityApi) -> None:
    password = unique("pw")
    user = create_user(api, password=password)
    parent = create_project(api)
    child = create_project(api, parent_id=parent["id"])
    grandchild = create_project(api, parent_id=child["id"])
    reader = role_id(api, "reader")
    path = (
        f"/OS-INHERIT/projects/{parent['id']}/users/{user['id']}/roles/{reader}"
        "/inherited_to_projects"
    )
    assert api.put(path).status_code == 204
    effective = _triples(_assignments(api, f"user.id={user['id']}&effective"))
    assert effective == {(user["id"], reader, child["id"]), (user["id"], reader, grandchild["id"])}
    assert project_token(api, user["id"], password, grandchild["id"])
    assert_fault(
        authenticate_by_id(api, user["id"], password, {"project": {"id": parent["id"]}}), 401
    )


def test_include_subtree(api: IdentityApi) -> None:
    user = create_user(api)
    parent = create_project(api)
    child = create_project(api, parent_id=parent["id"])
    grant(api, parent["id"], "reader", user_id=user["id"])
    grant(api, child["id"], "member", user_id=user["id"])
    only_parent = _triples(_assignments(api, f"scope.project.id={parent['id']}"))
    assert only_parent == {(user["id"], role_id(api, "reader"), parent["id"])}
    tree = _triples(_assignments(api, f"scope.project.id={parent['id']}&include_subtree=true"))
    assert tree == {
        (user["id"], role_id(api, "reader"), parent["id"]),
        (user["id"], role_id(api, "member"), child["id"]),
    }
    assert_fault(api.get("/role_assignments?include_subtree=true"), 400)


def test_system_grants(api: IdentityApi) -> None:
    password = unique("pw")
    user = create_user(api, password=password)
    reader = role_id(api, "reader")
    path = f"/system/users/{user['id']}/roles"
    assert_fault(authenticate_by_id(api, user["id"], password, {"system": {"all": True}}), 401)
    assert api.head(f"{path}/{reader}").status_code == 404
    assert api.put(f"{path}/{reader}").status_code == 204
    assert api.head(f"{path}/{reader}").status_code == 204
    assert [r["id"] for r in api.get(path).json()["roles"]] == [reader]
    [assignment] = _assignments(api, f"user.id={user['id']}&scope.system=all")
    assert assignment["scope"] == {"system": {"all": True}}

    response = authenticate_by_id(api, user["id"], password, {"system": {"all": True}})
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    # A system reader reads everything but changes nothing.
    assert api.get("/users", token=token).status_code == 200
    assert_fault(api.post("/users", token=token, json={"user": {"name": unique("u")}}), 403)

    assert api.delete(f"{path}/{reader}").status_code == 204
    assert token_status(api, token) == 404
