"""`/v3/projects`: CRUD, names per domain, the hierarchy, tags, and what disabling does."""

from __future__ import annotations

from tests.api.conftest import IdentityApi
from tests.api.helpers import (
    assert_fault,
    create_project,
    persona,
    token_status,
    unique,
)


def test_create_show_and_list_a_project(api: IdentityApi) -> None:
    name = unique("project")
    response = api.post(
        "/projects", json={"project": {"name": name, "description": "d", "domain_id": "default"}}
    )
    assert response.status_code == 201, response.text
    project = response.json()["project"]
    assert project["name"] == name
    assert project["description"] == "d"
    assert project["domain_id"] == "default"
    assert project["parent_id"] == "default"  # a top-level project's parent is its domain
    assert project["enabled"] is True
    assert project["is_domain"] is False
    assert project["tags"] == []
    assert project["links"]["self"].endswith(f"/identity/v3/projects/{project['id']}")

    assert api.get(f"/projects/{project['id']}").json()["project"] == project
    listed = api.get("/projects", params={"name": name}).json()["projects"]
    assert listed == [project]


def test_domain_defaults_to_the_callers_domain(api: IdentityApi) -> None:
    response = api.post("/projects", json={"project": {"name": unique("project")}})
    assert response.status_code == 201, response.text
    assert response.json()["project"]["domain_id"] == "default"


def test_list_projects_filters(api: IdentityApi) -> None:
    on = create_project(api)
    off = create_project(api, enabled=False)
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    elsewhere = create_project(api, domain_id=domain["id"])

    in_default = {p["id"] for p in api.get("/projects?domain_id=default").json()["projects"]}
    assert {on["id"], off["id"]} <= in_default
    assert elsewhere["id"] not in in_default
    in_domain = api.get("/projects", params={"domain_id": domain["id"]}).json()["projects"]
    assert [p["id"] for p in in_domain] == [elsewhere["id"]]

    disabled = {p["id"] for p in api.get("/projects?enabled=false").json()["projects"]}
    assert off["id"] in disabled and on["id"] not in disabled
    assert api.get("/projects?is_domain=true").json()["projects"] == []


def test_update_a_project(api: IdentityApi) -> None:
    project = create_project(api)
    new_name = unique("renamed")
    response = api.patch(
        f"/projects/{project['id']}",
        json={"project": {"name": new_name, "description": "new", "enabled": False}},
    )
    assert response.status_code == 200, response.text
    shown = api.get(f"/projects/{project['id']}").json()["project"]
    assert (shown["name"], shown["description"], shown["enabled"]) == (new_name, "new", False)


def test_moving_a_project_is_refused(api: IdentityApi) -> None:
    project = create_project(api)
    other_parent = create_project(api)
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    assert_fault(
        api.patch(f"/projects/{project['id']}", json={"project": {"domain_id": domain["id"]}}),
        400,
    )
    assert_fault(
        api.patch(
            f"/projects/{project['id']}", json={"project": {"parent_id": other_parent["id"]}}
        ),
        403,
    )


def test_project_names_are_unique_per_domain(api: IdentityApi) -> None:
    project = create_project(api)
    duplicate = {"name": project["name"], "domain_id": "default"}
    assert_fault(api.post("/projects", json={"project": duplicate}), 409)
    other = create_project(api)
    assert_fault(
        api.patch(f"/projects/{other['id']}", json={"project": {"name": project["name"]}}), 409
    )
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    same_name_elsewhere = {"name": project["name"], "domain_id": domain["id"]}
    assert api.post("/projects", json={"project": same_name_elsewhere}).status_code == 201


def test_project_in_unknown_domain_or_parent_is_404(api: IdentityApi) -> None:
    assert_fault(api.post("/projects", json={"project": {"name": "x", "domain_id": "nope"}}), 404)
    assert_fault(api.post("/projects", json={"project": {"name": "x", "parent_id": "nope"}}), 404)


def test_project_hierarchy(api: IdentityApi) -> None:
    root = create_project(api)
    child = create_project(api, parent_id=root["id"])
    grandchild = create_project(api, parent_id=child["id"])
    sibling = create_project(api, parent_id=root["id"])
    assert child["parent_id"] == root["id"]
    assert grandchild["domain_id"] == "default"

    children = api.get("/projects", params={"parent_id": root["id"]}).json()["projects"]
    assert {p["id"] for p in children} == {child["id"], sibling["id"]}

    shown = api.get(f"/projects/{grandchild['id']}?parents_as_ids").json()["project"]
    assert shown["parents"] == {child["id"]: {root["id"]: None}}
    subtree = api.get(f"/projects/{root['id']}?subtree_as_ids").json()["project"]["subtree"]
    assert subtree == {child["id"]: {grandchild["id"]: None}, sibling["id"]: None}


def test_a_child_must_share_its_parents_domain(api: IdentityApi) -> None:
    parent = create_project(api)
    domain = api.post("/domains", json={"domain": {"name": unique("dom")}}).json()["domain"]
    body = {"name": unique("p"), "parent_id": parent["id"], "domain_id": domain["id"]}
    assert_fault(api.post("/projects", json={"project": body}), 400)


def test_only_leaves_can_be_deleted(api: IdentityApi) -> None:
    parent = create_project(api)
    child = create_project(api, parent_id=parent["id"])
    assert_fault(api.delete(f"/projects/{parent['id']}"), 403)
    assert api.delete(f"/projects/{child['id']}").status_code == 204
    assert api.delete(f"/projects/{parent['id']}").status_code == 204
    assert_fault(api.get(f"/projects/{parent['id']}"), 404)
    assert_fault(api.delete(f"/projects/{parent['id']}"), 404)


def test_disable_rules_along_the_hierarchy(api: IdentityApi) -> None:
    parent = create_project(api)
    child = create_project(api, parent_id=parent["id"])
    off = {"project": {"enabled": False}}
    on = {"project": {"enabled": True}}
    assert_fault(api.patch(f"/projects/{parent['id']}", json=off), 403)
    assert api.patch(f"/projects/{child['id']}", json=off).status_code == 200
    assert api.patch(f"/projects/{parent['id']}", json=off).status_code == 200
    assert_fault(api.patch(f"/projects/{child['id']}", json=on), 403)
    enabled_under_disabled = {"name": unique("p"), "parent_id": parent["id"]}
    assert_fault(api.post("/projects", json={"project": enabled_under_disabled}), 403)


def test_disabling_a_project_invalidates_its_tokens(api: IdentityApi) -> None:
    user = persona(api)
    assert token_status(api, user.token) == 200
    api.patch(f"/projects/{user.project_id}", json={"project": {"enabled": False}})
    assert token_status(api, user.token) == 404
    assert_fault(api.get("/auth/projects", token=user.token), 401)
    scope = {"project": {"id": user.project_id}}
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": user.user_id, "password": user.password}},
            },
            "scope": scope,
        }
    }
    assert_fault(api.client.post("/identity/v3/auth/tokens", json=body), 401)


def test_deleting_a_project_invalidates_its_tokens(api: IdentityApi) -> None:
    user = persona(api)
    assert api.delete(f"/projects/{user.project_id}").status_code == 204
    assert token_status(api, user.token) == 404


# tags
def test_project_tags(api: IdentityApi) -> None:
    project = create_project(api, tags=["blue", "green"])
    assert project["tags"] == ["blue", "green"]
    base = f"/projects/{project['id']}/tags"
    assert api.get(base).json() == {"tags": ["blue", "green"]}
    assert api.get(f"{base}/blue").status_code == 204
    assert api.head(f"{base}/blue").status_code == 204
    assert_fault(api.get(f"{base}/red"), 404)

    added = api.put(f"{base}/red")
    assert added.status_code == 201
    assert sorted(api.get(base).json()["tags"]) == ["blue", "green", "red"]
    assert api.delete(f"{base}/green").status_code == 204
    assert sorted(api.get(base).json()["tags"]) == ["blue", "red"]
    assert_fault(api.delete(f"{base}/green"), 404)

    replaced = api.put(base, json={"tags": ["one", "two"]})
    assert replaced.status_code == 200, replaced.text
    assert sorted(replaced.json()["tags"]) == ["one", "two"]
    assert sorted(api.get(f"/projects/{project['id']}").json()["project"]["tags"]) == [
        "one",
        "two",
    ]
    assert api.delete(base).status_code == 204
    assert api.get(base).json()["tags"] == []


def test_invalid_tags_are_400(api: IdentityApi) -> None:
    project = create_project(api)
    base = f"/projects/{project['id']}/tags"
    assert_fault(api.put(base, json={"tags": ["a,b"]}), 400)
    assert_fault(api.put(base, json={"tags": [""]}), 400)
    assert_fault(api.put(base, json={"tags": ["x" * 256]}), 400)
    assert_fault(api.put(base, json={"tags": [str(i) for i in range(81)]}), 400)
    assert_fault(api.put(f"{base}/a,b"), 400)
    body = {"name": unique("project"), "tags": ["a/b"]}
    assert_fault(api.post("/projects", json={"project": body}), 400)
    assert api.get(base).json()["tags"] == []


def test_filter_projects_by_tags(api: IdentityApi) -> None:
    marker = unique("t")
    both = create_project(api, tags=[marker, "x"])
    only_marker = create_project(api, tags=[marker])
    only_x = create_project(api, tags=["x", unique("t")])
    neither = create_project(api, tags=[unique("t")])
    mine = {both["id"], only_marker["id"], only_x["id"], neither["id"]}

    def ids(query: str) -> set[str]:
        response = api.get(f"/projects?{query}")
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["projects"]} & mine

    assert ids(f"tags={marker},x") == {both["id"]}
    assert ids(f"tags={marker}") == {both["id"], only_marker["id"]}
    assert ids(f"tags-any={marker},x") == {both["id"], only_marker["id"], only_x["id"]}
    assert ids(f"not-tags={marker},x") == {only_marker["id"], only_x["id"], neither["id"]}
    assert ids(f"not-tags-any={marker}") == {only_x["id"], neither["id"]}
    assert ids(f"tags=x&not-tags-any={marker}") == {only_x["id"]}
