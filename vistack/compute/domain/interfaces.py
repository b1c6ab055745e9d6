"""A server's network interfaces (`/servers/{id}/os-interface`): attach and detach ports.

An attach makes (from `net_id`) or claims (`port_id`) a Neutron port exactly as a build does
(`device_id` the server, `device_owner` `compute:<zone>`), records it on the server the moment
it exists, hot-adds a NIC with the port's MAC on the network's port group (`ReconfigVM_Task`),
and adds the port's addresses to the server's. A detach removes the NIC, then deletes the port
when Nova made it, else gives it back unbound. Both are synchronous, as Nova's are (its attach
answers 200 with the attachment once the compute host plugged it).

Each holds the server's job lock (`ServerWork.locks`), so a delete arriving meanwhile waits
and then undoes what it finds recorded; a failed attach undoes its own port before it answers,
so nothing is left half-plugged. Each is an instance action (`attach_interface`,
`detach_interface`) with its `compute_*` event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, VistackError
from vistack.common.policy import PolicyEngine
from vistack.compute.db import servers as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.access import authorized_server, visible_row
from vistack.compute.domain.build import ServerWork
from vistack.compute.domain.interface_request import (
    AttachRequest,
    address_entries,
    without_mac,
)
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import NO_BACKEND, server_not_found, state_conflict
from vistack.compute.domain.work import service_context
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import DriverError, NotFoundError
from vistack.drivers.models import NicSpec
from vistack.network.domain.query import ListRequest
from vistack.network.domain.service import NetworkService

LOG = logging.getLogger(__name__)

#: The vm_states Nova attaches and detaches interfaces in (with no task in progress).
INTERFACE_STATES = (states.ACTIVE, states.PAUSED, states.STOPPED)
#: Where a server's interface tags (2.49) are kept in its `system_metadata`, by port id.
TAGS_KEY = "interface_tags"


class InterfaceAttachFailed(VistackError):
    """Nova's InterfaceAttachFailed (500): vSphere refused the NIC; the port was undone."""


class InterfaceDetachFailed(VistackError):
    """vSphere refused to remove the NIC; the port stays attached and recorded."""


class InterfaceService:
    """List, show, attach and detach a server's ports, with the caller's context."""

    def __init__(
        self,
        store: ComputeStore,
        policy: PolicyEngine,
        networks: NetworkService,
        drivers: Drivers | None,
        work: ServerWork | None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._networks = networks
        self._drivers = drivers
        self._work = work

    # ------------------------------------------------------------------ read

    def _visible(self, context: RequestContext, server_id: str, rule: str) -> Server:
        rule = f"os_compute_api:os-attach-interfaces:{rule}"
        return authorized_server(self._store, self._policy, context, server_id, rule)

    def list_interfaces(self, context: RequestContext, server_id: str) -> list[dict[str, Any]]:
        """The Neutron ports whose device is the server (Nova asks Neutron the same)."""
        self._visible(context, server_id, "list")
        asked = ListRequest(params=(("device_id", server_id),))
        return list(self._networks.list_ports(context, asked))

    def get_interface(
        self, context: RequestContext, server_id: str, port_id: str
    ) -> dict[str, Any]:
        self._visible(context, server_id, "show")
        port = self._port(context, port_id)
        if port.get("device_id") != server_id:
            raise NotFound(f"Instance {server_id} does not have a port with id {port_id}")
        return port

    def tags(self, server_id: str) -> dict[str, str | None]:
        """The tags interfaces were attached with (2.49), by port id."""
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id, deleted=True)
            meta = dict(row.system_metadata or {}) if row is not None else {}
        return dict(meta.get(TAGS_KEY) or {})

    def _port(self, context: RequestContext, port_id: str) -> dict[str, Any]:
        try:
            return self._networks.get_port(context, port_id)
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Port id {port_id} could not be found.") from None
            raise

    # ------------------------------------------------------------------ checks

    def _begin(
        self, context: RequestContext, server_id: str, rule: str, action: str
    ) -> tuple[Server, ServerWork, Drivers]:
        """Check the caller, the lock and the state, and start the instance action."""
        with self._store.transaction() as unit:
            row = visible_row(unit, self._policy, context, server_id, lock=True)
            target = {"project_id": row.project_id}
            self._policy.authorize(f"os_compute_api:os-attach-interfaces:{rule}", context, target)
            if row.locked and "admin" not in context.roles:
                raise Conflict(f"Instance {server_id} is locked")
            if row.vm_state not in INTERFACE_STATES or row.task_state is not None:
                raise state_conflict(row, action)
            if self._work is None or self._drivers is None:
                raise Conflict(NO_BACKEND)
            return queries.to_server(row), self._work, self._drivers

    def _still_there(self, server_id: str, action: str) -> Server:
        """The server re-read under its job lock: a delete may have come meanwhile."""
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            if row is None:
                raise server_not_found(server_id)
            if row.vm_state not in INTERFACE_STATES or row.task_state is not None:
                raise state_conflict(row, action)
            return queries.to_server(row)

    def _start_action(self, context: RequestContext, server_id: str, action: str) -> None:
        with self._store.transaction() as unit:
            queries.start_action(
                unit,
                server_id,
                action,
                request_id=context.request_id,
                user_id=context.user_id,
                project_id=context.project_id,
            )

    def _finish_action(self, server_id: str, request_id: str, result: str) -> None:
        with self._store.transaction() as unit:
            queries.finish_action(unit, server_id, request_id, result)

    def _run(
        self,
        context: RequestContext,
        server: Server,
        work: ServerWork,
        action: str,
        step: Callable[[], dict[str, Any] | None],
    ) -> dict[str, Any] | None:
        """Run `step` as the action `action` with its `compute_<action>` event."""
        self._start_action(context, server.id, action)
        try:
            with work.events.record(
                server.id, context.request_id, f"compute_{action}", host=server.cluster
            ):
                answer = step()
        except BaseException:
            self._finish_action(server.id, context.request_id, "Error")
            raise
        self._finish_action(server.id, context.request_id, "Success")
        return answer

    # ------------------------------------------------------------------ attach

    def attach(
        self, context: RequestContext, server_id: str, asked: AttachRequest
    ) -> dict[str, Any]:
        """Plug a port into the server; returns the port as Neutron shows it now.

        :raises NotFound: no such server, port or network.
        :raises Conflict: locked, in a state Nova refuses, or the port is in use.
        :raises BadRequest: no network given and not exactly one to choose.
        :raises InterfaceAttachFailed: vSphere refused the NIC (the port was undone).
        """
        server, work, drivers = self._begin(context, server_id, "create", "attach_interface")
        if asked.port_id is not None:
            port = self._port(context, asked.port_id)
            if port.get("device_id"):
                raise Conflict(f"Port {asked.port_id} is still in use.")
        else:
            network_id = asked.network_id or self._only_network(context)
            self._check_network(context, network_id)
        with work.locks.of(server_id):
            server = self._still_there(server_id, "attach_interface")
            plugged = self._run(
                context,
                server,
                work,
                "attach_interface",
                lambda: self._attach(context, server, drivers, asked),
            )
        assert plugged is not None
        return plugged

    def _attach(
        self, context: RequestContext, server: Server, drivers: Drivers, asked: AttachRequest
    ) -> dict[str, Any]:
        owner = f"compute:{server.availability_zone or 'nova'}"
        if asked.port_id is not None:
            port = self._claim(context, server, asked.port_id, owner)
            owned = False
        else:
            port = self._create_port(context, server, asked, owner)
            owned = True
        try:
            self._record_port(server.id, port["id"], owned=owned, tag=asked.tag)
            name, portgroup = self._networks.portgroup_of(context, port["network_id"])
            drivers.compute.attach_nic(server.id, NicSpec(portgroup, port["mac_address"]))
            # Bound to the server's cluster, the port is ACTIVE (as the build binds its ports).
            binding = {"port": {"binding:host_id": server.cluster or ""}}
            self._networks.update_port(service_context(server.project_id), port["id"], binding)
        except BaseException as exc:
            problems = self._release(context, server.id, port["id"], owned=owned)
            if problems:
                LOG.error("attach to %s left behind: %s", server.id, "; ".join(problems))
            if isinstance(exc, DriverError):
                raise InterfaceAttachFailed(
                    f"Failed to attach network adapter device to {server.id}: {exc.message}"
                ) from exc
            raise
        self._add_addresses(server.id, name, port)
        return self._port(context, port["id"])

    def _claim(
        self, context: RequestContext, server: Server, port_id: str, owner: str
    ) -> dict[str, Any]:
        """Bind a given port to the server, refusing one that became used meanwhile."""
        port = self._port(context, port_id)
        if port.get("device_id"):
            raise Conflict(f"Port {port_id} is still in use.")
        body = {"port": {"device_id": server.id, "device_owner": owner}}
        return self._networks.update_port(context, port_id, body)

    def _create_port(
        self, context: RequestContext, server: Server, asked: AttachRequest, owner: str
    ) -> dict[str, Any]:
        network_id = asked.network_id or self._only_network(context)
        body: dict[str, Any] = {
            "network_id": network_id,
            "device_id": server.id,
            "device_owner": owner,
        }
        if asked.fixed_ip:
            body["fixed_ips"] = [{"ip_address": asked.fixed_ip}]
        groups = self._group_ids(context, server.security_groups)
        if groups:
            body["security_groups"] = groups
        try:
            return self._networks.create_port(context, {"port": body})
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Network {network_id} could not be found.") from None
            raise

    def _only_network(self, context: RequestContext) -> str:
        """The one network the project may plug into (Nova refuses to guess between two)."""
        usable = [
            n
            for n in self._networks.list_networks(context)
            if not n.get("router:external")
            and (n.get("shared") or n.get("project_id") == context.project_id)
        ]
        if len(usable) > 1:
            raise BadRequest(
                "Multiple possible networks found, use a Network ID to be more specific."
            )
        if not usable:
            raise BadRequest(
                "No specific network was requested and none are available for project "
                f"'{context.project_id}'."
            )
        return str(usable[0]["id"])

    def _check_network(self, context: RequestContext, network_id: str) -> None:
        try:
            self._networks.get_network(context, network_id)
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound(f"Network {network_id} could not be found.") from None
            raise

    def _group_ids(self, context: RequestContext, names: list[str]) -> list[str]:
        """The server's security groups (names or ids) as ids for a new port; the project's
        default group is Neutron's own default, so it needs no naming."""
        if not names or names == ["default"]:
            return []
        groups = self._networks.security.list_groups(context, ListRequest())
        out: list[str] = []
        for name in names:
            match = [g["id"] for g in groups if name in (g["id"], g["name"])]
            if not match:
                raise BadRequest(f"Unable to find security_group with name or id '{name}'")
            out.append(match[0])
        return out

    def _record_port(self, server_id: str, port_id: str, *, owned: bool, tag: str | None) -> None:
        """Put the port on the server's record (its NIC order is the list's order), unless a
        delete took over: then it is undone by the caller."""
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None or row.task_state == states.DELETING:
                raise Conflict(
                    f"Cannot 'attach_interface' instance {server_id} while it is in task_state "
                    "deleting"
                )
            values: dict[str, Any] = {"port_ids": [*(row.port_ids or []), port_id]}
            if owned:
                values["owned_port_ids"] = [*(row.owned_port_ids or []), port_id]
            if tag is not None:
                meta = dict(row.system_metadata or {})
                meta[TAGS_KEY] = {**(meta.get(TAGS_KEY) or {}), port_id: tag}
                values["system_metadata"] = meta
            queries.set_fields(unit, server_id, **values)

    def _add_addresses(self, server_id: str, network: str, port: Mapping[str, Any]) -> None:
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None:
                return
            addresses = {k: list(v) for k, v in (row.addresses or {}).items()}
            addresses.setdefault(network, []).extend(address_entries(port))
            queries.set_fields(unit, server_id, addresses=addresses)

    def _release(
        self, context: RequestContext, server_id: str, port_id: str, *, owned: bool
    ) -> list[str]:
        """Take the port off the server's record and give it back to Neutron (deleted when
        Nova made it, else unbound); returns what could not be done."""
        problems: list[str] = []
        try:
            if owned:
                self._networks.delete_port(context, port_id)
            else:
                body = {"port": {"device_id": "", "device_owner": "", "binding:host_id": ""}}
                project_id = context.project_id or ""
                with self._store.transaction() as unit:
                    row = queries.get(unit, server_id)
                    if row is not None:
                        project_id = row.project_id
                self._networks.update_port(service_context(project_id), port_id, body)
        except VistackError as exc:
            if exc.status != 404:
                problems.append(f"port {port_id}: {exc.message}")
        if problems:
            return problems  # kept on the record: the server's delete cleans it up
        with self._store.transaction() as unit:
            row = queries.locked(unit, server_id)
            if row is None:
                return problems
            meta = dict(row.system_metadata or {})
            tags = dict(meta.get(TAGS_KEY) or {})
            values: dict[str, Any] = {
                "port_ids": [p for p in row.port_ids or [] if p != port_id],
                "owned_port_ids": [p for p in row.owned_port_ids or [] if p != port_id],
            }
            if tags.pop(port_id, None) is not None:
                meta[TAGS_KEY] = tags
                values["system_metadata"] = meta
            queries.set_fields(unit, server_id, **values)
        return problems

    # ------------------------------------------------------------------ detach

    def detach(self, context: RequestContext, server_id: str, port_id: str) -> None:
        """Unplug a port: remove its NIC, then delete or unbind the port.

        :raises NotFound: no such server, or the port is not attached to it.
        :raises Conflict: locked, or in a state Nova refuses.
        :raises InterfaceDetachFailed: vSphere refused to remove the NIC (nothing changed).
        """
        server, work, drivers = self._begin(context, server_id, "delete", "detach_interface")
        with self._store.transaction() as unit:
            row = queries.get(unit, server_id)
            attached = row is not None and port_id in (row.port_ids or [])
        if not attached:
            raise NotFound(f"Port {port_id} is not attached")
        with work.locks.of(server_id):
            server = self._still_there(server_id, "detach_interface")
            self._run(
                context,
                server,
                work,
                "detach_interface",
                lambda: self._detach(context, server, drivers, port_id),
            )

    def _detach(
        self, context: RequestContext, server: Server, drivers: Drivers, port_id: str
    ) -> None:
        with self._store.transaction() as unit:
            row = queries.get(unit, server.id)
            if row is None or port_id not in (row.port_ids or []):
                raise NotFound(f"Port {port_id} is not attached")
            owned = port_id in (row.owned_port_ids or [])
        port = self._port(context, port_id)
        mac = str(port["mac_address"]).lower()
        try:
            drivers.compute.detach_nic(server.id, mac)
        except NotFoundError:
            pass  # the NIC is gone already (removed in vCenter): the port still goes
        except DriverError as exc:
            raise InterfaceDetachFailed(
                f"Failed to detach network adapter device from {server.id}: {exc.message}"
            ) from exc
        with self._store.transaction() as unit:
            row = queries.locked(unit, server.id)
            if row is not None:
                queries.set_fields(unit, server.id, addresses=without_mac(row.addresses or {}, mac))
        problems = self._release(context, server.id, port_id, owned=owned)
        if problems:
            raise InterfaceDetachFailed(
                f"The NIC of port {port_id} was removed, but the port could not be released: "
                f"{'; '.join(problems)}. Deleting the server releases it."
            )
