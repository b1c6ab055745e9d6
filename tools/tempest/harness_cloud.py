"""The cloud under test: clouds.yaml, the private `vistack up`, and what the admin token and
the catalog say about it (plus the resources Tempest needs made by an administrator first)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness_common import (
    READY_MARKER,
    REPO_ROOT,
    HarnessError,
    api_call,
    log,
    rel,
    service_url,
)
from harness_compute import ComputeInfo, prepare_compute
from harness_tables import (
    PRIVATE_CLOUD_COMPLIANCE,
    PRIVATE_CLOUD_ENV,
    PUBLIC_NETWORK,
    PUBLIC_SUBNET,
)
from harness_volume import VolumeInfo, prepare_volume


@dataclasses.dataclass(frozen=True)
class CloudCreds:
    auth_url: str  # as in clouds.yaml, e.g. http://127.0.0.1:5000/identity
    username: str
    password: str
    project_name: str
    user_domain_name: str
    project_domain_name: str
    region: str | None

    @property
    def uri_v3(self) -> str:
        url = self.auth_url.rstrip("/")
        return url if url.endswith("/v3") else url + "/v3"


def load_clouds_yaml(path: Path, cloud: str, yaml_python: Path) -> CloudCreds:
    """Read one cloud from clouds.yaml (parsed by PyYAML in the Tempest venv)."""
    if not path.is_file():
        raise HarnessError(f"{path} does not exist")
    code = "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    out = subprocess.run(
        [str(yaml_python), "-c", code, str(path)], check=True, capture_output=True, text=True
    ).stdout
    data: Any = json.loads(out)
    try:
        entry = data["clouds"][cloud]
    except (KeyError, TypeError) as exc:
        raise HarnessError(f"cloud {cloud!r} not found in {path}") from exc
    auth: dict[str, Any] = entry.get("auth", {})
    domain = str(auth.get("domain_name") or "Default")
    try:
        return CloudCreds(
            auth_url=str(auth["auth_url"]),
            username=str(auth["username"]),
            password=str(auth["password"]),
            project_name=str(auth["project_name"]),
            user_domain_name=str(auth.get("user_domain_name") or domain),
            project_domain_name=str(auth.get("project_domain_name") or domain),
            region=entry.get("region_name"),
        )
    except KeyError as exc:
        raise HarnessError(f"cloud {cloud!r} in {path} lacks auth field {exc}") from exc


class VistackServer:
    """`vistack up` in its own process group, with its output copied to a log file."""

    def __init__(self, command: Sequence[str], log_path: Path) -> None:
        self.command = list(command)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_line: str | None = None
        self._ready = threading.Event()
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for option, (value, _tempest_option) in PRIVATE_CLOUD_COMPLIANCE.items():
            env[f"VISTACK_SECURITY_COMPLIANCE_{option.upper()}"] = value
        env.update(PRIVATE_CLOUD_ENV)
        log(f"starting: {' '.join(self.command)}  (log: {rel(self.log_path)})")
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,  # its own process group: we stop it and its children
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.log_path.open("wb") as sink:
            for raw in self.proc.stdout:
                sink.write(raw)
                sink.flush()
                line = raw.decode(errors="replace").strip()
                if READY_MARKER in line and self.ready_line is None:
                    self.ready_line = line
                    self._ready.set()

    def wait_ready(self, timeout: float, clouds_yaml: Path) -> None:
        """Ready = the ready line was printed and clouds.yaml exists."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.25) and clouds_yaml.is_file():
                log(self.ready_line or "vistack ready")
                return
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"vistack up exited with {self.proc.returncode} before it was ready; "
                    f"last output:\n{self.tail()}"
                )
        raise HarnessError(
            f"vistack up not ready after {timeout:.0f}s (no '{READY_MARKER}' line or no "
            f"{clouds_yaml}); last output:\n{self.tail()}"
        )

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def stop(self, grace: float = 20.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        log("stopping vistack (SIGTERM)")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            log(f"vistack did not stop within {grace:.0f}s; SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        if self._pump is not None:
            self._pump.join(5)


def vistack_command() -> list[str]:
    local = REPO_ROOT / ".venv" / "bin" / "vistack"
    if local.exists():
        return [str(local)]
    found = shutil.which("vistack")
    if found:
        return [found]
    return [sys.executable, "-m", "vistack"]


@dataclasses.dataclass(frozen=True)
class KeystoneInfo:
    catalog_types: frozenset[str]
    user_domain_id: str | None
    regions: frozenset[str]
    # Aliases the cloud's Neutron lists at /v2.0/extensions (None: no network service).
    network_extensions: tuple[str, ...] | None = None
    # The external network floating IPs come from (None: the cloud has no L3).
    public_network_id: str | None = None
    # Images, microversions and network for compute tests (None: no compute service).
    compute: ComputeInfo | None = None
    # Cinder's catalog type and microversions (None: no block storage service).
    volume: VolumeInfo | None = None


def keystone_probe(creds: CloudCreds, scratch: Path, timeout: float = 30.0) -> KeystoneInfo:
    """Authenticate as the admin user; return what the token tells about the cloud, after
    making what Tempest needs an administrator to have made (public network, VMDK images; any
    scratch files go to `scratch`)."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": creds.username,
                        "password": creds.password,
                        "domain": {"name": creds.user_domain_name},
                    }
                },
            },
            "scope": {
                "project": {
                    "name": creds.project_name,
                    "domain": {"name": creds.project_domain_name},
                }
            },
        }
    }
    request = urllib.request.Request(
        creds.uri_v3 + "/auth/tokens",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            token: dict[str, Any] = json.load(response)["token"]
            token_id = response.headers.get("X-Subject-Token", "")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise HarnessError(f"admin login to {creds.uri_v3} failed: {exc.code} {detail}") from exc
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise HarnessError(f"admin login to {creds.uri_v3} failed: {exc}") from exc
    catalog: list[dict[str, Any]] = token.get("catalog") or []
    types = frozenset(str(entry.get("type")) for entry in catalog)
    regions = frozenset(
        str(ep.get("region_id") or ep.get("region"))
        for entry in catalog
        for ep in entry.get("endpoints") or []
        if ep.get("region_id") or ep.get("region")
    )
    domain_id = (token.get("user") or {}).get("domain", {}).get("id")
    extensions = network_extensions(catalog, token_id, timeout)
    public = None
    if extensions is not None and {"router", "external-net"} <= set(extensions):
        public = ensure_public_network(service_url(catalog, "network") or "", token_id, timeout)
    # With routers each Tempest project gets its own network+subnet+router; without, servers
    # share one network the harness makes.
    compute = prepare_compute(
        catalog, token_id, timeout, scratch, isolated_networks=public is not None
    )
    volume = prepare_volume(catalog, token_id, timeout)
    return KeystoneInfo(types, domain_id, regions, extensions, public, compute, volume)


def ensure_public_network(base: str, token_id: str, timeout: float) -> str:
    """The id of the admin's external network `public`, made (with its subnet) if missing.

    Tempest's router and floating IP tests need `[network] public_network_id`; a devstack cloud
    has such a network from its installer, a fresh vistack does not."""
    query = f"{base}/v2.0/networks?name={PUBLIC_NETWORK}&router:external=true"
    found = api_call(query, token_id, timeout).get("networks") or []
    if found:
        network_id = str(found[0]["id"])
        defaults = api_call(f"{base}/v2.0/networks?is_default=true", token_id, timeout)
        if found[0].get("is_default") is False and not defaults.get("networks"):
            body = {"network": {"is_default": True}}
            api_call(f"{base}/v2.0/networks/{network_id}", token_id, timeout, body, method="PUT")
        ensure_default_subnetpool(base, token_id, timeout)
        return network_id
    network = api_call(
        f"{base}/v2.0/networks",
        token_id,
        timeout,
        # The default external network, as devstack's: auto-allocated routers' gateway.
        {"network": {"name": PUBLIC_NETWORK, "router:external": True, "is_default": True}},
    )["network"]
    subnet = {**PUBLIC_SUBNET, "network_id": network["id"], "name": f"{PUBLIC_NETWORK}-subnet"}
    api_call(f"{base}/v2.0/subnets", token_id, timeout, {"subnet": subnet})
    log(f"created external network {PUBLIC_NETWORK} ({network['id']}, {PUBLIC_SUBNET['cidr']})")
    ensure_default_subnetpool(base, token_id, timeout)
    return str(network["id"])


#: devstack's shared default IPv4 pool, which auto-allocated topologies take their subnet from.
DEFAULT_POOL: dict[str, Any] = {"name": "shared-default-subnetpool-v4", "prefixes": ["10.0.0.0/22"],
                "default_prefixlen": 26, "shared": True, "is_default": True}  # fmt: skip


def ensure_default_subnetpool(base: str, token_id: str, timeout: float) -> None:
    """Make devstack's default IPv4 subnet pool unless the cloud has a default one already
    (Tempest's AutoAllocateNetworkTest needs it, with the default external network)."""
    pools = api_call(f"{base}/v2.0/subnetpools", token_id, timeout).get("subnetpools") or []
    if any(p.get("is_default") and p.get("ip_version") == 4 for p in pools):
        return
    api_call(f"{base}/v2.0/subnetpools", token_id, timeout, {"subnetpool": DEFAULT_POOL})
    log(f"created default subnet pool {DEFAULT_POOL['name']} ({DEFAULT_POOL['prefixes'][0]})")


def network_extensions(
    catalog: list[dict[str, Any]], token_id: str, timeout: float
) -> tuple[str, ...] | None:
    """The extension aliases the cloud's Neutron really lists. Tempest decides which network
    tests to run from `[network-feature-enabled] api_extensions` (default: all), so the list
    must come from the cloud, not from a table here."""
    base = service_url(catalog, "network")
    if base is None:
        return None
    listed = api_call(base + "/v2.0/extensions", token_id, timeout).get("extensions") or []
    return tuple(sorted(str(e.get("alias")) for e in listed if e.get("alias")))
