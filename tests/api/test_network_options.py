"""The [network] options as the network service reads them: VLAN ranges and their refusals."""

from __future__ import annotations

import pytest

from vistack.config import ConfigError, NetworkSettings
from vistack.network.domain.models import VlanRange, network_options, parse_vlan_ranges


def test_vlan_ranges_with_and_without_a_physical_network() -> None:
    assert parse_vlan_ranges(["100:199", "physnet2:5:6"], "physnet1") == (
        VlanRange("physnet1", 100, 199),
        VlanRange("physnet2", 5, 6),
    )


@pytest.mark.parametrize("entry", ["100", "a:b", "0:10", "10:5", "1:4095", ":1:2", "x:1:2:3"])
def test_bad_vlan_ranges_are_refused(entry: str) -> None:
    with pytest.raises(ConfigError, match="vlan_ranges"):
        parse_vlan_ranges([entry], "physnet1")


def test_options_refuse_unknown_backends_and_mtus() -> None:
    with pytest.raises(ConfigError, match="backend"):
        network_options(NetworkSettings(backend="nsx"))
    with pytest.raises(ConfigError, match="mtu"):
        network_options(NetworkSettings(mtu=20))
    options = network_options(NetworkSettings(backend="dvs", quota_port=7))
    assert options.quotas == {
        "network": 100,
        "subnet": 100,
        "port": 7,
        "security_group": 10,
        "security_group_rule": 100,
        "router": 10,
        "floatingip": 50,
    }
    assert options.physical_networks == {"physnet1"}
