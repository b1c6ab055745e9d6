"""Neutron's policy rules with its defaults, under Neutron's own names so an operator's existing
neutron policy file applies.

Targets carry `target.project_id` (the resource's project; a security group rule's is its
group's), `target.network.project_id` (the
project owning the network a subnet or port is on), `target.shared` and `target.external`.
Reads of others' resources the rules do not allow answer 404 (Neutron hides them); writes on a
visible resource answer 403.
"""

from __future__ import annotations

from vistack.common.policy import RuleDefault

_ADMIN = "rule:admin_required"
_OWNER_MEMBER = "rule:admin_required or (role:member and project_id:%(target.project_id)s)"
_OWNER_READER = "rule:cloud_reader or (role:reader and project_id:%(target.project_id)s)"
_NET_OWNER = "rule:admin_required or (role:member and project_id:%(target.network.project_id)s)"
_SHARED = "'True':%(target.shared)s"
#: RBAC policies targeting every project ('*') are an admin's (Neutron's restrict_wildcard).
_NO_WILDCARD = "rule:admin_required or 'False':%(target.wildcard)s"


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(name, check, description)


def _admin_only(resource: str, action: str, attributes: tuple[str, ...]) -> list[RuleDefault]:
    return [
        _rule(f"{action}_{resource}:{a}", _ADMIN, f"{action.title()} `{a}` of a {resource}.")
        for a in attributes
    ]


_PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_BINDING = ("binding:host_id", "binding:profile")
#: Turning SNAT off and choosing gateway addresses are the administrator's (Neutron's default).
_GATEWAY_ADMIN = (
    "external_gateway_info:enable_snat",
    "external_gateway_info:external_fixed_ips",
)
_BINDING_READ = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")

NETWORK_RULES: tuple[RuleDefault, ...] = (
    _rule("create_network", "rule:admin_required or role:member", "Create a network."),
    _rule(
        "get_network",
        f"{_OWNER_READER} or {_SHARED} or 'True':%(target.external)s",
        "Show a network: its project's, a shared or an external one.",
    ),
    _rule("update_network", _OWNER_MEMBER, "Update a network."),
    _rule("delete_network", _OWNER_MEMBER, "Delete a network."),
    _rule("create_network:shared", _ADMIN, "Create a shared network."),
    _rule("update_network:shared", _ADMIN, "Share or unshare a network."),
    _rule("create_network:router:external", _ADMIN, "Create an external network."),
    _rule("update_network:router:external", _ADMIN, "Make a network external or not."),
    _rule("create_network:is_default", _ADMIN, "Create the default external network."),
    _rule("update_network:is_default", _ADMIN, "Make an external network the default, or not."),
    _rule(
        "get_auto_allocated_topology",
        _OWNER_MEMBER,
        "Get (making it on first call) a project's auto-allocated topology (edge backend).",
    ),
    _rule(
        "delete_auto_allocated_topology",
        _OWNER_MEMBER,
        "Delete a project's auto-allocated topology (edge backend).",
    ),
    *_admin_only("network", "create", _PROVIDER),
    *_admin_only("network", "get", _PROVIDER),
    _rule(
        "create_subnet",
        f"{_NET_OWNER}",
        "Create a subnet (on a network the caller's project owns).",
    ),
    _rule(
        "get_subnet",
        f"{_OWNER_READER} or {_SHARED}",
        "Show a subnet: its project's, or one of a shared network.",
    ),
    _rule("update_subnet", f"{_NET_OWNER} or {_OWNER_MEMBER}", "Update a subnet."),
    _rule("delete_subnet", f"{_NET_OWNER} or {_OWNER_MEMBER}", "Delete a subnet."),
    _rule(
        "create_port",
        "rule:admin_required or role:member",
        "Create a port (on a network the caller can see).",
    ),
    _rule(
        "get_port",
        f"{_OWNER_READER} or (role:reader and project_id:%(target.network.project_id)s)",
        "Show a port: its project's, or one on a network the caller's project owns.",
    ),
    _rule("update_port", f"{_OWNER_MEMBER} or {_NET_OWNER}", "Update a port."),
    _rule("delete_port", f"{_OWNER_MEMBER} or {_NET_OWNER}", "Delete a port."),
    _rule("create_port:mac_address", _NET_OWNER, "Choose a port's MAC address."),
    _rule("update_port:mac_address", _ADMIN, "Change a port's MAC address."),
    _rule("create_port:fixed_ips:ip_address", _NET_OWNER, "Choose a port's IP address."),
    _rule("update_port:fixed_ips:ip_address", _NET_OWNER, "Choose a port's new IP address."),
    _rule("create_port:port_security_enabled", _NET_OWNER, "Turn port security off."),
    _rule("update_port:port_security_enabled", _NET_OWNER, "Turn port security on or off."),
    _rule("create_port:allowed_address_pairs", _NET_OWNER, "Set allowed address pairs."),
    _rule("update_port:allowed_address_pairs", _NET_OWNER, "Change allowed address pairs."),
    *_admin_only("port", "create", _BINDING),
    *_admin_only("port", "update", _BINDING),
    *_admin_only("port", "get", _BINDING_READ),
    _rule("create_security_group", _OWNER_MEMBER, "Create a security group."),
    _rule("get_security_group", _OWNER_READER, "Show a security group."),
    _rule("update_security_group", _OWNER_MEMBER, "Update a security group."),
    _rule("delete_security_group", _OWNER_MEMBER, "Delete a security group."),
    _rule(
        "create_security_group_rule",
        _OWNER_MEMBER,
        "Add a rule to a security group (a rule is its group's project's).",
    ),
    _rule("get_security_group_rule", _OWNER_READER, "Show a security group rule."),
    _rule("delete_security_group_rule", _OWNER_MEMBER, "Delete a security group rule."),
    _rule(
        "create_rbac_policy",
        _OWNER_MEMBER,
        "Share a network (only its owner or an admin; the domain checks the owner).",
    ),
    _rule("create_rbac_policy:target_tenant", _NO_WILDCARD, "Share with every project ('*')."),
    _rule("get_rbac_policy", _OWNER_READER, "Show an RBAC policy (its owner's)."),
    _rule("update_rbac_policy", _OWNER_MEMBER, "Change an RBAC policy's target."),
    _rule("update_rbac_policy:target_tenant", _NO_WILDCARD, "Retarget to every project ('*')."),
    _rule("delete_rbac_policy", _OWNER_MEMBER, "Delete an RBAC policy."),
    _rule("create_subnetpool", _OWNER_MEMBER, "Create a subnet pool."),
    _rule("create_subnetpool:shared", _ADMIN, "Create a shared subnet pool."),
    _rule("create_subnetpool:is_default", _ADMIN, "Create the default pool of a version."),
    _rule("get_subnetpool", f"{_OWNER_READER} or {_SHARED}", "Show a subnet pool."),
    _rule("update_subnetpool", _OWNER_MEMBER, "Update a subnet pool, add or remove prefixes."),
    _rule("update_subnetpool:is_default", _ADMIN, "Make a pool the default, or not."),
    _rule("delete_subnetpool", _OWNER_MEMBER, "Delete a subnet pool."),
    _rule("create_router", _OWNER_MEMBER, "Create a router (edge backend)."),
    _rule("get_router", _OWNER_READER, "Show a router."),
    _rule("update_router", _OWNER_MEMBER, "Update a router, set or clear its gateway."),
    _rule("delete_router", _OWNER_MEMBER, "Delete a router."),
    _rule("add_router_interface", _OWNER_MEMBER, "Attach a subnet or port to a router."),
    _rule("remove_router_interface", _OWNER_MEMBER, "Detach a subnet or port from a router."),
    _rule("add_extraroutes", _OWNER_MEMBER, "Add extra routes to a router."),
    _rule("remove_extraroutes", _OWNER_MEMBER, "Remove extra routes from a router."),
    *_admin_only("router", "create", _GATEWAY_ADMIN),
    *_admin_only("router", "update", _GATEWAY_ADMIN),
    _rule("create_floatingip", _OWNER_MEMBER, "Create a floating IP."),
    _rule("create_floatingip:floating_ip_address", _ADMIN, "Choose a floating IP's address."),
    _rule("get_floatingip", _OWNER_READER, "Show a floating IP."),
    _rule("update_floatingip", _OWNER_MEMBER, "Associate or disassociate a floating IP."),
    _rule("delete_floatingip", _OWNER_MEMBER, "Delete a floating IP."),
    _rule("get_agent", _ADMIN, "Show or list agents (others see an empty list)."),
    _rule("update_agent", _ADMIN, "Disable an agent or change its description."),
    _rule("delete_agent", _ADMIN, "Forget an agent (it returns with its next heartbeat)."),
    _rule("get_dhcp-networks", _ADMIN, "List the networks a DHCP agent hosts."),
    _rule("create_dhcp-network", _ADMIN, "Host a network on a DHCP agent."),
    _rule("delete_dhcp-network", _ADMIN, "Remove a network from a DHCP agent."),
    _rule("get_dhcp-agents", _ADMIN, "List the DHCP agents hosting a network."),
    _rule("get_l3-routers", _ADMIN, "List the routers an L3 agent hosts."),
    _rule("create_l3-router", _ADMIN, "Host a router on an L3 agent."),
    _rule("delete_l3-router", _ADMIN, "Remove a router from an L3 agent."),
    _rule("get_l3-agents", _ADMIN, "List the L3 agents hosting a router."),
    _rule("get_availability_zone", "@", "List availability zones (any authenticated user)."),
    _rule("get_quota", _OWNER_READER, "Show a project's network quotas."),
    _rule("update_quota", _ADMIN, "Set a project's network quotas."),
    _rule("delete_quota", _ADMIN, "Reset a project's network quotas to the defaults."),
    # Metering is the operator's (Neutron's defaults): others see empty lists and 404s.
    _rule("create_metering_label", _ADMIN, "Create a metering label (edge backend)."),
    _rule("get_metering_label", _ADMIN, "Show or list metering labels."),
    _rule("delete_metering_label", _ADMIN, "Delete a metering label and its rules."),
    _rule("create_metering_label_rule", _ADMIN, "Add a rule to a metering label."),
    _rule("get_metering_label_rule", _ADMIN, "Show or list metering label rules."),
    _rule("delete_metering_label_rule", _ADMIN, "Delete a metering label rule."),
)
