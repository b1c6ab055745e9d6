"""`/v3/groups`: CRUD, membership, and roles that reach users through their groups."""

from __future__ import annotations

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    assert_fault,
    create_group,
    create_project,
    create_user,
    grant,
    project_token,
    revoke,
    token_status,
    unique,
)


def test_create_show_list_and_update_a_group(api: IdentityApi) -> None:
    name = unique("group")
    response = api.post(
        "/groups", json={"group": {"name": name, "description": "d", "domain_id": "default"}}
    )
    assert response.status_code == 201, response.text
    group = response.json()["group"]
    assert (group["name"], group["description"], group["domain_id"]) == (name, "d", "default")
    assert group["links"]["self"].endswith(f"/identity/v3/groups/{group['id']}")
    assert api.get(f"/groups/{group['id']}").json()["group"] == group
    assert api.get("/groups", params={"name": name}).json()["groups"] == [group]
    assert group["id"] in {g["id"] for g in api.get("/groups?domain_id=default").json()["groups"]}

    renamed = unique("renamed")
    updated = api.patch(
        f"/groups/{group['id']}", json={"group": {"name": renamed, "description": "e"}}
    )
    assert updated.status_code == 200, updated.text
    shown = api.get(f"/groups/{group['id']}").json()["group"]
    assert (shown["name"], shown["description"]) == (renamed, "e")


def test_group_defaults_to_the_callers_domain(api: IdentityApi) -> None:
    response = api.post("/groups", json={"group": {"name": unique("group")}})
    assert response.status_code == 201
    assert response.json()["group"]["domain_id"] == "default"


def test_duplicate_group_name_is_409(api: IdentityApi) -> None:
    group = create_group(api)
    assert_fault(api.post("/groups", json={"group": {"name": group["name"]}}), 409)
    other = create_group(api)
    assert_fault(api.patch(f"/groups/{other['id']}", json={"group": {"name": group["name"]}}), 409)


def test_membership(api: IdentityApi) -> None:
    group = create_group(api)
    alice, bob = create_user(api), create_user(api)
    base = f"/groups/{group['id']}/users"
    assert api.get(base).json()["users"] == []
    assert api.head(f"{base}/{alice['id']}").status_code == 404
    assert_fault(api.get(f"{base}/{alice['id']}"), 404)

    assert api.put(f"{base}/{alice['id']}").status_code == 204
    assert api.put(f"{base}/{alice['id']}").status_code == 204  # idempotent
    assert api.put(f"{base}/{bob['id']}").status_code == 204
    assert api.head(f"{base}/{alice['id']}").status_code == 204
    assert api.get(f"{base}/{alice['id']}").status_code == 204
    assert {u["id"] for u in api.get(base).json()["users"]} == {alice["id"], bob["id"]}
    assert [g["id"] for g in api.get(f"/users/{alice['id']}/groups").json()["groups"]] == [
        group["id"]
    ]

    assert api.delete(f"{base}/{alice['id']}").status_code == 204
    assert api.head(f"{base}/{alice['id']}").status_code == 404
    assert_fault(api.get(f"{base}/{alice['id']}"), 404)
    assert_fault(api.delete(f"{base}/{alice['id']}"), 404)
    assert [u["id"] for u in api.get(base).json()["users"]] == [bob["id"]]
    assert api.get(f"/users/{alice['id']}/groups").json()["groups"] == []


def test_membership_with_unknown_user_or_group_is_404(api: IdentityApi) -> None:
    group = create_group(api)
    user = create_user(api)
    assert_fault(api.put(f"/groups/{group['id']}/users/nope"), 404)
    assert_fault(api.put(f"/groups/nope/users/{user['id']}"), 404)
    assert_fault(api.get("/groups/nope/users"), 404)
    assert_fault(api.get("/groups/nope"), 404)


def test_group_role_reaches_members_and_leaves_with_them(api: IdentityApi) -> None:
    project = create_project(api)
    group = create_group(api)
    password = unique("pw")
    user = create_user(api, password=password)
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    grant(api, project["id"], "member", group_id=group["id"])

    token = project_token(api, user["id"], password, project["id"])
    body = api.get("/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
    assert sorted(r["name"] for r in body["roles"]) == ["member", "reader"]

    # Leaving the group takes the role away: the project token stops working at once.
    assert api.delete(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    assert token_status(api, token) == 404
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    token = project_token(api, user["id"], password, project["id"])
    # So does revoking the group's role.
    revoke(api, project["id"], "member", group_id=group["id"])
    assert token_status(api, token) == 404


def test_deleting_a_group_removes_its_grants(api: IdentityApi) -> None:
    project = create_project(api)
    group = create_group(api)
    password = unique("pw")
    user = create_user(api, password=password)
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    grant(api, project["id"], "reader", group_id=group["id"])
    token = project_token(api, user["id"], password, project["id"])

    assert api.delete(f"/groups/{group['id']}").status_code == 204
    assert_fault(api.get(f"/groups/{group['id']}"), 404)
    assert token_status(api, token) == 404
    assert api.get(f"/users/{user['id']}/groups").json()["groups"] == []
    found = api.get("/role_assignments", params={"group.id": group["id"]})
    assert found.json()["role_assignments"] == []
    assert api.get(f"/users/{user['id']}").status_code == 200


def test_deleting_a_user_removes_its_memberships(api: IdentityApi) -> None:
    group = create_group(api)
    user = create_user(api)
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    assert api.delete(f"/users/{user['id']}").status_code == 204
    assert api.get(f"/groups/{group['id']}/users").json()["users"] == []
