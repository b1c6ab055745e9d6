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


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(name, check, description)


def _admin_only(resource: str, action: str, attributes: tuple[str, ...]) -> list[RuleDefault]:
    return [
        _rule(f"{action}_{resource}:{a}", _ADMIN, f"{action.title()} `{a}` of a {resource}.")
        for a in attributes
    ]


_PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_BINDING = ("binding:host_id", "binding:profile")
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
    _rule("get_quota", _OWNER_READER, "Show a project's network quotas."),
    _rule("update_quota", _ADMIN, "Set a project's network quotas."),
    _rule("delete_quota", _ADMIN, "Reset a project's network quotas to the defaults."),
)
