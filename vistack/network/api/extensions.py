"""`/v2.0/extensions`: only what this backend really does, so clients and tempest skip the rest.

No `router`, `external-gateway`, `dhcp_agent_scheduler`...: in `dvs` mode there is no L3 and
no agent: `/v2.0/routers` and `/v2.0/floatingips` answer 404 saying so. `security-group` is
the API (groups, rules, ports' groups; their enforcement is the data plane's);
`stateful-security-group` is not listed, since there is no choice: every group is stateful.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.network.api.deps import Context
from vistack.network.domain.errors import NeutronNotFound

router = APIRouter()

UPDATED = "2026-11-24T00:00:00-00:00"
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("external-net", "Neutron external network", "Adds external network attribute"),
    ("quotas", "Quota management support", "Expose functions for quotas management"),
    ("quota_details", "Quota details management support", "Expose quota usage details"),
    ("standard-attr-description", "standard-attr-description", "Description of resources"),
    ("standard-attr-tag", "Tag support for resources", "Tags on networks, subnets, ports"),
    ("standard-attr-timestamp", "Resource timestamps", "created_at and updated_at"),
    ("standard-attr-revisions", "Resource revision numbers", "revision_number on resources"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external app"),
    ("port-security", "Port Security", "Provides port security"),
    ("security-group", "security-group", "The security groups extension."),
    ("allowed-address-pairs", "Allowed Address Pairs", "Additional IPs a port may send from"),
    ("project-id", "project_id field enabled", "project_id alongside tenant_id"),
    ("network-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("sorting", "Sorting support", "Enables sort_key and sort_dir on lists"),
    ("pagination", "Pagination support", "Enables limit and marker on lists"),
    ("ip-substring-filtering", "IP address substring filtering", "fixed_ips=ip_address_substr"),
)
L3_MESSAGE = (
    "The dvs network backend has no L3: routers and floating IPs are not available and "
    "nothing was created (they come with the edge backend)."
)


def _view(alias: str, name: str, description: str) -> dict[str, object]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": UPDATED,
        "links": [],
    }


@router.get("/v2.0/extensions")
def list_extensions(_context: Context) -> Response:
    return JSONBody({"extensions": [_view(*e) for e in EXTENSIONS]})


@router.get("/v2.0/extensions/{alias}")
def show_extension(alias: str, _context: Context) -> Response:
    for extension in EXTENSIONS:
        if extension[0] == alias:
            return JSONBody({"extension": _view(*extension)})
    raise NeutronNotFound(f"Extension with alias {alias} does not exist", "HTTPNotFound")


_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@router.api_route("/v2.0/routers", methods=_METHODS)
@router.api_route("/v2.0/routers/{rest:path}", methods=_METHODS)
@router.api_route("/v2.0/floatingips", methods=_METHODS)
@router.api_route("/v2.0/floatingips/{rest:path}", methods=_METHODS)
def no_l3(_context: Context) -> Response:
    raise NeutronNotFound(L3_MESSAGE, "HTTPNotFound")
