"""Reaching a vCenter: TCP, TLS trust (CA or SHA-1 pinning), API version, SOAP stub.

pyVim's `SmartConnect` is not used: it turns every failure into "down or not a VIM server",
silently skips certificate checks for `localhost`, and its pinning fallback switches verification
off on the shared SSL context after the first mismatch-free connection. Here every new HTTP
connection of the stub goes through `_HTTPSConnection`, which verifies the chain or the pinned
thumbprint each time, and applies a short connect timeout and a longer read timeout.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import socket
import ssl
import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from typing import Any

from vistack.drivers.errors import DriverError, TLSVerificationError, TransientError
from vistack.vsphere.endpoint import VCenterEndpoint, format_thumbprint, normalize_thumbprint
from vistack.vsphere.vmomi import SoapStubAdapter, VmomiSupport

SDK_PATH = "/sdk"


class PinnedThumbprintMismatch(ssl.SSLCertVerificationError):
    """The server's certificate is not the pinned one; `thumbprint` is what it presented."""

    def __init__(self, expected: str, thumbprint: str) -> None:
        super().__init__(f"its certificate is not the pinned one ({expected})")
        self.thumbprint = thumbprint


def ssl_context(endpoint: VCenterEndpoint) -> ssl.SSLContext:
    """Verify against `ca_file` (or the system store); no chain check when pinned or insecure."""
    if endpoint.insecure or endpoint.thumbprint:
        # Pinning compares the exact certificate after the handshake (`_HTTPSConnection`), which
        # is stronger than a chain check; `insecure` is the operator's explicit opt-out.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=endpoint.ca_file)


def peer_thumbprint(sock: ssl.SSLSocket) -> str:
    der = sock.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("the server sent no certificate")
    return format_thumbprint(hashlib.sha1(der, usedforsecurity=False).digest())


def fetch_thumbprint(host: str, port: int, timeout: float) -> str | None:
    """The SHA-1 thumbprint the server presents, read without verifying anything (for messages)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as sock,
        ):
            return peer_thumbprint(sock)
    except OSError:
        return None


class _HTTPConnection(http.client.HTTPConnection):
    """Plain http with separate connect and read timeouts."""

    def __init__(
        self, host: str, port: int | None = None, *, connect_timeout: float, read_timeout: float
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        # The read timeout is the kernel's (SO_RCVTIMEO/SO_SNDTIMEO) on a blocking socket, not
        # Python's settimeout: the latter polls before every send and recv, which cost the
        # driver a tenth of its throughput at concurrency 8. A timeout then surfaces as an
        # OSError (EAGAIN), which faults.py classifies as transient like any connection error.
        self.sock.settimeout(None)
        seconds = max(self._read_timeout, 0.001)
        interval = struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)


class _HTTPSConnection(http.client.HTTPSConnection):
    """TLS verified on every connection: by chain, or by the pinned SHA-1 thumbprint."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        context: ssl.SSLContext,
        pinned: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout, context=context)
        self._pinned = pinned
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        if self._pinned is not None:
            assert isinstance(self.sock, ssl.SSLSocket)
            presented = peer_thumbprint(self.sock)
            if normalize_thumbprint(presented) != self._pinned:
                self.close()
                raise PinnedThumbprintMismatch(format_pinned(self._pinned), presented)
        self.sock.settimeout(self._read_timeout)


def format_pinned(digits: str) -> str:
    return format_thumbprint(bytes.fromhex(digits))


def connection_factory(
    endpoint: VCenterEndpoint, connect_timeout: float, read_timeout: float
) -> Callable[..., http.client.HTTPConnection]:
    """What the SOAP stub calls to open each HTTP connection to `endpoint`."""
    if endpoint.protocol == "http":
        return functools.partial(
            _HTTPConnection, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
    return functools.partial(
        _HTTPSConnection,
        context=ssl_context(endpoint),
        pinned=normalize_thumbprint(endpoint.thumbprint) if endpoint.thumbprint else None,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )


def probe(endpoint: VCenterEndpoint, timeout: float) -> None:
    """Check that `endpoint` answers and (for https) that its certificate is trusted.

    :raises TransientError: nothing listens there, or the network is down.
    :raises TLSVerificationError: the certificate is not trusted; carries the thumbprint it has.
    :raises DriverError: the TLS handshake failed for another reason (http on an https port).
    """
    what = f"vCenter {endpoint.name} at {endpoint.address}"
    connection = connection_factory(endpoint, timeout, timeout)(endpoint.host, endpoint.port)
    try:
        connection.connect()
    except ssl.SSLCertVerificationError as exc:
        raise tls_error(endpoint, exc, timeout) from exc
    except ssl.SSLError as exc:
        raise DriverError(
            f"TLS handshake with {what} failed ({exc.reason or exc}); "
            f"is protocol = https right for that port?",
            fault=type(exc).__name__,
        ) from exc
    except OSError as exc:
        raise TransientError(
            f"{what} is unreachable: {exc.strerror or exc}", fault=type(exc).__name__
        ) from exc
    finally:
        connection.close()


def tls_error(
    endpoint: VCenterEndpoint, exc: ssl.SSLCertVerificationError, timeout: float
) -> TLSVerificationError:
    """One line saying what failed, what the server presented, and how to trust it."""
    presented = getattr(exc, "thumbprint", None) or fetch_thumbprint(
        endpoint.host, endpoint.port, timeout
    )
    if isinstance(exc, PinnedThumbprintMismatch):
        reason = str(exc.args[0])
    else:
        reason = exc.verify_message or exc.reason or str(exc)
    hint = (
        f"; the server presented SHA-1 thumbprint {presented} "
        f'(trust it with ca_file = "<CA bundle>" or thumbprint = "{presented}")'
        if presented
        else ""
    )
    error = TLSVerificationError(
        f"TLS verification of vCenter {endpoint.name} at {endpoint.address} failed: {reason}{hint}",
        thumbprint=presented,
    )
    error.fault = type(exc).__name__
    return error


def negotiate_version(
    endpoint: VCenterEndpoint, connect_timeout: float, read_timeout: float
) -> str:
    """The newest vim25 API version both pyVmomi and the server speak (`vim.version.*`).

    :raises DriverError: the server publishes no `vimServiceVersions.xml` (not a vSphere API).
    """
    connection = connection_factory(endpoint, connect_timeout, read_timeout)(
        endpoint.host, endpoint.port
    )
    try:
        connection.request("GET", f"{SDK_PATH}/vimServiceVersions.xml")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    supported: set[str] = set()
    if response.status == 200:
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            root = ElementTree.Element("none")
        for namespace in root.iter("namespace"):
            if namespace.findtext("name") == "urn:vim25":
                supported.update(v.text or "" for v in namespace.iter("version"))
    for version in VmomiSupport.GetServiceVersions("vim25"):
        if VmomiSupport.versionIdMap.get(version) in supported:
            return str(version)
    hint = ""
    if endpoint.protocol == "http" and response.status == 400:
        hint = '; it may serve https only: set protocol = "https"'
    raise DriverError(
        f"{endpoint.address} does not serve a vSphere API this client speaks "
        f"(GET {SDK_PATH}/vimServiceVersions.xml: HTTP {response.status}, "
        f"versions {sorted(supported) or 'none'}){hint}"
    )


def soap_stub(
    endpoint: VCenterEndpoint,
    version: str,
    *,
    pool_size: int,
    connect_timeout: float,
    read_timeout: float,
) -> Any:
    """A pyVmomi SOAP stub whose HTTP connections are ours (verified TLS, two timeouts)."""
    port = -endpoint.port if endpoint.protocol == "http" else endpoint.port
    stub = SoapStubAdapter(
        host=endpoint.host,
        port=port,
        path=SDK_PATH,
        version=version,
        poolSize=pool_size,
        # Idle keep-alive connections are closed after this many seconds (pyVmomi's default 900
        # outlives many load balancers' idle timers).
        connectionPoolTimeout=120,
    )
    # The stub opens each HTTP connection with `scheme(host=, port=, **schemeArgs)`.
    stub.scheme = connection_factory(endpoint, connect_timeout, read_timeout)
    stub.schemeArgs = {}
    return stub
