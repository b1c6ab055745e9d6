"""A port's `extra_dhcp_opts` reach its instance through the edge's dnsmasq, for real.

An in-process edge-mode cloud programs this host; the "instance" is a namespace on the tenant
network's bridge with the port's MAC, and busybox udhcpc reports what its lease carried. The
PXE trio (bootfile-name, tftp-server, server-ip-address) is what dnsmasq puts in the BOOTP
header when the client does not ask for them as options (udhcpc: `boot_file`, `sname`,
`siaddr`); ntp-server is an ordinary option udhcpc asks for (`ntpsrv`). Another instance on
the same network must see none of them. An update through the API then changes what the next
lease carries (dnsmasq is restarted for it: see `vistack.edge.dhcp` on SIGHUP and host tags).

Needs root, ip, nft, dnsmasq and busybox (skipped with the reason otherwise).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.edge.conftest import EdgeCloudApi
from tests.edge.lab import Lab, needs_root, new_tag
from vistack.edge import dhcp, names

pytestmark = needs_root

MAC_PXE = "fa:16:3e:5e:00:21"
MAC_PLAIN = "fa:16:3e:5e:00:22"


def created(response: Any, key: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    entity: dict[str, Any] = response.json()[key]
    return entity


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    made = Lab(tag=new_tag(), workdir=tmp_path_factory.mktemp("lab"))
    try:
        yield made
    finally:
        made.close()


def test_port_options_reach_only_that_instance_and_follow_updates(
    edge_cloud: EdgeCloudApi, lab: Lab
) -> None:
    api = edge_cloud
    prefix = f"10.{random.randrange(1, 250)}.{random.randrange(1, 250)}."
    network = created(api.post("/v2.0/networks", json={"network": {"name": "pxe"}}), "network")
    try:
        subnet = {"network_id": network["id"], "ip_version": 4, "cidr": f"{prefix}0/24"}
        created(api.post("/v2.0/subnets", json={"subnet": subnet}), "subnet")
        options = [
            {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
            {"opt_name": "tftp-server", "opt_value": f"{prefix}200"},
            {"opt_name": "server-ip-address", "opt_value": f"{prefix}200"},
            {"opt_name": "ntp-server", "opt_value": "192.0.2.123"},
        ]
        port = created(
            api.post(
                "/v2.0/ports",
                json={
                    "port": {
                        "network_id": network["id"],
                        "mac_address": MAC_PXE,
                        "extra_dhcp_opts": options,
                    }
                },
            ),
            "port",
        )
        body = {"port": {"network_id": network["id"], "mac_address": MAC_PLAIN}}
        plain = created(api.post("/v2.0/ports", json=body), "port")
        api.synced()
        bridge = names.bridge(network["id"])
        inst = lab.instance("p", bridge, MAC_PXE)
        other = lab.instance("q", bridge, MAC_PLAIN)

        lease = lab.dhcp(inst)
        assert lease["ip"] == port["fixed_ips"][0]["ip_address"]
        assert lease.get("boot_file") == "pxelinux.0", lease
        assert lease.get("sname") == f"{prefix}200", lease
        assert lease.get("siaddr") == f"{prefix}200", lease
        assert lease.get("ntpsrv") == "192.0.2.123", lease
        # The subnet's own options still hold for it.
        assert lease["router"] == f"{prefix}1"

        neighbour = lab.dhcp(other)
        assert neighbour["ip"] == plain["fixed_ips"][0]["ip_address"]
        for key in ("boot_file", "sname", "ntpsrv"):
            assert key not in neighbour, neighbour
        assert neighbour.get("siaddr") != f"{prefix}200"

        state_dir = api.dataplane.agent.state_dir / "dhcp" / network["id"]
        pid = dhcp.running_pid(state_dir)
        changes = [
            {"opt_name": "bootfile-name", "opt_value": "grubx64.efi"},
            {"opt_name": "tftp-server", "opt_value": None},
            {"opt_name": "ntp-server", "opt_value": "192.0.2.124"},
        ]
        response = api.put(f"/v2.0/ports/{port['id']}", json={"port": {"extra_dhcp_opts": changes}})
        assert response.status_code == 200, response.text
        api.synced()
        renewed = lab.dhcp(inst)
        assert renewed.get("boot_file") == "grubx64.efi", renewed
        assert "sname" not in renewed, renewed
        assert renewed.get("siaddr") == f"{prefix}200", renewed
        assert renewed.get("ntpsrv") == "192.0.2.124", renewed
        # dnsmasq crashes on a SIGHUP while a tagged host holds a lease: it was restarted, and
        # serves the other instance as before.
        assert pid is not None and dhcp.running_pid(state_dir) not in {None, pid}
        assert lab.dhcp(other)["ip"] == plain["fixed_ips"][0]["ip_address"]
    finally:
        for leftover in api.get(f"/v2.0/ports?network_id={network['id']}").json()["ports"]:
            if leftover["device_owner"] != "network:dhcp":
                api.delete(f"/v2.0/ports/{leftover['id']}")
        api.delete(f"/v2.0/networks/{network['id']}")
        api.synced()
