"""Reads what an instance's metadata is rendered from (`instance_metadata.InstanceFacts`): the
server's row, its key pair, and from Neutron its ports, their subnets, the subnets' DHCP
servers and the floating IPs on its ports.

Read fresh on every call, as the metadata service must not answer stale data (a server's
metadata changed through the API shows on the guest's next request). The ports come from
Neutron's one internal read (`NetworkService.instance_ports`), with no policy: the instance may
be on a shared network whose subnets and DHCP port its own project cannot see, and four API
reads per port cost more than the rest of the config drive together.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from vistack.compute.db import keypairs as key_queries
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.db.tables import ServerRow
from vistack.compute.domain.instance_metadata import (
    InstanceFacts,
    KeyFacts,
    PortFacts,
    SubnetFacts,
)
from vistack.compute.domain.personality import from_metadata
from vistack.config import ConfigError
from vistack.network.domain.service import NetworkService

#: Server `system_metadata` keys this feature keeps.
LAUNCH_INDEX = "launch_index"
RESERVATION_ID = "reservation_id"
PASSWORD = "password"


def _user_data(raw: str | None) -> bytes | None:
    if raw is None:
        return None
    try:
        return base64.b64decode(raw)
    except (binascii.Error, ValueError):
        return raw.encode()  # checked at create; a row written otherwise is served as it is


class InstanceFactsSource:
    """`facts(server_id)`: the instance's `InstanceFacts`, or None when no live server has
    that id. `zone_of` names a cluster's availability zone (the server's, once placed);
    `dhcp_domain` is appended to hostnames, as Nova's `[api] dhcp_domain` (empty: none);
    `vendor_data` is the static vendor data every instance gets."""

    def __init__(
        self,
        store: ComputeStore,
        networks: NetworkService,
        zone_of: Callable[[str], str],
        default_zone: str = "nova",
        dhcp_domain: str = "novalocal",
        vendor_data: dict[str, Any] | None = None,
    ) -> None:
        self._store = store
        self._networks = networks
        self._zone_of = zone_of
        self._default_zone = default_zone
        self._domain = dhcp_domain
        self._vendor_data = dict(vendor_data or {})

    def facts(self, server_id: str) -> InstanceFacts | None:
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                return None
            key = None
            if row.key_name:
                pair = key_queries.get(unit, row.user_id, row.key_name)
                key = KeyFacts(
                    row.key_name,
                    pair.type if pair is not None else "ssh",
                    row.key_data or (pair.public_key if pair is not None else ""),
                )
            facts = self._from_row(row, key)
            port_ids = list(row.port_ids or [])
        ports, floating = self._ports(port_ids)
        return replace(facts, ports=ports, floating_ips=floating)

    def set_password(self, server_id: str, password: str) -> bool:
        """Keep what the guest POSTed to `/openstack/latest/password` (once: Nova refuses a
        second one until the API's `clear password` removes it). False when one is set.
        A server gone meanwhile answers False too.
        """
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None:
                return False
            system = dict(row.system_metadata or {})
            if system.get(PASSWORD):
                return False
            system[PASSWORD] = password
            queries.set_fields(unit, server_id, system_metadata=system)
            return True

    def _from_row(self, row: ServerRow, key: KeyFacts | None) -> InstanceFacts:
        system = dict(row.system_metadata or {})
        zone = self._zone_of(row.cluster) if row.cluster else None
        return InstanceFacts(
            uuid=row.id,
            name=row.name,
            # Nova's `_get_hostname`: the instance's hostname in `[api] dhcp_domain`.
            hostname=f"{row.hostname}.{self._domain}" if self._domain else row.hostname,
            project_id=row.project_id,
            availability_zone=zone or row.availability_zone or self._default_zone,
            image_id=row.image_id,
            flavor_name=str((row.flavor or {}).get("name", "")),
            launch_index=int(system.get(LAUNCH_INDEX, 0) or 0),
            reservation_id=str(system.get(RESERVATION_ID) or f"r-{row.id[:8]}"),
            key=key,
            metadata=dict(row.metadata_items or {}),
            user_data=_user_data(row.user_data),
            security_groups=tuple(row.security_groups or ()),
            password=str(system.get(PASSWORD) or ""),
            vendor_data=self._vendor_data,
            files=from_metadata(system),
        )

    def _ports(self, port_ids: list[str]) -> tuple[tuple[PortFacts, ...], tuple[str, ...]]:
        """The NICs' facts and floating addresses, from Neutron's one read of the server's
        ports (`NetworkService.instance_ports`)."""
        if not port_ids:
            return (), ()
        ports, floating = self._networks.instance_ports(port_ids)
        return tuple(_port_facts(port) for port in ports), tuple(floating)


def _port_facts(port: dict[str, Any]) -> PortFacts:
    mtu = port.get("mtu")
    return PortFacts(
        id=str(port["id"]),
        mac=str(port["mac_address"]),
        network_id=str(port["network_id"]),
        fixed_ips=tuple(
            (str(fixed["ip_address"]), _subnet_facts(fixed["subnet"]))
            for fixed in port["fixed_ips"]
        ),
        mtu=int(mtu) if isinstance(mtu, int) else None,
        vif_type=str(port.get("binding:vif_type") or ""),
    )


def _subnet_facts(subnet: dict[str, Any]) -> SubnetFacts:
    return SubnetFacts(
        id=str(subnet["id"]),
        cidr=str(subnet["cidr"]),
        ip_version=int(subnet.get("ip_version", 4)),
        gateway_ip=subnet.get("gateway_ip") or None,
        dns_nameservers=tuple(str(d) for d in subnet.get("dns_nameservers") or ()),
        host_routes=tuple(
            (str(r["destination"]), str(r["nexthop"])) for r in subnet.get("host_routes") or ()
        ),
        dhcp_server=subnet.get("dhcp_server"),
    )


def load_vendor_data(path: str) -> dict[str, Any]:
    """The static vendor data from `[compute] vendordata_jsonfile_path` (empty: none).

    :raises ConfigError: the file cannot be read or is not a JSON object (said at start-up,
        not to every instance later).
    """
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"[compute] vendordata_jsonfile_path {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"[compute] vendordata_jsonfile_path {path}: not a JSON object")
    return data
