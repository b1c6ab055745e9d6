"""Ports: addresses from IPAM, MACs, address pairs, bindings and security groups."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.network.db import listing
from vistack.network.db.repository import Collision, Unit
from vistack.network.db.tables import (
    IpAllocationRow,
    NetworkRow,
    PortRow,
    SubnetRow,
)
from vistack.network.domain import dhcp_options, instance_ports, ipam, query, rbac
from vistack.network.domain.attributes import boolean, check_attributes, text
from vistack.network.domain.base import (
    BINDING_NAMES,
    MAX_ATTEMPTS,
    PORT_CREATE,
    PORT_UPDATE,
    VNIC_TYPES,
)
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronUnavailable,
    invalid,
    not_found,
)
from vistack.network.domain.l3_checks import before_port_delete
from vistack.network.domain.revisions import check_revision
from vistack.network.domain.subnets import SubnetOps


def _fixed_ips(addresses: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """A port's addresses as it renders them: IPv4 first, then by address."""
    fixed = [{"subnet_id": subnet_id, "ip_address": ip} for subnet_id, ip in addresses]
    if len(fixed) > 1:
        fixed.sort(
            key=lambda f: (
                ipaddress.ip_address(f["ip_address"]).version,
                ipaddress.ip_address(f["ip_address"]),
            )
        )
    return fixed


class PortOps(SubnetOps):
    """Port operations of `NetworkService`."""

    @staticmethod
    def _port_target(row: PortRow, network: NetworkRow) -> dict[str, Any]:
        return {
            "target.project_id": row.project_id,
            "target.network.project_id": network.project_id,
        }

    def _visible_port(
        self, unit: Unit, context: RequestContext, port_id: str
    ) -> tuple[PortRow, NetworkRow]:
        row = unit.port(port_id)
        network = unit.network(row.network_id) if row is not None else None
        if (
            row is None
            or network is None
            or not self._policy.check("get_port", context, self._port_target(row, network))
        ):
            raise not_found("port", port_id)
        return row, network

    def _port_view(
        self,
        row: PortRow,
        allocations: Sequence[IpAllocationRow],
        network: NetworkRow,
        context: RequestContext,
        groups: Sequence[str] = (),
        dhcp_opts: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        fixed_ips = sorted(
            ({"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in allocations),
            key=lambda f: (
                ipaddress.ip_address(f["ip_address"]).version,
                ipaddress.ip_address(f["ip_address"]),
            ),
        )
        bound = bool(row.binding_host_id)
        view: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "project_id": row.project_id,
            "tenant_id": row.project_id,
            "network_id": row.network_id,
            "mac_address": row.mac_address,
            "admin_state_up": row.admin_state_up,
            "status": row.status,
            "device_owner": row.device_owner,
            "device_id": row.device_id,
            "fixed_ips": fixed_ips,
            "allowed_address_pairs": list(row.allowed_address_pairs),
            "port_security_enabled": row.port_security_enabled,
            "security_groups": sorted(groups),
            "binding:host_id": row.binding_host_id,
            "binding:vnic_type": row.binding_vnic_type,
            "binding:profile": dict(row.binding_profile or {}),
            "binding:vif_type": "dvs" if bound else "unbound",
            "binding:vif_details": (
                {"dvs_port_group_key": network.portgroup_key, "dvs_name": self._dvs}
                if bound
                else {}
            ),
            "tags": list(row.tags or []),
            "created_at": query.stamp(row.created_at),
            "updated_at": query.stamp(row.updated_at),
            "revision_number": row.revision_number,
        }
        if self._options.l3:  # extra_dhcp_opt: the edge backend's dnsmasq serves them
            view[dhcp_options.ATTRIBUTE] = list(dhcp_opts)
        for name in self._hidden("port", BINDING_NAMES, context, self._port_target(row, network)):
            del view[name]
        return view

    def list_ports(
        self, context: RequestContext, asked: query.ListRequest | None = None
    ) -> list[dict[str, Any]]:
        """The ports `context` may see (`get_port`, decided once per distinct (project,
        network's project)), listed in SQL as `asked` says (see `query.run`)."""
        with self._store.transaction() as unit:
            session = unit.session
            keys = (listing.port.c.project_id, listing.network.c.project_id)
            passing: list[tuple[Any, ...]] = []
            visible = listing.visibility(
                session,
                listing.PORTS,
                keys,
                lambda key: self._policy.check(
                    "get_port",
                    context,
                    {"target.project_id": key[0], "target.network.project_id": key[1]},
                ),
                passing=passing,
            )

            def render(rows: list[Any], fields: set[str] | None) -> list[dict[str, Any]]:
                return self._port_listing(session, rows, context, fields)

            collection = self._port_collection(context, passing)
            return query.run(session, collection, listing.PORT_COLUMNS, asked, visible, render)

    def _port_collection(
        self, context: RequestContext, passing: list[tuple[Any, ...]]
    ) -> listing.Collection:
        """`listing.PORTS` as this caller sees the binding attributes: on every visible port
        (an admin: `binding:host_id` filters and sorts in SQL), on none (a member: filters on
        them are ignored), or on some only (the Python path decides, as before)."""
        hidden = {
            frozenset(
                self._hidden(
                    "port",
                    BINDING_NAMES,
                    context,
                    {"target.project_id": key[0], "target.network.project_id": key[1]},
                )
            )
            for key in passing
        }
        if len(hidden) != 1:
            return listing.PORTS
        (absent,) = hidden
        shown = {k: v for k, v in listing.PORT_BINDING_ATTRS.items() if k not in absent}
        return listing.shaped(listing.PORTS, shown, absent)

    def _port_listing(
        self,
        session: listing.DbSession,
        rows: list[Any],
        context: RequestContext,
        fields: set[str] | None,
    ) -> list[dict[str, Any]]:
        """`_port_view` for rows of `listing.PORT_COLUMNS`: one query for the addresses and one for
        the groups of these ports (skipped when `fields` leaves them out), and the binding
        attributes' policy decided once per (project, network's project)."""
        ids = [row[0] for row in rows]
        addresses = (
            listing.port_addresses(session, ids) if fields is None or "fixed_ips" in fields else {}
        )
        groups = (
            listing.port_groups(session, ids)
            if fields is None or "security_groups" in fields
            else {}
        )
        opts = (
            dhcp_options.shown(listing.port_dhcp_options(session, ids))
            if self._options.l3 and (fields is None or dhcp_options.ATTRIBUTE in fields)
            else None
        )
        hidden: dict[tuple[str, str], set[str]] = {}
        decode = listing.decode
        views: list[dict[str, Any]] = []
        for (
            port_id,
            name,
            description,
            project_id,
            network_id,
            mac_address,
            admin_state_up,
            status,
            device_owner,
            device_id,
            pairs,
            port_security,
            host_id,
            vnic_type,
            profile,
            tags,
            created_at,
            updated_at,
            revision,
            network_project,
            portgroup_key,
        ) in rows:
            key = (project_id, network_project)
            hide = hidden.get(key)
            if hide is None:
                target = {"target.project_id": key[0], "target.network.project_id": key[1]}
                hide = hidden[key] = self._hidden("port", BINDING_NAMES, context, target)
            view: dict[str, Any] = {
                "id": port_id,
                "name": name,
                "description": description,
                "project_id": project_id,
                "tenant_id": project_id,
                "network_id": network_id,
                "mac_address": mac_address,
                "admin_state_up": admin_state_up,
                "status": status,
                "device_owner": device_owner,
                "device_id": device_id,
                "fixed_ips": _fixed_ips(addresses.get(port_id, ())),
                "allowed_address_pairs": decode(pairs) or [],
                "port_security_enabled": port_security,
                "security_groups": groups.get(port_id, []),
                "binding:host_id": host_id,
                "binding:vnic_type": vnic_type,
                "binding:profile": decode(profile) or {},
                "binding:vif_type": "dvs" if host_id else "unbound",
                "binding:vif_details": (
                    {"dvs_port_group_key": portgroup_key, "dvs_name": self._dvs} if host_id else {}
                ),
                "tags": decode(tags) or [],
                "created_at": query.stamp(created_at),
                "updated_at": query.stamp(updated_at),
                "revision_number": revision,
            }
            if opts is not None:
                view[dhcp_options.ATTRIBUTE] = opts.get(port_id, [])
            for hidden_name in hide:
                del view[hidden_name]
            views.append(view)
        return views

    def instance_ports(self, port_ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """A server's ports as its guest sees them and their floating addresses, in one read
        (`instance_ports.py`: Nova's config drive and metadata service, no policy)."""
        with self._store.transaction() as unit:
            ports = instance_ports.instance_ports(unit, port_ids)
            floating = instance_ports.floating_addresses(unit, port_ids) if self._options.l3 else []
            return ports, floating

    def get_port(self, context: RequestContext, port_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            row, network = self._visible_port(unit, context, port_id)
            allocations = unit.allocations([row.id]).get(row.id, [])
            groups = unit.port_security_groups([row.id]).get(row.id, [])
            opts = dhcp_options.shown(listing.port_dhcp_options(unit.session, [row.id])).get(
                row.id, []
            )
            return self._port_view(row, allocations, network, context, groups, opts)

    def _address_pairs(self, value: Any, mac: str) -> list[dict[str, str]]:
        if not isinstance(value, list):
            raise invalid("allowed_address_pairs must be a list.")
        pairs: list[dict[str, str]] = []
        for pair in value:
            if (
                not isinstance(pair, dict)
                or "ip_address" not in pair
                or set(pair)
                - {
                    "ip_address",
                    "mac_address",
                }
            ):
                raise invalid(f"'{pair}' is not a valid address pair.")
            try:
                address = str(ipaddress.ip_network(str(pair["ip_address"]), strict=False))
            except ValueError:
                raise invalid(f"'{pair['ip_address']}' is not a valid IP address.") from None
            if "/" in str(pair["ip_address"]):
                ip = address
            else:
                ip = str(ipaddress.ip_address(str(pair["ip_address"])))
            pairs.append(
                {"ip_address": ip, "mac_address": ipam.check_mac(pair.get("mac_address") or mac)}
            )
        if len({(p["ip_address"], p["mac_address"]) for p in pairs}) != len(pairs):
            raise invalid("Duplicate address pair in the request.")
        return pairs

    def _check_binding(self, attrs: dict[str, Any], row: PortRow) -> None:
        self._apply_binding(attrs, row)
        owner = row.device_owner or ""
        if owner == "" or owner.startswith("compute:"):
            # A server's port is up once Nova has bound it to the cluster whose VM carries
            # its NIC on the port group (there is no agent to report it), down otherwise,
            # and down again once the server lets it go.
            bound = bool(owner and row.binding_host_id and row.device_id and row.admin_state_up)
            row.status = "ACTIVE" if bound else "DOWN"

    def _apply_binding(self, attrs: dict[str, Any], row: PortRow) -> None:
        if "binding:host_id" in attrs:
            row.binding_host_id = text(attrs["binding:host_id"], "binding:host_id")
        if "binding:vnic_type" in attrs:
            vnic = attrs["binding:vnic_type"]
            if vnic not in VNIC_TYPES:
                raise invalid(f"'{vnic}' is not in {sorted(VNIC_TYPES)}")
            row.binding_vnic_type = vnic
        if "binding:profile" in attrs:
            profile = attrs["binding:profile"] or {}
            if not isinstance(profile, dict):
                raise invalid("binding:profile must be a dictionary.")
            row.binding_profile = profile

    def create_port(
        self, context: RequestContext, body: Any, *, bind_to_host: str | None = None
    ) -> dict[str, Any]:
        """`bind_to_host`: Nova's (in-process, trusted) binding of the new port to the cluster
        that will carry its NIC, written with the port instead of by a second, administrative
        `binding:host_id` update: one transaction and one policy pass fewer per server."""
        attrs = check_attributes(body, PORT_CREATE | {dhcp_options.ATTRIBUTE}, "port")
        if dhcp_options.ATTRIBUTE in attrs:
            dhcp_options.check_backend(self._options)
        dhcp_request = dhcp_options.requested(attrs.get(dhcp_options.ATTRIBUTE))
        if attrs.get("network_id") is None:
            raise NeutronBadRequest(
                "Failed to parse request. Required attribute 'network_id' not specified"
            )
        network_id = str(attrs["network_id"])
        project = self._owner(context, attrs)
        # Everything the create only reads, in one transaction before the one that writes.
        with self._store.transaction() as unit:
            network = self._visible_network(unit, context, network_id)
            # Another project's network takes ports only when shared with this one (RBAC);
            # Neutron hides it otherwise (an external network is for router gateways).
            if not rbac.may_attach(self._policy, context, unit, network, project):
                raise not_found("network", network_id)
            limited = self._quota_limit(unit, "port", project) >= 0
            default_group = unit.default_security_group_id(project)
        target = {"target.project_id": project, "target.network.project_id": network.project_id}
        self._policy.authorize("create_port", context, target)
        self._authorize_attributes("create", "port", attrs, context, target)
        requests = self._fixed_ip_requests(attrs.get("fixed_ips"))
        if requests is not None and any("ip_address" in r for r in requests):
            self._policy.authorize("create_port:fixed_ips:ip_address", context, target)
        mac = ipam.check_mac(attrs["mac_address"]) if attrs.get("mac_address") else None
        now = utcnow()
        security = boolean(
            attrs.get("port_security_enabled", network.port_security_enabled),
            "port_security_enabled",
        )
        row_values: dict[str, Any] = {
            "project_id": project,
            "network_id": network_id,
            "name": text(attrs.get("name"), "name"),
            "description": text(attrs.get("description"), "description"),
            "admin_state_up": boolean(attrs.get("admin_state_up", True), "admin_state_up"),
            "status": "DOWN",
            "device_owner": text(attrs.get("device_owner"), "device_owner"),
            "device_id": text(attrs.get("device_id"), "device_id"),
            "port_security_enabled": security,
            "binding_host_id": "",
            "binding_vnic_type": "normal",
            "binding_profile": {},
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 0,
        }
        device_owner: str = row_values["device_owner"]
        asked_groups = attrs.get("security_groups") is not None
        groups = self._port_groups_request(attrs, security, project, device_owner, default_group)
        pairs_request = attrs.get("allowed_address_pairs") or []
        if pairs_request and not security:
            raise NeutronConflict(
                "Port Security must be enabled in order to have allowed address pairs on a port.",
                "AddressPairAndPortSecurityRequired",
            )
        # Without a port quota (-1) no project lock at all: on SQLite it is a write, which
        # would hold the database's write lock through the whole allocation.
        if limited:
            self._store.ensure_project(project)
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                # A collision may be the default group deleted meanwhile: ask for it anew.
                groups = self._port_groups_request(attrs, security, project, device_owner)
            try:
                with self._store.transaction() as unit:
                    if limited:
                        # First, so the quota count (MariaDB: the transaction's snapshot)
                        # comes after the lock and sees every create committed before it.
                        unit.lock_project(project)
                        self._check_quota(unit, "port", project)
                    locked = unit.network_locked(network_id, shared=True)
                    if locked is None or locked.status != "ACTIVE":
                        raise not_found("network", network_id)  # gone, or going
                    network = locked
                    port_mac = mac or ipam.random_mac()
                    if mac is not None and unit.mac_in_use(network_id, mac):
                        raise NeutronConflict(
                            f"Unable to complete operation for network {network_id}. The mac "
                            f"address {mac} is in use.",
                            "MacAddressInUse",
                        )
                    row = PortRow(
                        id=str(uuid.uuid4()),
                        mac_address=port_mac,
                        allowed_address_pairs=self._address_pairs(pairs_request, port_mac),
                        **row_values,
                    )
                    if bind_to_host is not None:
                        row.binding_host_id = bind_to_host
                    self._check_binding(attrs, row)
                    if asked_groups:
                        # The default group needs no check: it is the project's, and the
                        # membership's foreign key refuses it if deleted meanwhile.
                        self.security.check_port_groups(unit, context, project, groups)
                    allocations = self._allocate(unit, network, row, requests, attempt)
                    # The write (on SQLite, the database's one writer) starts here and lasts
                    # only the inserts and the commit.
                    unit.insert_new(row, *unit.new_port_groups(row.id, groups), *allocations)
                    # Sharing re-checked now the port is written: on SQLite the write lock is
                    # held from here, elsewhere a locking read; an unshare that won meanwhile
                    # (its in-use check did not see this port) refuses it (rbac.may_attach).
                    if not rbac.may_attach(
                        self._policy, context, unit, network, project, lock=True
                    ):
                        raise not_found("network", network_id)
                    opts = dhcp_options.create(unit, row.id, dhcp_request)
            except Collision:
                continue
            return self._port_view(row, allocations, network, context, groups, opts)
        raise NeutronUnavailable("Too many concurrent port creates on this network; retry.")

    def _port_groups_request(
        self,
        attrs: dict[str, Any],
        security: bool,
        project: str,
        device_owner: str,
        default_group: str | None = None,
    ) -> list[str]:
        """The groups a new port gets: those asked for, else the project's default group when
        port security is on (not for the network's own ports, `network:*`, as Neutron).
        `default_group`: its id if already read (else it is read, or made, now)."""
        if attrs.get("security_groups") is not None:
            groups = self.security.requested_ids(attrs["security_groups"])
            if groups and not security:
                raise NeutronBadRequest(
                    "Port security must be enabled and port must have an IP address in order "
                    "to use security groups.",
                    "PortSecurityAndIPRequiredForSecurityGroups",
                )
            return groups
        if security and not device_owner.startswith("network:"):
            return [default_group or self.security.ensure_default(project)]
        return []

    def _update_port_groups(
        self,
        unit: Unit,
        context: RequestContext,
        row: PortRow,
        new_groups: list[str] | None,
    ) -> list[str]:
        """Replace the port's groups if asked; a port without port security has none."""
        if new_groups is None:
            groups = unit.port_security_groups([row.id]).get(row.id, [])
            if groups and not row.port_security_enabled:
                raise NeutronConflict(
                    "Port has security group associated. Cannot disable port security or ip "
                    "address until security group is removed",
                    "PortSecurityPortHasSecurityGroup",
                )
            return groups
        if new_groups and not row.port_security_enabled:
            raise NeutronBadRequest(
                "Port security must be enabled and port must have an IP address in order to "
                "use security groups.",
                "PortSecurityAndIPRequiredForSecurityGroups",
            )
        self.security.check_port_groups(unit, context, row.project_id, new_groups)
        unit.set_port_security_groups(row.id, new_groups)
        return new_groups

    @staticmethod
    def _fixed_ip_requests(value: Any) -> list[dict[str, str]] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise invalid("fixed_ips must be a list of {'subnet_id', 'ip_address'}.")
        requests: list[dict[str, str]] = []
        for item in value:
            if not isinstance(item, dict) or not item or set(item) - {"subnet_id", "ip_address"}:
                raise invalid(f"'{item}' is not a valid fixed IP request.")
            requests.append({k: str(v) for k, v in item.items()})
        return requests

    def _allocate(
        self,
        unit: Unit,
        network: NetworkRow,
        port: PortRow,
        requests: list[dict[str, str]] | None,
        attempt: int,
    ) -> list[IpAllocationRow]:
        """Addresses for `port`: those requested (checked), else one per IP version."""
        subnets = list(unit.subnets(network.id))
        chosen: list[tuple[SubnetRow, str]] = []

        def pick(subnet: SubnetRow) -> str | None:
            if not subnet.allocation_pools:
                return None
            subnet_id = subnet.id  # the row expires if the transaction rolls back
            while True:
                picked = ipam.find_free(
                    subnet.allocation_pools,
                    subnet.ip_version,
                    self._next_address.get(subnet_id, 0),
                    {ip for s, ip in chosen if s.id == subnet_id} | self._claims.held(subnet_id),
                    lambda addresses: unit.taken_among(subnet_id, addresses),
                    attempt,
                )
                if picked is None:
                    return None
                if self._claims.claim(subnet_id, picked):
                    break  # else another thread took it since: look again
            address: str = picked
            unit.when_done(lambda: self._claims.release(subnet_id, address))
            self._next_address[subnet_id] = ipam.address_int(address) + 1
            return address

        if requests is None:
            for version in (4, 6):
                candidates = [s for s in subnets if s.ip_version == version]
                if not candidates:
                    continue
                for subnet in candidates:
                    address = pick(subnet)
                    if address is not None:
                        chosen.append((subnet, address))
                        break
                else:
                    raise self._exhausted(network.id)
        else:
            by_id = {s.id: s for s in subnets}
            for request in requests:
                subnet = None
                if "subnet_id" in request:
                    subnet = by_id.get(request["subnet_id"])
                    if subnet is None:
                        raise invalid(
                            f"Failed to create port on network {network.id}, because "
                            f"fixed_ips included invalid subnet {request['subnet_id']}."
                        )
                if "ip_address" in request:
                    wanted = ipam.parse_ip(request["ip_address"])
                    if subnet is None:
                        subnet = next(
                            (s for s in subnets if wanted in ipaddress.ip_network(s.cidr)), None
                        )
                        if subnet is None:
                            raise NeutronBadRequest(
                                f"IP wanted {wanted} is not a valid IP for any of the "
                                "subnets on the specified network.",
                                "InvalidIpForNetwork",
                            )
                    self._check_explicit(unit, subnet, wanted, port, chosen)
                    chosen.append((subnet, str(wanted)))
                else:
                    assert subnet is not None
                    picked = pick(subnet)
                    if picked is None:
                        raise self._exhausted(network.id)
                    chosen.append((subnet, picked))
        return [
            IpAllocationRow(
                subnet_id=subnet.id, ip_address=ip, port_id=port.id, network_id=network.id
            )
            for subnet, ip in chosen
        ]

    @staticmethod
    def _check_explicit(
        unit: Unit,
        subnet: SubnetRow,
        address: ipam.IPAddress,
        port: PortRow,
        chosen: list[tuple[SubnetRow, str]],
    ) -> None:
        cidr = ipaddress.ip_network(subnet.cidr)
        first, last = ipam.usable_bounds(cidr)
        if address.version != cidr.version or not first <= int(address) <= last:
            raise NeutronBadRequest(
                f"IP address {address} is not a valid IP for the specified subnet.",
                "InvalidIpForSubnet",
            )
        if str(address) == subnet.gateway_ip and not port.device_owner.startswith("network:router"):
            raise NeutronConflict(
                f"IP address {address} already allocated in subnet {subnet.id}",
                "IpAddressAlreadyAllocated",
            )
        if unit.allocation(subnet.id, str(address)) is not None or (subnet.id, str(address)) in {
            (s.id, ip) for s, ip in chosen
        }:
            raise NeutronConflict(
                f"IP address {address} already allocated in subnet {subnet.id}",
                "IpAddressAlreadyAllocated",
            )

    @staticmethod
    def _exhausted(network_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"No more IP addresses available on network {network_id}.",
            "IpAddressGenerationFailure",
        )

    def update_port(
        self,
        context: RequestContext,
        port_id: str,
        body: Any,
        *,
        bind_to_host: str | None = None,
    ) -> dict[str, Any]:
        """`bind_to_host`: as for `create_port`, Nova's binding in the same update."""
        raw = body.get("port") if isinstance(body, dict) else None
        if isinstance(raw, dict) and "network_id" in raw:
            raise invalid("Cannot update read-only attribute network_id.")
        attrs = check_attributes(body, PORT_UPDATE | {dhcp_options.ATTRIBUTE}, "port")
        if dhcp_options.ATTRIBUTE in attrs:
            dhcp_options.check_backend(self._options)
        dhcp_request = dhcp_options.requested(attrs.get(dhcp_options.ATTRIBUTE))
        new_groups = (
            self.security.requested_ids(attrs["security_groups"] or [])
            if "security_groups" in attrs
            else None
        )
        requests = self._fixed_ip_requests(attrs.get("fixed_ips"))
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._store.transaction() as unit:
                    # Updates of one port one after the other (MariaDB, PostgreSQL): two that
                    # each insert an option row (its foreign key share-locks the port) and then
                    # bump the port's revision would deadlock.
                    unit.lock_port(port_id)
                    row, network = self._visible_port(unit, context, port_id)
                    target = self._port_target(row, network)
                    self._policy.authorize("update_port", context, target)
                    self._authorize_attributes("update", "port", attrs, context, target)
                    check_revision(unit, row)
                    current = unit.allocations([row.id]).get(row.id, [])
                    for name in ("name", "description", "device_owner", "device_id"):
                        if name in attrs:
                            setattr(row, name, text(attrs[name], name))
                    if "admin_state_up" in attrs:
                        row.admin_state_up = boolean(attrs["admin_state_up"], "admin_state_up")
                    if "port_security_enabled" in attrs:
                        row.port_security_enabled = boolean(
                            attrs["port_security_enabled"], "port_security_enabled"
                        )
                    if attrs.get("mac_address") and attrs["mac_address"] != row.mac_address:
                        mac = ipam.check_mac(attrs["mac_address"])
                        if row.binding_host_id:
                            raise NeutronConflict(
                                f"Port {row.id} is bound: its MAC address cannot change.",
                                "PortBound",
                            )
                        if unit.mac_in_use(row.network_id, mac):
                            raise NeutronConflict(
                                f"Unable to complete operation for network {row.network_id}. "
                                f"The mac address {mac} is in use.",
                                "MacAddressInUse",
                            )
                        row.mac_address = mac
                    if "allowed_address_pairs" in attrs:
                        row.allowed_address_pairs = self._address_pairs(
                            attrs["allowed_address_pairs"] or [], row.mac_address
                        )
                    if row.allowed_address_pairs and not row.port_security_enabled:
                        raise NeutronConflict(
                            "Port Security must be enabled in order to have allowed address "
                            "pairs on a port.",
                            "AddressPairAndPortSecurityRequired",
                        )
                    if bind_to_host is not None:
                        row.binding_host_id = bind_to_host
                    self._check_binding(attrs, row)
                    groups = self._update_port_groups(unit, context, row, new_groups)
                    allocations: Sequence[IpAllocationRow] = current
                    if requests is not None:
                        if any("ip_address" in r for r in requests):
                            self._policy.authorize(
                                "update_port:fixed_ips:ip_address", context, target
                            )
                        requests = self._keep_current(requests, current)
                        unit.delete_port_allocations(row.id)
                        allocations = self._allocate(unit, network, row, requests, attempt)
                        unit.add(*allocations)
                    opts = (
                        dhcp_options.update(unit, row.id, dhcp_request)
                        if dhcp_options.ATTRIBUTE in attrs
                        else dhcp_options.shown(
                            listing.port_dhcp_options(unit.session, [row.id])
                        ).get(row.id, [])
                    )
                    self._touch(row)
                    unit.flush()
                    return self._port_view(row, allocations, network, context, groups, opts)
            except Collision:
                continue
        raise NeutronUnavailable("Too many concurrent port updates on this network; retry.")

    @staticmethod
    def _keep_current(
        requests: list[dict[str, str]], current: Sequence[IpAllocationRow]
    ) -> list[dict[str, str]]:
        """A subnet-only request keeps the address the port already has there (as Neutron)."""
        spare = [a for a in current]
        explicit = {r.get("ip_address") for r in requests}
        out: list[dict[str, str]] = []
        for request in requests:
            if "ip_address" not in request:
                held = next(
                    (
                        a
                        for a in spare
                        if a.subnet_id == request["subnet_id"] and a.ip_address not in explicit
                    ),
                    None,
                )
                if held is not None:
                    spare.remove(held)
                    out.append({"subnet_id": held.subnet_id, "ip_address": held.ip_address})
                    continue
            out.append(request)
        return out

    def delete_port(self, context: RequestContext, port_id: str) -> None:
        with self._store.transaction() as unit:
            row, network = self._visible_port(unit, context, port_id)
            self._policy.authorize("delete_port", context, self._port_target(row, network))
            check_revision(unit, row)
            before_port_delete(unit, row)
            unit.delete(row)
