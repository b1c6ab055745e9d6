"""Nova's legacy v2.0 endpoint (`/compute/v2/...`): the v2.1 API at microversion 2.1, without
microversion headers either way, as Nova serves its "v2.1 compatible" v2.0 to old clients.

Version discovery lists v2.0 first (SUPPORTED) and v2.1 (CURRENT), so a client that asks for
2.0 finds an endpoint that answers it, and one that negotiates microversions finds v2.1.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: What the legacy endpoint neither reads nor answers.
VERSION_HEADERS = (b"openstack-api-version", b"x-openstack-nova-api-version")
PREFIX = "/v2/"


class LegacyV2Middleware:
    """Serves `/v2/...` as `/v2.1/...` at microversion 2.1 (the document at `/v2` itself is the
    v2.0 version's, from `versions.py`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        # Under a mount the path keeps the mount's prefix (`root_path`): match past it.
        local = path[len(root) :] if root and path.startswith(root) else path
        if scope["type"] != "http" or not local.startswith(PREFIX) or local == PREFIX:
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["path"] = path[: len(path) - len(local)] + "/v2.1" + local[len(PREFIX) - 1 :]
        scope["raw_path"] = scope["path"].encode()
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() not in VERSION_HEADERS]

        async def unversioned(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (*VERSION_HEADERS, b"vary")
                ]
            await send(message)

        await self.app(scope, receive, unversioned)
