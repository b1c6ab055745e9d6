"""Nova's policy rules with its defaults, under Nova's own names so an operator's existing nova
policy file applies. Targets carry `project_id` (the server's or the caller's project) and
`user_id` (a key pair's owner)."""

from __future__ import annotations

from vistack.common.policy import RuleDefault

ADMIN = "rule:admin_required"
PROJECT_MEMBER = "rule:admin_required or (role:member and project_id:%(project_id)s)"
PROJECT_READER = "rule:admin_required or (role:reader and project_id:%(project_id)s)"
ANY_READER = "rule:admin_required or role:reader"
KEYPAIR_OWNER = "rule:admin_required or user_id:%(user_id)s"

_SERVER_MEMBER = (
    "create",
    "delete",
    "update",
    "start",
    "stop",
    "reboot",
    "create:attach_network",
)


def _rule(name: str, check: str, description: str) -> RuleDefault:
    return RuleDefault(name, check, description)


COMPUTE_RULES: tuple[RuleDefault, ...] = (
    *(
        _rule(f"os_compute_api:servers:{action}", PROJECT_MEMBER, f"Server {action}.")
        for action in _SERVER_MEMBER
    ),
    _rule("os_compute_api:servers:index", PROJECT_READER, "List the project's servers."),
    _rule("os_compute_api:servers:detail", PROJECT_READER, "List servers in detail."),
    _rule("os_compute_api:servers:show", PROJECT_READER, "Show a server."),
    _rule("os_compute_api:servers:index:get_all_tenants", ADMIN, "List every project's."),
    _rule("os_compute_api:servers:detail:get_all_tenants", ADMIN, "Detail every project's."),
    _rule("os_compute_api:servers:allow_all_filters", ADMIN, "Filter on admin-only fields."),
    _rule("os_compute_api:servers:create:forced_host", ADMIN, "Name the cluster to build on."),
    _rule("os_compute_api:os-extended-server-attributes", ADMIN, "See OS-EXT-SRV-ATTR."),
    _rule("os_compute_api:os-flavor-manage:create", ADMIN, "Create a flavor."),
    _rule("os_compute_api:os-flavor-manage:update", ADMIN, "Update a flavor's description."),
    _rule("os_compute_api:os-flavor-manage:delete", ADMIN, "Delete a flavor."),
    _rule("os_compute_api:os-flavor-extra-specs:index", ANY_READER, "List extra specs."),
    _rule("os_compute_api:os-flavor-extra-specs:show", ANY_READER, "Show an extra spec."),
    _rule("os_compute_api:os-flavor-extra-specs:create", ADMIN, "Set extra specs."),
    _rule("os_compute_api:os-flavor-extra-specs:update", ADMIN, "Update an extra spec."),
    _rule("os_compute_api:os-flavor-extra-specs:delete", ADMIN, "Delete an extra spec."),
    _rule("os_compute_api:os-flavor-access", ADMIN, "List a private flavor's projects."),
    _rule("os_compute_api:os-flavor-access:add_tenant_access", ADMIN, "Grant a project."),
    _rule("os_compute_api:os-flavor-access:remove_tenant_access", ADMIN, "Revoke a project."),
    _rule("os_compute_api:os-keypairs:index", KEYPAIR_OWNER, "List key pairs."),
    _rule("os_compute_api:os-keypairs:show", KEYPAIR_OWNER, "Show a key pair."),
    _rule("os_compute_api:os-keypairs:create", KEYPAIR_OWNER, "Create a key pair."),
    _rule("os_compute_api:os-keypairs:delete", KEYPAIR_OWNER, "Delete a key pair."),
    _rule("os_compute_api:os-hypervisors:list", ADMIN, "List hypervisors (clusters)."),
    _rule("os_compute_api:os-hypervisors:list-detail", ADMIN, "Detail hypervisors."),
    _rule("os_compute_api:os-hypervisors:show", ADMIN, "Show a hypervisor."),
    _rule("os_compute_api:os-hypervisors:statistics", ADMIN, "Hypervisor statistics."),
    _rule("os_compute_api:os-hypervisors:search", ADMIN, "Search hypervisors."),
    _rule("os_compute_api:os-hypervisors:servers", ADMIN, "A hypervisor's servers."),
    _rule("os_compute_api:os-services:list", ADMIN, "List compute services."),
    _rule("os_compute_api:os-services:update", ADMIN, "Enable or disable a service."),
    _rule("os_compute_api:os-services:delete", ADMIN, "Delete a compute service."),
    _rule("os_compute_api:os-availability-zone:list", "@", "List availability zones."),
    _rule("os_compute_api:os-availability-zone:detail", ADMIN, "Zones with their hosts."),
    _rule("os_compute_api:os-quota-sets:show", PROJECT_READER, "Show a project's quotas."),
    _rule("os_compute_api:os-quota-sets:update", ADMIN, "Set a project's quotas."),
    _rule("os_compute_api:os-quota-sets:delete", ADMIN, "Revert a project's quotas."),
    _rule("os_compute_api:os-quota-sets:defaults", "@", "Show the default quotas."),
    _rule("os_compute_api:os-quota-sets:detail", PROJECT_READER, "Quotas with usage."),
    _rule("os_compute_api:limits", "@", "Show the caller's limits."),
    _rule("os_compute_api:limits:other_project", ADMIN, "Show another project's limits."),
    _rule("os_compute_api:server-metadata:index", PROJECT_READER, "List server metadata."),
    _rule("os_compute_api:server-metadata:show", PROJECT_READER, "Show a metadata item."),
    _rule("os_compute_api:server-metadata:create", PROJECT_MEMBER, "Add metadata items."),
    _rule("os_compute_api:server-metadata:update_all", PROJECT_MEMBER, "Replace metadata."),
    _rule("os_compute_api:server-metadata:update", PROJECT_MEMBER, "Set a metadata item."),
    _rule("os_compute_api:server-metadata:delete", PROJECT_MEMBER, "Delete a metadata item."),
    _rule("os_compute_api:ips:index", PROJECT_READER, "List a server's addresses."),
    _rule("os_compute_api:os-lock-server:lock", PROJECT_MEMBER, "Lock a server."),
    _rule("os_compute_api:os-lock-server:unlock", PROJECT_MEMBER, "Unlock a server."),
    _rule("os_compute_api:os-lock-server:unlock:unlock_override", ADMIN, "Unlock another's lock."),
    _rule("os_compute_api:os-instance-actions:list", PROJECT_READER, "List server actions."),
    _rule("os_compute_api:os-instance-actions:show", PROJECT_READER, "Show a server action."),
    _rule("os_compute_api:os-quota-class-sets:show", ADMIN, "Show a quota class (defaults)."),
    _rule("os_compute_api:os-quota-class-sets:update", ADMIN, "Set a quota class (defaults)."),
    _rule("os_compute_api:os-hypervisors:uptime", ADMIN, "A hypervisor's uptime."),
    *(
        _rule(f"os_compute_api:os-aggregates:{action}", ADMIN, f"Aggregates: {action}.")
        for action in (
            "index",
            "create",
            "show",
            "update",
            "delete",
            "add_host",
            "remove_host",
            "set_metadata",
        )
    ),
    _rule("os_compute_api:os-simple-tenant-usage:list", ADMIN, "Every project's usage."),
    _rule("os_compute_api:os-simple-tenant-usage:show", PROJECT_READER, "A project's usage."),
    _rule("os_compute_api:os-migrations:index", ADMIN, "List server migrations."),
    # Server groups (their policy is placement and DRS rules) and suspend / resume / pause.
    _rule("os_compute_api:os-server-groups:create", PROJECT_MEMBER, "Create a server group."),
    _rule("os_compute_api:os-server-groups:delete", PROJECT_MEMBER, "Delete a server group."),
    _rule("os_compute_api:os-server-groups:index", PROJECT_READER, "List server groups."),
    _rule("os_compute_api:os-server-groups:index:all_projects", ADMIN, "Every project's."),
    _rule("os_compute_api:os-server-groups:show", PROJECT_READER, "Show a server group."),
    _rule("os_compute_api:os-suspend-server:suspend", PROJECT_MEMBER, "Suspend a server."),
    _rule("os_compute_api:os-suspend-server:resume", PROJECT_MEMBER, "Resume a server."),
    _rule("os_compute_api:os-pause-server:pause", PROJECT_MEMBER, "Pause a server."),
    _rule("os_compute_api:os-pause-server:unpause", PROJECT_MEMBER, "Unpause a server."),
    # Server tags (2.26) and the host status of servers (2.16): the microversions' rules.
    _rule("os_compute_api:os-server-tags:index", PROJECT_READER, "List a server's tags."),
    _rule("os_compute_api:os-server-tags:show", PROJECT_READER, "Check a server's tag."),
    _rule("os_compute_api:os-server-tags:update", PROJECT_MEMBER, "Add a tag to a server."),
    _rule("os_compute_api:os-server-tags:update_all", PROJECT_MEMBER, "Replace the tags."),
    _rule("os_compute_api:os-server-tags:delete", PROJECT_MEMBER, "Remove a tag."),
    _rule("os_compute_api:os-server-tags:delete_all", PROJECT_MEMBER, "Remove every tag."),
    _rule("os_compute_api:servers:show:host_status", ADMIN, "See a server's host_status."),
    _rule("os_compute_api:os-floating-ips:add", PROJECT_MEMBER, "addFloatingIp (< 2.44)."),
    _rule("compute:server:topology:index", PROJECT_READER, "A server's NUMA topology (2.78)."),
    _rule("compute:aggregates:images", ADMIN, "Pre-cache images on an aggregate (2.81)."),
    *(
        _rule(f"os_compute_api:os-hosts:{action}", ADMIN, f"os-hosts (< 2.43): {action}.")
        for action in ("list", "show", "update", "reboot", "shutdown", "start")
    ),
    _rule("os_compute_api:os-floating-ips:remove", PROJECT_MEMBER, "removeFloatingIp (< 2.44)."),
    _rule(
        "compute:servers:create:requested_destination", ADMIN, "Name a cluster at create (2.74)."
    ),
    # Resize, cold and live migration, and the server migrations API (moves.py).
    _rule("os_compute_api:servers:resize", PROJECT_MEMBER, "Resize a server."),
    _rule("os_compute_api:servers:confirm_resize", PROJECT_MEMBER, "Confirm a resize."),
    _rule("os_compute_api:servers:revert_resize", PROJECT_MEMBER, "Revert a resize."),
    _rule("os_compute_api:os-migrate-server:migrate", ADMIN, "Cold migrate a server."),
    _rule("os_compute_api:os-migrate-server:migrate_live", ADMIN, "Live migrate a server."),
    _rule("os_compute_api:servers:migrations:index", ADMIN, "A server's live migrations."),
    _rule("os_compute_api:servers:migrations:show", ADMIN, "Show a live migration."),
    _rule("os_compute_api:servers:migrations:force_complete", ADMIN, "Force one to complete."),
    _rule("os_compute_api:servers:migrations:delete", ADMIN, "Abort a live migration."),
    # A server's interfaces, security groups, diagnostics, consoles and the small actions.
    _rule("os_compute_api:os-attach-interfaces:list", PROJECT_READER, "List interfaces."),
    _rule("os_compute_api:os-attach-interfaces:show", PROJECT_READER, "Show an interface."),
    _rule("os_compute_api:os-attach-interfaces:create", PROJECT_MEMBER, "Attach an interface."),
    _rule("os_compute_api:os-attach-interfaces:delete", PROJECT_MEMBER, "Detach an interface."),
    _rule("os_compute_api:os-volumes-attachments:index", PROJECT_READER, "List volumes."),
    _rule("os_compute_api:os-volumes-attachments:show", PROJECT_READER, "Show an attachment."),
    _rule("os_compute_api:os-volumes-attachments:create", PROJECT_MEMBER, "Attach a volume."),
    _rule("os_compute_api:os-volumes-attachments:delete", PROJECT_MEMBER, "Detach a volume."),
    _rule(
        "os_compute_api:os-volumes-attachments:update",
        PROJECT_MEMBER,
        "Change an attachment's delete_on_termination (2.85).",
    ),
    _rule("os_compute_api:os-volumes-attachments:swap", ADMIN, "Swap a server's volume."),
    _rule("os_compute_api:os-volumes:list", PROJECT_READER, "List volumes (proxy, < 2.36)."),
    _rule("os_compute_api:os-volumes:detail", PROJECT_READER, "Detail volumes (proxy)."),
    _rule("os_compute_api:os-volumes:show", PROJECT_READER, "Show a volume (proxy)."),
    _rule("os_compute_api:os-volumes:create", PROJECT_MEMBER, "Create a volume (proxy)."),
    _rule("os_compute_api:os-volumes:delete", PROJECT_MEMBER, "Delete a volume (proxy)."),
    _rule("os_compute_api:os-volumes:snapshots:list", PROJECT_READER, "List snapshots."),
    _rule("os_compute_api:os-volumes:snapshots:detail", PROJECT_READER, "Detail snapshots."),
    _rule("os_compute_api:os-volumes:snapshots:show", PROJECT_READER, "Show a snapshot."),
    _rule("os_compute_api:os-volumes:snapshots:create", PROJECT_MEMBER, "Create a snapshot."),
    _rule("os_compute_api:os-volumes:snapshots:delete", PROJECT_MEMBER, "Delete a snapshot."),
    _rule("os_compute_api:os-security-groups:add", PROJECT_MEMBER, "Add a security group."),
    _rule("os_compute_api:os-security-groups:remove", PROJECT_MEMBER, "Remove a group."),
    _rule("os_compute_api:os-security-groups:list", PROJECT_READER, "A server's groups."),
    _rule("os_compute_api:os-server-diagnostics", ADMIN, "Show a server's diagnostics."),
    _rule("os_compute_api:os-remote-consoles", PROJECT_MEMBER, "Get a remote console."),
    _rule("os_compute_api:os-console-output", PROJECT_MEMBER, "Read a server's console log."),
    _rule("os_compute_api:os-admin-actions:reset_state", ADMIN, "Reset a server's state."),
    _rule("os_compute_api:os-admin-actions:inject_network_info", ADMIN, "Refresh networks."),
    _rule("os_compute_api:os-deferred-delete:restore", PROJECT_MEMBER, "Restore a server."),
    _rule("os_compute_api:os-deferred-delete:force", PROJECT_MEMBER, "Force-delete a server."),
    _rule("os_compute_api:os-evacuate", ADMIN, "Evacuate a server."),
    _rule("os_compute_api:os-admin-password", PROJECT_MEMBER, "Change the admin password."),
    _rule("os_compute_api:servers:trigger_crash_dump", PROJECT_MEMBER, "Crash-dump a guest."),
    _rule("os_compute_api:os-instance-actions:events", ADMIN, "See action events' tracebacks."),
    _rule("os_compute_api:os-instance-actions:events:details", ADMIN, "Event details."),
    # Snapshots, backups, rebuild, shelve and rescue (domain/snapshots.py, rebuild.py, ...).
    _rule("os_compute_api:servers:create_image", PROJECT_MEMBER, "Snapshot a server (image)."),
    _rule(
        "os_compute_api:servers:create_image:allow_volume_backed",
        PROJECT_MEMBER,
        "Snapshot a volume-backed server.",
    ),
    _rule("os_compute_api:os-create-backup", PROJECT_MEMBER, "Back a server up (image)."),
    _rule("os_compute_api:servers:rebuild", PROJECT_MEMBER, "Rebuild a server from an image."),
    _rule(
        "os_compute_api:servers:rebuild:trusted_certs",
        PROJECT_MEMBER,
        "Rebuild with trusted image certificates.",
    ),
    _rule("os_compute_api:os-shelve:shelve", PROJECT_MEMBER, "Shelve a server."),
    _rule("os_compute_api:os-shelve:shelve_offload", ADMIN, "Offload a shelved server."),
    _rule("os_compute_api:os-shelve:unshelve", PROJECT_MEMBER, "Unshelve a server."),
    _rule("os_compute_api:os-shelve:unshelve_to_host", ADMIN, "Unshelve onto a named host."),
    _rule("os_compute_api:os-rescue", PROJECT_MEMBER, "Rescue a server."),
    _rule("os_compute_api:os-unrescue", PROJECT_MEMBER, "Unrescue a server."),
    # The extensions list, the posted password, the usage audit log and external events.
    _rule("os_compute_api:extensions", "@", "List the API's extensions."),
    _rule("os_compute_api:os-assisted-volume-snapshots:create", ADMIN, "Refused: 501."),
    _rule("os_compute_api:os-assisted-volume-snapshots:delete", ADMIN, "Refused: 501."),
    _rule("os_compute_api:os-server-password:show", PROJECT_READER, "Show a posted password."),
    _rule("os_compute_api:os-server-password:clear", PROJECT_MEMBER, "Clear it."),
    _rule("os_compute_api:os-instance-usage-audit-log:list", ADMIN, "The usage audit report."),
    _rule("os_compute_api:os-instance-usage-audit-log:show", ADMIN, "One before a time."),
    _rule(
        "os_compute_api:os-server-external-events:create",
        "rule:admin_required or rule:service_role",
        "Neutron's and Cinder's callbacks (their service users).",
    ),
)
