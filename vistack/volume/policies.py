"""Cinder's policy rules with its defaults, under Cinder's own names so an operator's existing
cinder policy file applies. Targets carry `project_id` (the volume's, snapshot's or caller's)."""

from __future__ import annotations

from vistack.common.policy import RuleDefault

ADMIN = "rule:admin_required"
PROJECT_MEMBER = "rule:admin_required or (role:member and project_id:%(project_id)s)"
PROJECT_READER = "rule:admin_required or (role:reader and project_id:%(project_id)s)"
ANY_READER = "rule:admin_required or role:reader"

_MEMBER = {
    "volume:create": "Create a volume.",
    "volume:update": "Update a volume's name, description or metadata.",
    "volume:delete": "Delete a volume.",
    "volume:extend": "Grow a detached volume.",
    "volume:retype": "Change a volume's type (in place only).",
    "volume:create_volume_metadata": "Add volume metadata.",
    "volume:update_volume_metadata": "Replace volume metadata.",
    "volume:delete_volume_metadata": "Delete a volume metadata item.",
    "volume_extension:volume_actions:set_bootable": "Mark a volume bootable.",
    "volume:update_readonly_flag": "Mark a volume read-only.",
    "volume_extension:volume_actions:attach": "Record a volume as attached (legacy).",
    "volume_extension:volume_actions:detach": "Record a volume as detached (legacy).",
    "volume_extension:volume_actions:reserve": "Reserve a volume for an attach (legacy).",
    "volume_extension:volume_actions:unreserve": "Drop a reservation (legacy).",
    "volume_extension:volume_actions:begin_detaching": "Start a detach (legacy).",
    "volume_extension:volume_actions:roll_detaching": "Roll a detach back (legacy).",
    "volume:create_snapshot": "Snapshot a volume.",
    "volume:update_snapshot": "Update a snapshot.",
    "volume:delete_snapshot": "Delete a snapshot.",
    "volume:update_snapshot_metadata": "Change snapshot metadata.",
}
_READER = {
    "volume:get": "Show a volume.",
    "volume:get_all": "List volumes.",
    "volume:get_volume_metadata": "Show volume metadata.",
    "volume:get_snapshot": "Show a snapshot.",
    "volume:get_all_snapshots": "List snapshots.",
    "volume:get_snapshot_metadata": "Show snapshot metadata.",
    "volume_extension:quotas:show": "Show a project's quotas.",
    "limits_extension:used_limits": "Show the project's limits and usage.",
}
_ADMIN = {
    "volume:get_all_tenants": "List every project's volumes and snapshots (all_tenants).",
    "volume:force_delete": "Delete a volume whatever its status.",
    "volume_extension:volume_admin_actions:force_detach": "Drop a volume's attachments.",
    "volume_extension:volume_admin_actions:reset_status": "Set a volume's status.",
    "volume_extension:snapshot_admin_actions:reset_status": "Set a snapshot's status.",
    "volume_extension:snapshot_admin_actions:force_delete": "Delete any snapshot.",
    "volume_extension:types_manage": "Create, update and delete volume types.",
    "volume_extension:types_extra_specs:create": "Set volume type extra specs.",
    "volume_extension:types_extra_specs:update": "Update a volume type extra spec.",
    "volume_extension:types_extra_specs:delete": "Delete a volume type extra spec.",
    "volume_extension:volume_type_access": "See a private type's projects.",
    "volume_extension:volume_type_access:addProjectAccess": "Grant a project a private type.",
    "volume_extension:volume_type_access:removeProjectAccess": "Revoke a project's access.",
    "volume_extension:quotas:update": "Set a project's quotas.",
    "volume_extension:quotas:delete": "Reset a project's quotas to the defaults.",
    "volume_extension:services:index": "List the volume services.",
    "volume_extension:hosts": "List the volume hosts and their usage.",
    "volume_extension:services:update": "Enable, disable, freeze or thaw a service.",
    "scheduler_extension:scheduler_stats:get_pools": "List the pools (datastores).",
    "volume_extension:capabilities": "Show a backend's or a pool's capabilities.",
    "volume_extension:volume_host_attribute": "See os-vol-host-attr:host.",
}
_ANY = {
    "volume_extension:types_extra_specs:index": "List a volume type's extra specs.",
    "volume_extension:types_extra_specs:show": "Show a volume type extra spec.",
    "volume_extension:type_get": "Show a volume type.",
    "volume_extension:type_get_all": "List volume types.",
    "volume_extension:availability_zone_list": "List availability zones.",
}

VOLUME_RULES: tuple[RuleDefault, ...] = (
    *(RuleDefault(name, PROJECT_MEMBER, text) for name, text in _MEMBER.items()),
    *(RuleDefault(name, PROJECT_READER, text) for name, text in _READER.items()),
    *(RuleDefault(name, ADMIN, text) for name, text in _ADMIN.items()),
    *(RuleDefault(name, ANY_READER, text) for name, text in _ANY.items()),
)
