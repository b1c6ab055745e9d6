"""The network proxy actions Nova removed at 2.44: `addFloatingIp` and `removeFloatingIp`
(done through this cloud's Neutron before 2.44) and `addFixedIp` and `removeFixedIp` (refused
before 2.44: attach or detach an interface instead). From 2.44 all four answer 404."""

from __future__ import annotations

from fastapi import Response

from vistack.common.errors import NotFound, NotImplementedByBackend
from vistack.compute.api.action_registry import ActionCall, action

REMOVED_AT = "2.44"


def _before_2_44(call: ActionCall) -> None:
    if call.version.at_least(REMOVED_AT):
        raise NotFound(f"API version {call.version} is not supported on this method.")


@action("addFloatingIp", "removeFloatingIp")
def floating_ip(call: ActionCall) -> Response | None:
    _before_2_44(call)
    proxy = call.services.floating_ips
    if proxy is None:
        raise NotImplementedByBackend("Floating IPs need this cloud's network service.")
    if call.name == "addFloatingIp":
        proxy.add(call.context, call.server_id, call.argument)
    else:
        proxy.remove(call.context, call.server_id, call.argument)
    return None


@action("addFixedIp", "removeFixedIp")
def fixed_ip(call: ActionCall) -> Response | None:
    _before_2_44(call)
    call.services.servers.get(call.context, call.server_id)  # 404 first, as Nova checks it
    raise NotImplementedByBackend(
        f"{call.name} (nova-network's multinic) is not served by this cloud: attach or detach "
        "an interface (os-interface) instead."
    )
