"""The real `openstack` CLI against `vistack up` at the microversions it negotiates for server
tags (2.26) and descriptions (2.19): what python-openstackclient sends for `server set --tag`,
`server list --tags` and `server set --description` works as Nova's API does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.clients.compute_story import boot, network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.compute.api.microversion import MAX_VERSION

pytestmark = [
    pytest.mark.clients,
    pytest.mark.skipif(MAX_VERSION < (2, 26), reason="the service does not advertise 2.26"),
]
V = ("--os-compute-api-version", "2.26")


def test_tags_and_description(running_cloud: RunningCloud, tmp_path: Path) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path, public=True)
    network = network_with_subnet(cloud, "10.92.0.0/24")
    name = unique("tagged")
    server = boot(cloud, image["id"], network, name)
    other = run_json(
        cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
        "--network", network, "--wait", unique("plain"),
    )  # fmt: skip

    run(cloud, *V, "server", "set", "--tag", "web", "--tag", "prod", name)
    run(cloud, *V, "server", "set", "--description", "front end", name)
    shown = run_json(cloud, *V, "server", "show", name)
    assert sorted(shown["tags"]) == ["prod", "web"] and shown["description"] == "front end"
    listed = run_json(cloud, *V, "server", "list", "--tags", "web")
    assert [s["ID"] for s in listed] == [server["id"]]
    listed = run_json(cloud, *V, "server", "list", "--not-tags", "web")
    assert server["id"] not in [s["ID"] for s in listed] and other["id"] in [
        s["ID"] for s in listed
    ]
    run(cloud, *V, "server", "unset", "--tag", "prod", name)
    assert run_json(cloud, *V, "server", "show", name)["tags"] == ["web"]

    for each in (name, other["id"]):
        run(cloud, "server", "delete", "--wait", each)
    deadline = time.monotonic() + 30
    while run_json(cloud, "port", "list", "--network", network) and time.monotonic() < deadline:
        time.sleep(0.3)
    run(cloud, "subnet", "delete", network)
    run(cloud, "network", "delete", network)
