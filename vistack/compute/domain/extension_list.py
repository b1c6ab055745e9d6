"""Nova's deprecated list of API extensions (`GET /extensions`), narrowed to what this cloud
serves.

Nova's v2.1 API has no extensions any more; it answers with a fixed list naming the old ones
(all with the same namespace and date, no links). This cloud answers with the entries of that
list whose APIs it really serves, so a client probing for one (`os-hosts`, `os-consoles`...)
finds what works. Left out are those it refuses or answers 410/501 for: nova-network's (fixed
IPs, floating IP DNS and bulk, fping, multinic, default security group rules, virtual
interfaces), cells, cloudpipe, certificates, agents, baremetal, pause, console auth tokens,
evacuate, changePassword, per-user quotas, assisted volume snapshots, preserve_ephemeral, sort
keys and hiding addresses.
"""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import NotFound
from vistack.common.policy import PolicyEngine

RULE = "os_compute_api:extensions"
NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"
UPDATED = "2014-12-03T00:00:00Z"

#: (alias, name, description) of each served extension, by alias as Nova sorts them.
SERVED: tuple[tuple[str, str, str], ...] = (
    ("OS-DCF", "DiskConfig", "Disk Management Extension."),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support."),
    ("OS-EXT-IMG-SIZE", "ImageSize", "Adds image size to image listings."),
    ("OS-EXT-IPS", "ExtendedIps", "Adds type parameter to the ip list."),
    ("OS-EXT-IPS-MAC", "ExtendedIpsMac", "Adds mac address parameter to the ip list."),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Extended Server Attributes support."),
    ("OS-EXT-STS", "ExtendedStatus", "Extended Status support."),
    ("OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of a flavor."),
    ("OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors."),
    ("OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."),
    ("OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers."),
    ("os-access-ips", "AccessIPs", "Access IPs support."),
    (
        "os-admin-actions",
        "AdminActions",
        "Enable admin-only server actions\n\n    Actions include: resetNetwork, "
        "injectNetworkInfo, os-resetState\n    ",
    ),
    ("os-aggregates", "Aggregates", "Admin-only aggregate administration."),
    ("os-attach-interfaces", "AttachInterfaces", "Attach interface support."),
    (
        "os-availability-zone",
        "AvailabilityZone",
        "1. Add availability_zone to the Create Server API.\n"
        "       2. Add availability zones describing.\n    ",
    ),
    ("os-block-device-mapping", "BlockDeviceMapping", "Block device mapping boot support."),
    (
        "os-block-device-mapping-v2-boot",
        "BlockDeviceMappingV2Boot",
        "Allow boot with the new BDM data format.",
    ),
    ("os-config-drive", "ConfigDrive", "Config Drive Extension."),
    ("os-console-output", "ConsoleOutput", "Console log output support."),
    ("os-consoles", "Consoles", "Interactive Console support."),
    ("os-create-backup", "CreateBackup", "Create a backup of a server."),
    ("os-deferred-delete", "DeferredDelete", "Instance deferred delete."),
    (
        "os-extended-floating-ips",
        "ExtendedFloatingIps",
        "Adds optional fixed_address to the add floating IP command.",
    ),
    ("os-extended-hypervisors", "ExtendedHypervisors", "Extended hypervisors support."),
    (
        "os-extended-quotas",
        "ExtendedQuotas",
        "Adds ability for admins to delete quota and optionally force the update Quota command.",
    ),
    (
        "os-extended-rescue-with-image",
        "ExtendedRescueWithImage",
        "Allow the user to specify the image to use for rescue.",
    ),
    ("os-extended-services", "ExtendedServices", "Extended services support."),
    (
        "os-extended-services-delete",
        "ExtendedServicesDelete",
        "Extended services deletion support.",
    ),
    ("os-extended-status", "ExtendedStatus", "Extended Status support."),
    ("os-extended-volumes", "ExtendedVolumes", "Extended Volumes support."),
    ("os-flavor-access", "FlavorAccess", "Flavor access support."),
    ("os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support."),
    ("os-flavor-manage", "FlavorManage", "Flavor create/delete API support."),
    ("os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor."),
    ("os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor."),
    ("os-floating-ip-pools", "FloatingIpPools", "Floating IPs support."),
    ("os-floating-ips", "FloatingIps", "Floating IPs support."),
    ("os-hosts", "Hosts", "Admin-only host administration."),
    ("os-hypervisor-status", "HypervisorStatus", "Show hypervisor status."),
    ("os-hypervisors", "Hypervisors", "Admin-only hypervisor administration."),
    (
        "os-instance-actions",
        "InstanceActions",
        "View a log of actions and events taken on an instance.",
    ),
    ("os-instance_usage_audit_log", "OSInstanceUsageAuditLog", "Admin-only Task Log Monitoring."),
    ("os-keypairs", "Keypairs", "Keypair Support."),
    ("os-lock-server", "LockServer", "Enable lock/unlock server actions."),
    ("os-migrate-server", "MigrateServer", "Enable migrate and live-migrate server actions."),
    ("os-migrations", "Migrations", "Provide data on migrations."),
    (
        "os-multiple-create",
        "MultipleCreate",
        "Allow multiple create in the Create Server v2.1 API.",
    ),
    ("os-networks", "Networks", "Admin-only Network Management Extension."),
    ("os-personality", "Personality", "Personality support."),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes management support."),
    ("os-quota-sets", "Quotas", "Quotas management support."),
    ("os-rescue", "Rescue", "Instance rescue mode."),
    ("os-security-groups", "SecurityGroups", "Security group support."),
    (
        "os-server-diagnostics",
        "ServerDiagnostics",
        "Allow Admins to view server diagnostics through server action.",
    ),
    ("os-server-external-events", "ServerExternalEvents", "Server External Event Triggers."),
    ("os-server-group-quotas", "ServerGroupQuotas", "Adds quota support to server groups."),
    ("os-server-groups", "ServerGroups", "Server group support."),
    ("os-server-password", "ServerPassword", "Server password support."),
    ("os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support."),
    ("os-services", "Services", "Services support."),
    ("os-shelve", "Shelve", "Instance shelve mode."),
    ("os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage extension."),
    ("os-suspend-server", "SuspendServer", "Enable suspend/resume server actions."),
    ("os-tenant-networks", "OSTenantNetworks", "Tenant-based Network Management Extension."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."),
    (
        "os-used-limits-for-admin",
        "UsedLimitsForAdmin",
        "Provide data to admin on limited resources used by other tenants.",
    ),
    ("os-user-data", "UserData", "Add user_data to the Create Server API."),
    (
        "os-volume-attachment-update",
        "VolumeAttachmentUpdate",
        "Support for updating a volume attachment.",
    ),
    ("os-volumes", "Volumes", "Volumes support."),
)


def _view(alias: str, name: str, description: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "description": description,
        "links": [],
        "name": name,
        "namespace": NAMESPACE,
        "updated": UPDATED,
    }


EXTENSIONS: dict[str, dict[str, Any]] = {entry[0]: _view(*entry) for entry in SERVED}


class ExtensionList:
    """The list and its entries, under Nova's policy (anyone, by default)."""

    def __init__(self, policy: PolicyEngine) -> None:
        self._policy = policy

    def all(self, context: RequestContext) -> list[dict[str, Any]]:
        self._policy.authorize(RULE, context, {})
        return [dict(e) for e in EXTENSIONS.values()]

    def get(self, context: RequestContext, alias: str) -> dict[str, Any]:
        """:raises NotFound: no served extension has that alias."""
        self._policy.authorize(RULE, context, {})
        extension = EXTENSIONS.get(alias)
        if extension is None:
            raise NotFound("The resource could not be found.")
        return dict(extension)
