"""The config drive and the metadata service through HTTP, on the fake vCenter.

A server boots with a `config-2` ISO beside its VM, attached as a CD-ROM (forced by
`[compute] force_config_drive`, on by default), and `/metadata` answers the same instance's
metadata when asked with the signed headers the edge relay sends; the ISO goes with the
server. Nova's refusals: missing headers 400, a bad signature 403, another project's or an
unknown instance 404.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pycdlib
import pytest

from tests.api.conftest import ComputeApi, ImageApi
from tests.api.helpers import Persona, persona_fixture, unique
from tests.api.test_compute_servers import (
    OCTET,
    boot,
    fault,
    make_network,
    wait_gone,
    wait_status,
)
from tests.image_files import make_vmdk
from vistack.common.context import RequestContext
from vistack.compute.domain.config_drive import ISO_NAME, ConfigDrives
from vistack.compute.metadata.app import signature
from vistack.drivers.errors import TransientError
from vistack.drivers.models import VMSpec
from vistack.network.dataplane.metadata import shared_secret

member = persona_fixture("compute_api")
#: The cloud's administrator as the domain sees it.
ADMIN = RequestContext(request_id="req-test", user_id="admin", project_id="admin", roles=("admin",))
USER_DATA = b"#cloud-config\nruncmd: [touch /tmp/ok]\n"


@pytest.fixture(scope="module")
def image_id(compute_api: ComputeApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    images = compute_api.other(ImageApi)
    body = {"name": unique("vmdk"), "disk_format": "vmdk", "container_format": "bare"}
    created = images.post("/v2/images", json={**body, "visibility": "public"})
    assert created.status_code == 201, created.text
    image = created.json()
    data = make_vmdk(tmp_path_factory.mktemp("vmdk"), size="4M").read_bytes()
    uploaded = images.put(f"/v2/images/{image['id']}/file", content=data, headers=OCTET)
    assert uploaded.status_code == 204, uploaded.text
    return str(image["id"])


@pytest.fixture(scope="module")
def network(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    return make_network(compute_api, member.token, "10.31.0.0/24")


@pytest.fixture(scope="module")
def keypair(compute_api: ComputeApi, member: Persona) -> dict[str, Any]:
    made = compute_api.post(
        "/os-keypairs", token=member.token, json={"keypair": {"name": unique("key")}}
    )
    assert made.status_code in (200, 201), made.text
    pair: dict[str, Any] = made.json()["keypair"]
    return pair


@pytest.fixture(scope="module")
def server(
    compute_api: ComputeApi,
    member: Persona,
    image_id: str,
    network: dict[str, Any],
    keypair: dict[str, Any],
) -> dict[str, Any]:
    """A server with a key, user data and metadata, ACTIVE."""
    server_id = boot(
        compute_api,
        member,
        image_id,
        network["id"],
        key_name=keypair["name"],
        user_data=base64.b64encode(USER_DATA).decode(),
        metadata={"role": "web"},
    )
    return wait_status(compute_api, server_id, member.token, "ACTIVE")


def metadata(
    api: ComputeApi,
    path: str,
    instance_id: str | None,
    project_id: str | None,
    *,
    signed: str | None = None,
    method: str = "GET",
    content: bytes | None = None,
) -> Any:
    headers = {}
    if instance_id is not None:
        secret = shared_secret(api.cloud.settings.data_path)
        headers["X-Instance-ID"] = instance_id
        headers["X-Instance-ID-Signature"] = signed or signature(secret, instance_id)
    if project_id is not None:
        headers["X-Tenant-ID"] = project_id
    return api.client.request(method, "/metadata" + path, headers=headers, content=content)


def ask(api: ComputeApi, server: dict[str, Any], path: str) -> Any:
    response = metadata(api, path, server["id"], server["tenant_id"])
    assert response.status_code == 200, (path, response.text)
    return response


def iso_files(data: bytes) -> dict[str, bytes]:
    """Every file of an ISO by its Rock Ridge path, checking the Joliet copy is the same."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        assert iso.pvd.volume_identifier.rstrip() == b"config-2"
        found: dict[str, bytes] = {}
        for root, _, names in iso.walk(rr_path="/"):
            for name in names:
                path = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=path)
                joliet = io.BytesIO()
                iso.get_file_from_iso_fp(joliet, joliet_path=path)
                assert joliet.getvalue() == out.getvalue(), path
                found[path.lstrip("/")] = out.getvalue()
        return found
    finally:
        iso.close()


def config_drives(api: ComputeApi) -> ConfigDrives:
    """The cloud's config drive hooks (registered on the build by the compute wiring)."""
    work = api.cloud.compute.servers.work
    assert work is not None
    found = {getattr(hook, "__self__", None) for hook in work.before_power_on}
    (drives,) = [d for d in found if isinstance(d, ConfigDrives)]
    return drives


def drive_of(api: ComputeApi, server_id: str) -> tuple[str, bytes]:
    """The ISO path the VM's CD-ROM holds, and the file's bytes on the fake datastore."""
    (path,) = api.fake.compute.list_isos(server_id)
    datastore, relative = path[1:].split("] ")
    assert relative == f"{server_id}/{ISO_NAME}"
    return path, api.fake.state.files[(datastore, relative)].data


def test_a_server_boots_with_a_config_drive_holding_its_metadata(
    compute_api: ComputeApi, server: dict[str, Any], keypair: dict[str, Any]
) -> None:
    assert server["config_drive"] == "True"
    _, data = drive_of(compute_api, server["id"])
    files = iso_files(data)
    assert {
        "openstack/latest/meta_data.json",
        "openstack/latest/user_data",
        "openstack/latest/network_data.json",
        "openstack/latest/vendor_data.json",
        "openstack/latest/vendor_data2.json",
        "openstack/2012-08-10/meta_data.json",
        "ec2/latest/meta-data.json",
        "ec2/2009-04-04/user-data",
    } <= set(files)
    assert "openstack/2012-08-10/network_data.json" not in files  # Liberty and later only
    drive = json.loads(files["openstack/latest/meta_data.json"])
    assert drive["uuid"] == server["id"]
    assert drive["meta"] == {"role": "web"}
    assert drive["public_keys"] == {keypair["name"]: keypair["public_key"]}
    assert drive["keys"] == [
        {"name": keypair["name"], "type": "ssh", "data": keypair["public_key"]}
    ]
    assert files["openstack/latest/user_data"] == USER_DATA
    # The service tells cloud-init the same (the random seed is new every time).
    served = ask(compute_api, server, "/openstack/latest/meta_data.json").json()
    assert {k: v for k, v in served.items() if k != "random_seed"} == {
        k: v for k, v in drive.items() if k != "random_seed"
    }
    assert len(base64.b64decode(served["random_seed"])) == 512
    network = json.loads(files["openstack/latest/network_data.json"])
    assert network == ask(compute_api, server, "/openstack/latest/network_data.json").json()
    ec2 = json.loads(files["ec2/latest/meta-data.json"])
    assert ec2["instance-id"] == "i-" + server["id"].replace("-", "")[:8]


def test_openstack_format(
    compute_api: ComputeApi, server: dict[str, Any], network: dict[str, Any]
) -> None:
    versions = ask(compute_api, server, "/openstack").text.split("\n")
    assert versions[0] == "2012-08-10" and versions[-2:] == ["2018-08-27", "latest"]
    assert ask(compute_api, server, "/openstack/latest/").text.split("\n") == [
        "meta_data.json",
        "user_data",
        "password",
        "vendor_data.json",
        "network_data.json",
        "vendor_data2.json",
    ]
    assert ask(compute_api, server, "/openstack/2012-08-10").text == "meta_data.json\nuser_data"
    meta = ask(compute_api, server, "/openstack/latest/meta_data.json")
    assert meta.headers["content-type"].startswith("application/json")
    body = meta.json()
    assert body["name"] == server["name"]
    assert body["hostname"].endswith(".novalocal")  # [compute] dhcp_domain, as Nova's
    assert body["project_id"] == server["tenant_id"]
    assert body["launch_index"] == 0
    assert body["availability_zone"] == server["OS-EXT-AZ:availability_zone"]
    assert body["devices"] == []
    old = ask(compute_api, server, "/openstack/2012-08-10/meta_data.json").json()
    assert "random_seed" not in old and "project_id" not in old
    assert ask(compute_api, server, "/openstack/latest/user_data").content == USER_DATA
    assert ask(compute_api, server, "/openstack/latest/vendor_data.json").json() == {}
    assert ask(compute_api, server, "/openstack/latest/vendor_data2.json").json() == {"static": {}}
    # dvs mode serves no DHCP: the guest gets its address statically.
    net = ask(compute_api, server, "/openstack/latest/network_data.json").json()
    ((_, addresses),) = server["addresses"].items()
    port_mac = addresses[0]["OS-EXT-IPS-MAC:mac_addr"]
    (link,) = net["links"]
    assert link["ethernet_mac_address"] == port_mac
    assert link["id"].startswith("tap") and len(link["id"]) == 14
    assert link["type"] == "dvs"  # the build binds the port to the cluster: a DVS VIF
    (entry,) = net["networks"]
    assert entry["type"] == "ipv4" and entry["link"] == link["id"]
    assert entry["ip_address"] == addresses[0]["addr"]
    assert entry["netmask"] == "255.255.255.0"
    assert entry["network_id"] == network["id"]
    assert entry["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.31.0.1"}]
    for missing in ("/openstack/latest/nope", "/openstack/1999-01-01/meta_data.json"):
        response = metadata(compute_api, missing, server["id"], server["tenant_id"])
        assert response.status_code == 404, missing


def test_ec2_format(
    compute_api: ComputeApi, server: dict[str, Any], keypair: dict[str, Any]
) -> None:
    root = compute_api.client.get("/metadata/")
    assert root.status_code == 200 and root.text.split("\n")[-2:] == ["2009-04-04", "latest"]
    assert ask(compute_api, server, "/latest").text == "meta-data/\nuser-data"
    listing = ask(compute_api, server, "/latest/meta-data/").text.split("\n")
    assert "block-device-mapping/" in listing and "placement/" in listing
    assert "public-keys/" in listing and listing == sorted(listing)
    instance_id = "i-" + server["id"].replace("-", "")[:8]
    assert ask(compute_api, server, "/latest/meta-data/instance-id").text == instance_id
    assert ask(compute_api, server, "/2009-04-04/meta-data/instance-id").text == instance_id
    hostname = ask(compute_api, server, "/openstack/latest/meta_data.json").json()["hostname"]
    assert ask(compute_api, server, "/ec2/latest/meta-data/hostname").text == hostname
    assert ask(compute_api, server, "/latest/meta-data/public-keys").text == (
        "0=" + keypair["name"]
    )
    assert ask(compute_api, server, "/latest/meta-data/public-keys/0/").text == "openssh-key"
    key = ask(compute_api, server, "/latest/meta-data/public-keys/0/openssh-key").text
    assert key == keypair["public_key"]
    ((_, addresses),) = server["addresses"].items()
    assert ask(compute_api, server, "/latest/meta-data/local-ipv4").text == addresses[0]["addr"]
    assert ask(compute_api, server, "/latest/meta-data/public-ipv4").text == ""
    zone = ask(compute_api, server, "/latest/meta-data/placement/availability-zone").text
    assert zone == server["OS-EXT-AZ:availability_zone"]
    assert ask(compute_api, server, "/latest/meta-data/instance-type").text == "m1.tiny"
    assert ask(compute_api, server, "/latest/meta-data/security-groups").text == "default"
    mapping = ask(compute_api, server, "/latest/meta-data/block-device-mapping").text
    assert mapping == "ami\nroot"
    assert ask(compute_api, server, "/latest/user-data").content == USER_DATA
    gone = metadata(compute_api, "/latest/meta-data/nope", server["id"], server["tenant_id"])
    assert gone.status_code == 404


def test_metadata_changes_show_at_once(
    compute_api: ComputeApi, member: Persona, server: dict[str, Any]
) -> None:
    changed = compute_api.put(
        f"/servers/{server['id']}/metadata/tier",
        token=member.token,
        json={"meta": {"tier": "gold"}},
    )
    assert changed.status_code == 200, changed.text
    meta = ask(compute_api, server, "/openstack/latest/meta_data.json").json()["meta"]
    assert meta == {"role": "web", "tier": "gold"}


def test_requests_not_signed_for_the_instance_are_refused(
    compute_api: ComputeApi, server: dict[str, Any]
) -> None:
    path = "/openstack/latest/meta_data.json"
    missing = metadata(compute_api, path, None, server["tenant_id"])
    assert missing.status_code == 400
    assert "X-Instance-ID header is missing from request." in missing.text
    assert missing.headers["content-type"].startswith("text/plain")
    no_tenant = metadata(compute_api, path, server["id"], None)
    assert no_tenant.status_code == 400
    assert "X-Tenant-ID header is missing" in no_tenant.text
    forged = metadata(compute_api, path, server["id"], server["tenant_id"], signed="0" * 64)
    assert forged.status_code == 403
    assert "Invalid proxy request signature." in forged.text
    other_project = metadata(compute_api, path, server["id"], "someone-else")
    assert other_project.status_code == 404
    unknown = metadata(compute_api, path, "5c3f0a2e-0000-4000-8000-000000000000", "p")
    assert unknown.status_code == 404


def test_the_guest_posts_its_password_once(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"])
    server = wait_status(compute_api, server_id, member.token, "ACTIVE")
    path = "/openstack/latest/password"
    assert ask(compute_api, server, path).text == ""
    stored = metadata(
        compute_api, path, server_id, server["tenant_id"], method="POST", content=b"c2VjcmV0"
    )
    assert stored.status_code == 200, stored.text
    assert ask(compute_api, server, path).text == "c2VjcmV0"
    again = metadata(
        compute_api, path, server_id, server["tenant_id"], method="POST", content=b"other"
    )
    assert again.status_code == 409
    # No user data: not listed, and 404 in both formats.
    assert "user_data" not in ask(compute_api, server, "/openstack/latest").text
    for missing in ("/openstack/latest/user_data", "/latest/user-data"):
        assert metadata(compute_api, missing, server_id, server["tenant_id"]).status_code == 404
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)


def test_the_drive_is_deleted_with_the_server(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    server_id = boot(compute_api, member, image_id, network["id"], config_drive=True)
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    _, data = drive_of(compute_api, server_id)
    assert data
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)
    assert not [key for key in compute_api.fake.state.files if key[1].startswith(server_id)]


def test_a_drive_that_cannot_attach_fails_the_build_and_leaves_no_file(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    # The drive is written and attached in the step that completes the new VM.
    compute_api.fake.fail_next("create_vm", TransientError("vCenter went away"))
    server_id = boot(compute_api, member, image_id, network["id"])
    server = wait_status(compute_api, server_id, member.token, "ERROR")
    assert "vCenter went away" in server["fault"]["message"]
    assert server_id not in compute_api.fake.state.vms
    assert not [key for key in compute_api.fake.state.files if key[1].startswith(server_id)]
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)


def test_config_drive_must_be_a_boolean(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    body = {
        "name": unique("vm"),
        "imageRef": image_id,
        "flavorRef": "1",
        "networks": [{"uuid": network["id"]}],
        "config_drive": "maybe",
    }
    response = compute_api.post("/servers", token=member.token, json={"server": body})
    fault(response, 400, "badRequest")


def test_a_resumed_build_keeps_the_attached_drive(
    compute_api: ComputeApi, server: dict[str, Any]
) -> None:
    """The hook runs again when a restart resumes a build: an attached drive stays as it is."""
    hook = config_drives(compute_api).before_power_on
    path, before = drive_of(compute_api, server["id"])
    datastore = path[1:].split("]")[0]
    row = compute_api.cloud.compute.servers.get(ADMIN, server["id"])
    spec = VMSpec(server["id"], server["id"], "DC0_C0", datastore, 1, 512)
    hook(row, spec)
    assert drive_of(compute_api, server["id"]) == (path, before)


def test_refresh_writes_a_new_drive_from_todays_facts(
    compute_api: ComputeApi, member: Persona, image_id: str, network: dict[str, Any]
) -> None:
    """What a rebuild calls: the drive is replaced, and shows the server's metadata now."""
    server_id = boot(compute_api, member, image_id, network["id"], metadata={"v": "1"})
    wait_status(compute_api, server_id, member.token, "ACTIVE")
    changed = compute_api.put(
        f"/servers/{server_id}/metadata", token=member.token, json={"metadata": {"v": "2"}}
    )
    assert changed.status_code == 200, changed.text
    drives = config_drives(compute_api)
    path, before = drive_of(compute_api, server_id)
    row = compute_api.cloud.compute.servers.get(ADMIN, server_id)
    spec = VMSpec(server_id, server_id, "DC0_C0", path[1:].split("]")[0], 1, 512)
    drives.refresh(row, spec)
    again, after = drive_of(compute_api, server_id)
    assert again == path and after != before
    meta = json.loads(iso_files(after)["openstack/latest/meta_data.json"])
    assert meta["meta"] == {"v": "2"}
    assert compute_api.delete(f"/servers/{server_id}", token=member.token).status_code == 204
    wait_gone(compute_api, server_id, member.token)
