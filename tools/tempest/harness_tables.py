"""What vistack implements, as Tempest sees it. Edit these tables, not the code, when a feature
or service lands (see docs/tempest.md)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Service:
    """One OpenStack service as Tempest and the Keystone catalog know it."""

    name: str  # name used in our tables and in --services
    api_package: str  # tempest.api.<api_package>
    catalog_types: tuple[str, ...]  # any of these in the catalog means "available"
    available_option: str | None  # [service_available] option, None when Tempest has none
    # tempest.scenario modules that test this service (and identity) only, run with its API tests
    scenarios: tuple[str, ...] = ()


SERVICES: tuple[Service, ...] = (
    Service("identity", "identity", ("identity",), None),
    Service("compute", "compute", ("compute",), "nova"),
    # test_unified_limits: Glance quotas as Keystone unified limits (ImageQuotaTest).
    Service("image", "image", ("image",), "glance", ("test_unified_limits",)),
    Service("network", "network", ("network",), "neutron"),
    Service("volume", "volume", ("volumev3", "block-storage", "volume"), "cinder"),
    Service("object-store", "object_storage", ("object-store",), "swift"),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
SERVICE_BY_PACKAGE = {s.api_package: s for s in SERVICES}
SERVICE_BY_SCENARIO = {module: s for s in SERVICES for module in s.scenarios}

# [service_available] options that no catalog type can switch on (vistack serves no Horizon
# through the catalog); flip with --set service_available.horizon=true.
ALWAYS_UNAVAILABLE = ("horizon",)

# [identity-feature-enabled]: matches what vistack's Keystone implements (see DESIGN.md and
# docs/tempest.md). Tempest 47 has no flags for project tags or application credentials:
# those tests always run. Option names checked against tempest/config.py of TEMPEST_VERSION.
IDENTITY_FEATURES: dict[str, str] = {
    "api_v2": "false",  # identity v2 is not served
    "api_v2_admin": "false",
    "api_v3": "true",
    "trust": "true",  # OS-TRUST, with impersonation and redelegation
    "access_rules": "true",  # application credential access rules, enforced on every API
    # Off for an external cloud (its rules are unknown); a private cloud turns it on with
    # PRIVATE_CLOUD_COMPLIANCE below.
    "security_compliance": "false",
    "domain_specific_drivers": "false",  # one SQL identity backend for every domain
    "immutable_user_source": "false",  # users are created through the API
}

# [image] and [image-feature-enabled]: what vistack's Glance accepts and does. Tempest fills
# images with random bytes in the *first* formats listed here; vistack refuses content that
# does not match its declared format, and random bytes are only honest as `raw`, so raw/bare
# is the one pair listed. With that, the listing tests that upload such bytes tell no lie and
# run (image_format_enforcement=false only means "Tempest may upload random data in the
# listed formats"). VMDK/OVA/ISO/qcow2 checks are covered by vistack's own tests.
# Import is glance-direct + copy-image; an image's stores are listed by weight, highest first.
IMAGE_OPTIONS: dict[str, str] = {
    "container_formats": "bare",
    "disk_formats": "raw",
    "build_timeout": "120",
    "build_interval": "1",
    # No image is fetched from a URL (web-download and the legacy tasks API are refused).
    "http_image": "",
    "http_qcow2_image": "",
}
IMAGE_FEATURES: dict[str, str] = {
    "api_v2": "true",
    "import_image": "true",
    "os_glance_reserved": "true",
    "manage_locations": "false",  # locations are vistack's own; no http store
    "image_conversion": "false",  # conversion happens, but to VMDK, not Tempest's qcow2/raw
    "image_format_enforcement": "false",
    "do_secure_hash": "true",
    "http_store_enabled": "false",
    "store_weight_enabled": "true",
}

# [network] and [network-feature-enabled] (api_extensions comes from the cloud itself).
# Tenant subnets are carved from these; the external network for routers and floating IPs is
# the admin-made `public` network the harness finds or creates (as devstack does).
NETWORK_OPTIONS: dict[str, str] = {
    "project_network_cidr": "10.100.0.0/16",
    "project_network_mask_bits": "28",
    "project_network_v6_cidr": "2001:db8::/48",
    "project_network_v6_mask_bits": "64",
    "build_timeout": "60",
    "build_interval": "1",
}
NETWORK_FEATURES: dict[str, str] = {
    "ipv6": "true",
    "ipv6_subnet_attributes": "false",  # no SLAAC / DHCPv6 address modes
    "port_admin_state_change": "true",
    "port_security": "true",
    "floating_ips": "true",
}
PUBLIC_NETWORK = "public"
PUBLIC_SUBNET = {"cidr": "172.24.4.0/24", "gateway_ip": "172.24.4.1", "ip_version": 4,
                 "allocation_pools": [{"start": "172.24.4.10", "end": "172.24.4.250"}]}  # fmt: skip

# [compute] and [compute-feature-enabled]: what vistack's Nova does (docs/compute.md). image_ref,
# image_ref_alt and the microversion range come from the cloud (see harness_compute.py).
# flavor_ref/_alt are Nova's default m1.tiny and m1.small, which vistack makes at bootstrap.
COMPUTE_OPTIONS: dict[str, str] = {
    "flavor_ref": "1",
    "flavor_ref_alt": "2",
    "build_timeout": "120",  # a simulated clone and power-on takes seconds
    "build_interval": "1",
}
# Every flag says what the cloud really does: False skips the tests of a feature vistack has
# not built (the action answers 501), True runs them. Option names from tempest/config.py.
COMPUTE_FEATURES: dict[str, str] = {
    "disk_config": "true",  # OS-DCF:diskConfig is accepted and shown (MANUAL: vSphere's disks)
    "change_password": "false",  # 501: vSphere cannot set a guest password without tools
    # os-getConsoleOutput reads the VM's serial.log, which only a running guest fills: Tempest
    # waits for lines the simulator never writes (vistack's own tests cover the action).
    "console_output": "false",
    "resize": "true",  # grow only; ReconfigVM plus the root disk kept for a revert
    "pause": "false",  # 501: vSphere has no pause (suspend is its equivalent)
    "suspend": "true",
    "shelve": "true",
    "shelve_migrate": "true",  # an offloaded server is scheduled again when unshelved
    "cold_migration": "true",  # RelocateVM_Task to another cluster
    "live_migration": "true",  # vMotion (RelocateVM_Task) to another cluster
    # vMotion moves the running VM to the other cluster's datastores it sees (shared here);
    # a target that cannot see the VM's datastore is refused.
    "block_migration_for_live_migration": "true",
    "metadata_service": "true",
    "rescue": "true",
    "stable_rescue": "true",  # rescue with the server's volumes attached (2.87)
    "vnc_console": "false",  # vSphere's console is WebMKS (remote-consoles protocol mks)
    "spice_console": "false",
    "serial_console": "false",
    "interface_attach": "true",
    "snapshot": "true",
    "personality": "true",  # up to 2.56: the files travel on the config drive
    "config_drive": "true",
    "attach_encrypted_volume": "false",  # no volume encryption
    # Only as a step of Cinder's migration of an in-use volume (docs/compute.md, Swap volume):
    # a direct PUT is Nova's 409, what Tempest 47 expects (OSSN-0094, bug 2112187).
    "swap_volume": "true",
    # vMotion leaves every disk where it is (the target cluster must see it), volumes too.
    "volume_backed_live_migration": "true",
    # Multi-writer disks (docs/volume.md, Multiattach); the type is MULTIATTACH_TYPE.
    "volume_multiattach": "true",
    "ide_bus": "false",  # only asked of volume and device-tagging tests
    "unified_limits": "false",  # compute quotas are Nova's legacy os-quota-sets
    "enable_instance_password": "true",  # create answers adminPass
    # The scheduler filters by zone, capacity and server group policy, and takes the group,
    # same_host and different_host hints (the host being the cluster).
    "scheduler_enabled_filters": (
        "AvailabilityZoneFilter,ComputeFilter,ServerGroupAntiAffinityFilter,"
        "ServerGroupAffinityFilter,SameHostFilter,DifferentHostFilter"
    ),
}
# [volume] and [volume-feature-enabled]: what vistack's Cinder does (docs/volume.md). The
# catalog type and the microversion range come from the cloud (harness_volume.py).
# The public volume type with multiattach="<is> True" the harness makes when missing
# (harness_volume.py); Tempest's multiattach tests create their volumes with it.
MULTIATTACH_TYPE = "tempest-multiattach"
VOLUME_OPTIONS: dict[str, str] = {
    "build_timeout": "120",
    "build_interval": "1",
    "volume_size": "1",
    "storage_protocol": "vmdk",  # connection_info's driver_volume_type, as VMware's driver
    "vendor_name": "VMware",
    "disk_format": "vmdk",  # upload-to-image makes a VMDK
    "backend_names": "vmware",  # the pools' volume_backend_name (extra specs are matched to it)
    # The disk names unmanaged volumes and snapshots keep (vistack/volume/domain/manage*.py).
    "manage_volume_ref": "source-name,volume-%s",
    "manage_snapshot_ref": "source-name,snapshot-%s",
    "volume_type_multiattach": MULTIATTACH_TYPE,
}
VOLUME_FEATURES: dict[str, str] = {
    "multi_backend": "false",
    "backup": "true",  # to the file store (docs/volume.md, Backups)
    "snapshot": "true",
    "clone": "true",
    "manage_snapshot": "true",
    "manage_volume": "true",
    "replication": "false",
    "extend_attached_volume": "true",  # 3.42
    "extend_attached_encrypted_volume": "false",
    "extend_volume_with_snapshot": "true",
    "enable_volume_image_dep_tests": "false",
}
# Guests are simulated: nothing answers ssh or ping.
VALIDATION_OPTIONS: dict[str, str] = {"run_validation": "false"}
# The images servers boot from: VMDK (the only format vistack boots), made with qemu-img and
# uploaded as public images by the harness when the cloud does not have them yet.
COMPUTE_IMAGES: tuple[str, str] = ("tempest-vmdk", "tempest-vmdk-alt")
COMPUTE_IMAGE_SIZE = 4 << 20  # virtual size, bytes; the file itself is ~1 MiB
# Without routers (no L3), Tempest cannot give each test project its own network+subnet+router;
# its servers then use this shared network ([compute] fixed_network_name) the harness makes.
SHARED_NETWORK = "tempest-shared"
SHARED_SUBNET = {"cidr": "10.99.0.0/20", "ip_version": 4}

# Further settings of the private cloud: the embedded vCenter's two datastores are image stores
# with different weights (so StoreWeightTest has something to check).
PRIVATE_CLOUD_ENV: dict[str, str] = {"VISTACK_IMAGE_DATASTORES": "LocalDS_0:100,LocalDS_1:50"}

# [security_compliance] of the private cloud this script starts, and the [identity] options
# that tell Tempest about them: short lockout so the lockout test waits seconds, not minutes.
PRIVATE_CLOUD_COMPLIANCE: dict[str, tuple[str, str]] = {
    # vistack option: (value, tempest [identity] option)
    "lockout_failure_attempts": ("2", "user_lockout_failure_attempts"),
    "lockout_duration": ("5", "user_lockout_duration"),
    "unique_last_password_count": ("2", "user_unique_last_password_count"),
}

# Keystone API extensions vistack implements ([identity-feature-enabled] api_extensions).
# Tempest skips tests of OS-INHERIT and OS-EC2 unless they are listed here.
IDENTITY_EXTENSIONS: tuple[str, ...] = ("OS-INHERIT", "OS-EC2")
