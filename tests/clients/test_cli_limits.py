"""Unified limits through the real `openstack` CLI: what an operator types to give Glance
per-project quotas (`registered limit ...`, `limit ...`), against the session cloud.

The session cloud is shared, so the test removes what it created even when it fails: a stray
`image_count_total` limit would cap the demo project's images in later tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.test_cli import run, run_json
from tests.conftest import RunningCloud

pytestmark = pytest.mark.clients

RESOURCE = "image_count_total"


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {row["ID"] for row in rows}


def test_registered_limits_and_limits(running_cloud: RunningCloud) -> None:
    cloud = running_cloud
    glance = run_json(cloud, "service", "show", "glance")["id"]
    demo = run_json(cloud, "project", "show", "demo")["id"]
    created: dict[str, str] = {}
    try:
        registered = run_json(
            cloud,
            "registered", "limit", "create",
            "--service", "glance", "--default-limit", "10", RESOURCE,
        )  # fmt: skip
        created["registered"] = registered["id"]
        assert registered["service_id"] == glance
        assert (registered["resource_name"], registered["default_limit"]) == (RESOURCE, 10)
        assert registered["region_id"] is None

        # Changed while no project overrides it (Keystone refuses afterwards).
        changed = run_json(
            cloud,
            "registered", "limit", "set", registered["id"],
            "--default-limit", "20", "--description", "images per project",
        )  # fmt: skip
        assert (changed["default_limit"], changed["description"]) == (20, "images per project")
        shown = run_json(cloud, "registered", "limit", "show", registered["id"])
        assert shown == changed
        listed = run_json(cloud, "registered", "limit", "list", "--service", "glance")
        assert registered["id"] in _ids(listed)
        by_name = run_json(cloud, "registered", "limit", "list", "--resource-name", RESOURCE)
        # Beside this region-less one, bootstrap registered RegionOne's from [image].
        regions = {row["ID"]: row["Region ID"] for row in by_name}
        assert regions[registered["id"]] is None
        assert sorted(regions.values(), key=str) == [None, "RegionOne"]

        limit = run_json(
            cloud,
            "limit", "create",
            "--service", "glance", "--project", "demo", "--resource-limit", "3", RESOURCE,
        )  # fmt: skip
        created["limit"] = limit["id"]
        assert (limit["project_id"], limit["service_id"]) == (demo, glance)
        assert (limit["resource_name"], limit["resource_limit"]) == (RESOURCE, 3)

        rows = run_json(cloud, "limit", "list")
        row = next(r for r in rows if r["ID"] == limit["id"])
        assert (row["Project ID"], row["Resource Limit"]) == (demo, 3)
        assert _ids(run_json(cloud, "limit", "list", "--project", "demo")) == {limit["id"]}
        by_service = run_json(
            cloud, "limit", "list", "--service", "glance", "--resource-name", RESOURCE
        )
        assert _ids(by_service) == {limit["id"]}
        assert run_json(cloud, "limit", "show", limit["id"]) == limit

        updated = run_json(
            cloud,
            "limit", "set", limit["id"], "--resource-limit", "5", "--description", "demo's",
        )  # fmt: skip
        assert (updated["resource_limit"], updated["description"]) == (5, "demo's")
        assert run_json(cloud, "limit", "show", limit["id"])["resource_limit"] == 5

        # The demo user reads its own project's limit, and cannot raise it.
        assert limit["id"] in _ids(run_json(cloud, "limit", "list", os_cloud="vistack-demo"))
        as_demo = run_json(cloud, "limit", "show", limit["id"], os_cloud="vistack-demo")
        assert as_demo["resource_limit"] == 5
        refused = run(
            cloud,
            "limit", "set", limit["id"], "--resource-limit", "500",
            os_cloud="vistack-demo", check=False,
        )  # fmt: skip
        assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr

        # A registration in use stays until its limits are gone.
        in_use = run(cloud, "registered", "limit", "delete", registered["id"], check=False)
        assert in_use.returncode != 0, in_use.stdout
        run(cloud, "limit", "delete", limit["id"])
        del created["limit"]
        assert run(cloud, "limit", "show", limit["id"], check=False).returncode != 0
        run(cloud, "registered", "limit", "delete", registered["id"])
        del created["registered"]
        gone = run(cloud, "registered", "limit", "show", registered["id"], check=False)
        assert gone.returncode != 0
    finally:
        if "limit" in created:
            run(cloud, "limit", "delete", created["limit"], check=False)
        if "registered" in created:
            run(cloud, "registered", "limit", "delete", created["registered"], check=False)
