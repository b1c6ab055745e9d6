"""Project ids in compute URLs (`/v2.1/{project_id}/servers`): see common/project_path.py.
The request's context must then be that project's (Nova's 400 "Malformed request URL"
otherwise; see `deps.compute_context`)."""

from __future__ import annotations

from starlette.types import ASGIApp

from vistack.common import project_path

SCOPE_KEY = "vistack.compute.url_project_id"
PREFIX = "/v2.1/"


def with_project_paths(app: ASGIApp, paths: list[str]) -> ASGIApp:
    resources = project_path.served_resources(paths, PREFIX)
    return project_path.ProjectPathMiddleware(app, resources, prefix=PREFIX, project_key=SCOPE_KEY)
