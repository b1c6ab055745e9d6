"""Service administration Cinder added by microversion: log levels (3.32 `set-log`/`get-log`),
clusters (3.7 `/clusters`) and the cleanup of failed services (3.24 `/workers/cleanup`).

Cinder's services are processes; here the API, the scheduler and the volume service run in
one process, so each "binary" stands for the Python loggers of its part of the code
(`BINARY_LOGGERS`), and a level set on one is set on those loggers, at once and for real.

Cinder clusters group volume services that share a backend (Active/Active). vistack runs one
volume service per vCenter, in no cluster: `/clusters` lists none, and naming one is a 404.
A cleanup asks the other services of a failed service's cluster to take its unfinished work
over; without clusters no service can do it for another, so every service a cleanup matches
is answered `unavailable`, as Cinder answers for a service no peer can clean (a restarted
volume service takes its own interrupted work up itself, `VolumeServices.start`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.policy import PolicyEngine
from vistack.volume.domain import requests

#: The loggers each Cinder binary's part of vistack logs under.
BINARY_LOGGERS: dict[str, tuple[str, ...]] = {
    "cinder-api": ("vistack.volume.api",),
    "cinder-scheduler": ("vistack.volume.domain.placement",),
    "cinder-volume": ("vistack.volume.domain", "vistack.vsphere"),
}
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

#: `(binary, host, state)` of every service, from `BackendInfo.services`.
ServiceList = Callable[[RequestContext], list[dict[str, Any]]]


class ServiceAdmin:
    """Log levels, clusters and cleanups (administrators only)."""

    def __init__(self, policy: PolicyEngine, services: ServiceList) -> None:
        self._policy = policy
        self._services = services

    # -- log levels (3.32) ---------------------------------------------------------------------

    def set_log(self, context: RequestContext, body: Any) -> None:
        """Set `level` on the loggers of the matching services under `prefix`.

        :raises BadRequest: no or an unknown level, an unknown binary.
        """
        self._policy.authorize("volume_extension:services:set_log", context, {})
        fields = body if isinstance(body, dict) else {}
        level = fields.get("level")
        if not isinstance(level, str) or level.upper() not in LEVELS:
            raise BadRequest(
                f"Invalid input received: level must be one of {', '.join(LEVELS)}, not {level!r}."
            )
        for _binary, _host, names in self._matching(context, fields):
            for name in names:
                logging.getLogger(name).setLevel(level.upper())

    def get_log(self, context: RequestContext, body: Any) -> list[dict[str, Any]]:
        """The effective level of each matching service's loggers under `prefix`."""
        self._policy.authorize("volume_extension:services:get_log", context, {})
        fields = body if isinstance(body, dict) else {}
        return [
            {
                "binary": binary,
                "host": host,
                "levels": {
                    name: logging.getLevelName(logging.getLogger(name).getEffectiveLevel())
                    for name in names
                },
            }
            for binary, host, names in self._matching(context, fields)
        ]

    def _matching(
        self, context: RequestContext, fields: dict[str, Any]
    ) -> list[tuple[str, str, list[str]]]:
        binary = fields.get("binary") or "*"
        server = fields.get("server") or None
        prefix = fields.get("prefix") or ""
        for name, value in (("binary", binary), ("server", server), ("prefix", prefix)):
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"Invalid input received: {name} must be a string.")
        if binary not in ("*", *BINARY_LOGGERS):
            raise BadRequest(
                f"Invalid input received: binary must be one of {', '.join(BINARY_LOGGERS)} or *."
            )
        out = []
        for service in self._services(context):
            if binary not in ("*", service["binary"]):
                continue
            if server is not None and server not in (
                service["host"],
                service["host"].split("@")[0],
            ):
                continue
            out.append((service["binary"], service["host"], _loggers(service["binary"], prefix)))
        api_wanted = binary in ("*", "cinder-api")
        if api_wanted and server is None:
            out.append(("cinder-api", "", _loggers("cinder-api", prefix)))
        return out

    # -- clusters (3.7) ------------------------------------------------------------------------

    def clusters(self, context: RequestContext) -> list[dict[str, Any]]:
        self._policy.authorize("volume_extension:services:index", context, {})
        return []  # one volume service per vCenter, in no cluster (see the module's doc)

    def cluster(self, context: RequestContext, name: str) -> dict[str, Any]:
        self._policy.authorize("volume_extension:services:index", context, {})
        raise NotFound(
            f"Cluster {name} could not be found: vistack runs one volume service per vCenter, "
            "in no cluster."
        )

    def update_cluster(self, context: RequestContext, action: str, body: Any) -> dict[str, Any]:
        self._policy.authorize("volume_extension:services:update", context, {})
        if action not in ("enable", "disable"):
            raise NotFound(f"Unknown action {action!r}.")
        fields = body if isinstance(body, dict) else {}
        name = fields.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest("Missing required element 'name' in request body.")
        return self.cluster(context, name)

    # -- cleanup (3.24) ------------------------------------------------------------------------

    def cleanup(self, context: RequestContext, body: Any) -> dict[str, list[dict[str, Any]]]:
        """`POST /workers/cleanup`: which matching services are cleaned and which cannot be.

        :raises BadRequest: a filter of the wrong type.
        """
        self._policy.authorize("volume_extension:workers:cleanup", context, {})
        fields = body if isinstance(body, dict) else {}
        if fields.get("cluster_name") is not None:
            return {"cleaning": [], "unavailable": []}  # no service is in a cluster
        is_up = fields.get("is_up")
        want_up = None if is_up is None else requests.boolean("is_up", is_up)
        host = fields.get("host")
        binary = fields.get("binary") or "cinder-volume"
        service_id = fields.get("service_id")
        unavailable = []
        for index, service in enumerate(self._services(context), start=1):
            up = service["state"] == "up"
            if service["binary"] != binary or (host is not None and service["host"] != host):
                continue
            if service_id is not None and str(service_id) != str(index):
                continue
            # Without is_up Cinder cleans only services that are down.
            if (want_up is None and up) or (want_up is not None and up != want_up):
                continue
            unavailable.append(
                {
                    "id": index,
                    "host": service["host"],
                    "binary": service["binary"],
                    "cluster_name": None,
                }
            )
        return {"cleaning": [], "unavailable": unavailable}


def _loggers(binary: str, prefix: str) -> list[str]:
    """The binary's logger names under `prefix` (a prefix inside one of them narrows to it)."""
    roots = BINARY_LOGGERS[binary]
    if not prefix:
        return list(roots)
    return [prefix for root in roots if prefix.startswith(root)] or [
        root for root in roots if root.startswith(prefix)
    ]
