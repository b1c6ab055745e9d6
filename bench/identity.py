"""Throughput and latency of vistack's Keystone v3 on the three calls a cloud makes most.

Why these three operations:

* **token issue** (`POST /v3/auth/tokens`, password, project scope) is what every client does
  once per session. Its cost is dominated by bcrypt at cost 12 *on purpose* (Keystone's default
  and the production floor), so the figure checks two things: that we add little around the
  hash, and that hashing runs off the event loop, so the other requests keep flowing.
* **token validate** (`GET /v3/auth/tokens` with X-Subject-Token) is the hot path: every other
  OpenStack service (keystonemiddleware) validates the caller's token, so identity capacity is
  mostly validation capacity. The same subject token is validated over and over, as a service
  behind a busy user does; this is the cached path.
* **project list** (`GET /v3/projects` as admin) is a representative database-backed read with
  policy enforcement and JSON rendering of a realistic collection (~50 projects are created
  first), as Horizon and the CLI do all the time.

Each runs at concurrency 1 (latency of a lone request, nothing queued) and 16 (throughput under
saturation, the setting of the upstream reference) for a fixed duration after a short warm-up.
Only the requests that *complete* inside the measured window are counted, so the rate is exact
and the warm-up and drain do not blur it.

Why the load generator looks like this: the reference machine has 2 cores, and a conventional
client (requests, httpx) would spend as much CPU as the server, so we would measure the client.
Here each concurrent worker owns one keep-alive HTTP/1.1 connection (`asyncio.open_connection`),
sends pre-built request bytes and reads the response by Content-Length; the client runs in its
own process (the server is a subprocess) and its CPU use is printed next to the server's, so a
reader can see the CPU went to the server. The CPU used by everything else on the machine is
printed too: on a shared 2-core machine a busy neighbour halves the figures, and this column is
how to tell. Every status is checked (201 for issue, 200 otherwise) and failures are counted.

The server is started with its real settings (bcrypt cost 12: no VISTACK_* variable from the
caller's environment is passed on unless given with `--server-env`) and with the access log off,
so per-request logging I/O does not dominate (`--keep-access-log` measures with it on).
`--url`/`--clouds-yaml` bench an already-running cloud instead.

Upstream reference (Keystone under uwsgi, 2 processes, same machine, concurrency 16): about
6 issues/s, 210 validations/s and 85 project lists/s; the table prints ours/upstream.

Run: `.venv/bin/python bench/identity.py [--duration 10] [--json results.json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from vistack_process import (
    BenchError,
    free_port,
    log,
    stop,
    vistack_command,
    wait_ready,
)

ADMIN_CLOUD = "vistack-admin"
DEMO_CLOUD = "vistack-demo"
PROJECT_PREFIX = "bench-project-"
OPERATIONS = ("issue", "validate", "list")
#: Upstream Keystone (uwsgi, 2 processes, same 2-core machine), requests/s at concurrency 16.
UPSTREAM_RPS = {"issue": 6.0, "validate": 210.0, "list": 85.0}
REFERENCE_CONCURRENCY = 16
LABELS = {
    "issue": "token issue (password)",
    "validate": "token validate",
    "list": "project list",
}
MAX_ERROR_SAMPLES = 5


# --------------------------------------------------------------------------------------------
# Minimal HTTP/1.1 keep-alive client


@dataclass(frozen=True)
class Target:
    """Where the identity v3 API lives: `http://host:port<prefix>` with prefix ending in /v3."""

    host: str
    port: int
    prefix: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise BenchError(f"only plain http:// URLs are supported, got {url!r}")
        prefix = parts.path.rstrip("/")
        if not prefix.endswith("/v3"):
            prefix += "/v3"
        return cls(parts.hostname, parts.port or 80, prefix)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.prefix}"


@dataclass(frozen=True)
class Response:
    status: int
    head: bytes
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("ascii") + b":"
        for line in self.head.split(b"\r\n")[1:]:
            if line.lower().startswith(wanted):
                return line[len(wanted) :].strip().decode("latin-1")
        return None

    def json(self) -> Any:
        return json.loads(self.body)


def build_request(
    target: Target,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> bytes:
    """The complete request bytes, built once and re-sent as is by the workers."""
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [
        f"{method} {target.prefix}{path} HTTP/1.1",
        f"Host: {target.host}:{target.port}",
        "User-Agent: vistack-bench",
        "Accept: application/json",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None or method in {"POST", "PUT", "PATCH"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class ProtocolError(Exception):
    """The response could not be framed (no Content-Length, malformed status line)."""


class Connection:
    """One keep-alive connection; reconnects lazily after an error or `Connection: close`."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self._target.host, self._target.port
            )

    async def send(self, request: bytes) -> Response:
        try:
            return await self._exchange(request)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, request: bytes) -> Response:
        await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or len(head) < 12:
            raise ProtocolError(f"bad status line: {head[:40]!r}")
        status = int(head[9:12])
        lowered = head.lower()
        start = lowered.find(b"\r\ncontent-length:")
        if start < 0:
            if status in (204, 304) or request.startswith(b"HEAD "):
                length = 0
            else:
                raise ProtocolError("response without Content-Length")
        else:
            start += len(b"\r\ncontent-length:")
            length = int(head[start : head.index(b"\r\n", start)])
        body = await self._reader.readexactly(length) if length else b""
        if b"\r\nconnection: close" in lowered:
            self.close()
        return Response(status, head, body)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


# --------------------------------------------------------------------------------------------
# The cloud under test


@dataclass
class Credentials:
    username: str
    password: str
    project_name: str
    user_domain_name: str
    project_domain_name: str

    @classmethod
    def from_clouds(cls, document: dict[str, Any], cloud: str) -> Credentials:
        try:
            auth = document["clouds"][cloud]["auth"]
            return cls(
                auth["username"],
                auth["password"],
                auth["project_name"],
                auth.get("user_domain_name", "Default"),
                auth.get("project_domain_name", "Default"),
            )
        except (KeyError, TypeError) as exc:
            raise BenchError(f"clouds.yaml has no usable cloud {cloud!r}: {exc}") from exc

    def auth_body(self) -> dict[str, Any]:
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.username,
                            "domain": {"name": self.user_domain_name},
                            "password": self.password,
                        }
                    },
                },
                "scope": {
                    "project": {
                        "name": self.project_name,
                        "domain": {"name": self.project_domain_name},
                    }
                },
            }
        }


@dataclass
class Cloud:
    target: Target
    admin: Credentials
    demo: Credentials
    pid: int | None
    started_here: bool


def server_environment(access_log: bool, extra: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The caller's environment without its VISTACK_* variables, plus ours and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISTACK_")}
    dropped = sorted(k for k in os.environ if k.startswith("VISTACK_"))
    env["VISTACK_SERVER_ACCESS_LOG"] = "true" if access_log else "false"
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("VISTACK_"):
            raise BenchError(f"--server-env expects VISTACK_NAME=VALUE, got {item!r}")
        env[name] = value
    return env, dropped


@contextlib.contextmanager
def local_cloud(args: argparse.Namespace) -> Iterator[Cloud]:
    """Start `vistack up` on a free port in a temporary directory; SIGTERM it on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="vistack-bench-"))
    data_dir = workdir / "data"
    stdout_path, stderr_path = workdir / "server.out", workdir / "server.err"
    env, dropped = server_environment(args.keep_access_log, args.server_env)
    if dropped:
        log(f"not passing caller's {', '.join(dropped)} to the server (real settings)")
    port = free_port()
    command = [*vistack_command(), "up", "--data-dir", str(data_dir), "--bind", f"127.0.0.1:{port}"]
    log(f"starting: {' '.join(command)}")
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
    try:
        url = wait_ready(process, stdout_path, stderr_path, args.start_timeout)
        log(f"server pid {process.pid} ready at {url}")
        document = yaml.safe_load((data_dir / "clouds.yaml").read_text())
        yield Cloud(
            Target.from_url(url),
            Credentials.from_clouds(document, ADMIN_CLOUD),
            Credentials.from_clouds(document, DEMO_CLOUD),
            process.pid,
            started_here=True,
        )
    finally:
        stop(process, stderr_path, timeout=20)
        if args.keep_data:
            log(f"kept server data and logs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def remote_cloud(args: argparse.Namespace) -> Iterator[Cloud]:
    path = Path(args.clouds_yaml)
    document = yaml.safe_load(path.read_text())
    admin = Credentials.from_clouds(document, ADMIN_CLOUD)
    url = args.url or document["clouds"][ADMIN_CLOUD]["auth"]["auth_url"]
    yield Cloud(
        Target.from_url(url),
        admin,
        Credentials.from_clouds(document, DEMO_CLOUD),
        args.server_pid,
        started_here=False,
    )


# --------------------------------------------------------------------------------------------
# Preparation: tokens and projects


@dataclass
class Prepared:
    admin_token: str
    demo_token: str
    projects_listed: int
    projects_created: list[str] = field(default_factory=list)


async def issue_token(conn: Connection, target: Target, credentials: Credentials) -> str:
    response = await conn.send(
        build_request(target, "POST", "/auth/tokens", body=credentials.auth_body())
    )
    token = response.header("X-Subject-Token")
    if response.status != 201 or not token:
        raise BenchError(
            f"token issue for {credentials.username!r} answered {response.status}: "
            f"{response.body[:300]!r}"
        )
    return token


async def list_projects(conn: Connection, target: Target, token: str) -> list[dict[str, Any]]:
    response = await conn.send(
        build_request(target, "GET", "/projects", headers={"X-Auth-Token": token})
    )
    if response.status != 200:
        raise BenchError(f"project list answered {response.status}: {response.body[:300]!r}")
    projects: list[dict[str, Any]] = response.json()["projects"]
    return projects


async def prepare(cloud: Cloud, count: int) -> Prepared:
    conn = Connection(cloud.target)
    try:
        admin_token = await issue_token(conn, cloud.target, cloud.admin)
        demo_token = await issue_token(conn, cloud.target, cloud.demo)
        created: list[str] = []
        tag = uuid.uuid4().hex[:8]
        for index in range(count):
            body = {
                "project": {
                    "name": f"{PROJECT_PREFIX}{tag}-{index:03d}",
                    "domain_id": "default",
                    "description": "created by bench/identity.py so the list is realistic",
                }
            }
            response = await conn.send(
                build_request(
                    cloud.target,
                    "POST",
                    "/projects",
                    headers={"X-Auth-Token": admin_token},
                    body=body,
                )
            )
            if response.status != 201:
                raise BenchError(
                    f"project create answered {response.status}: {response.body[:300]!r}"
                )
            created.append(response.json()["project"]["id"])
        listed = len(await list_projects(conn, cloud.target, admin_token))
        return Prepared(admin_token, demo_token, listed, created)
    finally:
        conn.close()


async def delete_projects(cloud: Cloud, token: str, project_ids: Sequence[str]) -> int:
    conn = Connection(cloud.target)
    failures = 0
    try:
        for project_id in project_ids:
            response = await conn.send(
                build_request(
                    cloud.target,
                    "DELETE",
                    f"/projects/{project_id}",
                    headers={"X-Auth-Token": token},
                )
            )
            failures += response.status != 204
    finally:
        conn.close()
    return failures


# --------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Result:
    operation: str
    concurrency: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    server_cpu_pct: float | None
    client_cpu_pct: float
    #: CPU used by everything else on the machine during the window: high means noisy figures.
    other_cpu_pct: float | None
    upstream_rps: float | None
    ratio: float | None
    error_samples: list[str] = field(default_factory=list)


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def server_cpu_seconds(pid: int | None) -> float | None:
    """user+system CPU of `pid` (all its threads) from /proc, or None if unavailable."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU seconds all CPUs spent not idle since boot (/proc/stat), or None if unavailable."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    # guest time is already counted in user/nice; steal is time we did not get.
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Window:
    """The measured window, shared by the workers of one run."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def record_error(self, finished: float, description: str) -> None:
        if self.start <= finished < self.end:
            self.errors += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES:
                self.error_samples.append(description)


async def worker(target: Target, request: bytes, expected: int, window: Window) -> None:
    conn = Connection(target)
    try:
        perf = time.perf_counter
        latencies = window.latencies
        start, end = window.start, window.end
        while (sent := perf()) < end:
            try:
                response = await conn.send(request)
            except (OSError, EOFError, asyncio.LimitOverrunError, ProtocolError, ValueError) as exc:
                window.record_error(perf(), f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)  # do not spin if the server went away
                continue
            finished = perf()
            if response.status != expected:
                window.record_error(finished, f"HTTP {response.status}: {response.body[:200]!r}")
            elif start <= finished < end:
                latencies.append(finished - sent)
    finally:
        conn.close()


async def measure(
    target: Target,
    operation: str,
    request: bytes,
    expected: int,
    concurrency: int,
    warmup: float,
    duration: float,
    server_pid: int | None,
) -> Result:
    now = time.perf_counter()
    window = Window(now + warmup, now + warmup + duration)
    tasks = [
        asyncio.create_task(worker(target, request, expected, window)) for _ in range(concurrency)
    ]
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    cpu0, srv0, all0 = time.process_time(), server_cpu_seconds(server_pid), machine_busy_seconds()
    t0 = time.perf_counter()
    await asyncio.sleep(max(0.0, window.end - time.perf_counter()))
    cpu1, srv1, all1 = time.process_time(), server_cpu_seconds(server_pid), machine_busy_seconds()
    t1 = time.perf_counter()
    await asyncio.gather(*tasks)  # drain: requests finishing after the window are not counted
    elapsed = t1 - t0
    server_cpu = None if srv0 is None or srv1 is None else srv1 - srv0
    other_cpu = (
        None
        if server_cpu is None or all0 is None or all1 is None
        else max(0.0, (all1 - all0) - server_cpu - (cpu1 - cpu0))
    )
    latencies = sorted(window.latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    rps = len(latencies) / duration
    upstream = UPSTREAM_RPS[operation] if concurrency == REFERENCE_CONCURRENCY else None
    return Result(
        operation=operation,
        concurrency=concurrency,
        duration_s=duration,
        requests=len(latencies),
        rps=rps,
        p50_ms=None if p50 is None else p50 * 1000,
        p99_ms=None if p99 is None else p99 * 1000,
        errors=window.errors,
        server_cpu_pct=None if server_cpu is None else 100 * server_cpu / elapsed,
        client_cpu_pct=100 * (cpu1 - cpu0) / elapsed,
        other_cpu_pct=None if other_cpu is None else 100 * other_cpu / elapsed,
        upstream_rps=upstream,
        ratio=None if upstream is None else rps / upstream,
        error_samples=window.error_samples,
    )


def operation_requests(target: Target, cloud: Cloud, prepared: Prepared) -> dict[str, bytes]:
    admin = {"X-Auth-Token": prepared.admin_token}
    return {
        "issue": build_request(target, "POST", "/auth/tokens", body=cloud.admin.auth_body()),
        "validate": build_request(
            target,
            "GET",
            "/auth/tokens",
            headers={**admin, "X-Subject-Token": prepared.demo_token},
        ),
        "list": build_request(target, "GET", "/projects", headers=admin),
    }


EXPECTED_STATUS = {"issue": 201, "validate": 200, "list": 200}


async def run_all(cloud: Cloud, args: argparse.Namespace) -> tuple[Prepared, list[Result]]:
    prepared = await prepare(cloud, args.projects)
    log(
        f"{prepared.projects_listed} projects visible to admin "
        f"({len(prepared.projects_created)} created for the benchmark)"
    )
    requests = operation_requests(cloud.target, cloud, prepared)
    results: list[Result] = []
    try:
        for operation in args.ops:
            for concurrency in args.concurrency:
                log(
                    f"{LABELS[operation]} at concurrency {concurrency}: "
                    f"{args.warmup:g} s warm-up + {args.duration:g} s"
                )
                result = await measure(
                    cloud.target,
                    operation,
                    requests[operation],
                    EXPECTED_STATUS[operation],
                    concurrency,
                    args.warmup,
                    args.duration,
                    cloud.pid,
                )
                log(f"  {result.rps:.1f} req/s, {result.errors} errors")
                results.append(result)
    finally:
        if prepared.projects_created and not cloud.started_here:
            failures = await delete_projects(cloud, prepared.admin_token, prepared.projects_created)
            log(f"deleted the {len(prepared.projects_created) - failures} benchmark projects")
    return prepared, results


# --------------------------------------------------------------------------------------------
# Output


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render_table(results: Sequence[Result]) -> str:
    header = [
        "operation",
        "concurrency",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "upstream req/s",
        "ours/upstream",
        "server CPU",
        "client CPU",
        "other CPU",
    ]
    rows = [
        [
            LABELS[r.operation],
            str(r.concurrency),
            str(r.requests),
            f"{r.rps:.1f}",
            fmt(r.p50_ms, ".1f"),
            fmt(r.p99_ms, ".1f"),
            str(r.errors),
            fmt(r.upstream_rps, ".0f"),
            "-" if r.ratio is None else f"{r.ratio:.1f}x",
            "-" if r.server_cpu_pct is None else f"{r.server_cpu_pct:.0f}%",
            f"{r.client_cpu_pct:.0f}%",
            "-" if r.other_cpu_pct is None else f"{r.other_cpu_pct:.0f}%",
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left = {0}

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i in left else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def report(
    cloud: Cloud, prepared: Prepared, results: Sequence[Result], args: argparse.Namespace
) -> str:
    where = "started by the benchmark" if cloud.started_here else "already running"
    settings = [
        f"cloud: {cloud.target.url} ({where}, server pid {cloud.pid or 'unknown'})",
        f"bcrypt: server default (cost 12) unless overridden; access log "
        f"{'on' if args.keep_access_log else 'off'}"
        if cloud.started_here
        else "server settings: as configured by its operator",
        f"project list returns {prepared.projects_listed} projects "
        f"({len(prepared.projects_created)} created for the benchmark)",
        f"each row: {args.warmup:g} s warm-up, then {args.duration:g} s measured; "
        "one keep-alive connection per concurrent worker",
        "CPU columns: % of one core; 'other' is the rest of the machine (high = noisy figures)",
        f"client event loop: {loop_name()}, {os.cpu_count()} CPUs",
    ]
    lines = [*settings, "", render_table(results), ""]
    lines.append(
        "upstream = Keystone under uwsgi, 2 processes, same machine, concurrency "
        f"{REFERENCE_CONCURRENCY}"
    )
    for r in results:
        for sample in r.error_samples:
            lines.append(f"error in {r.operation} c={r.concurrency}: {sample}")
    return "\n".join(lines)


def write_json(
    path: str, cloud: Cloud, prepared: Prepared, results: Sequence[Result], args: argparse.Namespace
) -> None:
    document = {
        "url": cloud.target.url,
        "started_here": cloud.started_here,
        "server_pid": cloud.pid,
        "access_log": bool(args.keep_access_log) if cloud.started_here else None,
        "projects_listed": prepared.projects_listed,
        "projects_created": len(prepared.projects_created),
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "upstream_reference": {
            "description": "Keystone, uwsgi, 2 processes, same machine",
            "concurrency": REFERENCE_CONCURRENCY,
            "rps": UPSTREAM_RPS,
        },
        "results": [asdict(r) for r in results],
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
    log(f"wrote {path}")


# --------------------------------------------------------------------------------------------
# Entry point


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    return "uvloop" if loop_factory() is not None else "asyncio"


def positive_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers: {text!r}")
    return values


def operations(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in values if v not in OPERATIONS]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"operations are {', '.join(OPERATIONS)}; got {text!r}")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark vistack's Keystone v3: token issue, validate, project list."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per row")
    parser.add_argument(
        "--concurrency", type=positive_ints, default=[1, 16], help="e.g. 1,16 (default)"
    )
    parser.add_argument(
        "--ops", type=operations, default=list(OPERATIONS), help="subset of issue,validate,list"
    )
    parser.add_argument(
        "--projects", type=int, default=50, help="projects to create before measuring"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--keep-access-log", action="store_true", help="run the server with its access log on"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="VISTACK_X=V",
        help="extra setting for the started server (repeatable)",
    )
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the started server's data dir and logs"
    )
    parser.add_argument("--url", help="identity URL of a running cloud (with --clouds-yaml)")
    parser.add_argument("--clouds-yaml", help="clouds.yaml of a running cloud")
    parser.add_argument(
        "--server-pid", type=int, help="pid of the running cloud, for its CPU column"
    )
    args = parser.parse_args(argv)
    if args.url and not args.clouds_yaml:
        parser.error("--url needs --clouds-yaml (the passwords come from it)")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    return args


async def bench(cloud: Cloud, args: argparse.Namespace) -> int:
    prepared, results = await run_all(cloud, args)
    print(report(cloud, prepared, results, args), flush=True)
    if args.json:
        write_json(args.json, cloud, prepared, results, args)
    return 1 if any(r.errors for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    opener = remote_cloud if args.clouds_yaml else local_cloud
    try:
        with opener(args) as cloud, asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(bench(cloud, args))
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
