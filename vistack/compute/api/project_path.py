"""Project ids in compute URLs (`/v2.1/{project_id}/servers`).

Nova has always routed `/v2.1/{project_id}/...`; microversion 2.18 made the project id
optional, and a catalog may give either form. Here both reach the same handlers: the project
segment is taken out of the path and kept in the scope, and the request's context must then be
that project's (Nova's 400 "Malformed request URL" otherwise; see `deps.compute_context`).

A segment is a project id only when it stands between `v2.1` and a resource this API serves,
so a resource name is never mistaken for one.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "vistack.compute.url_project_id"
PREFIX = "/v2.1/"


class ProjectPathMiddleware:
    """Strips `{project_id}/` after `/v2.1/` when the next segment is a served resource."""

    def __init__(self, app: ASGIApp, resources: frozenset[str]) -> None:
        self.app = app
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root = scope.get("root_path", "")
            local = path[len(root) :] if root and path.startswith(root) else path
            if local.startswith(PREFIX):
                project, _, rest = local[len(PREFIX) :].partition("/")
                resource = rest.split("/", 1)[0]
                if project and project not in self.resources and resource in self.resources:
                    scope = dict(scope)
                    scope[SCOPE_KEY] = project
                    scope["path"] = path[: len(path) - len(local)] + PREFIX + rest
                    raw = scope.get("raw_path")
                    if isinstance(raw, bytes):
                        marker = f"{PREFIX}{project}/".encode()
                        scope["raw_path"] = raw.replace(marker, PREFIX.encode(), 1)
        await self.app(scope, receive, send)


def served_resources(paths: list[str]) -> frozenset[str]:
    """The first segment after `/v2.1/` of every route (`servers`, `flavors`, `os-...`)."""
    out = set()
    for path in paths:
        if path.startswith(PREFIX):
            segment = path[len(PREFIX) :].split("/", 1)[0]
            if segment and not segment.startswith("{"):
                out.add(segment)
    return frozenset(out)
