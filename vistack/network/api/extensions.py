"""`/v2.0/extensions`: only what this backend really does, so clients and tempest skip the rest.

In `dvs` mode there is no L3: no `router` and friends, and `/v2.0/routers` and
`/v2.0/floatingips` answer 404 saying so; the edge backend lists `L3_EXTENSIONS` too.
`security-group` is the API (groups, rules, ports' groups; their enforcement is the data plane's);
`stateful-security-group` is not listed, since there is no choice: every group is stateful.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.common.web import JSONBody
from vistack.network.api import auto_allocate
from vistack.network.api.deps import Context, NetworkServices, Services
from vistack.network.domain.errors import NeutronNotFound

router = APIRouter()
#: Its routes answer 404 themselves where the extension is not listed (`dvs` mode).
router.include_router(auto_allocate.router)

UPDATED = "2026-11-24T00:00:00-00:00"
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("external-net", "Neutron external network", "Adds external network attribute"),
    ("quotas", "Quota management support", "Expose functions for quotas management"),
    ("quota_details", "Quota details management support", "Expose quota usage details"),
    ("standard-attr-description", "standard-attr-description", "Description of resources"),
    ("standard-attr-tag", "Tag support for resources", "Tags on networks, subnets, ports"),
    ("tag", "Tag support", "Tags on networks (the older alias; standard-attr-tag has the rest)"),
    ("service-type", "Neutron Service Type Management", "Lists the service providers"),
    ("standard-attr-timestamp", "Resource timestamps", "created_at and updated_at"),
    ("standard-attr-revisions", "Resource revision numbers", "revision_number on resources"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external app"),
    ("port-security", "Port Security", "Provides port security"),
    ("security-group", "security-group", "The security groups extension."),
    (
        "security-groups-normalized-cidr",
        "Normalized CIDR field for security group rules",
        "normalized_cidr: the network of a rule's remote_ip_prefix, which is kept as sent",
    ),
    ("allowed-address-pairs", "Allowed Address Pairs", "Additional IPs a port may send from"),
    ("project-id", "project_id field enabled", "project_id alongside tenant_id"),
    ("network-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("sorting", "Sorting support", "Enables sort_key and sort_dir on lists"),
    ("pagination", "Pagination support", "Enables limit and marker on lists"),
    ("ip-substring-filtering", "IP address substring filtering", "fixed_ips=ip_address_substr"),
    ("rbac-policies", "RBAC Policies", "Share networks with projects, or make them external"),
    ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    ("default-subnetpools", "Default Subnetpools", "Subnets from the default pool of a version"),
    ("subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "add_prefixes, remove_prefixes"),
    ("revision-if-match", "If-Match constraints based on revision_number", "412 on a stale write"),
)
#: The edge backend's L3 (routers and floating IPs), listed only when it serves them.
L3_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("router", "Neutron L3 Router", "Routers and floating IPs (edge backend)"),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "enable_snat on gateways"),
    ("extraroute", "Neutron Extra Route", "Extra routes on routers"),
    ("extraroute-atomic", "Atomically add/remove extra routes", "add_extraroutes, remove_..."),
    ("fip-port-details", "Floating IP Port Details Extension", "port_details on floating IPs"),
    (
        "auto-allocated-topology",
        "Auto Allocated Topology Services",
        "A project's network, subnets and router made on demand ('Get Me A Network')",
    ),
    ("metering", "Neutron Metering", "Metering labels counted on routers' gateway legs"),
    (
        "metering_source_and_destination_fields",
        "Neutron Metering source and destination filters",
        "source_ip_prefix and destination_ip_prefix on metering label rules",
    ),
)
#: Edge backend only: its agents, their scheduling and availability zones.
AGENT_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("agent", "agent", "The agent management extension."),
    ("dhcp_agent_scheduler", "DHCP Agent Scheduler", "Schedule networks among dhcp agents"),
    ("l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 agents"),
    ("availability_zone", "Availability Zone", "The availability zone extension."),
    ("network_availability_zone", "Network Availability Zone", "Availability zone of networks"),
    ("router_availability_zone", "Router Availability Zone", "Availability zone of routers"),
)
#: Edge backend only: its dnsmasq sends ports' own options (dvs mode runs no DHCP server).
DHCP_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra DHCP options on ports"),
)
#: What carries each advanced service: the edge agent's L3 in edge mode, nothing in dvs mode.
EDGE_PROVIDERS = ({"service_type": "L3_ROUTER_NAT", "name": "vistack-edge", "default": True},)
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


def _listed(services: NetworkServices) -> tuple[tuple[str, str, str], ...]:
    edge = (
        L3_EXTENSIONS + AGENT_EXTENSIONS + DHCP_EXTENSIONS if services.networks.options.l3 else ()
    )
    return EXTENSIONS + edge


@router.get("/v2.0/extensions")
def list_extensions(services: Services, _context: Context) -> Response:
    return JSONBody({"extensions": [_view(*e) for e in _listed(services)]})


@router.get("/v2.0/service-providers")
def list_service_providers(services: Services, _context: Context) -> Response:
    """Which driver implements which service type (Neutron's `service-type` extension)."""
    providers = list(EDGE_PROVIDERS) if services.networks.options.l3 else []
    return JSONBody({"service_providers": providers})


@router.get("/v2.0/extensions/{alias}")
def show_extension(alias: str, services: Services, _context: Context) -> Response:
    for extension in _listed(services):
        if extension[0] == alias:
            return JSONBody({"extension": _view(*extension)})
    raise NeutronNotFound(f"Extension with alias {alias} does not exist", "HTTPNotFound")


_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
#: Mounted instead of api/l3.py's routes in `dvs` mode (see app.py).
no_l3_router = APIRouter()


@no_l3_router.api_route("/v2.0/routers", methods=_METHODS)
@no_l3_router.api_route("/v2.0/routers/{rest:path}", methods=_METHODS)
@no_l3_router.api_route("/v2.0/floatingips", methods=_METHODS)
@no_l3_router.api_route("/v2.0/floatingips/{rest:path}", methods=_METHODS)
def no_l3(_context: Context) -> Response:
    raise NeutronNotFound(L3_MESSAGE, "HTTPNotFound")
