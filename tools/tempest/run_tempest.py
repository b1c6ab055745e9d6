#!/usr/bin/env python3
"""Run upstream OpenStack Tempest against a vistack cloud and summarise the results.

Why this script exists
    Tempest is the conformance suite every OpenStack deployment is judged by. vistack claims
    to speak the OpenStack APIs, so Tempest (unmodified, from PyPI) is its referee. Getting a
    Tempest run right takes several steps that are easy to get subtly wrong by hand: a
    compatible Tempest install, a tempest.conf whose feature flags match what vistack really
    implements, a cloud to run against, an exclude list for documented gaps, and a readable
    summary. This script does all of it in one command (`make tempest`).

Why stdlib-only, and why a separate venv
    Tempest pins many oslo/stestr libraries that must not leak into vistack's own environment
    (`.venv`), so it lives in its own venv, `.tempest-venv`, built on first use from the pinned
    version and the frozen constraints next to this file. This script runs under any Python
    3.11 (normally `.venv/bin/python`) and imports nothing outside the standard library, so it
    works before either venv is complete. Everything Tempest-side runs as a subprocess from
    `.tempest-venv` (tempest, stestr, and PyYAML to read clouds.yaml); results come from
    `stestr last --subunit` and are decoded by the small subunit v2 reader below.

What it does
    1. ensures `.tempest-venv` with tempest==TEMPEST_VERSION (reused when already right);
    2. uses the cloud described by `--cloud-dir DIR/clouds.yaml`, or starts its own
       `vistack up` on a free loopback port with a temporary data dir, and stops it at the end;
    3. writes a Tempest workspace (default `.tempest-work/`) with a tempest.conf derived from
       the cloud: admin credentials, dynamic credentials, identity URI and region, the identity
       feature flags below, and `[service_available]` switched on for exactly the services the
       Keystone catalog lists (so new vistack services are picked up without editing this file);
    4. runs `tempest run` with a regex selecting the chosen services' API tests (identity and
       image by default), `--exclude-list` built from tools/tempest/exclude-<service>.txt;
    5. parses the stestr results and prints passed/failed/skipped/excluded per service, skip
       reasons and the failed tests with a one-line cause; optionally writes a JSON summary.

Exit status: 0 when no selected test failed (skips and exclusions are fine), 1 when a test
failed or did not report a result, 2 when the harness itself could not run (no cloud, Tempest
install or listing failed, no results recorded).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = Path(__file__).resolve().parent

# Tempest 47.0.0 is the newest release on PyPI and supports Python 3.10-3.12.
TEMPEST_VERSION = "47.0.0"
CONSTRAINTS_FILE = TOOLS_DIR / "constraints.txt"
DEFAULT_VENV = REPO_ROOT / ".tempest-venv"
DEFAULT_WORK_DIR = REPO_ROOT / ".tempest-work"
DEFAULT_CLOUD = "vistack-admin"
READY_MARKER = "vistack ready:"


class HarnessError(Exception):
    """The harness could not do its job (as opposed to a test failing)."""


# ---------------------------------------------------------------------------------------------
# What vistack implements. Edit these tables, not the code, when a feature or service lands.
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Service:
    """One OpenStack service as Tempest and the Keystone catalog know it."""

    name: str  # name used in our tables and in --services
    api_package: str  # tempest.api.<api_package>
    catalog_types: tuple[str, ...]  # any of these in the catalog means "available"
    available_option: str | None  # [service_available] option, None when Tempest has none
    # tempest.scenario modules that test this service (and identity) only, run with its API tests
    scenarios: tuple[str, ...] = ()


SERVICES: tuple[Service, ...] = (
    Service("identity", "identity", ("identity",), None),
    Service("compute", "compute", ("compute",), "nova"),
    # test_unified_limits: Glance quotas as Keystone unified limits (ImageQuotaTest).
    Service("image", "image", ("image",), "glance", ("test_unified_limits",)),
    Service("network", "network", ("network",), "neutron"),
    Service("volume", "volume", ("volumev3", "block-storage", "volume"), "cinder"),
    Service("object-store", "object_storage", ("object-store",), "swift"),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
SERVICE_BY_PACKAGE = {s.api_package: s for s in SERVICES}
SERVICE_BY_SCENARIO = {module: s for s in SERVICES for module in s.scenarios}

# [service_available] options that no catalog type can switch on (vistack serves no Horizon
# through the catalog); flip with --set service_available.horizon=true.
ALWAYS_UNAVAILABLE = ("horizon",)

# [identity-feature-enabled]: matches what vistack's Keystone implements (see DESIGN.md and
# docs/tempest.md). Tempest 47 has no flags for project tags or application credentials:
# those tests always run. Option names checked against tempest/config.py of TEMPEST_VERSION.
IDENTITY_FEATURES: dict[str, str] = {
    "api_v2": "false",  # identity v2 is not served
    "api_v2_admin": "false",
    "api_v3": "true",
    "trust": "true",  # OS-TRUST, with impersonation and redelegation
    "access_rules": "true",  # application credential access rules, enforced on every API
    # Off for an external cloud (its rules are unknown); a private cloud turns it on with
    # PRIVATE_CLOUD_COMPLIANCE below.
    "security_compliance": "false",
    "domain_specific_drivers": "false",  # one SQL identity backend for every domain
    "immutable_user_source": "false",  # users are created through the API
}

# [image] and [image-feature-enabled]: what vistack's Glance accepts and does. Tempest fills
# images with random bytes in the *first* formats listed here; vistack refuses content that
# does not match its declared format, and random bytes are only honest as `raw`, so raw/bare
# is the one pair listed. With that, the listing tests that upload such bytes tell no lie and
# run (image_format_enforcement=false only means "Tempest may upload random data in the
# listed formats"). VMDK/OVA/ISO/qcow2 checks are covered by vistack's own tests.
# Import is glance-direct + copy-image; an image's stores are listed by weight, highest first.
IMAGE_OPTIONS: dict[str, str] = {
    "container_formats": "bare",
    "disk_formats": "raw",
    "build_timeout": "120",
    "build_interval": "1",
    # No image is fetched from a URL (web-download and the legacy tasks API are refused).
    "http_image": "",
    "http_qcow2_image": "",
}
IMAGE_FEATURES: dict[str, str] = {
    "api_v2": "true",
    "import_image": "true",
    "os_glance_reserved": "true",
    "manage_locations": "false",  # locations are vistack's own; no http store
    "image_conversion": "false",  # conversion happens, but to VMDK, not Tempest's qcow2/raw
    "image_format_enforcement": "false",
    "do_secure_hash": "true",
    "http_store_enabled": "false",
    "store_weight_enabled": "true",
}

# [network] and [network-feature-enabled] (api_extensions comes from the cloud itself).
# Tenant subnets are carved from these; the external network for routers and floating IPs is
# the admin-made `public` network the harness finds or creates (as devstack does).
NETWORK_OPTIONS: dict[str, str] = {
    "project_network_cidr": "10.100.0.0/16",
    "project_network_mask_bits": "28",
    "project_network_v6_cidr": "2001:db8::/48",
    "project_network_v6_mask_bits": "64",
    "build_timeout": "60",
    "build_interval": "1",
}
NETWORK_FEATURES: dict[str, str] = {
    "ipv6": "true",
    "ipv6_subnet_attributes": "false",  # no SLAAC / DHCPv6 address modes
    "port_admin_state_change": "true",
    "port_security": "true",
    "floating_ips": "true",
}
PUBLIC_NETWORK = "public"
PUBLIC_SUBNET = {"cidr": "172.24.4.0/24", "gateway_ip": "172.24.4.1", "ip_version": 4,
                 "allocation_pools": [{"start": "172.24.4.10", "end": "172.24.4.250"}]}  # fmt: skip

# Further settings of the private cloud: the embedded vCenter's two datastores are image stores
# with different weights (so StoreWeightTest has something to check).
PRIVATE_CLOUD_ENV: dict[str, str] = {"VISTACK_IMAGE_DATASTORES": "LocalDS_0:100,LocalDS_1:50"}

# [security_compliance] of the private cloud this script starts, and the [identity] options
# that tell Tempest about them: short lockout so the lockout test waits seconds, not minutes.
PRIVATE_CLOUD_COMPLIANCE: dict[str, tuple[str, str]] = {
    # vistack option: (value, tempest [identity] option)
    "lockout_failure_attempts": ("2", "user_lockout_failure_attempts"),
    "lockout_duration": ("5", "user_lockout_duration"),
    "unique_last_password_count": ("2", "user_unique_last_password_count"),
}

# Keystone API extensions vistack implements ([identity-feature-enabled] api_extensions).
# Tempest skips tests of OS-INHERIT and OS-EC2 unless they are listed here.
IDENTITY_EXTENSIONS: tuple[str, ...] = ("OS-INHERIT", "OS-EC2")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[run_tempest] {message}", flush=True)


def rel(path: Path) -> str:
    """Path relative to the repo when it is inside it, for friendlier messages."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock, so two runs never build the same venv at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def strip_attrs(test_id: str) -> str:
    """`tempest.api.x.Class.test_y[id-...,smoke]` -> `tempest.api.x.Class.test_y`."""
    return test_id.split("[", 1)[0]


# ---------------------------------------------------------------------------------------------
# 1. The Tempest venv
# ---------------------------------------------------------------------------------------------


def _pin_fingerprint() -> str:
    text = TEMPEST_VERSION + "\n" + CONSTRAINTS_FILE.read_text()
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_tempest_venv(venv: Path) -> Path:
    """Create or update `venv` so it holds the pinned Tempest; return its python."""
    python = venv / "bin" / "python"
    marker = venv / ".vistack-tempest-pin"
    wanted = _pin_fingerprint()
    venv.mkdir(parents=True, exist_ok=True)  # the lock lives inside (already git-ignored)
    with file_lock(venv / ".vistack-install.lock"):
        if python.exists() and marker.exists() and marker.read_text().strip() == wanted:
            return python
        if not python.exists():
            log(f"creating {rel(venv)} (one-time)")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        log(f"installing tempest=={TEMPEST_VERSION} into {rel(venv)} (one-time, ~1 min)")
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
        try:
            subprocess.run(
                [*pip, "-c", str(CONSTRAINTS_FILE), f"tempest=={TEMPEST_VERSION}"], check=True
            )
        except subprocess.CalledProcessError as exc:
            raise HarnessError(f"pip could not install tempest into {venv}: {exc}") from exc
        marker.write_text(wanted + "\n")
    return python


# ---------------------------------------------------------------------------------------------
# 2. The cloud
# ---------------------------------------------------------------------------------------------


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


def keystone_probe(creds: CloudCreds, timeout: float = 30.0) -> KeystoneInfo:
    """Authenticate as the admin user; return what the token tells about the cloud."""
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
        public = ensure_public_network(network_url(catalog) or "", token_id, timeout)
    return KeystoneInfo(types, domain_id, regions, extensions, public)


def network_url(catalog: list[dict[str, Any]]) -> str | None:
    """The public Neutron endpoint of the catalog, without a trailing slash."""
    urls = [
        str(ep.get("url")).rstrip("/")
        for entry in catalog
        if entry.get("type") == "network"
        for ep in entry.get("endpoints") or []
        if ep.get("interface") == "public" and ep.get("url")
    ]
    return urls[0] if urls else None


def _neutron(url: str, token_id: str, timeout: float, body: Any = None) -> Any:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "X-Auth-Token": token_id,
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise HarnessError(f"{request.method} {url} failed: {exc.code} {detail}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HarnessError(f"{request.method} {url} failed: {exc}") from exc


def ensure_public_network(base: str, token_id: str, timeout: float) -> str:
    """The id of the admin's external network `public`, made (with its subnet) if missing.

    Tempest's router and floating IP tests need `[network] public_network_id`; a devstack cloud
    has such a network from its installer, a fresh vistack does not."""
    query = f"{base}/v2.0/networks?name={PUBLIC_NETWORK}&router:external=true"
    found = _neutron(query, token_id, timeout).get("networks") or []
    if found:
        return str(found[0]["id"])
    network = _neutron(
        f"{base}/v2.0/networks",
        token_id,
        timeout,
        {"network": {"name": PUBLIC_NETWORK, "router:external": True}},
    )["network"]
    subnet = {**PUBLIC_SUBNET, "network_id": network["id"], "name": f"{PUBLIC_NETWORK}-subnet"}
    _neutron(f"{base}/v2.0/subnets", token_id, timeout, {"subnet": subnet})
    log(f"created external network {PUBLIC_NETWORK} ({network['id']}, {PUBLIC_SUBNET['cidr']})")
    return str(network["id"])


def network_extensions(
    catalog: list[dict[str, Any]], token_id: str, timeout: float
) -> tuple[str, ...] | None:
    """The extension aliases the cloud's Neutron really lists. Tempest decides which network
    tests to run from `[network-feature-enabled] api_extensions` (default: all), so the list
    must come from the cloud, not from a table here."""
    base = network_url(catalog)
    if base is None:
        return None
    request = urllib.request.Request(
        base + "/v2.0/extensions",
        headers={"X-Auth-Token": token_id, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            listed = json.load(response).get("extensions") or []
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HarnessError(f"listing network extensions at {base} failed: {exc}") from exc
    return tuple(sorted(str(e.get("alias")) for e in listed if e.get("alias")))


# ---------------------------------------------------------------------------------------------
# 3. Workspace and tempest.conf
# ---------------------------------------------------------------------------------------------


def tempest_package_dir(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import os, tempest; print(os.path.dirname(tempest.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(out)


def prepare_workspace(work: Path, python: Path) -> None:
    tempest_pkg = tempest_package_dir(python)
    for sub in ("etc", "logs", "tempest_lock"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    # Same content `tempest init` writes; group_regex keeps a test class on one worker.
    (work / ".stestr.conf").write_text(
        "[DEFAULT]\n"
        f"test_path={tempest_pkg / 'test_discover'}\n"
        f"top_dir={tempest_pkg}\n"
        "group_regex=([^\\.]*\\.)*\n"
    )
    if not (work / ".stestr").is_dir():
        subprocess.run(
            [str(python.parent / "stestr"), "init"], cwd=work, check=True, capture_output=True
        )


def build_tempest_conf(
    work: Path,
    creds: CloudCreds,
    info: KeystoneInfo,
    overrides: Sequence[tuple[str, str, str]],
    private_cloud: bool = False,
) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str  # type: ignore[assignment,method-assign]
    region = creds.region or ("RegionOne" if "RegionOne" in info.regions else None)
    if region is None and info.regions:
        region = sorted(info.regions)[0]
    conf["DEFAULT"] = {
        "log_dir": str(work / "logs"),
        "log_file": "tempest.log",
        "debug": "true",
    }
    conf["oslo_concurrency"] = {"lock_path": str(work / "tempest_lock")}
    conf["auth"] = {
        "use_dynamic_credentials": "true",
        "create_isolated_networks": "false",
        "admin_username": creds.username,
        "admin_password": creds.password,
        "admin_project_name": creds.project_name,
        "admin_domain_name": creds.user_domain_name,
        "admin_user_domain_name": creds.user_domain_name,
        "admin_project_domain_name": creds.project_domain_name,
        "default_credentials_domain_name": creds.user_domain_name,
    }
    conf["identity"] = {
        "uri_v3": creds.uri_v3,
        "auth_version": "v3",
        "region": region or "RegionOne",
        "v3_endpoint_type": "public",
        "admin_role": "admin",
        "default_domain_id": (
            info.user_domain_id
            if info.user_domain_id and creds.user_domain_name == "Default"
            else "default"
        ),
    }
    features = dict(IDENTITY_FEATURES)
    features["api_extensions"] = ",".join(IDENTITY_EXTENSIONS)
    if private_cloud:
        features["security_compliance"] = "true"
        for value, tempest_option in PRIVATE_CLOUD_COMPLIANCE.values():
            conf["identity"][tempest_option] = value
    conf["identity-feature-enabled"] = features
    available: dict[str, str] = {}
    for service in SERVICES:
        if service.available_option is not None:
            on = bool(info.catalog_types & set(service.catalog_types))
            available[service.available_option] = "true" if on else "false"
    for option in ALWAYS_UNAVAILABLE:
        available[option] = "false"
    conf["service_available"] = available
    conf["image"] = {**IMAGE_OPTIONS, "region": region or "RegionOne"}
    conf["image-feature-enabled"] = dict(IMAGE_FEATURES)
    if info.network_extensions is not None:
        conf["network-feature-enabled"] = {
            **NETWORK_FEATURES,
            "api_extensions": ",".join(info.network_extensions) or "None",
        }
        if not info.public_network_id:
            conf["network-feature-enabled"]["floating_ips"] = "false"
        conf["network"] = dict(NETWORK_OPTIONS)
        if info.public_network_id:
            conf["network"]["public_network_id"] = info.public_network_id
            conf["network"]["floating_network_name"] = PUBLIC_NETWORK
    conf["enforce_scope"] = {"keystone": "false", "glance": "false"}
    conf["service-clients"] = {"http_timeout": "60"}
    for section, option, value in overrides:
        if section != "DEFAULT" and not conf.has_section(section):
            conf.add_section(section)
        conf[section][option] = value
    return conf


def write_conf(conf: configparser.ConfigParser, path: Path) -> None:
    with path.open("w") as handle:
        handle.write("# Written by tools/tempest/run_tempest.py; regenerated on every run.\n")
        conf.write(handle)
    path.chmod(0o600)  # holds the admin password


def parse_override(spec: str) -> tuple[str, str, str]:
    """`SECTION.OPTION=VALUE` -> (section, option, value)."""
    key, sep, value = spec.partition("=")
    section, dot, option = key.partition(".")
    if not sep or not dot or not section or not option:
        raise argparse.ArgumentTypeError(f"expected SECTION.OPTION=VALUE, got {spec!r}")
    return section, option, value


# ---------------------------------------------------------------------------------------------
# 4. Selection, exclusion, running
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExcludeRule:
    pattern: re.Pattern[str]
    reason: str
    source: str


def load_exclude_rules(services: Sequence[Service]) -> list[ExcludeRule]:
    """Rules from tools/tempest/exclude-<service>.txt, parsed the way stestr parses them."""
    rules: list[ExcludeRule] = []
    for service in services:
        path = TOOLS_DIR / f"exclude-{service.name}.txt"
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            regex, _, comment = line.strip().partition("#")
            regex = regex.strip()
            if not regex:
                continue
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                raise HarnessError(f"{path}:{number}: bad regex {regex!r}: {exc}") from exc
            reason = comment.strip() or f"excluded by {regex}"
            rules.append(ExcludeRule(pattern, reason, f"{path.name}:{number}"))
    return rules


def write_exclude_file(rules: Sequence[ExcludeRule], path: Path) -> None:
    lines = [f"{rule.pattern.pattern}  # {rule.reason}" for rule in rules]
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def build_regex(services: Sequence[Service], smoke: bool) -> str:
    packages = "|".join(re.escape(s.api_package) for s in services)
    regex = rf"^tempest\.api\.({packages})\."
    scenarios = "|".join(re.escape(m) for s in services for m in s.scenarios)
    if scenarios:
        regex = rf"^tempest\.(api\.({packages})|scenario\.({scenarios}))\."
    if smoke:
        regex += r".*\[.*\bsmoke\b.*\]"
    return regex


def tempest_env(work: Path, test_timeout: int) -> dict[str, str]:
    env = dict(os.environ)
    env["TEMPEST_CONFIG_DIR"] = str(work / "etc")
    env["TEMPEST_CONFIG"] = "tempest.conf"
    env["OS_TEST_TIMEOUT"] = str(test_timeout)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def list_tests(tempest: Path, work: Path, regex: str, env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        [str(tempest), "run", "--config-file", str(work / "etc" / "tempest.conf"),
         "--list-tests", "--regex", regex],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise HarnessError(f"tempest --list-tests failed:\n{proc.stdout}\n{proc.stderr}")
    return sorted(line.strip() for line in proc.stdout.splitlines() if line.startswith("tempest."))


def next_stream_id(work: Path) -> int:
    try:
        return int((work / ".stestr" / "next-stream").read_text().strip())
    except (OSError, ValueError):
        return 0


def last_run_subunit(stestr: Path, work: Path, env: dict[str, str]) -> bytes:
    """The latest run as a subunit v2 stream (stestr stores runs as v1 text on disk)."""
    proc = subprocess.run(
        [str(stestr), "last", "--subunit"], cwd=work, env=env, capture_output=True
    )
    if not proc.stdout:
        raise HarnessError(f"stestr last --subunit gave nothing: {proc.stderr.decode()[-2000:]}")
    return proc.stdout


def run_tempest(
    tempest: Path, work: Path, regex: str, exclude: Path, concurrency: int, env: dict[str, str]
) -> int:
    command = [
        str(tempest), "run",
        "--config-file", str(work / "etc" / "tempest.conf"),
        "--regex", regex,
        "--exclude-list", str(exclude),
        "--concurrency", str(concurrency),
    ]  # fmt: skip
    log("running: " + " ".join(command))
    proc = subprocess.Popen(command, cwd=work, env=env, start_new_session=True)
    try:
        return proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        raise


# ---------------------------------------------------------------------------------------------
# 5. Results: a subunit v2 reader and the summary
# ---------------------------------------------------------------------------------------------

_SUBUNIT_SIGNATURE = 0xB3
_FLAG_TEST_ID = 0x0800
_FLAG_ROUTE_CODE = 0x0400
_FLAG_TIMESTAMP = 0x0200
_FLAG_TAGS = 0x0080
_FLAG_FILE_CONTENT = 0x0040
_FLAG_MIME_TYPE = 0x0020
_STATUSES = ("", "exists", "inprogress", "success", "uxsuccess", "skip", "fail", "xfail")


@dataclasses.dataclass
class TestEvents:
    """Everything the subunit stream said about one test id."""

    status: str = ""
    tags: set[str] = dataclasses.field(default_factory=set)
    files: dict[str, bytearray] = dataclasses.field(default_factory=dict)

    def text(self, prefix: str) -> str:
        parts = [
            bytes(v).decode(errors="replace") for k, v in self.files.items() if k.startswith(prefix)
        ]
        return "\n".join(parts)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    first = buf[pos]
    kind, value = first & 0xC0, first & 0x3F
    if kind == 0x00:
        return value, 1
    if kind == 0x40:
        return (value << 8) | buf[pos + 1], 2
    if kind == 0x80:
        return (value << 16) | int.from_bytes(buf[pos + 1 : pos + 3], "big"), 3
    return (value << 24) | int.from_bytes(buf[pos + 1 : pos + 4], "big"), 4


def _utf8(buf: bytes, pos: int) -> tuple[str, int]:
    length, used = _varint(buf, pos)
    start = pos + used
    return buf[start : start + length].decode("utf-8", errors="replace"), start + length


def parse_subunit_v2(data: bytes) -> dict[str, TestEvents]:
    """Fold a subunit v2 byte stream (as stestr stores it) into per-test events.

    Packet layout (python-subunit's v2.py): 0xB3, 16-bit flags, varint total length, then
    optional timestamp, test id, tags, mime type, file content, route code, CRC32. Bytes
    outside packets (stray stdout) are skipped; a packet with a bad CRC is dropped.
    """
    tests: dict[str, TestEvents] = {}
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] != _SUBUNIT_SIGNATURE or pos + 4 > end:
            pos += 1
            continue
        flags = struct.unpack_from(">H", data, pos + 1)[0]
        length, used = _varint(data, pos + 3)
        if flags >> 12 != 2 or length < 8 or pos + length > end:
            pos += 1
            continue
        packet = data[pos : pos + length]
        if zlib.crc32(packet[:-4]) & 0xFFFFFFFF != struct.unpack(">I", packet[-4:])[0]:
            pos += 1
            continue
        body = packet[: len(packet) - 4]
        cur = 3 + used
        pos += length
        if flags & _FLAG_TIMESTAMP:
            cur += 4 + _varint(body, cur + 4)[1]
        test_id = None
        if flags & _FLAG_TEST_ID:
            test_id, cur = _utf8(body, cur)
        tags: set[str] = set()
        if flags & _FLAG_TAGS:
            count, used_tags = _varint(body, cur)
            cur += used_tags
            for _ in range(count):
                tag, cur = _utf8(body, cur)
                tags.add(tag)
        if flags & _FLAG_MIME_TYPE:
            _, cur = _utf8(body, cur)
        file_name, file_bytes = None, b""
        if flags & _FLAG_FILE_CONTENT:
            file_name, cur = _utf8(body, cur)
            size, used_size = _varint(body, cur)
            cur += used_size
            file_bytes = body[cur : cur + size]
        if test_id is None:
            continue  # stream-level packet (e.g. global attachments)
        events = tests.setdefault(test_id, TestEvents())
        events.tags |= tags
        status = _STATUSES[flags & 0x0007]
        if status and not (status == "exists" and events.status):
            events.status = status
        if file_name is not None:
            events.files.setdefault(file_name, bytearray()).extend(file_bytes)
    return tests


_CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass) \((?P<cls>[\w.]+)\)$")


def one_line_cause(traceback_text: str, limit: int = 300) -> str:
    """The exception line(s) at the bottom of a traceback, folded into one short line."""
    lines = [line.rstrip() for line in traceback_text.splitlines()]
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=-1)
    tail = lines[last_frame + 1 :] if last_frame >= 0 else lines
    # Skip the source line(s) shown under the last frame (indented), keep the exception text.
    start = next((i for i, line in enumerate(tail) if line and not line.startswith(" ")), None)
    if start is None:
        text = " | ".join(line.strip() for line in lines if line.strip())[-limit:]
    else:
        text = " | ".join(line.strip() for line in tail[start:] if line.strip())
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"<bound method (\S+) of <[^>]*>>", r"\1()", text)  # assertRaises mismatches
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclasses.dataclass
class TestOutcome:
    test_id: str
    service: str
    status: str  # passed | failed | skipped | excluded
    reason: str = ""


def service_of(test_id: str) -> str:
    match = re.match(
        r"^(?:(?:setUpClass|tearDownClass) \()?tempest\.(api|scenario)\.(\w+)", test_id
    )
    if not match:
        return "other"
    if match.group(1) == "scenario":
        owner = SERVICE_BY_SCENARIO.get(match.group(2))
        return owner.name if owner else "scenario"
    service = SERVICE_BY_PACKAGE.get(match.group(2))
    return service.name if service else match.group(2)


def summarise(
    listed: Sequence[str], rules: Sequence[ExcludeRule], events: dict[str, TestEvents]
) -> list[TestOutcome]:
    """One outcome per listed test, plus class-fixture failures that hit no listed test."""
    outcomes: dict[str, TestOutcome] = {}
    selected: list[str] = []
    for test_id in listed:
        rule = next((r for r in rules if r.pattern.search(test_id)), None)
        if rule is not None:
            outcomes[test_id] = TestOutcome(test_id, service_of(test_id), "excluded", rule.reason)
        else:
            selected.append(test_id)

    extra: list[TestOutcome] = []
    class_level: list[tuple[str, str, TestEvents]] = []
    for test_id, ev in events.items():
        fixture = _CLASS_FIXTURE.match(test_id)
        if fixture:
            class_level.append((fixture.group(1), fixture.group("cls"), ev))
            continue
        if test_id in outcomes and outcomes[test_id].status == "excluded":
            continue
        outcomes[test_id] = _outcome_from_events(test_id, ev)

    for kind, cls, ev in class_level:
        members = [t for t in selected if strip_attrs(t).rsplit(".", 1)[0] == cls]
        fixture_outcome = _outcome_from_events(f"{kind} ({cls})", ev)
        if kind == "setUpClass" and fixture_outcome.status in ("skipped", "failed"):
            for member in members:
                if member not in outcomes:
                    outcomes[member] = TestOutcome(
                        member, service_of(member), fixture_outcome.status,
                        fixture_outcome.reason
                        if fixture_outcome.status == "skipped"
                        else f"{kind}: {fixture_outcome.reason}",
                    )  # fmt: skip
            if not members and fixture_outcome.status == "failed":
                extra.append(fixture_outcome)
        elif fixture_outcome.status == "failed":
            extra.append(fixture_outcome)  # tearDownClass errors are real failures too

    for test_id in selected:
        if test_id not in outcomes:
            outcomes[test_id] = TestOutcome(
                test_id, service_of(test_id), "failed",
                "no result recorded (worker crashed, run interrupted or test not loaded)",
            )  # fmt: skip
    return sorted(outcomes.values(), key=lambda o: o.test_id) + extra


def _outcome_from_events(test_id: str, ev: TestEvents) -> TestOutcome:
    service = service_of(test_id)
    if ev.status in ("success", "xfail"):
        return TestOutcome(test_id, service, "passed")
    if ev.status == "skip":
        reason = ev.text("reason").strip() or one_line_cause(ev.text("traceback"))
        return TestOutcome(test_id, service, "skipped", re.sub(r"\s+", " ", reason))
    if ev.status in ("fail", "uxsuccess"):
        cause = one_line_cause(ev.text("traceback")) or ev.status
        return TestOutcome(test_id, service, "failed", cause)
    return TestOutcome(test_id, service, "failed", f"incomplete (last status {ev.status!r})")


def counts_by_service(
    outcomes: Sequence[TestOutcome], services: Sequence[Service]
) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {
        s.name: {"passed": 0, "failed": 0, "skipped": 0, "excluded": 0} for s in services
    }
    for outcome in outcomes:
        row = table.setdefault(
            outcome.service, {"passed": 0, "failed": 0, "skipped": 0, "excluded": 0}
        )
        row[outcome.status] += 1
    return table


def print_report(table: dict[str, dict[str, int]], outcomes: Sequence[TestOutcome]) -> None:
    columns = ("passed", "failed", "skipped", "excluded")
    width = max([len("service"), len("total"), *(len(name) for name in table)])
    header = f"{'service':<{width}} | " + " | ".join(f"{c:>8}" for c in columns)
    rule = "-" * len(header)
    print("\n" + rule)
    print(header)
    print(rule)
    totals = dict.fromkeys(columns, 0)
    for name, row in table.items():
        print(f"{name:<{width}} | " + " | ".join(f"{row[c]:>8}" for c in columns))
        for c in columns:
            totals[c] += row[c]
    print(rule)
    print(f"{'total':<{width}} | " + " | ".join(f"{totals[c]:>8}" for c in columns))
    print(rule)

    for status, title in (("excluded", "Excluded"), ("skipped", "Skipped")):
        reasons: dict[str, int] = {}
        for outcome in outcomes:
            if outcome.status == status:
                reasons[outcome.reason] = reasons.get(outcome.reason, 0) + 1
        if reasons:
            print(f"\n{title} ({sum(reasons.values())}), by reason:")
            for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
                print(f"  {count:>4}  {reason}")

    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"\nFailed tests ({len(failed)}):")
        for outcome in failed:
            print(f"  {strip_attrs(outcome.test_id)}\n      -> {outcome.reason}")
    print(
        f"\nTempest: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped, {totals['excluded']} excluded",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run Tempest against vistack (see docs/tempest.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--cloud-dir",
        type=Path,
        default=None,
        help="use the running cloud whose clouds.yaml is in DIR "
        "(default: start a private `vistack up`)",
    )
    parser.add_argument("--cloud", default=DEFAULT_CLOUD, help="cloud name in clouds.yaml")
    parser.add_argument(
        "--services",
        default="identity,image,network",
        help="comma-separated services whose tempest.api tests run: " + ",".join(SERVICE_BY_NAME),
    )
    parser.add_argument("--smoke", action="store_true", help="only smoke-tagged tests")
    parser.add_argument(
        "--regex", default=None, help="test selection regex (overrides --services/--smoke)"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="stestr workers")
    parser.add_argument(
        "--test-timeout",
        type=int,
        default=300,
        help="per-test timeout in seconds (OS_TEST_TIMEOUT)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=180.0,
        help="seconds to wait for `vistack up` to be ready",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=parse_override,
        default=[],
        metavar="SECTION.OPTION=VALUE",
        help="override a tempest.conf option (repeatable)",
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="Tempest venv")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help="Tempest workspace (config, logs, stestr repository)",
    )
    parser.add_argument(
        "--summary-json",
        type=Path,
        default=None,
        help="also write the summary as JSON to this path",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the private cloud's data dir after the run"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="only list the selected tests with their fate, run nothing",
    )
    parser.add_argument(
        "--install-only", action="store_true", help="only make sure .tempest-venv is ready"
    )
    return parser.parse_args(argv)


def _raise_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        return _main(args)
    except HarnessError as exc:
        print(f"[run_tempest] ERROR: {exc}", file=sys.stderr, flush=True)
        return 2


def list_only(
    python: Path, work: Path, regex: str, rules: Sequence[ExcludeRule], args: argparse.Namespace
) -> int:
    """List the selection with each test's fate; needs no cloud (a placeholder config)."""
    placeholder = CloudCreds("http://127.0.0.1:1/identity", "admin", "x", "admin",
                             "Default", "Default", "RegionOne")  # fmt: skip
    info = KeystoneInfo(frozenset({"identity"}), "default", frozenset({"RegionOne"}))
    write_conf(
        build_tempest_conf(work, placeholder, info, args.overrides), work / "etc" / "tempest.conf"
    )
    listed = list_tests(python.parent / "tempest", work, regex, tempest_env(work, 0))
    excluded = 0
    for outcome in summarise(listed, rules, {}):
        if outcome.status == "excluded":
            excluded += 1
            fate = "excluded: " + outcome.reason
        else:
            fate = "selected"
        print(f"{strip_attrs(outcome.test_id)}  [{fate}]")
    print(
        f"{len(listed)} tests match {regex!r}: "
        f"{len(listed) - excluded} selected, {excluded} excluded"
    )
    return 0


def _main(args: argparse.Namespace) -> int:
    try:
        services = [SERVICE_BY_NAME[name.strip()] for name in args.services.split(",") if name]
    except KeyError as exc:
        raise HarnessError(f"unknown service {exc}; known: {', '.join(SERVICE_BY_NAME)}") from exc
    python = ensure_tempest_venv(args.venv.resolve())
    tempest = python.parent / "tempest"
    if args.install_only:
        log(f"{rel(args.venv.resolve())} ready with tempest {TEMPEST_VERSION}")
        return 0

    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    prepare_workspace(work, python)
    rules = load_exclude_rules(services)
    exclude_file = work / "exclude-list.txt"
    write_exclude_file(rules, exclude_file)
    regex = args.regex or build_regex(services, args.smoke)

    if args.list:
        return list_only(python, work, regex, rules, args)

    server: VistackServer | None = None
    data_dir: Path | None = None
    try:
        if args.cloud_dir is not None:
            cloud_dir = args.cloud_dir.resolve()
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="vistack-tempest-"))
            cloud_dir = data_dir
            bind = f"127.0.0.1:{free_port()}"
            server = VistackServer(
                [*vistack_command(), "up", "--data-dir", str(data_dir), "--bind", bind],
                work / "logs" / "vistack.log",
            )
            server.start()
            server.wait_ready(args.start_timeout, data_dir / "clouds.yaml")

        creds = load_clouds_yaml(cloud_dir / "clouds.yaml", args.cloud, python)
        info = keystone_probe(creds)
        log(f"cloud {creds.uri_v3}: catalog types {sorted(info.catalog_types) or '(none)'}")
        missing = [s.name for s in services if not info.catalog_types & set(s.catalog_types)]
        if missing:
            log(f"warning: selected services not in the catalog: {', '.join(missing)}")
        conf = build_tempest_conf(
            work, creds, info, args.overrides, private_cloud=server is not None
        )
        write_conf(conf, work / "etc" / "tempest.conf")

        env = tempest_env(work, args.test_timeout)
        listed = list_tests(tempest, work, regex, env)
        if not listed:
            raise HarnessError(f"no Tempest test matches {regex!r}")

        stream_id = next_stream_id(work)
        started = time.monotonic()
        return_code = run_tempest(tempest, work, regex, exclude_file, args.concurrency, env)
        elapsed = time.monotonic() - started
        stream = work / ".stestr" / str(stream_id)
        if not stream.is_file():
            if all(any(r.pattern.search(t) for r in rules) for t in listed):
                events: dict[str, TestEvents] = {}
            else:
                raise HarnessError(
                    f"tempest run exited {return_code} and recorded no results ({stream})"
                )
        else:
            events = parse_subunit_v2(last_run_subunit(python.parent / "stestr", work, env))
    finally:
        if server is not None:
            server.stop()
        if data_dir is not None:
            # Edge mode leaves routers and DHCP servers running on purpose; the private
            # cloud's must not outlive it.
            subprocess.run(
                [*vistack_command(), "edge", "teardown", "--data-dir", str(data_dir)],
                capture_output=True,
                check=False,
            )
        if data_dir is not None and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)

    outcomes = summarise(listed, rules, events)
    table = counts_by_service(outcomes, services)
    print_report(table, outcomes)
    log(f"tempest finished in {elapsed:.0f}s (exit {return_code}); logs in {rel(work / 'logs')}")
    failed = [o for o in outcomes if o.status == "failed"]
    exit_code = 1 if failed else 0
    summary = {
        "tempest_version": TEMPEST_VERSION,
        "cloud": creds.uri_v3,
        "regex": regex,
        "exclude_list": str(exclude_file),
        "elapsed_seconds": round(elapsed, 1),
        "tempest_exit_code": return_code,
        "exit_code": exit_code,
        "services": table,
        "failed": {o.test_id: o.reason for o in failed},
        "tests": [dataclasses.asdict(o) for o in outcomes],
    }
    (work / "last-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.summary_json is not None:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
