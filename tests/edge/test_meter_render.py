"""Metering without root: the nft table a router's labels render to, reading counters back,
and the agent keeping counts across a table swap (on a scripted runner)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from vistack.edge import meter
from vistack.edge.agent import EdgeAgent, EdgeConfig
from vistack.edge.errors import EdgeError
from vistack.edge.runner import Runner
from vistack.edge.state import EdgeState, ExternalGateway, MeterLabel, MeterRule, Router, Segment

LABEL = "5e0a8c8e-1f7b-4a7e-9f51-0c1d2e3f4a5b"
OTHER = "9b9b9b9b-0000-4000-8000-000000000001"


def test_render_counts_through_the_gateway_leg_excluded_first() -> None:
    label = MeterLabel(
        LABEL,
        (
            MeterRule("egress", False, None, "203.0.113.0/24"),
            MeterRule("egress", True, None, "203.0.113.9/32"),
            MeterRule("ingress", False, "2001:db8::/32", None),
            MeterRule("ingress", False, "198.51.100.0/24", "10.0.0.0/24"),
        ),
    )
    text = meter.render(meter.TABLE, (label,), "qg-abc")
    counter = "l_5e0a8c8e1f7b4a7e9f510c1d2e3f4a5b"
    assert text.startswith("table inet vistack_meter {\n")
    assert f'  counter {counter} {{\n    comment "{LABEL}"\n  }}\n' in text
    assert "packets" not in text  # a new counter starts at zero
    assert '    oifname "qg-abc" jump egress\n    iifname "qg-abc" jump ingress\n' in text
    egress = text.split("chain m0_egress {\n")[1].split("  }")[0].splitlines()
    assert egress == [
        "    ip daddr 203.0.113.9/32 return",
        f'    ip daddr 203.0.113.0/24 counter name "{counter}" return',
    ]
    ingress = text.split("chain m0_ingress {\n")[1].split("  }")[0].splitlines()
    assert ingress == [
        f'    ip6 saddr 2001:db8::/32 counter name "{counter}" return',
        f'    ip saddr 198.51.100.0/24 ip daddr 10.0.0.0/24 counter name "{counter}" return',
    ]


def test_render_carries_counts_and_skips_ruleless_directions() -> None:
    labels = (MeterLabel(OTHER, ()), MeterLabel(LABEL, (MeterRule("egress", False),)))
    text = meter.render(meter.TABLE, labels, "qg-abc", {LABEL: (7, 700), "gone": (1, 1)})
    assert "packets 7 bytes 700" in text and "gone" not in text
    # Sorted by label id: LABEL is m0; OTHER has no rules, so no chain and no jump.
    assert "chain m0_egress {\n    counter name" in text
    assert "m1_" not in text and "m0_ingress" not in text
    assert '  counter l_9b9b9b9b000040008000000000000001 {\n    comment "' + OTHER in text


@pytest.mark.parametrize(
    ("labels", "gateway"),
    [
        ((MeterLabel("bad id; flush ruleset", ()),), "qg-abc"),
        ((MeterLabel(LABEL, (MeterRule("egress", False, None, "10.0.0.0/8 accept"),)),), "qg-a"),
        ((MeterLabel(LABEL, ()),), 'qg-x" accept'),
        ((MeterLabel("a-b", ()), MeterLabel("ab", ())), "qg-abc"),  # one counter name
    ],
)
def test_render_refuses_what_is_not_an_id_prefix_or_interface(
    labels: tuple[MeterLabel, ...], gateway: str
) -> None:
    with pytest.raises(EdgeError):
        meter.render(meter.TABLE, labels, gateway)


def nft_counters(*counters: dict[str, Any]) -> str:
    return json.dumps({"nftables": [{"metainfo": {"version": "1.0.6"}}, *counters]})


def test_parse_counters_keeps_only_our_labelled_counters() -> None:
    text = nft_counters(
        {"counter": {"table": meter.TABLE, "name": meter.counter_name(LABEL), "comment": LABEL,
                     "packets": 3, "bytes": 180}},
        {"counter": {"table": "other", "name": meter.counter_name(OTHER), "comment": OTHER,
                     "packets": 1, "bytes": 1}},
        {"counter": {"table": meter.TABLE, "name": "l_forged", "comment": OTHER,
                     "packets": 1, "bytes": 1}},
        {"counter": {"table": meter.TABLE, "name": "x", "packets": 1, "bytes": 1}},
    )  # fmt: skip
    assert meter.parse_counters(text) == {LABEL: (3, 180)}
    assert meter.parse_counters("") == {}
    with pytest.raises(EdgeError):
        meter.parse_counters("{not json")


class ScriptedRunner(Runner):
    """The metering table exists with `counts`; everything else reads as missing. Records the
    nft input of every load."""

    def __init__(self, counts: dict[str, tuple[int, int]]) -> None:
        super().__init__()
        self.counts = counts
        self.loaded: list[str] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        netns: str | None = None,
        mutate: bool = True,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
        if mutate:
            self.changes.append(" ".join(full))
            if stdin is not None:
                self.loaded.append(stdin)
            return subprocess.CompletedProcess(full, 0, "", "")
        if list(argv) == ["nft", "list", "table", "inet", meter.TABLE]:
            return subprocess.CompletedProcess(full, 0, "", "")
        if list(argv)[:3] == ["nft", "-j", "list"]:
            counters = [
                {"counter": {"table": meter.TABLE, "name": meter.counter_name(k), "comment": k,
                             "packets": p, "bytes": b}}
                for k, (p, b) in self.counts.items()
            ]  # fmt: skip
            return subprocess.CompletedProcess(full, 0, nft_counters(*counters), "")
        return subprocess.CompletedProcess(full, 1, "", "")

    def ip_json(self, args: Sequence[str], *, netns: str | None = None) -> list[dict[str, Any]]:
        return []


def _state(*labels: MeterLabel) -> EdgeState:
    gateway = ExternalGateway("ext-net", "172.24.4.10", "172.24.4.0/24", "172.24.4.1")
    return EdgeState(
        segments=(Segment("ext-net"),),
        routers=(Router("router-1", gateway=gateway, meters=labels),),
    )


def _meter_loads(runner: ScriptedRunner) -> list[str]:
    return [text for text in runner.loaded if f"table inet {meter.TABLE} {{\n  counter" in text]


def test_agent_keeps_counts_across_a_swap_and_leaves_an_unchanged_table(tmp_path: Path) -> None:
    runner = ScriptedRunner({LABEL: (40, 4000), OTHER: (2, 200)})
    agent = EdgeAgent(EdgeConfig(tmp_path, name="u"), runner)
    label = MeterLabel(LABEL, (MeterRule("egress", False, None, "203.0.113.0/24"),))
    agent.apply(_state(label))
    (load,) = _meter_loads(runner)
    assert "packets 40 bytes 4000" in load and OTHER not in load  # OTHER's label went
    runner.loaded.clear()
    agent.apply(_state(label))
    assert _meter_loads(runner) == []  # same labels and rules: the table, counts and all, stays
    agent.apply(_state())
    assert any(
        f"delete table inet {meter.TABLE}" in text for text in runner.loaded
    )  # no label left: no table
    assert agent.meter_counters() == {}  # the fake has no namespaces at all
