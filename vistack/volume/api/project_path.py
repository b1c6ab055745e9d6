"""Project ids in volume URLs (`/v3/{project_id}/volumes`): see common/project_path.py. The
caller must then be in that project (`deps.volume_context`); the path as sent is kept for
links that must look the same."""

from __future__ import annotations

from starlette.types import ASGIApp

from vistack.common import project_path

SCOPE_KEY = "vistack.volume.url_project_id"
#: The path as the client sent it (with the project), for links that must look the same.
ORIGINAL_PATH_KEY = "vistack.volume.original_path"
PREFIX = "/v3/"


def with_project_paths(app: ASGIApp, paths: list[str]) -> ASGIApp:
    resources = project_path.served_resources(paths, PREFIX)
    return project_path.ProjectPathMiddleware(
        app, resources, prefix=PREFIX, project_key=SCOPE_KEY, path_key=ORIGINAL_PATH_KEY
    )
