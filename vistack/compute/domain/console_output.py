"""`os-getConsoleOutput`: the tail of what the guest wrote to its serial console.

Each VM vistack builds has a serial port backed by a file in its folder (the driver's
`console_log`), so the answer is that file's last lines, as Nova's libvirt driver answers from
its console log: at most the last 100 KiB are read, then the last `length` lines are kept, and
control characters other than tab, newline and carriage return are removed (they break the JSON
consumers and terminals that display the log).
"""

from __future__ import annotations

import re

from vistack.common.context import RequestContext
from vistack.common.errors import Conflict, NotFound, ServiceUnavailable
from vistack.common.policy import PolicyEngine
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.access import authorized_server
from vistack.compute.domain.servers import NO_BACKEND
from vistack.drivers.bundle import Drivers
from vistack.drivers.errors import NotFoundError, TransientError

#: How much of the log is read at most (Nova's libvirt driver reads the same tail).
MAX_CONSOLE_BYTES = 100 * 1024
POLICY = "os_compute_api:os-console-output"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NO_SERIAL_PORT = (
    "Guest does not have a console available: the server's VM was built without a "
    "file-backed serial port (rebuild the server to give it one)."
)


def tail_lines(text: str, length: int | None) -> str:
    """The last `length` lines of `text` (all of it for None or -1, nothing for 0)."""
    if length is None or length == -1:
        return text
    if length == 0:
        return ""
    return "\n".join(text.split("\n")[-length:])


class ConsoleOutput:
    """Reads servers' serial console logs for the callers allowed to."""

    def __init__(self, store: ComputeStore, policy: PolicyEngine, drivers: Drivers | None):
        self._store = store
        self._policy = policy
        self._drivers = drivers

    def output(self, context: RequestContext, server_id: str, length: int | None) -> str:
        """The last `length` lines of the server's console log.

        :raises NotFound: no such server, its VM is gone, or the VM has no serial log.
        :raises Conflict: the server is not built yet.
        :raises ServiceUnavailable: vCenter's datastore could not be read just now.
        """
        server = authorized_server(self._store, self._policy, context, server_id, POLICY)
        if not server.cluster or server.vm_state == states.BUILDING:
            raise Conflict(f"Instance {server_id} is not ready")
        if self._drivers is None:
            raise Conflict(NO_BACKEND)
        try:
            data = self._drivers.compute.console_log(server_id, MAX_CONSOLE_BYTES)
        except NotFoundError:
            raise NotFound(f"The VM of instance {server_id} is not in vCenter.") from None
        except TransientError as exc:
            raise ServiceUnavailable(f"The console log could not be read: {exc}") from None
        if data is None:
            raise NotFound(NO_SERIAL_PORT)
        text = _CONTROL.sub("", data.decode("utf-8", errors="replace"))
        return tail_lines(text, length)
