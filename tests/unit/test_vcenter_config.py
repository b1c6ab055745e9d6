"""vCenter settings: [vcenter], [embedded_vcenter], [[vcenters]] and their endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistack.config import ConfigError, load_settings
from vistack.vsphere.runtime import configured_endpoints


def test_defaults_mean_the_embedded_vcenter() -> None:
    settings = load_settings(env={})
    assert settings.vcenter.host == ""
    assert settings.vcenters == []
    assert settings.embedded_vcenter.clusters == 2
    assert configured_endpoints(settings) == []


def test_vcenter_section_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "vistack.toml"
    config.write_text(
        '[vcenter]\nhost = "vc.example.com"\nusername = "svc"\nclusters = ["A", "B"]\n'
        'thumbprint = "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"\n'
        "[embedded_vcenter]\nhosts_per_cluster = 1\n"
    )
    env = {"VISTACK_VCENTER_PASSWORD": "secret", "VISTACK_EMBEDDED_VCENTER_TLS": "yes"}
    settings = load_settings(config, env=env)
    assert settings.embedded_vcenter.tls is True
    assert settings.embedded_vcenter.hosts_per_cluster == 1
    (endpoint,) = configured_endpoints(settings)
    assert endpoint.password == "secret"
    assert endpoint.clusters == ("A", "B")
    assert endpoint.name == "default" and endpoint.zone == "nova"
    assert "secret" not in repr(endpoint)


def test_several_vcenters(tmp_path: Path) -> None:
    config = tmp_path / "vistack.toml"
    config.write_text(
        '[vcenter]\nhost = "vc1"\nusername = "u"\npassword = "p"\navailability_zone = "east"\n'
        '[[vcenters]]\nname = "west"\nhost = "vc2"\nusername = "u"\npassword = "p"\n'
        '[[vcenters]]\nhost = "vc3"\nport = 8443\nusername = "u"\npassword = "p"\n'
    )
    endpoints = configured_endpoints(load_settings(config, env={}))
    assert [(e.name, e.zone, e.port) for e in endpoints] == [
        ("default", "east", 443),
        ("west", "west", 443),
        ("vc3", "vc3", 8443),
    ]


@pytest.mark.parametrize(
    "text",
    [
        'vcenters = "vc2"\n',
        "vcenters = [1, 2]\n",
        '[[vcenters]]\nhots = "typo"\n',
        '[[vcenters]]\nport = "443"\n',
    ],
)
def test_bad_vcenter_tables_are_refused(tmp_path: Path, text: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_settings(config, env={})


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "vistack.toml"
    config.write_text(
        '[[vcenters]]\nhost = "a"\nname = "x"\n[[vcenters]]\nhost = "b"\nname = "x"\n'
    )
    with pytest.raises(ValueError, match="repeated: x"):
        configured_endpoints(load_settings(config, env={}))
