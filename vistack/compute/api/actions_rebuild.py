"""rebuild: the server made again from an image, answered with its full view and password."""

from __future__ import annotations

from fastapi import Response

from vistack.common.errors import BadRequest
from vistack.common.web import JSONBody
from vistack.compute.api import server_views
from vistack.compute.api.action_registry import ActionCall, action
from vistack.compute.api.actions_images import need


@action("rebuild")
def rebuild(call: ActionCall) -> Response | None:
    rebuilds = need(call.services.disk).rebuilds
    server, password = rebuilds.rebuild(
        call.context, call.server_id, call.argument, call.version.at_least
    )
    if call.request is None:
        raise BadRequest("A rebuild needs its HTTP request to answer with the server.")
    admin = call.services.servers.sees_admin_fields(call.context)
    # Before 2.75 Nova answers a rebuild without the extension attributes, as an update.
    view = server_views.full(
        call.request,
        server,
        zone_of=call.services.clusters.zone_of,
        admin=admin,
        extended=call.version.at_least("2.75"),
        version=call.version,
    )
    # Nova adds what a rebuild may have changed even to its pre-2.75 answer.
    if call.version.at_least("2.54"):
        view["key_name"] = server.key_name
    if call.version.at_least("2.57"):
        view["user_data"] = server.user_data
        view.pop("OS-EXT-SRV-ATTR:user_data", None)  # shown once, as `user_data`
    view["adminPass"] = password
    return JSONBody({"server": view}, status_code=202)
