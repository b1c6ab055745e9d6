"""Keeps the embedded vCenter running: a crashed simulator is started again on its address.

A real vCenter is restarted by its operators; the embedded one has only us. Restarting it on the
same address makes its outage look exactly like a vCenter restart to the session and inventory
(reconnect, re-login, full re-read), which is the path production needs to be right anyway.
"""

from __future__ import annotations

import logging
import threading

from vistack.drivers.errors import DriverError
from vistack.vsphere.embedded import EmbeddedVCenter

LOG = logging.getLogger("vistack.vsphere")


class EmbeddedSupervisor:
    """Polls the simulator process; restarts it with backoff when it exits on its own."""

    def __init__(
        self, embedded: EmbeddedVCenter, *, interval: float = 1.0, max_backoff: float = 30.0
    ) -> None:
        self._embedded = embedded
        self._interval = interval
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="vistack-vcsim-supervisor", daemon=True
        )
        self.restarts = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising (before the simulator is stopped on purpose)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        backoff = self._interval
        while not self._stopping.wait(backoff):
            if self._embedded.running:
                backoff = self._interval
                continue
            LOG.warning(
                "embedded vCenter exited unexpectedly (exit code %s); starting it again",
                self._embedded.exit_code,
            )
            try:
                self._embedded.restart()
            except DriverError as exc:
                backoff = min(max(backoff * 2, 1.0), self._max_backoff)
                LOG.error(
                    "embedded vCenter did not restart: %s; next try in %.0f s", exc.message, backoff
                )
                continue
            self.restarts += 1
            backoff = self._interval
