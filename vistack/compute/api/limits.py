"""`/v2.1/limits`: the caller's project's absolute limits and usage, under Nova's names (no
rate limits: Nova has had none since 2.1). Microversions take some away: 2.36 the network ones
(Neutron's), 2.39 `maxImageMeta` (Glance's), 2.57 the file injection ones."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.compute.api.deps import Context, Services
from vistack.compute.api.microversion import Microversion, Version

router = APIRouter()

#: Quota resource → the absolute limits named after it (`maxImageMeta` is gone from 2.39 on).
LIMIT_NAMES = {
    "ram": ("maxTotalRAMSize",),
    "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",),
}
#: Usage figure → the quota resource it counts.
USED_NAMES = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


_NETWORK = (
    "maxTotalFloatingIps",
    "maxSecurityGroups",
    "maxSecurityGroupRules",
    "totalFloatingIpsUsed",
    "totalSecurityGroupsUsed",
)


def removed(version: Version) -> set[str]:
    """The names `version` no longer shows."""
    gone: set[str] = set()
    if version.at_least("2.36"):
        gone.update(_NETWORK)
    if version.at_least("2.39"):
        gone.add("maxImageMeta")
    if version.at_least("2.57"):
        gone.update(("maxPersonality", "maxPersonalitySize"))
    return gone


@router.get("/v2.1/limits")
def show_limits(
    request: Request, services: Services, context: Context, version: Microversion
) -> Response:
    tenant_id = request.query_params.get("tenant_id") or None
    limits, usage = services.quotas.absolute_limits(context, tenant_id)
    absolute = {name: limits[resource] for resource, names in LIMIT_NAMES.items() for name in names}
    absolute.update({name: usage[resource] for name, resource in USED_NAMES.items()})
    gone = removed(version)
    absolute = {name: value for name, value in absolute.items() if name not in gone}
    return JSONBody({"limits": {"rate": [], "absolute": absolute}})
