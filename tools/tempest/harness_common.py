"""Shared pieces of the Tempest harness: paths, constants, errors and small helpers.

The harness is tools/tempest/run_tempest.py; these modules sit next to it and are imported as
top-level modules (the script's directory is on sys.path), so they stay stdlib-only too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
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


@dataclasses.dataclass(frozen=True)
class ExcludeRule:
    pattern: re.Pattern[str]
    reason: str
    source: str


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


def api_call(
    url: str,
    token_id: str,
    timeout: float,
    body: Any = None,
    *,
    method: str | None = None,
    data: bytes | None = None,
) -> Any:
    """One OpenStack API call as the admin: JSON in (`body`) or raw bytes (`data`), the decoded
    JSON answer out (None for an empty one). Any failure is a HarnessError naming the call."""
    if data is None and body is not None:
        data = json.dumps(body).encode()
    content_type = "application/octet-stream" if body is None and data else "application/json"
    request = urllib.request.Request(
        url,
        data=data,
        headers={"X-Auth-Token": token_id, "Accept": "application/json",
                 "Content-Type": content_type},
        method=method or ("GET" if data is None else "POST"),
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise HarnessError(f"{request.method} {url} failed: {exc.code} {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise HarnessError(f"{request.method} {url} failed: {exc}") from exc
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise HarnessError(f"{request.method} {url} answered no JSON: {raw[:200]!r}") from exc


def service_url(catalog: list[dict[str, Any]], service_type: str) -> str | None:
    """The public endpoint of `service_type` in the catalog, without a trailing slash."""
    urls = [
        str(ep.get("url")).rstrip("/")
        for entry in catalog
        if entry.get("type") == service_type
        for ep in entry.get("endpoints") or []
        if ep.get("interface") == "public" and ep.get("url")
    ]
    return urls[0] if urls else None
