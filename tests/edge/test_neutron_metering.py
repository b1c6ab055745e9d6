"""Neutron metering against the real kernel: labels made through the API count an instance's
traffic through its router's gateway leg, read with `EdgeAgent.meter_counters()` and with
`vistack edge meters`; an excluded rule stops the counting of its prefix, counts survive a table
swap, and deleting a label removes its counter.

An in-process edge-mode cloud (SQLite, fake vCenter) programs this host; the "instance" is a
namespace with its port's MAC and fixed address on the tenant bridge, the "outside" one on the
external bridge with the external subnet's upstream gateway address. Needs root, ip, nft,
dnsmasq and busybox (skipped with the reason otherwise).
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from tests.edge.conftest import EdgeCloudApi
from tests.edge.lab import Lab, needs_root
from tests.edge.test_neutron_dataplane import (
    created,
    make_external,
    make_router,
    ping,
    plugged,
)
from vistack.cli import main
from vistack.edge import meter, names

pytestmark = needs_root

LABELS = "/v2.0/metering/metering-labels"
RULES = "/v2.0/metering/metering-label-rules"
MAC_VM = "fa:16:3e:6e:00:11"
MAC_EXT = "fa:16:3e:6e:00:99"
#: An ICMP echo request's IPv4 packet (busybox ping: 56 bytes of data).
ECHO_BYTES = 84


@dataclass
class Metered:
    api: EdgeCloudApi
    router_id: str
    ext_prefix: str  # "198.18.x."
    vm: str
    ext: str

    @property
    def ext_cidr(self) -> str:
        return f"{self.ext_prefix}0/24"

    @property
    def ext_host(self) -> str:
        return f"{self.ext_prefix}1"

    def counters(self) -> dict[str, tuple[int, int]]:
        """This router's label counts, read by the agent from the kernel."""
        found = self.api.dataplane.agent.meter_counters()
        return {
            label: counts for (router, label), counts in found.items() if router == self.router_id
        }

    def rule(self, label_id: str, **fields: Any) -> dict[str, Any]:
        body = {"metering_label_id": label_id, **fields}
        return created(
            self.api.post(RULES, json={"metering_label_rule": body}), "metering_label_rule"
        )

    def label(self, name: str) -> dict[str, Any]:
        return created(
            self.api.post(LABELS, json={"metering_label": {"name": name}}), "metering_label"
        )


def _build(api: EdgeCloudApi, lab: Lab) -> Metered:
    rnd = random.Random()
    prefix = f"10.{rnd.randrange(1, 250)}.{rnd.randrange(1, 250)}."
    ext_prefix = f"198.18.{rnd.randrange(1, 250)}."
    external = make_external(api, ext_prefix)
    tenant = created(api.post("/v2.0/networks", json={"network": {"name": "t"}}), "network")
    subnet = created(
        api.post(
            "/v2.0/subnets",
            json={"subnet": {"network_id": tenant["id"], "ip_version": 4, "cidr": f"{prefix}0/24"}},
        ),
        "subnet",
    )
    port = created(
        api.post(
            "/v2.0/ports",
            json={"port": {"network_id": tenant["id"], "mac_address": MAC_VM, **plugged("vm-m")}},
        ),
        "port",
    )
    router = make_router(api, external["id"], subnet["id"])
    api.synced()
    vm_ip = port["fixed_ips"][0]["ip_address"]
    # A static address (the port's) instead of a DHCP lease: what is metered is the router.
    vm = lab.external("m", names.bridge(tenant["id"]), MAC_VM, f"{vm_ip}/24", f"{prefix}1")
    ext = lab.external("y", names.bridge(external["id"]), MAC_EXT, f"{ext_prefix}1/24")
    return Metered(api, router["id"], ext_prefix, vm, ext)


@pytest.fixture(scope="module")
def metered(edge_cloud: EdgeCloudApi, module_lab: Lab) -> Metered:
    return _build(edge_cloud, module_lab)


def _pings(topo: Metered, count: int) -> None:
    for _ in range(count):
        assert ping(topo.vm, topo.ext_host)


def _cli(topo: Metered, *extra: str) -> Any:
    data_dir = topo.api.dataplane.agent.state_dir.parent
    result = CliRunner().invoke(main, ["edge", "meters", "--data-dir", str(data_dir), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def _table_exists(topo: Metered) -> bool:
    argv = ["nft", "list", "table", "inet", meter.TABLE]
    netns = names.router_ns(topo.router_id)
    return (
        subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True).returncode == 0
    )


def test_labels_count_gateway_traffic_until_excluded_and_go_with_their_label(
    metered: Metered,
) -> None:
    topo = metered
    assert not _table_exists(topo), "no label, no metering table"
    out = topo.label("to-public")
    back = topo.label("from-public")
    topo.rule(out["id"], direction="egress", remote_ip_prefix=topo.ext_cidr)
    topo.rule(back["id"], direction="ingress", source_ip_prefix=topo.ext_cidr)
    topo.api.synced()
    start = topo.counters()
    assert set(start) == {out["id"], back["id"]}

    _pings(topo, 3)
    after = topo.counters()
    sent = after[out["id"]][0] - start[out["id"]][0]
    assert sent >= 3 and after[out["id"]][1] - start[out["id"]][1] >= 3 * ECHO_BYTES
    assert after[back["id"]][0] - start[back["id"]][0] >= 3  # the replies, ingress

    # The operator's reading path: the same numbers, as JSON and as a table.
    rows = json.loads(_cli(topo, "--json"))
    mine = {r["label_id"]: r for r in rows if r["router_id"] == topo.router_id}
    assert mine[out["id"]]["packets"] >= after[out["id"]][0]
    assert mine[out["id"]]["bytes"] >= after[out["id"]][1]
    table = _cli(topo)
    assert table.splitlines()[0].split() == ["router", "label", "packets", "bytes"]
    assert any(line.split()[:2] == [topo.router_id, out["id"]] for line in table.splitlines())

    # Excluding the host: the rule set changes, the table is swapped, the counts carry over,
    # and traffic to that host no longer counts.
    topo.rule(out["id"], direction="egress", remote_ip_prefix=f"{topo.ext_host}/32", excluded=True)
    topo.api.synced()
    swapped = topo.counters()
    assert swapped[out["id"]][0] >= after[out["id"]][0], "the swap kept the count"
    _pings(topo, 3)
    excluded = topo.counters()
    assert excluded[out["id"]] == swapped[out["id"]]
    assert excluded[back["id"]][0] - swapped[back["id"]][0] >= 3  # other labels still count

    # Deleting a label removes its counter; the last one takes the table.
    assert topo.api.delete(f"{LABELS}/{out['id']}").status_code == 204
    topo.api.synced()
    assert set(topo.counters()) == {back["id"]}
    assert topo.counters()[back["id"]][0] >= excluded[back["id"]][0]
    assert topo.api.delete(f"{LABELS}/{back['id']}").status_code == 204
    topo.api.synced()
    assert topo.counters() == {}
    assert not _table_exists(topo)
    assert all(r["router_id"] != topo.router_id for r in json.loads(_cli(topo, "--json")))
