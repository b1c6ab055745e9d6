"""The embedded vCenter: the project's govmomi simulator launcher, built and run beside vistack.

`tools/vcsim/build.sh` builds the launcher from Debian packages (once; cached) and prints the
binary's path last. The launcher prints one JSON ready line (address, credentials, certificate,
inventory names) and exits cleanly on SIGTERM.

The simulator's datastores are directories under `<data_dir>/embedded-datastores` (the launcher's
`-datastore-root`), not temp dirs, because Glance keeps image files on them while its database
lives in the data dir: both must survive a restart together. VMs do not survive one (the
simulator's inventory is rebuilt), so the launcher moves their leftover folders aside into
`.orphaned-<time>/` on each datastore at start, where a new VM of the same name cannot trip on them.

The endpoint, password included, is written to `<data_dir>/vcenter.json` (mode 0600, in the data
dir that is itself private) so that `vistack vcenter check --data-dir DIR` can reach the simulator
of a running cloud. The password is generated per data dir, guards only a loopback simulator that
holds nothing of value, and sits beside the cloud's own bootstrap passwords.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

from vistack.config import EmbeddedVCenterSettings
from vistack.drivers.errors import DriverError
from vistack.vsphere.endpoint import VCenterEndpoint

LOG = logging.getLogger("vistack.vsphere")

ENDPOINT_FILE = "vcenter.json"
LOG_FILE = "vcenter.log"
TLS_DIR = "vcenter-tls"
#: Under the data dir: one directory per simulated datastore, kept across restarts.
DATASTORE_DIR = "embedded-datastores"
EMBEDDED_NAME = "embedded"
USERNAME = "vistack"


class EmbeddedVCenterError(DriverError):
    """The embedded vCenter could not be built or started; the message says what to do."""


def build_script() -> Path:
    """`tools/vcsim/build.sh` of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "tools" / "vcsim" / "build.sh"


@cache
def build_launcher() -> Path:
    """Build (or reuse) the launcher binary; its path.

    :raises EmbeddedVCenterError: no source checkout, or the build failed.
    """
    script = build_script()
    if not script.is_file():
        raise EmbeddedVCenterError(
            f"the embedded vCenter needs the source checkout's tools/vcsim ({script} is "
            f"missing); configure a real vCenter in [vcenter] instead"
        )
    result = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, check=False, timeout=900
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        detail = " / ".join(result.stderr.strip().splitlines()[-3:]) or "no output"
        raise EmbeddedVCenterError(
            f"building the embedded vCenter failed (bash {script} exited "
            f"{result.returncode}: {detail}); run `make run` (it installs golang-go and "
            f"golang-github-vmware-govmomi-dev) or configure a real vCenter in [vcenter]"
        )
    return Path(lines[-1])


class EmbeddedVCenter:
    """One simulator process; `start()` gives its endpoint, `stop()` ends it.

    :param listen: `host:port`; port 0 picks a free one at the first start, and later starts
        (`restart`) reuse the port, as a restarted vCenter keeps its address.
    :param persist_datastores: back the datastores by `<data_dir>/embedded-datastores` so their
        files survive a restart; False gives the launcher's temp dirs, removed when it stops.
    """

    def __init__(
        self,
        settings: EmbeddedVCenterSettings,
        *,
        data_dir: Path,
        listen: str = "127.0.0.1:0",
        binary: Path | None = None,
        name: str = EMBEDDED_NAME,
        availability_zone: str | None = None,
        persist_datastores: bool = True,
    ) -> None:
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.listen = listen
        self.name = name
        self.availability_zone = availability_zone
        self.persist_datastores = persist_datastores
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self.ready: dict[str, Any] = {}
        self.endpoint: VCenterEndpoint | None = None

    @property
    def endpoint_file(self) -> Path:
        return self.data_dir / ENDPOINT_FILE

    @property
    def datastore_root(self) -> Path:
        """The datastores' parent dir with `persist_datastores` (`-datastore-root`)."""
        return self.data_dir / DATASTORE_DIR

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    def command(self, password: str) -> list[str]:
        s = self.settings
        args = [
            str(self._binary or build_launcher()),
            "-listen",
            self.listen,
            "-clusters",
            str(s.clusters),
            "-hosts-per-cluster",
            str(s.hosts_per_cluster),
            "-datastores",
            str(s.datastores),
            "-portgroups",
            str(s.portgroups),
            "-host-cpu-cores",
            str(s.host_cpu_cores),
            "-host-cpu-mhz",
            str(s.host_cpu_mhz),
            "-host-memory-gib",
            str(s.host_memory_gib),
            "-username",
            USERNAME,
            "-password",
            password,
        ]
        if s.tls:
            args += ["-tls-generate", str(self.data_dir / TLS_DIR)]
        if s.delay_ms:
            args += ["-delay", str(s.delay_ms)]
        if s.method_delays:
            args += ["-method-delay", s.method_delays]
        if s.session_idle_timeout:
            args += ["-session-idle-timeout", s.session_idle_timeout]
        if self.persist_datastores:
            args += ["-datastore-root", str(self.datastore_root)]
        return args

    def start(self, timeout: float = 30) -> VCenterEndpoint:
        """Start the simulator and wait for its ready line.

        :raises EmbeddedVCenterError: it could not be built, or did not become ready.
        """
        if self.running:
            assert self.endpoint is not None
            return self.endpoint
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.persist_datastores:
            # Created here, private like the data dir: the launcher would make it 0700 too, but
            # only for the directories it creates itself.
            self.datastore_root.mkdir(exist_ok=True, mode=0o700)
        password = self._password()
        command = self.command(password)
        self._log = (self.data_dir / LOG_FILE).open("ab")
        started = time.monotonic()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            preexec_fn=_die_with_parent,
        )
        try:
            line = self._ready_line(timeout)
            ready: dict[str, Any] = json.loads(line)
            if ready.get("event") != "ready":
                raise ValueError(f"unexpected first line {line!r}")
        except (OSError, ValueError) as exc:
            self._terminate()
            raise EmbeddedVCenterError(
                f"the embedded vCenter did not start: {exc} (see {self.data_dir / LOG_FILE})"
            ) from exc
        self.ready = ready
        self.endpoint = self._endpoint(ready, password)
        # Later starts reuse the address, as a restarted vCenter keeps its own.
        self.listen = f"{ready['host']}:{ready['port']}"
        self._write_endpoint_file()
        orphaned = ready.get("orphaned_dirs") or []
        if orphaned:
            # Routine after any restart with VMs (they never survive one), so not a warning.
            LOG.info(
                "embedded vCenter: moved %d VM folder(s) left by its previous run aside (%s); "
                "VMs do not survive a restart, delete them when they are not needed",
                len(orphaned),
                ", ".join(sorted({str(Path(p).parent) for p in orphaned})),
            )
        LOG.info(
            "embedded vCenter ready at %s in %.0f ms (pid %s)",
            self.endpoint.url,
            (time.monotonic() - started) * 1000,
            ready.get("pid"),
        )
        return self.endpoint

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM and wait (SIGKILL after `timeout`); forget the endpoint file."""
        self._terminate(timeout)
        if self.endpoint_file.exists() and self._owns_endpoint_file():
            self.endpoint_file.unlink()

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests): no clean-up by the simulator itself."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
        self._remove_temp_dirs()
        self._close_pipes()

    def restart(self, timeout: float = 30) -> VCenterEndpoint:
        """Stop and start again on the same address; all simulator state is lost."""
        self._terminate()
        return self.start(timeout)

    def __enter__(self) -> EmbeddedVCenter:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _password(self) -> str:
        """The same generated password across restarts of this data dir's simulator."""
        path = self.data_dir / ENDPOINT_FILE
        if path.exists():
            try:
                stored = json.loads(path.read_text()).get("endpoint", {}).get("password")
            except (OSError, ValueError):
                stored = None
            if isinstance(stored, str) and stored:
                return stored
        if self.endpoint is not None:
            return self.endpoint.password
        return secrets.token_urlsafe(18)

    def _ready_line(self, timeout: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        deadline = time.monotonic() + timeout
        buffer = b""
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no ready line within {timeout:g} s")
            readable, _, _ = select.select([stream], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                code = self._process.wait()
                raise OSError(f"the launcher exited with status {code} before it was ready")
            buffer += chunk
        return buffer.decode().strip()

    def _endpoint(self, ready: dict[str, Any], password: str) -> VCenterEndpoint:
        return VCenterEndpoint(
            host=str(ready["host"]),
            port=int(ready["port"]),
            username=str(ready.get("username") or USERNAME),
            password=password,
            protocol=str(ready.get("protocol", "http")),
            ca_file=ready.get("ca_file") or None,
            datacenter=ready.get("datacenter") or None,
            name=self.name,
            availability_zone=self.availability_zone,
        )

    def _write_endpoint_file(self) -> None:
        assert self.endpoint is not None
        document = {
            "embedded": True,
            "pid": self.ready.get("pid"),
            "started_at": time.time(),
            "endpoint": self.endpoint.to_json(include_password=True),
            "inventory": {
                key: self.ready.get(key)
                for key in ("datacenter", "clusters", "hosts", "datastores", "dvs", "portgroups")
            },
        }
        temporary = self.endpoint_file.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
        os.replace(temporary, self.endpoint_file)

    def _owns_endpoint_file(self) -> bool:
        try:
            document = json.loads(self.endpoint_file.read_text())
        except (OSError, ValueError):
            return False
        return bool(document.get("pid") == self.ready.get("pid"))

    def _terminate(self, timeout: float = 10) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                LOG.warning("embedded vCenter did not stop within %g s; killing it", timeout)
                process.kill()
                process.wait()
        if process is not None and process.returncode not in (0, None):
            self._remove_temp_dirs()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _remove_temp_dirs(self) -> None:
        """After an unclean exit, remove the simulator's temp datastore dirs (it could not).

        Only `govcsim-*` dirs directly in the temp dir qualify: the persistent datastores under
        `datastore_root` hold the images and must outlive any crash (the launcher lists them in
        `datastore_dirs`, never in `temp_dirs`).
        """
        temp_root = Path(tempfile.gettempdir()).resolve()
        for directory in self.ready.get("temp_dirs") or ():
            path = Path(directory).resolve()
            if path.parent == temp_root and path.name.startswith("govcsim-"):
                shutil.rmtree(path, ignore_errors=True)


#: prctl(2) option: the signal the kernel sends this process when its parent thread exits.
PR_SET_PDEATHSIG = 1
#: Resolved in the parent: between fork and exec the child must not dlopen (locks may be held).
_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when vistack dies, even by SIGKILL (no orphaned simulator).

    The kernel signals on the exit of the *thread* that started the child, so the simulator is
    only ever started from long-lived threads (the main thread, the supervisor).
    """
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def read_endpoint_file(data_dir: Path) -> VCenterEndpoint | None:
    """The endpoint a running embedded vCenter of `data_dir` wrote, or None.

    :raises EmbeddedVCenterError: the file exists but cannot be read.
    """
    path = Path(data_dir) / ENDPOINT_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        return VCenterEndpoint.from_json(document["endpoint"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmbeddedVCenterError(f"cannot read {path}: {exc}") from exc
