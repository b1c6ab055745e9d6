"""Settings: precedence, coercion, refusal of unknown options, and documentation coverage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vistack.config import ConfigError, Settings, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings.server.bind == "127.0.0.1:5000"
    assert settings.identity.bcrypt_rounds == 12
    assert settings.database_url.startswith("sqlite:///")
    assert settings.public_url == "http://127.0.0.1:5000"


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "vistack.toml"
    config.write_text(
        '[server]\nbind = "0.0.0.0:6000"\nregion = "East"\n'
        '[identity]\ntoken_expiration = 60\n[cache]\nservers = ["a:1"]\n'
    )
    env = {
        "VISTACK_IDENTITY_TOKEN_EXPIRATION": "120",
        "VISTACK_SERVER_ACCESS_LOG": "off",
        "VISTACK_CACHE_SERVERS": "m1:11211, m2:11211",
        "OTHER": "x",
    }
    settings = load_settings(config, env=env, bind="127.0.0.1:7000")
    assert settings.server.region == "East"
    assert settings.identity.token_expiration == 120
    assert settings.server.access_log is False
    assert settings.cache.servers == ["m1:11211", "m2:11211"]
    assert settings.server.bind == "127.0.0.1:7000"


@pytest.mark.parametrize(
    "text",
    [
        '[server]\nbindd = "x"\n',
        "[nosuch]\na = 1\n",
        '[identity]\ntoken_expiration = "soon"\n',
        "server = 3\n",
        "[server\n",
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_settings(config, env={})


def test_bad_environment_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="VISTACK_IDENTITY_BCRYPT_ROUNDS"):
        load_settings(env={"VISTACK_IDENTITY_BCRYPT_ROUNDS": "many"})


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_every_option_is_documented() -> None:
    text = DOCS.read_text()
    settings = Settings()
    for section in dataclasses.fields(settings):
        value = getattr(settings, section.name)
        if dataclasses.is_dataclass(value):
            assert f"## [{section.name}]" in text, section.name
            for option in dataclasses.fields(value):
                assert f"| `{option.name}` |" in text, f"[{section.name}] {option.name}"
        else:
            assert f"| `{section.name}` |" in text, section.name
