"""The real `openstack` CLI against a running `vistack up`: the issue's acceptance flow.

Every call is a subprocess (about a second each), so each test chains several steps of one
story rather than paying for setup per assertion. Names carry a per-test suffix so the tests
share the session cloud without colliding.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunningCloud

pytestmark = pytest.mark.clients

OPENSTACK = Path(sys.executable).parent / "openstack"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run(
    cloud: RunningCloud,
    *args: str,
    os_cloud: str | None = "vistack-admin",
    config: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `openstack [--os-cloud NAME] ARGS` with only the given client configuration."""
    environment = cloud.env()
    if config is not None:
        environment["OS_CLIENT_CONFIG_FILE"] = str(config)
    environment.update(env or {})
    command = [str(OPENSTACK)]
    if os_cloud is not None:
        command += ["--os-cloud", os_cloud]
    command += list(args)
    proc = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=60, check=False
    )
    if check:
        assert proc.returncode == 0, (
            f"{' '.join(args)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def run_json(cloud: RunningCloud, *args: str, **kwargs: Any) -> Any:
    proc = run(cloud, *args, "-f", "json", **kwargs)
    return json.loads(proc.stdout)


def auth_url(cloud: RunningCloud) -> str:
    auth = cloud.cloud("vistack-admin")["auth"]
    assert isinstance(auth, dict)
    url: str = auth["auth_url"]
    return url


def write_clouds(path: Path, name: str, entry: dict[str, Any]) -> Path:
    entry.setdefault("identity_api_version", 3)
    entry.setdefault("region_name", "RegionOne")
    path.write_text(yaml.safe_dump({"clouds": {name: entry}}))
    path.chmod(0o600)
    return path


def password_cloud(cloud: RunningCloud, user: str, password: str, project: str) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": auth_url(cloud),
            "username": user,
            "password": password,
            "project_name": project,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }
    }


def assert_auth_fails(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "HTTP 401" in proc.stderr, proc.stderr


def test_acceptance_flow(running_cloud: RunningCloud, tmp_path: Path) -> None:
    cloud = running_cloud
    project, user, password = unique("proj"), unique("user"), "Pa55-" + uuid.uuid4().hex

    token = run_json(cloud, "token", "issue")
    assert token["id"].startswith("gAAAAA")
    assert {"expires", "project_id", "user_id"} <= set(token)

    created_project = run_json(cloud, "project", "create", project, "--description", "cli")
    assert created_project["name"] == project
    assert created_project["domain_id"] == "default"
    assert created_project["enabled"] is True
    created_user = run_json(cloud, "user", "create", user, "--password", password)
    assert created_user["name"] == user
    assert "password" not in created_user
    run(cloud, "role", "add", "--user", user, "--project", project, "member")

    assignments = run_json(cloud, "role", "assignment", "list", "--names")
    rows = [row for row in assignments if row["User"] == f"{user}@Default"]
    assert rows == [
        {
            "Role": "member",
            "User": f"{user}@Default",
            "Group": "",
            "Project": f"{project}@Default",
            "Domain": "",
            "System": "",
            "Inherited": False,
        }
    ]

    # The new user works with its own clouds.yaml and makes an application credential.
    user_config = write_clouds(
        tmp_path / "user.yaml", "mine", password_cloud(cloud, user, password, project)
    )
    user_token = run_json(cloud, "token", "issue", os_cloud="mine", config=user_config)
    assert user_token["user_id"] == created_user["id"]
    assert user_token["project_id"] == created_project["id"]

    catalog = run_json(cloud, "catalog", "list", os_cloud="mine", config=user_config)
    assert [(entry["Name"], entry["Type"]) for entry in catalog] == [
        ("cinder", "block-storage"),
        ("nova", "compute"),
        ("keystone", "identity"),
        ("glance", "image"),
        ("neutron", "network"),
        ("cinderv3", "volumev3"),
    ]
    assert {e["interface"] for e in catalog[0]["Endpoints"]} == {"public", "internal", "admin"}

    credential = run_json(
        cloud, "application", "credential", "create", unique("appcred"),
        os_cloud="mine", config=user_config,
    )  # fmt: skip
    assert credential["Project ID"] == created_project["id"]
    assert credential["Secret"]
    assert {role["name"] for role in credential["Roles"]} >= {"member"}

    app_config = write_clouds(
        tmp_path / "appcred.yaml",
        "appcred",
        {
            "auth_type": "v3applicationcredential",
            "auth": {
                "auth_url": auth_url(cloud),
                "application_credential_id": credential["ID"],
                "application_credential_secret": credential["Secret"],
            },
        },
    )
    app_token = run_json(cloud, "token", "issue", os_cloud="appcred", config=app_config)
    assert app_token["user_id"] == created_user["id"]
    assert app_token["project_id"] == created_project["id"]

    flag_token = run_json(
        cloud,
        "--os-auth-type", "v3applicationcredential",
        "--os-auth-url", auth_url(cloud),
        "--os-identity-api-version", "3",
        "--os-application-credential-id", credential["ID"],
        "--os-application-credential-secret", credential["Secret"],
        "token", "issue",
        os_cloud=None,
        config=tmp_path / "absent.yaml",
    )  # fmt: skip
    assert flag_token["user_id"] == created_user["id"]
    env_token = run_json(
        cloud,
        "token", "issue",
        os_cloud=None,
        config=tmp_path / "absent.yaml",
        env={
            "OS_AUTH_TYPE": "v3applicationcredential",
            "OS_AUTH_URL": auth_url(cloud),
            "OS_IDENTITY_API_VERSION": "3",
            "OS_APPLICATION_CREDENTIAL_NAME": credential["Name"],
            "OS_APPLICATION_CREDENTIAL_SECRET": credential["Secret"],
            "OS_USERNAME": user,
            "OS_USER_DOMAIN_NAME": "Default",
        },
    )  # fmt: skip
    assert env_token["project_id"] == created_project["id"]

    # Self-service password change: the old password stops working, the new one works.
    new_password = "New-" + uuid.uuid4().hex
    run(
        cloud, "user", "password", "set",
        "--original-password", password, "--password", new_password,
        os_cloud="mine", config=user_config,
    )  # fmt: skip
    assert_auth_fails(
        run(cloud, "token", "issue", os_cloud="mine", config=user_config, check=False)
    )
    new_config = write_clouds(
        tmp_path / "user2.yaml", "mine", password_cloud(cloud, user, new_password, project)
    )
    renewed = run_json(cloud, "token", "issue", os_cloud="mine", config=new_config)
    assert renewed["user_id"] == created_user["id"]

    # A disabled user can authenticate neither with its password nor its app credential.
    run(cloud, "user", "set", "--disable", user)
    shown = run_json(cloud, "user", "show", user)
    assert shown["enabled"] is False
    assert_auth_fails(run(cloud, "token", "issue", os_cloud="mine", config=new_config, check=False))
    assert_auth_fails(
        run(cloud, "token", "issue", os_cloud="appcred", config=app_config, check=False)
    )


def test_domain_and_group_membership(running_cloud: RunningCloud) -> None:
    cloud = running_cloud
    domain, group, member, outsider = unique("dom"), unique("grp"), unique("in"), unique("out")

    created_domain = run_json(cloud, "domain", "create", domain, "--description", "from the CLI")
    assert created_domain["name"] == domain
    assert created_domain["enabled"] is True
    assert created_domain["description"] == "from the CLI"

    created_group = run_json(cloud, "group", "create", group)
    assert created_group["domain_id"] == "default"
    for name in (member, outsider):
        run(
            cloud, "user", "create", name, "--password", uuid.uuid4().hex, "-f", "value", "-c", "id"
        )
    run(cloud, "group", "add", "user", group, member)

    inside = run(cloud, "group", "contains", "user", group, member)
    assert f"{member} in group {group}" in inside.stdout
    outside = run(cloud, "group", "contains", "user", group, outsider)
    assert f"{outsider} not in group {group}" in outside.stdout + outside.stderr

    members = run_json(cloud, "user", "list", "--group", group)
    assert [row["Name"] for row in members] == [member]


def test_token_revoke(running_cloud: RunningCloud) -> None:
    cloud = running_cloud
    token = run_json(cloud, "token", "issue")

    def rescope() -> subprocess.CompletedProcess[str]:
        return run(
            cloud,
            "--os-auth-type", "v3token",
            "--os-auth-url", auth_url(cloud),
            "--os-identity-api-version", "3",
            "--os-token", token["id"],
            "--os-project-id", token["project_id"],
            "token", "issue", "-f", "json",
            os_cloud=None,
            config=Path("/nonexistent/clouds.yaml"),
            check=False,
        )  # fmt: skip

    before = rescope()
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["user_id"] == token["user_id"]

    run(cloud, "token", "revoke", token["id"])
    after = rescope()
    assert after.returncode != 0
    # Keystone answers 404 (the revoked token is "not found") when it is used to authenticate.
    assert "HTTP 404" in after.stderr or "HTTP 401" in after.stderr, after.stderr


def test_project_tags(running_cloud: RunningCloud) -> None:
    cloud = running_cloud
    project = unique("tagged")
    run(cloud, "project", "create", project, "-f", "value", "-c", "id")
    run(cloud, "project", "set", "--tag", "blue", "--tag", "green", project)
    assert sorted(run_json(cloud, "project", "show", project)["tags"]) == ["blue", "green"]
    listed = run_json(cloud, "project", "list", "--tags", "blue,green")
    assert project in [row["Name"] for row in listed]


def test_roles_and_implied_roles(running_cloud: RunningCloud) -> None:
    cloud = running_cloud
    prior, implied = unique("prior"), unique("implied")
    prior_role = run_json(cloud, "role", "create", prior)
    implied_role = run_json(cloud, "role", "create", implied)
    assert prior_role["name"] == prior
    assert prior_role["domain_id"] is None

    rule = run_json(cloud, "implied", "role", "create", prior, "--implied-role", implied)
    assert rule == {"prior_role": prior_role["id"], "implies": implied_role["id"]}
    rules = run_json(cloud, "implied", "role", "list")
    assert {
        "Prior Role ID": prior_role["id"],
        "Prior Role Name": prior,
        "Implied Role ID": implied_role["id"],
        "Implied Role Name": implied,
    } in rules


def test_catalog_endpoints_regions_services(running_cloud: RunningCloud) -> None:
    cloud = running_cloud
    base = cloud.url.removesuffix("/v3")

    catalog = run_json(cloud, "catalog", "list")
    assert [(entry["Name"], entry["Type"]) for entry in catalog] == [
        ("cinder", "block-storage"),
        ("nova", "compute"),
        ("keystone", "identity"),
        ("glance", "image"),
        ("neutron", "network"),
        ("cinderv3", "volumev3"),
    ]

    services = run_json(cloud, "service", "list")
    assert sorted((row["Name"], row["Type"]) for row in services) == [
        ("cinder", "block-storage"),
        ("cinderv3", "volumev3"),
        ("glance", "image"),
        ("keystone", "identity"),
        ("neutron", "network"),
        ("nova", "compute"),
    ]
    regions = run_json(cloud, "region", "list")
    assert "RegionOne" in [row["Region"] for row in regions]

    endpoints = run_json(cloud, "endpoint", "list")
    identity = [row for row in endpoints if row["Service Type"] == "identity"]
    assert sorted(row["Interface"] for row in identity) == ["admin", "internal", "public"]
    assert {row["URL"] for row in identity} == {base}
    assert {row["Region"] for row in identity} == {"RegionOne"}
    assert all(row["Enabled"] for row in identity)
    public = run_json(
        cloud, "endpoint", "list", "--service", "identity", "--interface", "public",
        "--region", "RegionOne",
    )  # fmt: skip
    assert [(row["Service Name"], row["Interface"]) for row in public] == [("keystone", "public")]


def test_demo_user_is_forbidden_admin_actions(running_cloud: RunningCloud) -> None:
    proc = run(
        running_cloud, "project", "create", unique("nope"), os_cloud="vistack-demo", check=False
    )
    assert proc.returncode != 0
    assert "403" in proc.stderr, proc.stderr
    assert "identity:create_project" in proc.stderr
    token = run_json(running_cloud, "token", "issue", os_cloud="vistack-demo")
    assert token["user_id"]
