"""The config drive's ISO and the metadata content model, without a cloud: the ISO opened with
pycdlib (label, Rock Ridge and Joliet names, the files' bytes), Nova's network_data.json layout
for DHCP and static subnets, and the EC2 tree's listings."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pycdlib
import pytest

from vistack.compute.domain.config_drive import LABEL, build_iso
from vistack.compute.domain.instance_facts import load_vendor_data
from vistack.compute.domain.instance_metadata import (
    InstanceFacts,
    KeyFacts,
    MetadataNotFound,
    PortFacts,
    SubnetFacts,
    config_drive_files,
    lookup,
    meta_data,
    network_data,
)
from vistack.config import ConfigError

STATIC = SubnetFacts(
    id="s-static",
    cidr="10.0.0.0/24",
    ip_version=4,
    gateway_ip="10.0.0.1",
    dns_nameservers=("8.8.8.8",),
    host_routes=(("192.168.0.0/16", "10.0.0.254"),),
)
DHCP = SubnetFacts(id="s-dhcp", cidr="10.1.0.0/24", ip_version=4, dhcp_server="10.1.0.2")
FACTS = InstanceFacts(
    uuid="0a1b2c3d-0000-4000-8000-00000000abcd",
    name="web1",
    hostname="web1",
    project_id="p1",
    availability_zone="nova",
    image_id="feedbeef-0000-4000-8000-000000000000",
    flavor_name="m1.small",
    key=KeyFacts("k", "ssh", "ssh-ed25519 AAAA k"),
    metadata={"role": "web"},
    user_data=b"#!/bin/sh\necho hi\n",
    security_groups=("default",),
    ports=(
        PortFacts(
            "11111111-2222-3333-4444-555555555555",
            "fa:16:3e:00:00:01",
            "n-static",
            (("10.0.0.5", STATIC),),
            mtu=1500,
            vif_type="dvs",
        ),
        PortFacts("66666666-7777", "fa:16:3e:00:00:02", "n-dhcp", (("10.1.0.9", DHCP),)),
    ),
    floating_ips=("203.0.113.7",),
    admin_pass="s3cret",
    vendor_data={"site": "lab"},
)


def read_iso(data: bytes) -> tuple[bytes, dict[str, bytes], set[str]]:
    """(volume label, files by Rock Ridge path, Joliet paths) of an ISO image."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        files: dict[str, bytes] = {}
        for root, _, names in iso.walk(rr_path="/"):
            for name in names:
                path = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=path)
                files[path.lstrip("/")] = out.getvalue()
        joliet: set[str] = set()
        for root, _, names in iso.walk(joliet_path="/"):
            joliet.update(f"{root.rstrip('/')}/{n}".lstrip("/") for n in names)
        return iso.pvd.volume_identifier.rstrip(), files, joliet
    finally:
        iso.close()


def test_the_iso_holds_cloud_inits_config_2_layout() -> None:
    data = build_iso(config_drive_files(FACTS))
    label, files, joliet = read_iso(data)
    assert label == LABEL.encode()
    assert set(files) == joliet  # Windows (Joliet) sees the same names as Linux (Rock Ridge)
    for version in ("2012-08-10", "2013-04-04", "2018-08-27", "latest"):
        assert f"openstack/{version}/meta_data.json" in files
        assert files[f"openstack/{version}/user_data"] == FACTS.user_data
    assert "openstack/2013-04-04/network_data.json" not in files
    assert "openstack/2015-10-15/network_data.json" in files
    assert "openstack/2016-06-30/vendor_data2.json" not in files
    assert json.loads(files["openstack/latest/vendor_data.json"]) == {"site": "lab"}
    assert json.loads(files["openstack/latest/vendor_data2.json"]) == {"static": {"site": "lab"}}
    assert {p for p in files if p.startswith("ec2/")} == {
        "ec2/2009-04-04/meta-data.json",
        "ec2/2009-04-04/user-data",
        "ec2/latest/meta-data.json",
        "ec2/latest/user-data",
    }
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta["admin_pass"] == "s3cret"  # on the drive only, as Nova does
    assert meta["uuid"] == FACTS.uuid and meta["meta"] == {"role": "web"}
    assert json.loads(files["openstack/latest/network_data.json"]) == network_data(FACTS)
    ec2 = json.loads(files["ec2/latest/meta-data.json"])
    assert ec2["instance-id"] == "i-0a1b2c3d"
    assert ec2["ami-id"] == "ami-feedbeef"
    assert ec2["public-ipv4"] == "203.0.113.7"


@pytest.mark.skipif(shutil.which("blkid") is None, reason="needs blkid")
def test_blkid_sees_the_label_cloud_init_looks_for(tmp_path: Path) -> None:
    image = tmp_path / "configdrive.iso"
    image.write_bytes(build_iso(config_drive_files(FACTS)))
    found = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "LABEL", str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout.strip() == "config-2", found.stderr


def test_the_service_never_shows_the_admin_password() -> None:
    assert "admin_pass" not in meta_data(FACTS, "latest")
    served = json.loads(lookup(FACTS, "/openstack/latest/meta_data.json").body)
    assert "admin_pass" not in served


def test_network_data_static_and_dhcp_subnets() -> None:
    data = network_data(FACTS)
    assert data["links"] == [
        {
            "id": "tap11111111-22",
            "vif_id": "11111111-2222-3333-4444-555555555555",
            "type": "dvs",
            "mtu": 1500,
            "ethernet_mac_address": "fa:16:3e:00:00:01",
        },
        {
            "id": "tap66666666-77",
            "vif_id": "66666666-7777",
            "type": "phy",
            "mtu": None,
            "ethernet_mac_address": "fa:16:3e:00:00:02",
        },
    ]
    static, dhcp = data["networks"]
    assert static == {
        "id": "network0",
        "type": "ipv4",
        "link": "tap11111111-22",
        "ip_address": "10.0.0.5",
        "netmask": "255.255.255.0",
        "routes": [
            {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"},
            {"network": "192.168.0.0", "netmask": "255.255.0.0", "gateway": "10.0.0.254"},
        ],
        "network_id": "n-static",
        "services": [{"type": "dns", "address": "8.8.8.8"}],
    }
    assert dhcp == {
        "id": "network1",
        "type": "ipv4_dhcp",
        "link": "tap66666666-77",
        "network_id": "n-dhcp",
    }
    assert data["services"] == [{"type": "dns", "address": "8.8.8.8"}]


def test_ec2_listings_follow_novas_rendering() -> None:
    assert lookup(FACTS, "/").body.split(b"\n")[-1] == b"latest"
    assert lookup(FACTS, "/latest/meta-data/public-keys").body == b"0=k"
    assert lookup(FACTS, "/latest/meta-data/public-keys/0").body == b"openssh-key"
    assert (
        lookup(FACTS, "/latest/meta-data/public-keys/0/openssh-key/").body == b"ssh-ed25519 AAAA k"
    )
    assert lookup(FACTS, "/latest/meta-data/placement/").body == b"availability-zone"
    assert lookup(FACTS, "/latest/meta-data/ami-launch-index").body == b"0"
    old = lookup(FACTS, "/1.0/meta-data/").body.split(b"\n")
    assert b"public-ipv4" not in old and b"instance-type" not in old
    for missing in ("/latest/meta-data/public-keys/0/_name", "/2010-01-01/meta-data", "/x"):
        with pytest.raises(MetadataNotFound):
            lookup(FACTS, missing)


def test_vendor_data_file(tmp_path: Path) -> None:
    assert load_vendor_data("") == {}
    good = tmp_path / "vendor.json"
    good.write_text('{"site": "lab"}')
    assert load_vendor_data(str(good)) == {"site": "lab"}
    for bad, text in (("list.json", "[1]"), ("broken.json", "{"), ("missing.json", None)):
        path = tmp_path / bad
        if text is not None:
            path.write_text(text)
        with pytest.raises(ConfigError, match="vendordata_jsonfile_path"):
            load_vendor_data(str(path))
