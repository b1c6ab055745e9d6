"""Where a vCenter is and how to trust it: one immutable value per configured vCenter.

Kept free of pyVmomi so that configuration, the CLI and the embedded launcher can build endpoints
without importing the SDK. Several vCenters may be configured; each maps to its own availability
zone (`availability_zone`, defaulting to the endpoint's `name`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOLS = ("https", "http")


@dataclass(frozen=True, kw_only=True)
class VCenterEndpoint:
    """Connection settings of one vCenter.

    TLS is verified by default: against `ca_file` when given, else the system trust store. A
    `thumbprint` ("AA:BB:…", SHA-1 of the DER certificate) pins the certificate instead of
    verifying its chain. `insecure` turns verification off and must be asked for explicitly.
    """

    host: str
    port: int = 443
    username: str
    password: str = field(repr=False)
    protocol: str = "https"
    ca_file: str | None = None
    thumbprint: str | None = None
    insecure: bool = False
    datacenter: str | None = None
    #: Clusters OpenStack may use; empty means every cluster of the datacenter.
    clusters: tuple[str, ...] = ()
    #: Datastores OpenStack may use; empty means every datastore the clusters see.
    datastores: tuple[str, ...] = ()
    name: str = "default"
    availability_zone: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"vCenter protocol must be https or http, got {self.protocol!r}")
        if not self.host:
            raise ValueError("vCenter host must not be empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"vCenter port must be 1-65535, got {self.port}")
        if self.thumbprint is not None:
            normalize_thumbprint(self.thumbprint)

    @property
    def address(self) -> str:
        """`host:port`, bracketing IPv6 literals, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.address}/sdk"

    @property
    def zone(self) -> str:
        """The availability zone this vCenter's clusters belong to."""
        return self.availability_zone or self.name

    def to_json(self, *, include_password: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "username": self.username,
            "ca_file": self.ca_file,
            "thumbprint": self.thumbprint,
            "insecure": self.insecure,
            "datacenter": self.datacenter,
            "clusters": list(self.clusters),
            "datastores": list(self.datastores),
            "availability_zone": self.availability_zone,
        }
        if include_password:
            document["password"] = self.password
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> VCenterEndpoint:
        return cls(
            host=str(document["host"]),
            port=int(document.get("port", 443)),
            username=str(document["username"]),
            password=str(document.get("password", "")),
            protocol=str(document.get("protocol", "https")),
            ca_file=document.get("ca_file"),
            thumbprint=document.get("thumbprint"),
            insecure=bool(document.get("insecure", False)),
            datacenter=document.get("datacenter"),
            clusters=tuple(document.get("clusters") or ()),
            datastores=tuple(document.get("datastores") or ()),
            name=str(document.get("name", "default")),
            availability_zone=document.get("availability_zone"),
        )

    def dumps(self, *, include_password: bool = False) -> str:
        return json.dumps(self.to_json(include_password=include_password), indent=2)


def normalize_thumbprint(thumbprint: str) -> str:
    """Lower-case hex without separators; refuses anything but a SHA-1 (40 hex digits)."""
    digits = thumbprint.replace(":", "").replace(" ", "").lower()
    if len(digits) != 40 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(
            f"vCenter thumbprint must be a SHA-1 fingerprint like 'AA:BB:…' "
            f"(40 hex digits), got {thumbprint!r}"
        )
    return digits


def format_thumbprint(digest: bytes) -> str:
    """`AA:BB:…` as vCenter and `openssl x509 -fingerprint -sha1` print it."""
    return ":".join(f"{b:02X}" for b in digest)
