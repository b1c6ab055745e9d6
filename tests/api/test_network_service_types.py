"""`service-type`: `/v2.0/service-providers` names what carries L3 (the edge agent), and
nothing in the L2-only dvs mode; `tag`, the older alias of network tags, is listed."""

from __future__ import annotations

from tests.api.conftest import NetworkApi

#: Plain feature queries: SQLite only (tests/api/conftest.py, DATABASES).
DATABASES = ("sqlite",)


def aliases(api: NetworkApi) -> set[str]:
    return {e["alias"] for e in api.get("/v2.0/extensions").json()["extensions"]}


def test_dvs_mode_has_no_service_providers(network_api: NetworkApi) -> None:
    assert {"service-type", "tag"} <= aliases(network_api)
    response = network_api.get("/v2.0/service-providers")
    assert response.status_code == 200
    assert response.json() == {"service_providers": []}


def test_edge_mode_names_its_l3_provider(edge_api: NetworkApi) -> None:
    assert {"service-type", "router", "router_availability_zone"} <= aliases(edge_api)
    providers = edge_api.get("/v2.0/service-providers").json()["service_providers"]
    assert providers == [{"service_type": "L3_ROUTER_NAT", "name": "vistack-edge", "default": True}]
