"""Remote consoles on vSphere: the WebMKS ticket, Nova's `mks` console for VMware.

vCenter hands out a one-time ticket for a powered-on VM (`VirtualMachine.AcquireTicket` with
type `webmks`); a WebMKS client (the HTML5 console vSphere's own client uses) opens
`wss://<ESXi host>:<port>/ticket/<ticket>` with it. VNC, SPICE, RDP and serial consoles are
not part of a vSphere VM as vistack builds it, so only this one exists.

Stock vcsim has no `AcquireTicket`; the project's launcher (tools/vcsim/extension.go) adds
it, answering tickets as vCenter does (nothing listens behind them). A server that answers
`MethodNotFound` is classified `UnsupportedError` by the session, and the API then says this
vCenter cannot hand out console tickets.
"""

from __future__ import annotations

from typing import Any

from vistack.drivers.models import ConsoleTicket
from vistack.vsphere.properties import retrieve_one
from vistack.vsphere.session import Client

#: The ticket type of the HTML5 console (the older `mks` type is for the VMRC plug-in).
WEBMKS = "webmks"
#: The port vCenter omits when the ticket is for the host's usual HTTPS port.
DEFAULT_PORT = 443


def acquire_ticket(client: Client, vm: Any) -> ConsoleTicket:
    """A WebMKS ticket for `vm`; the host named by the ticket, else the VM's ESXi host.

    :raises vim.fault.InvalidState: the VM is not powered on (classified by the session).
    :raises vmodl.fault.MethodNotFound: the server cannot hand out tickets (vcsim).
    """
    ticket = vm.AcquireTicket(ticketType=WEBMKS)
    host = str(getattr(ticket, "host", None) or "")
    if not host:
        host = _vm_host_name(client, vm)
    port = int(getattr(ticket, "port", None) or DEFAULT_PORT)
    return ConsoleTicket(
        ticket=str(ticket.ticket),
        host=host,
        port=port,
        ssl_thumbprint=str(getattr(ticket, "sslThumbprint", None) or ""),
        given_url=str(getattr(ticket, "url", None) or ""),
    )


def _vm_host_name(client: Client, vm: Any) -> str:
    """The name of the ESXi host running `vm` (where its console is served)."""
    props = retrieve_one(client, vm, ["runtime.host"])
    host_ref = props.get("runtime.host") if props is not None else None
    if not host_ref:
        return ""
    host = retrieve_one(client, client.moref("HostSystem", str(host_ref)), ["name"])
    return str(host.get("name") or "") if host is not None else ""
