"""openstacksdk against a running `vistack up`: identity CRUD, filtering, and error mapping.

openstacksdk caches the configuration it loads from the environment, so every connection is
built from an explicit `OpenStackConfig` reading only this cloud's clouds.yaml.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import openstack
import openstack.config
import openstack.connection
import openstack.exceptions
import pytest

from tests.conftest import RunningCloud

T = TypeVar("T")

pytestmark = [
    pytest.mark.clients,
    # openstacksdk warns about its own upcoming API changes on nearly every call.
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def v3(conn: openstack.connection.Connection) -> Any:
    """The identity proxy, untyped: openstacksdk annotates it as a v2 | v3 union and its
    `find_*` overloads omit the keyword filters the v3 API takes."""
    return conn.identity


def present(found: T | None) -> T:
    assert found is not None
    return found


def connect_with(cloud: RunningCloud, **auth: Any) -> openstack.connection.Connection:
    """A connection from explicit auth arguments against this cloud's auth URL."""
    admin_auth = cloud.cloud("vistack-admin")["auth"]
    assert isinstance(admin_auth, dict)
    auth_type = auth.pop("auth_type", "password")
    return openstack.connection.Connection(
        auth_type=auth_type,
        auth={"auth_url": admin_auth["auth_url"], **auth},
        identity_api_version="3",
        region_name="RegionOne",
    )


def test_connect_from_os_client_config_file(
    running_cloud: RunningCloud, admin: openstack.connection.Connection
) -> None:
    # `openstack.connect` finds the cloud through OS_CLIENT_CONFIG_FILE alone.
    conn = openstack.connect(cloud="vistack-admin")
    try:
        token = conn.authorize()
        assert token.startswith("gAAAAA")
        assert conn.current_project_id == admin.current_project_id
        user = v3(conn).get_user(conn.current_user_id)
        assert user.name == "admin"
    finally:
        conn.close()


def test_authorize_and_catalog(admin: openstack.connection.Connection) -> None:
    token = admin.authorize()
    assert token.startswith("gAAAAA")
    project = v3(admin).get_project(admin.current_project_id)
    assert project.name == "admin"
    auth: Any = admin.session.auth
    access = auth.get_access(admin.session)
    assert access.project_name == "admin"
    assert "admin" in access.role_names
    assert [service["type"] for service in access.service_catalog.catalog] == [
        "block-storage",
        "compute",
        "identity",
        "image",
        "network",
        "volumev3",
    ]
    assert admin.session.get_endpoint(service_type="identity", interface="public")


def test_project_crud_and_filters(admin: openstack.connection.Connection) -> None:
    identity = v3(admin)
    name = unique("sdkproj")
    project = identity.create_project(name=name, description="first", tags=["alpha"])
    try:
        assert project.id
        assert project.domain_id == "default"
        assert project.is_enabled is True
        assert project.tags == ["alpha"]

        assert [p.id for p in identity.projects(name=name)] == [project.id]
        assert identity.find_project(name).id == project.id
        assert identity.find_project(project.id).name == name
        assert project.id in [p.id for p in identity.projects(domain_id="default")]
        assert project.id in [p.id for p in identity.projects(tags="alpha")]
        assert project.id not in [p.id for p in identity.projects(tags="beta")]

        updated = identity.update_project(
            project, description="second", is_enabled=False, tags=["alpha", "beta"]
        )
        assert updated.description == "second"
        assert updated.is_enabled is False
        fetched = identity.get_project(project.id)
        assert fetched.description == "second"
        assert fetched.is_enabled is False
        assert sorted(fetched.tags) == ["alpha", "beta"]
        assert project.id in [p.id for p in identity.projects(is_enabled=False)]
        assert project.id not in [p.id for p in identity.projects(is_enabled=True)]

        with pytest.raises(openstack.exceptions.ConflictException):
            identity.create_project(name=name)
    finally:
        identity.delete_project(project)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_project(project.id)
    assert identity.find_project(name) is None
    assert list(identity.projects(name=name)) == []


def test_user_crud_and_groups(
    running_cloud: RunningCloud, admin: openstack.connection.Connection
) -> None:
    identity = v3(admin)
    project = identity.create_project(name=unique("sdkhome"))
    user_name, group_name = unique("sdkuser"), unique("sdkgroup")
    user = identity.create_user(
        name=user_name,
        password="first-Pa55",
        email="someone@example.org",
        description="made by the sdk",
        default_project_id=project.id,
    )
    group = identity.create_group(name=group_name, description="members")
    try:
        assert user.domain_id == "default"
        assert user.is_enabled is True
        assert user.email == "someone@example.org"
        assert user.default_project_id == project.id
        assert [u.id for u in identity.users(name=user_name)] == [user.id]
        assert identity.find_user(user_name).id == user.id
        shown = identity.get(f"/users/{user.id}").json()["user"]
        assert "password" not in shown
        assert shown["description"] == "made by the sdk"

        with pytest.raises(openstack.exceptions.ConflictException):
            identity.create_user(name=user_name, password="whatever")

        identity.add_user_to_group(user, group)
        assert identity.check_user_in_group(user, group) is True
        assert [u.id for u in identity.group_users(group)] == [user.id]
        assert [g.id for g in identity.user_groups(user)] == [group.id]
        assert [g.id for g in identity.groups(name=group_name)] == [group.id]
        identity.remove_user_from_group(user, group)
        assert identity.check_user_in_group(user, group) is False
        assert list(identity.group_users(group)) == []

        updated = identity.update_user(user, email="other@example.org", is_enabled=False)
        assert updated.email == "other@example.org"
        assert updated.is_enabled is False
        assert user.id in [u.id for u in identity.users(is_enabled=False)]

        # The user can log in with the password set by the admin once re-enabled.
        identity.update_user(user, is_enabled=True, password="second-Pa55")
        identity.assign_project_role_to_user(project, user, identity.find_role("member"))
        conn = connect_with(
            running_cloud,
            username=user_name,
            password="second-Pa55",
            user_domain_name="Default",
            project_id=project.id,
        )
        try:
            assert conn.authorize()
            assert conn.current_user_id == user.id
            assert [p.id for p in v3(conn).user_projects(user)] == [project.id]
        finally:
            conn.close()
    finally:
        identity.delete_group(group)
        identity.delete_user(user)
        identity.delete_project(project)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_user(user.id)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_group(group.id)


def test_domains(admin: openstack.connection.Connection) -> None:
    identity = v3(admin)
    name = unique("sdkdom")
    domain = identity.create_domain(name=name, description="sdk domain")
    assert domain.is_enabled is True
    assert identity.find_domain(name).id == domain.id
    assert [d.id for d in identity.domains(name=name)] == [domain.id]

    project = identity.create_project(name=unique("indom"), domain_id=domain.id)
    assert project.domain_id == domain.id
    assert project.parent_id == domain.id
    assert [p.id for p in identity.projects(domain_id=domain.id)] == [project.id]
    user = identity.create_user(name=unique("indom"), domain_id=domain.id, password="x-Pa55")
    assert [u.id for u in identity.users(domain_id=domain.id)] == [user.id]
    assert identity.find_user(user.name, domain_id=domain.id).id == user.id

    with pytest.raises(openstack.exceptions.ConflictException):
        identity.create_domain(name=name)
    # Keystone refuses to delete an enabled domain.
    with pytest.raises(openstack.exceptions.ForbiddenException, match="disable it first"):
        identity.delete_domain(domain)

    updated = identity.update_domain(domain, is_enabled=False, description="off")
    assert updated.is_enabled is False
    assert identity.get_domain(domain.id).description == "off"
    identity.delete_domain(domain)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_domain(domain.id)
    # Deleting a domain deletes what it owned.
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_project(project.id)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_user(user.id)


def test_roles_and_role_assignments(admin: openstack.connection.Connection) -> None:
    identity = v3(admin)
    role = identity.create_role(name=unique("sdkrole"), description="custom")
    implied = identity.create_role(name=unique("sdkimplied"))
    project = identity.create_project(name=unique("sdkgrants"))
    user = identity.create_user(name=unique("sdkgrantee"), password="x-Pa55")
    group = identity.create_group(name=unique("sdkgrantgroup"))
    try:
        assert identity.find_role(role.name).id == role.id
        assert [r.id for r in identity.roles(name=role.name)] == [role.id]
        assert identity.update_role(role, description="changed").description == "changed"

        # The SDK has no proxy methods for implied roles: use its raw requests.
        implies = f"/roles/{role.id}/implies/{implied.id}"
        created = identity.put(implies)
        assert created.status_code == 201
        assert created.json()["role_inference"]["implies"]["id"] == implied.id
        inferences = identity.get("/role_inferences").json()["role_inferences"]
        assert any(
            rule["prior_role"]["id"] == role.id
            and [r["id"] for r in rule["implies"]] == [implied.id]
            for rule in inferences
        )
        identity.assign_project_role_to_user(project, user, role)
        assert identity.validate_user_has_project_role(project, user, role) is True
        direct = list(identity.role_assignments(user_id=user.id))
        assert [(a.role["id"], a.scope) for a in direct] == [
            (role.id, {"project": {"id": project.id}})
        ]
        effective = list(identity.role_assignments(user_id=user.id, effective=True))
        assert {a.role["id"] for a in effective} == {role.id, implied.id}

        named = list(identity.role_assignments(user_id=user.id, include_names=True))
        assert named[0].user["name"] == user.name
        assert named[0].role["name"] == role.name
        assert named[0].scope["project"]["name"] == project.name
        by_project = list(identity.role_assignments(scope_project_id=project.id))
        assert [a.user["id"] for a in by_project] == [user.id]
        assert [r.id for r in identity.role_assignments_filter(project=project, user=user)] == [
            role.id
        ]

        identity.assign_domain_role_to_group("default", group, role)
        assert identity.validate_group_has_domain_role("default", group, role) is True
        by_group = list(identity.role_assignments(group_id=group.id))
        assert [(a.role["id"], a.scope) for a in by_group] == [
            (role.id, {"domain": {"id": "default"}})
        ]
        identity.unassign_domain_role_from_group("default", group, role)
        assert identity.validate_group_has_domain_role("default", group, role) is False

        identity.unassign_project_role_from_user(project, user, role)
        assert identity.validate_user_has_project_role(project, user, role) is False
        assert list(identity.role_assignments(user_id=user.id)) == []

        with pytest.raises(openstack.exceptions.ConflictException):
            identity.create_role(name=role.name)
        assert identity.delete(implies).status_code == 204
        with pytest.raises(openstack.exceptions.ResourceNotFound):
            openstack.exceptions.raise_from_response(identity.get(implies))
    finally:
        identity.delete_group(group)
        identity.delete_user(user)
        identity.delete_project(project)
        identity.delete_role(implied)
        identity.delete_role(role)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_role(role.id)


def test_application_credentials(
    running_cloud: RunningCloud, admin: openstack.connection.Connection
) -> None:
    identity = v3(admin)
    project = identity.create_project(name=unique("sdkapp"))
    user_name, password = unique("sdkappuser"), "app-Pa55"
    user = identity.create_user(name=user_name, password=password)
    identity.assign_project_role_to_user(project, user, identity.find_role("member"))
    owner = connect_with(
        running_cloud,
        username=user_name,
        password=password,
        user_domain_name="Default",
        project_id=project.id,
    )
    try:
        name = unique("cred")
        credential = v3(owner).create_application_credential(
            user.id, name=name, description="for a robot"
        )
        assert credential.secret
        assert credential.project_id == project.id
        assert credential.unrestricted is False
        assert {r["name"] for r in credential.roles} >= {"member"}

        listed = list(v3(owner).application_credentials(user.id))
        assert [c.id for c in listed] == [credential.id]
        assert listed[0].secret is None
        fetched = v3(owner).get_application_credential(user.id, credential.id)
        assert fetched.name == name
        assert v3(owner).find_application_credential(user.id, name).id == credential.id

        with pytest.raises(openstack.exceptions.ConflictException):
            v3(owner).create_application_credential(user.id, name=name)

        robot = connect_with(
            running_cloud,
            auth_type="v3applicationcredential",
            application_credential_id=credential.id,
            application_credential_secret=credential.secret,
        )
        try:
            assert robot.authorize()
            assert robot.current_user_id == user.id
            assert robot.current_project_id == project.id
            # A restricted credential cannot make more credentials.
            with pytest.raises(openstack.exceptions.ForbiddenException):
                v3(robot).create_application_credential(user.id, name=unique("again"))
        finally:
            robot.close()

        wrong = connect_with(
            running_cloud,
            auth_type="v3applicationcredential",
            application_credential_id=credential.id,
            application_credential_secret="not-the-secret",
        )
        with pytest.raises(openstack.exceptions.SDKException, match=r"HTTP 401"):
            wrong.authorize()

        v3(owner).delete_application_credential(user.id, credential.id)
        with pytest.raises(openstack.exceptions.ResourceNotFound):
            v3(owner).get_application_credential(user.id, credential.id)
    finally:
        owner.close()
        identity.delete_user(user)
        identity.delete_project(project)


def test_regions_services_endpoints(admin: openstack.connection.Connection) -> None:
    identity = v3(admin)
    region = identity.create_region(id=unique("Region"), description="sdk region")
    service = identity.create_service(name=unique("sdksvc"), type=unique("thing"), description="x")
    endpoint = None
    try:
        assert identity.get_region(region.id).description == "sdk region"
        assert region.id in [r.id for r in identity.regions()]
        child = identity.create_region(id=unique("Child"), parent_region_id=region.id)
        assert child.parent_region_id == region.id
        identity.delete_region(child)

        assert service.is_enabled is True
        assert [s.id for s in identity.services(type=service.type)] == [service.id]
        assert identity.find_service(service.name).id == service.id
        assert identity.update_service(service, description="y").description == "y"

        endpoint = identity.create_endpoint(
            service_id=service.id,
            interface="public",
            url="http://example.invalid:1234/thing",
            region_id=region.id,
        )
        assert endpoint.is_enabled is True
        assert [e.id for e in identity.endpoints(service_id=service.id)] == [endpoint.id]
        assert [e.id for e in identity.endpoints(region_id=region.id)] == [endpoint.id]
        public_ids = [e.id for e in identity.endpoints(interface="public")]
        assert endpoint.id in public_ids
        assert endpoint.id not in [e.id for e in identity.endpoints(interface="admin")]
        updated = identity.update_endpoint(endpoint, url="http://example.invalid:4321/thing")
        assert updated.url == "http://example.invalid:4321/thing"

        with pytest.raises(openstack.exceptions.ConflictException):
            identity.create_region(id=region.id)
        with pytest.raises(openstack.exceptions.BadRequestException):
            identity.create_endpoint(
                service_id=service.id, interface="sideways", url="http://x.invalid/"
            )
    finally:
        if endpoint is not None:
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)
        identity.delete_region(region)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_service(service.id)
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.get_region(region.id)
    if endpoint is not None:
        with pytest.raises(openstack.exceptions.ResourceNotFound):
            identity.get_endpoint(endpoint.id)


def test_not_found_errors(admin: openstack.connection.Connection) -> None:
    identity = v3(admin)
    missing = uuid.uuid4().hex
    for getter in (
        identity.get_project,
        identity.get_user,
        identity.get_group,
        identity.get_role,
        identity.get_domain,
        identity.get_service,
        identity.get_endpoint,
        identity.get_region,
    ):
        with pytest.raises(openstack.exceptions.ResourceNotFound):
            getter(missing)
    assert identity.find_project(missing) is None
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        identity.find_user(missing, ignore_missing=False)


def test_demo_user_is_forbidden(
    admin: openstack.connection.Connection, demo: openstack.connection.Connection
) -> None:
    identity = v3(demo)
    assert demo.authorize()
    me = identity.get_user(demo.current_user_id)
    assert me.name == "demo"
    own = identity.get_project(demo.current_project_id)
    assert own.name == "demo"
    assert [p.name for p in identity.user_projects(me)] == ["demo"]

    with pytest.raises(openstack.exceptions.ForbiddenException):
        identity.create_project(name=unique("forbidden"))
    with pytest.raises(openstack.exceptions.ForbiddenException):
        identity.create_user(name=unique("forbidden"), password="x")
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(identity.users())
    with pytest.raises(openstack.exceptions.ForbiddenException):
        identity.get_project(admin.current_project_id)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        identity.get_user(admin.current_user_id)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        identity.create_domain(name=unique("forbidden"))
    with pytest.raises(openstack.exceptions.ForbiddenException):
        identity.create_role(name=unique("forbidden"))
    # The SDK's grant helpers swallow errors (they return False), so ask for the grant directly.
    admin_role = v3(admin).find_role("admin")
    response = identity.put(
        f"/projects/{demo.current_project_id}/users/{me.id}/roles/{admin_role.id}"
    )
    with pytest.raises(openstack.exceptions.ForbiddenException):
        openstack.exceptions.raise_from_response(response)
    granted = v3(admin).role_assignments(
        user_id=me.id, scope_project_id=demo.current_project_id, role_id=admin_role.id
    )
    assert list(granted) == []


def test_cloud_layer(admin: openstack.connection.Connection) -> None:
    """The shade-style `Connection` methods, which Ansible's openstack.cloud modules call."""
    project = admin.create_project(unique("cloudproj"), domain_id="default", description="c")
    user = admin.create_user(unique("clouduser"), password="c-Pa55", domain_id="default")
    group = admin.create_group(unique("cloudgroup"), "a group", domain="default")
    try:
        assert present(admin.get_project(project.id)).name == project.name
        assert present(admin.get_project(project.name, domain_id="default")).id == project.id
        assert [p.id for p in admin.search_projects(project.name)] == [project.id]
        assert admin.update_project(project.id, description="d").description == "d"
        assert present(admin.get_user(user.name)).id == user.id
        admin.add_user_to_group(user.id, group.id)
        assert admin.is_user_in_group(user.id, group.id)

        assert admin.grant_role("member", user=user.id, project=project.id)
        assignments = admin.list_role_assignments(filters={"user": user.id})
        assert [(a.scope["project"]["id"], a.user["id"]) for a in assignments] == [
            (project.id, user.id)
        ]
        assert admin.revoke_role("member", user=user.id, project=project.id)
        assert admin.list_role_assignments(filters={"user": user.id}) == []

        assert [s.type for s in admin.list_services()] == [
            "block-storage",
            "compute",
            "identity",
            "image",
            "network",
            "volumev3",
        ]
        assert {e.interface for e in admin.list_endpoints()} >= {"public", "internal", "admin"}
        assert "RegionOne" in [r.id for r in v3(admin).regions()]
        assert present(admin.get_domain(name_or_id="Default")).id == "default"
    finally:
        admin.delete_group(group.id)
        admin.delete_user(user.id)
        admin.delete_project(project.id)
    assert admin.get_project(project.id) is None
    assert admin.get_user(user.id) is None
