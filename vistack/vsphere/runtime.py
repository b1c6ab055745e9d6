"""What a vistack process runs for vSphere: sessions, inventories, maybe the embedded vCenter.

`start_vsphere(settings)` is called by the composition root: with no `[vcenter] host` it starts
the embedded simulator first. Each vCenter's session health is recorded in
`<data_dir>/vcenter-health.json` (state, and the outages seen), which `vistack vcenter check
--data-dir` shows beside what it reads from vCenter itself.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistack.config import Settings, VCenterSettings
from vistack.drivers.errors import DriverError
from vistack.vsphere.embedded import EmbeddedVCenter
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.inventory import Inventory
from vistack.vsphere.session import HealthState, SessionState, VCenterSession
from vistack.vsphere.supervisor import EmbeddedSupervisor

LOG = logging.getLogger("vistack.vsphere")

HEALTH_FILE = "vcenter-health.json"
#: Outages kept per vCenter in the health file.
MAX_OUTAGES = 20


def endpoint_from_settings(vc: VCenterSettings, *, primary: bool = True) -> VCenterEndpoint:
    """The endpoint of one `[vcenter]` (primary) or `[[vcenters]]` table."""
    name = vc.name or ("default" if primary else vc.host)
    return VCenterEndpoint(
        host=vc.host,
        port=vc.port,
        username=vc.username,
        password=vc.password,
        protocol=vc.protocol,
        ca_file=vc.ca_file or None,
        thumbprint=vc.thumbprint or None,
        insecure=vc.insecure,
        datacenter=vc.datacenter or None,
        clusters=tuple(vc.clusters),
        datastores=tuple(vc.datastores),
        name=name,
        availability_zone=vc.availability_zone or ("nova" if primary else name),
    )


def configured_endpoints(settings: Settings) -> list[VCenterEndpoint]:
    """Every configured vCenter: [vcenter] (when it has a host) then [[vcenters]]."""
    endpoints = [endpoint_from_settings(settings.vcenter)] if settings.vcenter.host else []
    endpoints += [endpoint_from_settings(vc, primary=False) for vc in settings.vcenters]
    names = [e.name for e in endpoints]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"vCenter names must be unique; repeated: {', '.join(duplicates)}")
    return endpoints


@dataclass
class VCenterRuntime:
    """One vCenter's session and inventory."""

    endpoint: VCenterEndpoint
    session: VCenterSession
    inventory: Inventory

    def close(self) -> None:
        self.inventory.stop()
        self.session.close()


@dataclass
class VSphereRuntime:
    """Every vCenter of this process; `session`/`inventory` are the first (usually only) one."""

    vcenters: list[VCenterRuntime]
    embedded: EmbeddedVCenter | None = None
    recorder: HealthRecorder | None = field(default=None, repr=False)
    supervisor: EmbeddedSupervisor | None = field(default=None, repr=False)

    @property
    def session(self) -> VCenterSession:
        return self.vcenters[0].session

    @property
    def inventory(self) -> Inventory:
        return self.vcenters[0].inventory

    def close(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        for vcenter in self.vcenters:
            vcenter.close()
        if self.embedded is not None:
            self.embedded.stop()


def start_vsphere(settings: Settings, *, sync_timeout: float = 30) -> VSphereRuntime:
    """Connect to every configured vCenter (or start the embedded one) and start inventories.

    Waits up to `sync_timeout` for each inventory's first full read.

    :raises DriverError: a vCenter cannot be reached or logged into, or the embedded one
        cannot be built or started; its message is the one line to show.
    """
    endpoints = configured_endpoints(settings)
    embedded: EmbeddedVCenter | None = None
    if not settings.vcenter.host:
        embedded = EmbeddedVCenter(
            settings.embedded_vcenter,
            data_dir=settings.data_path,
            availability_zone=settings.vcenter.availability_zone or "nova",
        )
        endpoints.insert(0, embedded.start())
    recorder = HealthRecorder(settings.data_path / HEALTH_FILE)
    runtime = VSphereRuntime([], embedded, recorder)
    try:
        options = settings.vcenter
        for endpoint in endpoints:
            session = VCenterSession(
                endpoint,
                pool_size=options.pool_size,
                keepalive_seconds=options.keepalive_seconds,
                connect_timeout=options.connect_timeout,
            )
            session.add_listener(recorder.listener(endpoint.name))
            session.connect()
            recorder.record(endpoint.name, session.state)
            inventory = Inventory(session, resync_seconds=options.resync_seconds)
            runtime.vcenters.append(VCenterRuntime(endpoint, session, inventory))
            inventory.start()
        for vcenter in runtime.vcenters:
            vcenter.inventory.wait_synced(sync_timeout)
        if embedded is not None:
            runtime.supervisor = EmbeddedSupervisor(embedded)
            runtime.supervisor.start()
    except (DriverError, ValueError):
        runtime.close()
        raise
    return runtime


class HealthRecorder:
    """Keeps `<data_dir>/vcenter-health.json` current: each vCenter's state and outages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._document: dict[str, Any] = {"vcenters": {}}

    def listener(self, name: str) -> Any:
        def on_change(state: HealthState) -> None:
            self.record(name, state)

        return on_change

    def record(self, name: str, state: HealthState) -> None:
        with self._lock:
            entry = self._document["vcenters"].setdefault(
                name, {"state": None, "since": None, "last_error": None, "outages": []}
            )
            outages: list[dict[str, Any]] = entry["outages"]
            ongoing = outages and outages[-1].get("up_at") is None
            if state.state is SessionState.DOWN and not ongoing:
                outages.append({"down_at": state.since, "up_at": None, "error": state.last_error})
                del outages[:-MAX_OUTAGES]
            elif state.state is SessionState.CONNECTED and ongoing:
                outages[-1]["up_at"] = state.since
                outages[-1]["duration_seconds"] = round(state.since - outages[-1]["down_at"], 3)
            entry.update(state.to_json())
            entry["updated_at"] = time.time()
            self._write()

    def _write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(self._document, handle, indent=2)
            os.replace(temporary, self.path)
        except OSError as exc:
            LOG.warning("cannot write %s: %s", self.path, exc)


def read_health(data_dir: Path, name: str) -> dict[str, Any] | None:
    """What a running cloud recorded about vCenter `name`, or None."""
    try:
        document = json.loads((Path(data_dir) / HEALTH_FILE).read_text())
    except (OSError, ValueError):
        return None
    entry = document.get("vcenters", {}).get(name)
    return entry if isinstance(entry, dict) else None
