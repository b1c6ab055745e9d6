"""Project ids in versioned URLs (`/v2.1/{project_id}/servers`, `/v3/{project_id}/volumes`).

Nova has always routed `/v2.1/{project_id}/...` (2.18 made the id optional) and Cinder's catalog
URL ends in the project id (3.67 made it optional), so a client may send either form. Both reach
the same handlers: the project segment is taken out of the path and kept in the scope under the
service's key, and the service's context dependency then checks it is the caller's project.

A segment counts as a project id only when the next one is a resource the API serves, so a
resource name is never taken for one.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class ProjectPathMiddleware:
    """Strips `{project_id}/` after `prefix` when the next segment is a served resource,
    remembering the id at `scope[project_key]` and the path as sent at `scope[path_key]`."""

    def __init__(
        self,
        app: ASGIApp,
        resources: frozenset[str],
        *,
        prefix: str,
        project_key: str,
        path_key: str | None = None,
    ) -> None:
        self.app = app
        self.resources = resources
        self.prefix = prefix
        self.project_key = project_key
        self.path_key = path_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root = scope.get("root_path", "")
            local = path[len(root) :] if root and path.startswith(root) else path
            prefix = self.prefix
            if local.startswith(prefix):
                project, _, rest = local[len(prefix) :].partition("/")
                resource = rest.split("/", 1)[0]
                if project and project not in self.resources and resource in self.resources:
                    scope = dict(scope)
                    scope[self.project_key] = project
                    if self.path_key is not None:
                        scope[self.path_key] = path
                    scope["path"] = path[: len(path) - len(local)] + prefix + rest
                    raw = scope.get("raw_path")
                    if isinstance(raw, bytes):
                        marker = f"{prefix}{project}/".encode()
                        scope["raw_path"] = raw.replace(marker, prefix.encode(), 1)
        await self.app(scope, receive, send)


def served_resources(paths: list[str], prefix: str) -> frozenset[str]:
    """The first segment after `prefix` of every route (`servers`, `volumes`, `os-...`)."""
    out = set()
    for path in paths:
        if path.startswith(prefix):
            segment = path[len(prefix) :].split("/", 1)[0]
            if segment and not segment.startswith("{"):
                out.add(segment)
    return frozenset(out)
