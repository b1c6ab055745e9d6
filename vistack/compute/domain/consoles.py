"""Remote consoles: the legacy `os-get*Console` actions (2.1-2.5) and
`POST /servers/{id}/remote-consoles` (2.6; `mks` from 2.8).

A vSphere VM's console is its WebMKS console: vCenter hands out a one-time ticket
(`AcquireTicket("webmks")`, the VMware driver's `mks` console) and a WebMKS client opens
`wss://<ESXi host>:<port>/ticket/<ticket>` with it. The URL answered is that one: this cloud
runs no console proxy of its own (Nova's `nova-mksproxy`), so there is no console token to
look up either (`os-console-auth-tokens` is not served).

VNC, SPICE, RDP and serial consoles are not configured on the VMs vistack builds: they are
refused as Nova refuses a console type its compute service does not offer (400 "Unavailable
console type ..."). A vCenter that cannot hand out tickets (`MethodNotFound`, as stock vcsim)
gets a 501 saying so.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, NotImplementedByBackend
from vistack.common.policy import PolicyEngine
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.access import authorized_server
from vistack.compute.domain.models import Server
from vistack.compute.domain.servers import NO_BACKEND
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import InvalidStateError, NotFoundError, UnsupportedError

#: The console types each protocol may ask for (Nova's `remote_consoles` schemas).
PROTOCOL_TYPES = {
    "vnc": ("novnc", "xvpvnc"),
    "spice": ("spice-html5",),
    "rdp": ("rdp-html5",),
    "serial": ("serial",),
    "mks": ("webmks",),
}
NO_TICKETS = (
    "This vCenter cannot hand out console tickets (VirtualMachine.AcquireTicket is not "
    "available), so the server has no remote console here."
)


class ConsoleService:
    """Hands out console URLs for the servers a caller may reach."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, drivers: Drivers | None):
        self._store = store
        self._policy = policy
        self._drivers = drivers

    def _server(self, context: RequestContext, server_id: str) -> Server:
        return authorized_server(
            self._store, self._policy, context, server_id, "os_compute_api:os-remote-consoles"
        )

    def console_url(
        self, context: RequestContext, server_id: str, protocol: str, console_type: str
    ) -> str:
        """The URL of the server's console of `protocol`/`console_type`.

        :raises NotFound: no such server.
        :raises BadRequest: a type the protocol does not have, or a console type this cloud
            does not offer.
        :raises Conflict: the server is not built yet or its VM is not running.
        :raises NotImplementedByBackend: vCenter cannot hand out tickets.
        """
        server = self._server(context, server_id)
        if protocol != "mks":
            raise BadRequest(f"Unavailable console type {console_type}.")
        if console_type not in PROTOCOL_TYPES["mks"]:
            raise BadRequest(f"Invalid console type {console_type}")
        if not server.cluster or server.vm_state == states.BUILDING:
            raise Conflict(f"Instance {server_id} is not ready")
        if self._drivers is None:
            raise Conflict(NO_BACKEND)
        try:
            ticket = self._drivers.compute.acquire_console_ticket(server_id)
        except UnsupportedError:
            raise NotImplementedByBackend(NO_TICKETS) from None
        except InvalidStateError:
            raise Conflict(
                f"Instance {server_id} is not running: vCenter gives consoles of running VMs only."
            ) from None
        except NotFoundError:
            raise NotFound(f"The VM of instance {server_id} is not in vCenter.") from None
        return ticket.url
