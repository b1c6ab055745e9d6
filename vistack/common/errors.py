"""The exceptions every layer raises, and the one table that maps them to HTTP status codes.

Domain code raises these and never an HTTP exception; each service's API layer renders them in its
own native fault format (see `vistack.common.faults`), so the status for a kind of failure is
decided here, once, for every service.
"""

from __future__ import annotations

from http import HTTPStatus


class VistackError(Exception):
    """Base of every error a user may see; `message` must be safe to show and to log."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(VistackError):
    """The request is malformed or a value is invalid."""

    status = HTTPStatus.BAD_REQUEST


class Unauthorized(VistackError):
    """Authentication is missing or failed; deliberately vague to prevent enumeration."""

    status = HTTPStatus.UNAUTHORIZED


class Forbidden(VistackError):
    """The caller is authenticated but policy or a rule forbids the action."""

    status = HTTPStatus.FORBIDDEN


class NotFound(VistackError):
    """The resource does not exist (or is not visible to the caller)."""

    status = HTTPStatus.NOT_FOUND


class MethodNotAllowed(VistackError):
    """The path exists but not with this method."""

    status = HTTPStatus.METHOD_NOT_ALLOWED


class Conflict(VistackError):
    """The request conflicts with existing state (duplicate name, resource in use)."""

    status = HTTPStatus.CONFLICT


class PayloadTooLarge(VistackError):
    """The request body exceeds what the service accepts."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class NotImplementedByBackend(VistackError):
    """The API exists upstream but vistack or vSphere cannot do it; documented, never silent."""

    status = HTTPStatus.NOT_IMPLEMENTED


class ServiceUnavailable(VistackError):
    """A dependency (database, vCenter, broker) is unreachable; the caller may retry."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


def status_of(error: BaseException) -> HTTPStatus:
    """HTTP status for any exception: ours carry one, anything else is a 500."""
    if isinstance(error, VistackError):
        return error.status
    return HTTPStatus.INTERNAL_SERVER_ERROR
