"""What an instance learns about itself: one content model, rendered for the metadata service
and for the config drive.

`InstanceFacts` is everything Nova's `InstanceMetadata` reads (the server, its key, its ports
with their subnets, its floating IPs), gathered once per request by `instance_facts.py`. From
it this module renders Nova's formats exactly, so cloud-init finds the same data through
http://169.254.169.254 as on the `config-2` drive:

- OpenStack: `/openstack/<version>/meta_data.json`, `user_data`, `password`,
  `vendor_data.json`, `network_data.json`, `vendor_data2.json`, each from the version that
  introduced it (2012-08-10 ... 2018-08-27, plus `latest`);
- EC2: `/<version>/meta-data/...` and `/<version>/user-data` (1.0 ... 2009-04-04, `latest`),
  directories listed one entry a line with a trailing slash on sub-directories, as Nova's
  `ec2_md_print` does, and `public-keys/` answering `0=<key name>`.

Paths are normalised first (`posixpath.normpath`), so a trailing slash asks for the same node.
Nothing here caches: every request renders from facts read for it, so a change to the server's
metadata shows on the next request.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: EC2 metadata versions (Nova's `VERSIONS`).
EC2_VERSIONS = (
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
)
FOLSOM = "2012-08-10"
GRIZZLY = "2013-04-04"
HAVANA = "2013-10-17"
LIBERTY = "2015-10-15"
NEWTON_ONE = "2016-06-30"
NEWTON_TWO = "2016-10-06"
OCATA = "2017-02-22"
ROCKY = "2018-08-27"
#: OpenStack metadata versions (Nova's `OPENSTACK_VERSIONS` up to Rocky).
OPENSTACK_VERSIONS = (FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY)
#: EC2 versions Nova leaves off the config drive (`[api] config_drive_skip_versions`).
CONFIG_DRIVE_SKIPPED_EC2 = EC2_VERSIONS[:-1]

#: Where the config drive holds personality files (Nova's `CONTENT_DIR`).
CONTENT_DIR = "content"
MD_JSON = "meta_data.json"
UD = "user_data"
PASSWORD = "password"
VD_JSON = "vendor_data.json"
NW_JSON = "network_data.json"
VD2_JSON = "vendor_data2.json"

TEXT = "text/plain"
JSON = "application/json"

#: The root disk's device name a vSphere instance reports (Nova's VMware driver: `/dev/sda`).
ROOT_DEVICE = "/dev/sda"
#: Neutron VIF types Nova shows as themselves in a link's `type` (`LEGACY_EXPOSED_VIF_TYPES`);
#: any other is a plain `phy`.
EXPOSED_VIF_TYPES = ("bridge", "dvs", "hw_veb", "hyperv", "ovs", "tap", "vhostuser", "vif")
#: Nova's link names: "tap" plus the port id, cut to a Linux interface name (14 characters).
LINK_NAME_LENGTH = 14


class MetadataNotFound(Exception):
    """No such path in this instance's metadata (the service answers 404)."""


@dataclass(frozen=True)
class SubnetFacts:
    """A subnet as network_data.json needs it; `dhcp_server` is its DHCP port's address
    (None: nobody serves DHCP there, so the guest gets a static configuration)."""

    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()
    dhcp_server: str | None = None


@dataclass(frozen=True)
class PortFacts:
    """One of the instance's ports (a NIC), in NIC order, with its fixed IPs' subnets."""

    id: str
    mac: str
    network_id: str
    fixed_ips: tuple[tuple[str, SubnetFacts], ...] = ()
    mtu: int | None = None
    vif_type: str = ""


@dataclass(frozen=True)
class KeyFacts:
    name: str
    type: str
    public_key: str


@dataclass(frozen=True)
class InstanceFacts:
    """Everything the instance's metadata is rendered from, read at one moment."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    availability_zone: str
    image_id: str
    flavor_name: str
    launch_index: int = 0
    reservation_id: str = ""
    key: KeyFacts | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    user_data: bytes | None = None
    security_groups: tuple[str, ...] = ()
    ports: tuple[PortFacts, ...] = ()
    floating_ips: tuple[str, ...] = ()
    #: What the guest stored with POST /openstack/latest/password (Windows images do).
    password: str = ""
    vendor_data: Mapping[str, Any] = field(default_factory=dict)
    #: Only on the config drive (Nova puts the admin password there, never on the service).
    admin_pass: str | None = None
    #: Personality files, (path, contents): only on the config drive, as in Nova, where the
    #: metadata service never has them.
    files: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str = TEXT


# -- ids -----------------------------------------------------------------------------------------


def ec2_id(prefix: str, uuid_text: str) -> str:
    """An EC2-style id (`i-0a1b2c3d`) from a UUID: Nova numbers them in a mapping table; the
    UUID's first 32 bits are as stable and need none."""
    hex_digits = uuid_text.replace("-", "")[:8].lower() or "0" * 8
    return f"{prefix}-{hex_digits}"


def _at_least(required: str, requested: str, versions: tuple[str, ...]) -> bool:
    return versions.index(requested) >= versions.index(required)


def _openstack_version(version: str) -> str:
    if version == "latest":
        return OPENSTACK_VERSIONS[-1]
    if version not in OPENSTACK_VERSIONS:
        raise MetadataNotFound(version)
    return version


# -- OpenStack format ----------------------------------------------------------------------------


def meta_data(facts: InstanceFacts, version: str, *, config_drive: bool = False) -> dict[str, Any]:
    """meta_data.json of `version` (`latest` included)."""
    version = _openstack_version(version)
    data: dict[str, Any] = {"uuid": facts.uuid}
    if facts.metadata:
        data["meta"] = dict(facts.metadata)
    if config_drive and facts.admin_pass:
        data["admin_pass"] = facts.admin_pass
    if config_drive and facts.files:
        data["files"] = [
            {"path": path, "content_path": f"/{CONTENT_DIR}/{content_name(index)}"}
            for index, (path, _) in enumerate(facts.files)
        ]
    if facts.key is not None:
        data["public_keys"] = {facts.key.name: facts.key.public_key}
        data["keys"] = [
            {"name": facts.key.name, "type": facts.key.type, "data": facts.key.public_key}
        ]
    data["hostname"] = facts.hostname
    data["name"] = facts.name
    data["launch_index"] = facts.launch_index
    data["availability_zone"] = facts.availability_zone
    if _at_least(GRIZZLY, version, OPENSTACK_VERSIONS):
        data["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if _at_least(LIBERTY, version, OPENSTACK_VERSIONS):
        data["project_id"] = facts.project_id
    if _at_least(NEWTON_ONE, version, OPENSTACK_VERSIONS):
        data["devices"] = []  # tagged devices: none are tagged on this cloud yet
    return data


def version_files(facts: InstanceFacts, version: str) -> list[str]:
    """What `/openstack/<version>/` lists."""
    version = _openstack_version(version)
    names = [MD_JSON]
    if facts.user_data is not None:
        names.append(UD)
    if _at_least(GRIZZLY, version, OPENSTACK_VERSIONS):
        names.append(PASSWORD)
    if _at_least(HAVANA, version, OPENSTACK_VERSIONS):
        names.append(VD_JSON)
    if _at_least(LIBERTY, version, OPENSTACK_VERSIONS):
        names.append(NW_JSON)
    if _at_least(NEWTON_TWO, version, OPENSTACK_VERSIONS):
        names.append(VD2_JSON)
    return names


def _link_name(port_id: str) -> str:
    return ("tap" + port_id)[:LINK_NAME_LENGTH]


def _routes(subnet: SubnetFacts) -> list[dict[str, str]]:
    routes: list[dict[str, str]] = []
    if subnet.gateway_ip:
        anywhere = "0.0.0.0" if subnet.ip_version == 4 else "::"
        routes.append({"network": anywhere, "netmask": anywhere, "gateway": subnet.gateway_ip})
    for destination, nexthop in subnet.host_routes:
        net = ipaddress.ip_network(destination, strict=False)
        routes.append(
            {"network": str(net.network_address), "netmask": str(net.netmask), "gateway": nexthop}
        )
    return routes


def _dns(subnet: SubnetFacts) -> list[dict[str, str]]:
    return [{"type": "dns", "address": address} for address in subnet.dns_nameservers]


def network_data(facts: InstanceFacts) -> dict[str, Any]:
    """network_data.json: one link per port, one network per fixed IP's subnet (DHCP where the
    subnet has a DHCP server, else the address, netmask, routes and DNS servers), and the DNS
    services, as Nova's `netutils.get_network_metadata` lays them out."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for port in facts.ports:
        if not port.fixed_ips:
            continue  # Nova leaves out a VIF with no subnets
        link_id = _link_name(port.id)
        links.append(
            {
                "id": link_id,
                "vif_id": port.id,
                "type": port.vif_type if port.vif_type in EXPOSED_VIF_TYPES else "phy",
                "mtu": port.mtu,
                "ethernet_mac_address": port.mac,
            }
        )
        for version in (4, 6):
            seen: set[str] = set()
            for address, subnet in port.fixed_ips:
                if subnet.ip_version != version or subnet.id in seen:
                    continue
                seen.add(subnet.id)  # a subnet's first address, as Nova takes `ips[0]`
                network_id = f"network{len(networks)}"
                if subnet.dhcp_server is not None:
                    networks.append(
                        {
                            "id": network_id,
                            "type": f"ipv{version}_dhcp",
                            "link": link_id,
                            "network_id": port.network_id,
                        }
                    )
                else:
                    cidr = ipaddress.ip_network(subnet.cidr, strict=False)
                    networks.append(
                        {
                            "id": network_id,
                            "type": f"ipv{version}",
                            "link": link_id,
                            "ip_address": address,
                            "netmask": str(cidr.netmask),
                            "routes": _routes(subnet),
                            "network_id": port.network_id,
                            "services": _dns(subnet),
                        }
                    )
                for entry in _dns(subnet):
                    if entry not in services:
                        services.append(entry)
    return {"links": links, "networks": networks, "services": services}


def vendor_data2(facts: InstanceFacts) -> dict[str, Any]:
    """vendor_data2.json as Nova's default providers (`StaticJSON` only) make it: the static
    vendor data under `static`; no dynamic vendor data services are called."""
    return {"static": dict(facts.vendor_data)}


def content_name(index: int) -> str:
    """The `content/` entry of the personality file at `index` (Nova's `%04i`)."""
    return f"{index:04d}"


def _dumps(data: Any) -> bytes:
    return json.dumps(data).encode()


def openstack_item(facts: InstanceFacts, tokens: list[str]) -> Answer:
    """`/openstack/<tokens...>`; an empty `tokens` lists the versions."""
    if not tokens:
        return Answer("\n".join([*OPENSTACK_VERSIONS, "latest"]).encode())
    version = tokens[0]
    if version != "latest" and version not in OPENSTACK_VERSIONS:
        raise MetadataNotFound(version)
    files = version_files(facts, version)
    if len(tokens) == 1:
        return Answer("\n".join(files).encode())
    if len(tokens) != 2 or tokens[1] not in files:
        raise MetadataNotFound("/".join(tokens))
    name = tokens[1]
    if name == MD_JSON:
        return Answer(_dumps(meta_data(facts, version)), JSON)
    if name == UD:
        assert facts.user_data is not None  # listed only when there is some
        return Answer(facts.user_data)
    if name == PASSWORD:
        return Answer(facts.password.encode())
    if name == NW_JSON:
        return Answer(_dumps(network_data(facts)), JSON)
    if name == VD_JSON:
        return Answer(_dumps(dict(facts.vendor_data)), JSON)
    return Answer(_dumps(vendor_data2(facts)), JSON)


# -- EC2 format ----------------------------------------------------------------------------------


def ec2_meta_data(facts: InstanceFacts, version: str) -> dict[str, Any]:
    """The EC2 `meta-data` tree of `version`. A dict with `_name` lists as that name (Nova's
    rendering of `public-keys/`)."""
    if version == "latest":
        version = EC2_VERSIONS[-1]
    if version not in EC2_VERSIONS:
        raise MetadataNotFound(version)
    fixed = [a for port in facts.ports for a, subnet in port.fixed_ips if subnet.ip_version == 4]
    data: dict[str, Any] = {
        "ami-id": ec2_id("ami", facts.image_id),
        "ami-launch-index": facts.launch_index,
        "ami-manifest-path": "FIXME",
        "instance-id": ec2_id("i", facts.uuid),
        "hostname": facts.hostname,
        "local-ipv4": fixed[0] if fixed else "",
        "reservation-id": facts.reservation_id,
        "security-groups": list(facts.security_groups),
    }
    if facts.key is not None:
        data["public-keys"] = {
            "0": {"_name": f"0={facts.key.name}", "openssh-key": facts.key.public_key}
        }
    if _at_least("2007-01-19", version, EC2_VERSIONS):
        data["local-hostname"] = facts.hostname
        data["public-hostname"] = facts.hostname
        data["public-ipv4"] = facts.floating_ips[0] if facts.floating_ips else ""
    if _at_least("2007-08-29", version, EC2_VERSIONS):
        data["instance-type"] = facts.flavor_name
    if _at_least("2007-12-15", version, EC2_VERSIONS):
        data["block-device-mapping"] = {
            "ami": ROOT_DEVICE.removeprefix("/dev/"),
            "root": ROOT_DEVICE,
        }
    if _at_least("2008-02-01", version, EC2_VERSIONS):
        data["placement"] = {"availability-zone": facts.availability_zone}
    if _at_least("2008-09-01", version, EC2_VERSIONS):
        data["instance-action"] = "none"
    return data


def _print(node: Any) -> bytes:
    """Nova's `ec2_md_print`: a directory one entry a line (sub-directories with `/`, or their
    `_name`), a list one item a line, anything else as itself."""
    if isinstance(node, dict):
        lines = []
        for key in sorted(node):
            if key == "_name":
                continue
            value = node[key]
            if isinstance(value, dict):
                lines.append(str(value["_name"]) if "_name" in value else f"{key}/")
            else:
                lines.append(key)
        return "\n".join(lines).encode()
    if isinstance(node, list):
        return "\n".join(str(item) for item in node).encode()
    if isinstance(node, bytes):
        return node
    return str(node).encode()


def ec2_item(facts: InstanceFacts, tokens: list[str]) -> Answer:
    """`/<version>/...` of the EC2 tree; empty `tokens` lists the versions."""
    if not tokens:
        return Answer("\n".join([*EC2_VERSIONS, "latest"]).encode())
    tree: dict[str, Any] = {"meta-data": ec2_meta_data(facts, tokens[0])}
    if facts.user_data is not None:
        tree["user-data"] = facts.user_data
    node: Any = tree
    for token in tokens[1:]:
        if isinstance(node, dict) and token in node and token != "_name":
            node = node[token]
        else:
            raise MetadataNotFound("/".join(tokens))
    return Answer(_print(node))


def lookup(facts: InstanceFacts, path: str) -> Answer:
    """The answer to GET `path` (relative to the metadata root), as Nova's `lookup`: paths
    not under `openstack/` or `ec2/` are EC2 ones.

    :raises MetadataNotFound: no such item.
    """
    normal = posixpath.normpath("/" + path.lstrip("/"))
    tokens = [t for t in normal.split("/") if t]
    if tokens and tokens[0] == "openstack":
        return openstack_item(facts, tokens[1:])
    if tokens and tokens[0] == "ec2":
        tokens = tokens[1:]
    return ec2_item(facts, tokens)


# -- the config drive's files -------------------------------------------------------------------


def config_drive_files(facts: InstanceFacts) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every file of the `config-2` drive, as Nova's
    `metadata_for_config_drive` lays them out."""
    for version in (*EC2_VERSIONS, "latest"):
        if version in CONFIG_DRIVE_SKIPPED_EC2:
            continue
        if facts.user_data is not None:
            yield f"ec2/{version}/user-data", facts.user_data
        yield f"ec2/{version}/meta-data.json", _dumps(ec2_meta_data(facts, version))
    for version in (*OPENSTACK_VERSIONS, "latest"):
        base = f"openstack/{version}"
        yield f"{base}/{MD_JSON}", _dumps(meta_data(facts, version, config_drive=True))
        if facts.user_data is not None:
            yield f"{base}/{UD}", facts.user_data
        files = version_files(facts, version)
        if VD_JSON in files:
            yield f"{base}/{VD_JSON}", _dumps(dict(facts.vendor_data))
        if NW_JSON in files:
            yield f"{base}/{NW_JSON}", _dumps(network_data(facts))
        if VD2_JSON in files:
            yield f"{base}/{VD2_JSON}", _dumps(vendor_data2(facts))
    for index, (_, contents) in enumerate(facts.files):
        yield f"openstack/{CONTENT_DIR}/{content_name(index)}", contents
