"""The user story through the real `openstack` CLI against `vistack up` on the embedded vCenter:
a plain `server create --wait` gives a VM with a config drive — an ISO labelled `config-2`
beside the VM on the datastore, held by one of its CD-ROMs, whose meta_data.json names the
server — and `server delete --wait` leaves no ISO behind."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest

from tests.clients.compute_story import network_with_subnet, vmdk_image
from tests.clients.test_cli import run, run_json, unique
from tests.conftest import RunningCloud
from vistack.compute.domain.config_drive import ISO_NAME
from vistack.drivers.bundle import Drivers
from vistack.drivers.models import ImageFile
from vistack.drivers.paths import split_datastore_path
from vistack.vsphere.drivers import vsphere_drivers
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.session import VCenterSession

pytestmark = pytest.mark.clients


@pytest.fixture
def vcenter(running_cloud: RunningCloud) -> Iterator[Drivers]:
    """The vSphere drivers on their own session to the cloud's embedded vCenter."""
    endpoint = read_endpoint_file(running_cloud.data_dir)
    assert endpoint is not None
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield vsphere_drivers(session, endpoint)


def test_a_plain_create_boots_with_a_config_drive(
    running_cloud: RunningCloud, vcenter: Drivers, tmp_path: Path
) -> None:
    cloud = running_cloud
    image = vmdk_image(cloud, tmp_path)
    network = network_with_subnet(cloud, "10.93.0.0/24")
    name = unique("web")
    server = run_json(
        cloud, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
        "--network", network, "--property", "role=web", "--wait", name,
    )  # fmt: skip
    assert server["status"] == "ACTIVE", server
    assert run_json(cloud, "server", "show", name)["config_drive"] == "True"

    (path,) = vcenter.compute.list_isos(server["id"])
    datastore, relative = split_datastore_path(path)
    assert relative == f"{server['id']}/{ISO_NAME}"
    data = b"".join(vcenter.images.download_image(ImageFile(datastore, relative, 0)))
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        assert iso.pvd.volume_identifier.rstrip() == b"config-2"
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path="/openstack/latest/meta_data.json")
    finally:
        iso.close()
    meta = json.loads(out.getvalue())
    assert (meta["uuid"], meta["name"], meta["meta"]) == (server["id"], name, {"role": "web"})

    run(cloud, "server", "delete", "--wait", name)
    assert not vcenter.images.image_exists(datastore, relative)
    run(cloud, "subnet", "delete", network)
    run(cloud, "network", "delete", network)
    run(cloud, "image", "delete", image["id"])
