"""Neutron's typed faults: the common error classes, each carrying Neutron's `type` name.

Neutron clients read `NeutronError.type` (tempest asserts on it, the SDK maps some to its own
exceptions), so the domain names the kind of failure here and `api/faults.py` renders it; the
HTTP status still comes from the common error table.
"""

from __future__ import annotations

from vistack.common.errors import BadRequest, Conflict, NotFound, ServiceUnavailable


class NeutronBadRequest(BadRequest):
    def __init__(self, message: str, kind: str = "HTTPBadRequest") -> None:
        super().__init__(message)
        self.kind = kind


class NeutronNotFound(NotFound):
    def __init__(self, message: str, kind: str = "HTTPNotFound") -> None:
        super().__init__(message)
        self.kind = kind


class NeutronConflict(Conflict):
    def __init__(self, message: str, kind: str = "HTTPConflict") -> None:
        super().__init__(message)
        self.kind = kind


class NeutronUnavailable(ServiceUnavailable):
    def __init__(self, message: str, kind: str = "HTTPServiceUnavailable") -> None:
        super().__init__(message)
        self.kind = kind


def not_found(resource: str, resource_id: str) -> NeutronNotFound:
    """`NetworkNotFound` and friends, with Neutron's sentence."""
    label = {"network": "Network", "subnet": "Subnet", "port": "Port"}[resource]
    return NeutronNotFound(f"{label} {resource_id} could not be found.", f"{label}NotFound")


def over_quota(resource: str) -> NeutronConflict:
    return NeutronConflict(f"Quota exceeded for resources: ['{resource}'].", "OverQuota")


def invalid(message: str) -> NeutronBadRequest:
    return NeutronBadRequest(f"Invalid input for operation: {message}", "InvalidInput")
