"""The small set of typed errors every driver raises, whatever the backend.

vSphere faults are classified into these once, by type, in `vistack.vsphere.faults`; services map
them to OpenStack states or HTTP codes without ever seeing a vSphere fault.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base of every driver failure; `message` is safe to show to a user."""

    def __init__(self, message: str, *, fault: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The backend's own fault name (e.g. "vim.fault.InvalidPowerState"), for logs.
        self.fault = fault


class NotFoundError(DriverError):
    """The object does not exist (any more) on the backend."""


class AlreadyExistsError(DriverError):
    """An object with that name or identity exists already."""


class InvalidStateError(DriverError):
    """The object is in a state that forbids the operation (e.g. powered on, a template)."""


class NoCapacityError(DriverError):
    """Not enough CPU, memory, disk space or licences to do it."""


class TransientError(DriverError):
    """The backend is unreachable, busy or restarting; retrying later may succeed."""


class AuthError(DriverError):
    """Credentials are wrong, the session cannot be established, or a permission is missing."""


class TLSVerificationError(AuthError):
    """The server's certificate could not be verified; `thumbprint` is what it presented."""

    def __init__(self, message: str, *, thumbprint: str | None = None) -> None:
        super().__init__(message)
        self.thumbprint = thumbprint


class UnsupportedError(DriverError):
    """The backend cannot do this at all (documented in docs/vsphere.md)."""


class RangeNotSatisfiableError(DriverError):
    """A byte range starts at or past the end of a non-empty file (HTTP 416).

    `size` is the file's length when the backend said it, so an HTTP answer can carry the
    `Content-Range: bytes */<size>` that RFC 9110 asks of a 416.
    """

    def __init__(self, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.size = size
