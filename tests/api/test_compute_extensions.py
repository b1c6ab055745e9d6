"""`GET /extensions` and `GET /extensions/{alias}`: Nova's fixed extension list, narrowed to
the APIs this cloud serves; Tempest's checks (`Hosts` listed, `os-consoles` shown) and
tempest's schema (every field, no other)."""

from __future__ import annotations

import re

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import fault

member = persona_fixture("compute_api")

FIELDS = {"alias", "description", "links", "name", "namespace", "updated"}


def test_the_list_names_what_is_served_to_anyone(compute_api: ComputeApi, member: Persona) -> None:
    response = compute_api.get("/extensions", token=member.token)
    assert response.status_code == 200, response.text
    extensions = response.json()["extensions"]
    assert list(response.json()) == ["extensions"]
    for extension in extensions:
        assert set(extension) == FIELDS
        assert extension["links"] == []
        assert extension["namespace"] == "http://docs.openstack.org/compute/ext/fake_xml"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", extension["updated"])
    aliases = [e["alias"] for e in extensions]
    assert len(aliases) == len(set(aliases))
    assert "Hosts" in [e["name"] for e in extensions]
    for served in (
        "os-hosts",
        "os-consoles",
        "os-server-password",
        "os-server-external-events",
        "os-personality",
        "os-console-output",
    ):
        assert served in aliases
    # Refused or gone here: not claimed.
    for refused in ("os-agents", "os-cells", "os-fixed-ips", "os-evacuate"):
        assert refused not in aliases


def test_one_extension_by_alias(compute_api: ComputeApi, member: Persona) -> None:
    response = compute_api.get("/extensions/os-consoles", token=member.token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["extension"]
    assert body["extension"]["alias"] == "os-consoles"
    assert body["extension"]["name"] == "Consoles"
    assert set(body["extension"]) == FIELDS
    listed = compute_api.get("/extensions").json()["extensions"]
    assert body["extension"] in listed


def test_an_unknown_or_unserved_alias_is_404(compute_api: ComputeApi) -> None:
    for alias in ("os-no-such-thing", "os-agents", "OS-EXT-VIF-NET"):
        fault(compute_api.get(f"/extensions/{alias}"), 404, "itemNotFound")
