"""Every vSphere fault becomes one typed driver error here, by its type, never by its text.

One table maps `vim.fault.*` / `vmodl.fault.*` classes (and the Python errors a broken connection
raises) to the small vocabulary of `vistack.drivers.errors`. `classify` walks the exception's class
hierarchy, most specific first, so a subclass (`InvalidPowerState`) may be mapped apart from its
parent (`InvalidState`) and an unlisted subclass inherits its parent's meaning. pyVmomi is imported
here because the table is made of its fault classes.
"""

from __future__ import annotations

import http.client
import ssl
from xml.parsers.expat import ExpatError

from vistack.drivers.errors import (
    AlreadyExistsError,
    AuthError,
    DriverError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
    TLSVerificationError,
    TransientError,
    UnsupportedError,
)
from vistack.vsphere.vmomi import vim, vmodl

_TABLE: dict[type[BaseException], type[DriverError]] = {
    # Not found: the object, a file, or a moref that went away since it was read.
    vim.fault.NotFound: NotFoundError,
    vmodl.fault.ManagedObjectNotFound: NotFoundError,
    vim.fault.FileNotFound: NotFoundError,
    # Already exists.
    vim.fault.DuplicateName: AlreadyExistsError,
    vim.fault.AlreadyExists: AlreadyExistsError,
    vim.fault.FileAlreadyExists: AlreadyExistsError,
    # Invalid state (InvalidPowerState, InvalidHostState, InvalidDatastoreState… are InvalidState).
    vim.fault.InvalidState: InvalidStateError,
    vim.fault.TaskInProgress: InvalidStateError,
    vim.fault.ResourceInUse: InvalidStateError,
    vim.fault.FileLocked: InvalidStateError,
    # No capacity (InsufficientHostCapacityFault, InsufficientCpuResourcesFault… inherit).
    vim.fault.InsufficientResourcesFault: NoCapacityError,
    vim.fault.NoDiskSpace: NoCapacityError,
    vim.fault.NoCompatibleHost: NoCapacityError,
    vim.fault.LicenseExpired: NoCapacityError,
    vmodl.fault.NotEnoughLicenses: NoCapacityError,
    vim.fault.NotEnoughCpus: NoCapacityError,
    # Authentication and authorisation (NotAuthenticated is a NoPermission).
    vim.fault.InvalidLogin: AuthError,
    vim.fault.NoPermission: AuthError,
    vmodl.fault.SecurityError: AuthError,
    # Transient: the service, a host or the network is down or busy; a retry may work.
    vim.fault.HostConnectFault: TransientError,
    vim.fault.Timedout: TransientError,
    vmodl.fault.RequestCanceled: TransientError,
    vmodl.fault.HostCommunication: TransientError,
    vmodl.fault.SystemError: TransientError,
    vim.fault.ConcurrentAccess: TransientError,
    vim.fault.HostPowerOpFailed: TransientError,
    # Unsupported: this vCenter (or the simulator) cannot do it at all.
    vmodl.fault.MethodNotFound: UnsupportedError,
    vmodl.fault.NotSupported: UnsupportedError,
    vmodl.fault.NotImplemented: UnsupportedError,
    # The connection itself: refused, reset, timed out, or the reply was cut off.
    ConnectionError: TransientError,
    TimeoutError: TransientError,
    http.client.HTTPException: TransientError,
    ssl.SSLCertVerificationError: TLSVerificationError,
    OSError: TransientError,
    # A reply that is not SOAP at all (the simulator's broken RefreshDatastore).
    ExpatError: DriverError,
}


def fault_name(exc: BaseException) -> str:
    """`vim.fault.InvalidPowerState` for vSphere faults, the class name otherwise."""
    name = type(exc).__name__
    if isinstance(exc, vmodl.MethodFault) and "." not in name:
        return f"vmodl.{name}"
    return name


_BASE_FIELDS = {"dynamicType", "dynamicProperty", "msg", "faultCause", "faultMessage"}


def fault_message(exc: BaseException) -> str:
    """A readable message: the server's text, else the fault's name and its own fields.

    vCenter fills `msg` with a sentence; the simulator puts its Go type name there
    ("*types.InvalidPowerState"), which says nothing the fault's fields do not say better.
    """
    if not isinstance(exc, vmodl.MethodFault):
        return str(exc) or type(exc).__name__
    text = getattr(exc, "localizedMessage", None) or getattr(exc, "msg", None)
    for message in getattr(exc, "faultMessage", None) or ():
        text = text or getattr(message, "message", None)
    if text and not str(text).startswith("*types."):
        return str(text)
    details = [
        f"{prop.name}={value}"
        for prop in exc._GetPropertyList()
        if prop.name not in _BASE_FIELDS
        and isinstance(value := getattr(exc, prop.name, None), str | int | float)
    ]
    name = fault_name(exc).rsplit(".", 1)[-1]
    return f"{name} ({', '.join(details)})" if details else name


def error_class(exc: BaseException) -> type[DriverError]:
    """The driver error class for `exc`: the most specific entry of the table."""
    for cls in type(exc).__mro__:
        mapped = _TABLE.get(cls)
        if mapped is not None:
            return mapped
    return DriverError


def classify(exc: BaseException, context: str | None = None) -> DriverError:
    """Turn `exc` into a `DriverError` of the right class; `context` prefixes the message.

    A `DriverError` is returned as it is: classifying twice must not change the meaning.
    """
    if isinstance(exc, DriverError):
        return exc
    cls = error_class(exc)
    message = fault_message(exc)
    if context:
        message = f"{context}: {message}"
    if cls is TLSVerificationError:
        error: DriverError = TLSVerificationError(
            message, thumbprint=getattr(exc, "thumbprint", None)
        )
        error.fault = fault_name(exc)
    else:
        error = cls(message, fault=fault_name(exc))
    error.__cause__ = exc
    return error
