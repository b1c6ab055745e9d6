"""Neutron ports at scale: port create and delete rates, and `GET /v2.0/ports` latency with
10,000 ports present, at concurrency 1 and 16.

Why ports: a port is what every server boot, every router interface and every DHCP agent
creates, and `GET /v2.0/ports` (all ports, as admin) is what nova-compute's and the agents'
periodic syncs, Horizon and `openstack port list` ask for over and over. A cloud of a few
hundred servers has thousands of ports, so the list's cost at 10,000 ports, not at ten, is the
figure that matters. The acceptance targets: the full list under 500 ms (p50) and at least 200
port creates/s at concurrency 16 on the reference (2-core) machine.

What is measured, in this order, on one network with one /16 IPv4 subnet (room for 65,000
ports, so IPAM never runs short):

* **create, concurrency 1**, on the empty network (at most 500 ports): a lone create;
* **create, concurrency 16, filling the network to `--ports` (10,000)**: every create of the
  fill is counted, and its rate and p50 are also printed per 1,000 ports, because each create
  reads the subnet's taken addresses, so a create may slow down as the network fills (the
  first 1,000 are the rate on a near-empty network);
* **list all ports** (`GET /network/v2.0/ports`, admin, all 10,000) at 1 and 16, and **a page**
  (`?network_id=...&limit=100`) for contrast: a client that pages asks for a hundredth of the
  data, so the page shows what is paid per port rendered and what per request;
* **create at 1 and 16 with the network full**, the rate a busy cloud sees;
* **delete at 1 and 16**, of the ports created above, newest first: each row may take its
  share of those left (half, then the rest), so a fast delete row ends early rather than leave
  the next one nothing; it then counts until its last request.

Time-boxed rows (all but the fill) run `--warmup` seconds unmeasured, then `--duration`
seconds; only the requests that complete inside the window are counted, as in
bench/identity.py. A row whose requests are slower than that (a 10,000-port list at
concurrency 16) stays open until `--min-requests` (20, and at least twice its concurrency)
have completed, so every row has enough samples for its p50. Each concurrent worker owns one
keep-alive HTTP/1.1 connection and that benchmark's raw asyncio client (imported from it, so
both time the same way): the reference machine has 2 cores, and a conventional client would
spend as much CPU as the server. Server, client and other CPU (the rest of the machine: high
means noisy figures) are printed per row, with vistack's RSS after the row; its peak RSS
(VmHWM) over the run is printed below.

The server is a real `vistack up` on a free port with a temporary data dir (and its embedded
vCenter: a network is a port group), bcrypt cost 4 (tokens are not what is measured) and the
access log off. The admin project's port quota (500 by default) is lifted through
`PUT /v2.0/quotas/{project_id}` first, as an operator would. Nothing here asserts: the table
and a verdict per target are printed, and the exit status is 0 unless the cloud could not be
started or prepared.

Run: `.venv/bin/python bench/network.py [--ports 10000] [--duration 10] [--json out.json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from identity import (
    Connection,
    ProtocolError,
    Response,
    Target,
    build_request,
    loop_factory,
    machine_busy_seconds,
    percentile,
    server_cpu_seconds,
)
from vistack_process import BenchError, admin_auth_body, log, running_vistack, status_kib

NETWORK = "/network/v2.0"
TARGET_LIST_P50_MS = 500.0
TARGET_CREATE_RPS = 200.0
TARGET_CONCURRENCY = 16
PAGE = 100
CHUNK = 1000
#: Creates of the concurrency-1 row on the empty network (or as many as fit in --duration).
EMPTY_SAMPLE = 500
MAX_ERROR_SAMPLES = 5
#: What a failed exchange raises; the worker counts it and carries on.
TRANSPORT_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, ProtocolError, ValueError)


# --------------------------------------------------------------------------------------------
# The cloud under test


@dataclass
class Cloud:
    target: Target
    pid: int
    admin: dict[str, Any]


@contextlib.contextmanager
def local_cloud(
    workdir: Path, timeout: float, backend: str, database_url: str = ""
) -> Iterator[Cloud]:
    """`vistack up` on a free port with its data in `workdir`; SIGTERM on exit."""
    settings = {"VISTACK_NETWORK_BACKEND": backend}
    if database_url:
        settings["VISTACK_DATABASE_URL"] = database_url
    with running_vistack(workdir, timeout, settings) as server:
        # An empty prefix: requests carry the whole path, /identity/v3 or /network/v2.0.
        yield Cloud(Target(server.host, server.port, ""), server.pid, server.admin)


# --------------------------------------------------------------------------------------------
# Preparation: a token, the quota, the network and its subnet


@dataclass
class Prepared:
    token: str
    project_id: str
    network_id: str
    subnet_id: str

    def auth(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}


async def expect(conn: Connection, request: bytes, status: int, what: str) -> Response:
    response = await conn.send(request)
    if response.status != status:
        raise BenchError(f"{what} answered {response.status}: {response.body[:300]!r}")
    return response


async def prepare(cloud: Cloud, cidr: str) -> Prepared:
    target, auth = cloud.target, cloud.admin
    body = admin_auth_body(auth)
    conn = Connection(target)
    try:
        issued = await expect(
            conn,
            build_request(target, "POST", "/identity/v3/auth/tokens", body=body),
            201,
            "token issue",
        )
        token = issued.header("X-Subject-Token")
        if not token:
            raise BenchError("token issue answered without X-Subject-Token")
        project_id = issued.json()["token"]["project"]["id"]
        headers = {"X-Auth-Token": token}
        await expect(
            conn,
            build_request(
                target,
                "PUT",
                f"{NETWORK}/quotas/{project_id}",
                headers,
                {"quota": {"port": -1}},
            ),
            200,
            "port quota update",
        )
        network = await expect(
            conn,
            build_request(
                target, "POST", f"{NETWORK}/networks", headers, {"network": {"name": "bench"}}
            ),
            201,
            "network create",
        )
        network_id = network.json()["network"]["id"]
        subnet = await expect(
            conn,
            build_request(
                target,
                "POST",
                f"{NETWORK}/subnets",
                headers,
                {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4}},
            ),
            201,
            "subnet create",
        )
        return Prepared(token, project_id, network_id, subnet.json()["subnet"]["id"])
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Plan:
    """What one row sends: `next_request` gives the next request (None: nothing left to send),
    `expected` is the status of a success, `on_success` sees each successful response."""

    next_request: Callable[[], bytes | None]
    expected: int
    on_success: Callable[[Response], None] | None = None


@dataclass
class Window:
    """The measured window of one row, shared by its workers (end is infinite for a fill)."""

    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    #: Completion times, in completion order, for the fill's per-chunk figures.
    finishes: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def record_error(self, finished: float, description: str) -> None:
        if self.start <= finished < self.end:
            self.errors += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES:
                self.error_samples.append(description)


async def worker(target: Target, plan: Plan, window: Window) -> None:
    conn = Connection(target)
    perf = time.perf_counter
    try:
        while (sent := perf()) < window.end and (request := plan.next_request()) is not None:
            try:
                response = await conn.send(request)
            except TRANSPORT_ERRORS as exc:
                window.record_error(perf(), f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)  # do not spin if the server went away
                continue
            finished = perf()
            if response.status != plan.expected:
                window.record_error(finished, f"HTTP {response.status}: {response.body[:200]!r}")
                continue
            if plan.on_success is not None:
                plan.on_success(response)
            if window.start <= finished < window.end:
                window.latencies.append(finished - sent)
                window.finishes.append(finished)
    finally:
        conn.close()


@dataclass
class Chunk:
    """One `CHUNK` of the fill: the ports present when it ended, its rate and latencies."""

    ports_after: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None


@dataclass
class Row:
    operation: str
    concurrency: int
    #: Ports on the network when the row started and when it ended.
    ports_before: int
    ports_after: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    server_cpu_pct: float
    client_cpu_pct: float
    other_cpu_pct: float | None
    rss_mib: float | None
    error_samples: list[str] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)


def ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def chunks_of(window: Window, ports_before: int) -> list[Chunk]:
    """Per-`CHUNK` rate and latency of a fill, from its completions in order."""
    out: list[Chunk] = []
    previous = window.start
    for first in range(0, len(window.finishes) - CHUNK + 1, CHUNK):
        last = first + CHUNK
        finished = window.finishes[last - 1]
        latencies = sorted(window.latencies[first:last])
        out.append(
            Chunk(
                ports_before + last,
                CHUNK / max(finished - previous, 1e-9),
                ms(percentile(latencies, 50)),
                ms(percentile(latencies, 99)),
            )
        )
        previous = finished
    return out


async def report_progress(window: Window, goal: int, base: int, interval: float = 5.0) -> None:
    """Log the fill's progress: it takes minutes, and a stall should be visible as one."""
    done_before, t_before = 0, time.perf_counter()
    while True:
        await asyncio.sleep(interval)
        done, now = len(window.latencies), time.perf_counter()
        log(
            f"  fill: {base + done:,} ports ({done:,}/{goal:,} created, "
            f"{(done - done_before) / (now - t_before):.0f}/s over the last {interval:.0f} s, "
            f"{window.errors} errors)"
        )
        done_before, t_before = done, now


async def measure(
    cloud: Cloud,
    operation: str,
    concurrency: int,
    plan: Plan,
    ports: Callable[[], int],
    *,
    warmup: float,
    duration: float | None,
    min_requests: int = 0,
    max_duration: float = math.inf,
    goal: int = 0,
) -> Row:
    """Run `plan` on `concurrency` connections: for `duration` seconds after `warmup`, or,
    when `duration` is None, until the plan runs out (a fill, every request counted).

    A time-boxed window stays open past `duration` until `min_requests` have completed (up to
    `max_duration`): a 10,000-port list at concurrency 16 queues behind 15 others for longer
    than the whole window, which would otherwise end with no sample at all. So the window's
    end is only set when it closes, and whatever completed before that counts.
    """
    perf = time.perf_counter
    now = perf()
    window = Window(now if duration is None else now + warmup, math.inf)
    before = ports()
    tasks = [asyncio.create_task(worker(cloud.target, plan, window)) for _ in range(concurrency)]
    progress = (
        asyncio.create_task(report_progress(window, goal, before)) if duration is None else None
    )
    await asyncio.sleep(max(0.0, window.start - perf()))
    cpu0, srv0, all0 = time.process_time(), server_cpu_seconds(cloud.pid), machine_busy_seconds()
    t0 = perf()
    if duration is None:
        await asyncio.wait(tasks)
    else:
        # A plan that runs out (no port left to delete) ends the row with its last request.
        await asyncio.wait(tasks, timeout=max(0.0, t0 + duration - perf()))
        while (
            len(window.latencies) < min_requests
            and perf() < t0 + max_duration
            and not all(task.done() for task in tasks)
        ):
            await asyncio.wait(tasks, timeout=0.02)
        window.end = perf()
    cpu1, srv1, all1 = time.process_time(), server_cpu_seconds(cloud.pid), machine_busy_seconds()
    t1 = perf()
    # Drain: what completes after the window closed is not counted, but it is waited for so
    # that the next row does not start on a server still busy with this one.
    await asyncio.gather(*tasks)
    if progress is not None:
        progress.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await progress
    elapsed = t1 - t0
    server = (srv1 or 0.0) - (srv0 or 0.0)
    client = cpu1 - cpu0
    other = None if all0 is None or all1 is None else max(0.0, all1 - all0 - server - client)
    latencies = sorted(window.latencies)
    return Row(
        operation=operation,
        concurrency=concurrency,
        ports_before=before,
        ports_after=ports(),
        seconds=elapsed,
        requests=len(latencies),
        rps=len(latencies) / elapsed if elapsed > 0 else 0.0,
        p50_ms=ms(percentile(latencies, 50)),
        p99_ms=ms(percentile(latencies, 99)),
        errors=window.errors,
        server_cpu_pct=100 * server / elapsed if elapsed > 0 else 0.0,
        client_cpu_pct=100 * client / elapsed if elapsed > 0 else 0.0,
        other_cpu_pct=None if other is None or elapsed <= 0 else 100 * other / elapsed,
        rss_mib=None if (rss := status_kib(cloud.pid, "VmRSS")) is None else rss / 1024,
        error_samples=window.error_samples,
        chunks=chunks_of(window, before) if duration is None else [],
    )


class Ports:
    """The ports this benchmark created, newest last: deletes take from here."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def __len__(self) -> int:
        return len(self.ids)

    def created(self, response: Response) -> None:
        self.ids.append(response.json()["port"]["id"])


@dataclass
class Bench:
    cloud: Cloud
    prepared: Prepared
    args: argparse.Namespace
    ports: Ports = field(default_factory=Ports)
    rows: list[Row] = field(default_factory=list)
    #: What one untimed GET of each list returned: items and bytes.
    list_items: int = 0
    list_bytes: int = 0
    page_items: int = 0
    page_bytes: int = 0

    def request(self, method: str, path: str, body: Any = None) -> bytes:
        return build_request(self.cloud.target, method, path, self.prepared.auth(), body)

    async def run_row(
        self,
        operation: str,
        concurrency: int,
        plan: Plan,
        duration: float | None,
        goal: int = 0,
    ) -> Row:
        what = "until done" if duration is None else f"{self.args.warmup:g} s + {duration:g} s"
        log(f"{operation} at concurrency {concurrency} ({len(self.ports):,} ports, {what})")
        row = await measure(
            self.cloud,
            operation,
            concurrency,
            plan,
            lambda: len(self.ports),
            warmup=self.args.warmup,
            duration=duration,
            min_requests=max(self.args.min_requests, 2 * concurrency),
            max_duration=self.args.max_duration,
            goal=goal,
        )
        log(
            f"  {row.requests:,} in {row.seconds:.1f} s: {row.rps:.1f}/s, "
            f"p50 {fmt(row.p50_ms, '.1f')} ms, {row.errors} errors"
        )
        self.rows.append(row)
        return row

    def create_plan(self, limit: int | None = None) -> Plan:
        """Creates on the benchmark's network; at most `limit` of them when given."""
        request = self.request(
            "POST",
            f"{NETWORK}/ports",
            {"port": {"network_id": self.prepared.network_id, "name": "bench"}},
        )
        issued = 0

        def next_request() -> bytes | None:
            nonlocal issued
            if limit is not None and issued >= limit:
                return None
            issued += 1
            return request

        return Plan(next_request, 201, self.ports.created)

    def delete_plan(self, limit: int) -> Plan:
        """Deletes of the newest ports, at most `limit` of them."""
        ids = self.ports.ids
        issued = 0

        def next_request() -> bytes | None:
            nonlocal issued
            if not ids or issued >= limit:
                return None
            issued += 1
            return self.request("DELETE", f"{NETWORK}/ports/{ids.pop()}")

        return Plan(next_request, 204)

    def constant_plan(self, request: bytes) -> Plan:
        return Plan(lambda: request, 200)

    async def check_lists(self, full: bytes, page: bytes) -> None:
        """One untimed GET of each list: what the timed ones return (and that they work)."""
        conn = Connection(self.cloud.target)
        try:
            listed = await expect(conn, full, 200, "port list")
            self.list_items, self.list_bytes = len(listed.json()["ports"]), len(listed.body)
            paged = await expect(conn, page, 200, "port list page")
            self.page_items, self.page_bytes = len(paged.json()["ports"]), len(paged.body)
        finally:
            conn.close()
        log(
            f"port list: {self.list_items:,} ports, {self.list_bytes / 1e6:.1f} MB; "
            f"page: {self.page_items} ports, {self.page_bytes / 1e3:.0f} kB"
        )

    async def run(self) -> None:
        args = self.args
        high = max(args.concurrency)
        for concurrency in sorted(set(args.concurrency) - {high}):
            # At most EMPTY_SAMPLE creates, so that the fill starts on a near-empty network
            # and its first chunk is the rate at concurrency 16 there.
            await self.run_row(
                "create (empty network)",
                concurrency,
                self.create_plan(EMPTY_SAMPLE),
                args.duration,
            )
        goal = max(0, args.ports - len(self.ports))
        if goal:
            log(f"filling the network to {args.ports:,} ports at concurrency {high}")
            await self.run_row(
                f"create (fill to {args.ports:,})", high, self.create_plan(goal), None, goal
            )
        for _ in range(3):
            # A create that failed in the fill (counted as its error) is made up, untimed, so
            # that the lists below see the full --ports.
            short = args.ports - len(self.ports)
            if short <= 0:
                break
            log(f"making up {short} ports the fill failed to create (not measured)")
            await measure(
                self.cloud,
                "top-up",
                min(high, short),
                self.create_plan(short),
                lambda: len(self.ports),
                warmup=0,
                duration=None,
            )
        full = self.request("GET", f"{NETWORK}/ports")
        page = self.request(
            "GET", f"{NETWORK}/ports?network_id={self.prepared.network_id}&limit={PAGE}"
        )
        await self.check_lists(full, page)
        for concurrency in args.concurrency:
            await self.run_row(
                "list all ports", concurrency, self.constant_plan(full), args.duration
            )
        for concurrency in args.concurrency:
            await self.run_row(
                f"list a page ({PAGE})", concurrency, self.constant_plan(page), args.duration
            )
        for concurrency in args.concurrency:
            await self.run_row(
                "create (network full)", concurrency, self.create_plan(), args.duration
            )
        for i, concurrency in enumerate(args.concurrency):
            # Each row may take its share of the ports left, so the next one has some too.
            share = len(self.ports) // (len(args.concurrency) - i)
            await self.run_row("delete", concurrency, self.delete_plan(share), args.duration)


# --------------------------------------------------------------------------------------------
# Output


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def ports_cell(row: Row) -> str:
    if row.ports_before == row.ports_after:
        return f"{row.ports_after:,}"
    return f"{row.ports_before:,}->{row.ports_after:,}"


def render_rows(rows: Sequence[Row]) -> str:
    header = [
        "operation",
        "conc.",
        "ports",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU",
        "client CPU",
        "other CPU",
        "RSS MiB",
    ]
    cells = [
        [
            r.operation,
            str(r.concurrency),
            ports_cell(r),
            f"{r.requests:,}",
            f"{r.rps:.1f}",
            fmt(r.p50_ms, ".1f"),
            fmt(r.p99_ms, ".1f"),
            str(r.errors),
            f"{r.server_cpu_pct:.0f}%",
            f"{r.client_cpu_pct:.0f}%",
            fmt(r.other_cpu_pct, ".0f") + ("%" if r.other_cpu_pct is not None else ""),
            fmt(r.rss_mib, ".0f"),
        ]
        for r in rows
    ]
    return table(header, cells, left=1)


def render_chunks(chunks: Sequence[Chunk], concurrency: int) -> str:
    header = ["ports after", f"creates/s (c={concurrency})", "p50 ms", "p99 ms"]
    cells = [
        [f"{c.ports_after:,}", f"{c.rps:.1f}", fmt(c.p50_ms, ".1f"), fmt(c.p99_ms, ".1f")]
        for c in chunks
    ]
    return table(header, cells, left=0)


def verdicts(rows: Sequence[Row], ports: int) -> list[str]:
    lines = []
    for row in rows:
        if row.operation == "list all ports" and row.concurrency in (1, TARGET_CONCURRENCY):
            met = row.p50_ms is not None and row.p50_ms < TARGET_LIST_P50_MS
            lines.append(
                f"target list of {ports:,} ports p50 < {TARGET_LIST_P50_MS:.0f} ms, "
                f"concurrency {row.concurrency}: {fmt(row.p50_ms, '.0f')} ms: "
                + ("MET" if met else "NOT MET")
            )
    for row in rows:
        if row.operation.startswith("create") and row.concurrency == TARGET_CONCURRENCY:
            met = row.rps >= TARGET_CREATE_RPS
            lines.append(
                f"target >= {TARGET_CREATE_RPS:.0f} port creates/s at concurrency "
                f"{TARGET_CONCURRENCY}, {row.operation} ({ports_cell(row)} ports): "
                f"{row.rps:.0f}/s: " + ("MET" if met else "NOT MET")
            )
    return lines


def report(bench: Bench, start_kib: int | None, peak_kib: int | None) -> str:
    args = bench.args
    lines = [
        f"vistack {bench.cloud.target.host}:{bench.cloud.target.port} (pid {bench.cloud.pid}), "
        f"bcrypt cost 4, access log off; {os.cpu_count()} CPUs; one network, one "
        f"{args.cidr} subnet",
        f"time-boxed rows: {args.warmup:g} s warm-up, then {args.duration:g} s measured; the "
        "fill counts every create; one keep-alive connection per concurrent worker",
        f"list all: {bench.list_items:,} ports, {bench.list_bytes / 1e6:.1f} MB per response; "
        f"page: {bench.page_items} ports, {bench.page_bytes / 1e3:.0f} kB",
        "CPU columns: % of one core; 'other' is the rest of the machine (high = noisy figures)",
        "",
        render_rows(bench.rows),
        "",
    ]
    for row in bench.rows:
        if row.chunks:
            lines += [
                f"{row.operation}, per {CHUNK:,} ports:",
                "",
                render_chunks(row.chunks, row.concurrency),
                "",
            ]
    lines.append(
        f"vistack RSS {fmt(None if start_kib is None else start_kib / 1024, '.0f')} MiB when "
        f"ready, peak {fmt(None if peak_kib is None else peak_kib / 1024, '.0f')} MiB (VmHWM)"
    )
    lines += verdicts(bench.rows, bench.list_items)
    for row in bench.rows:
        for sample in row.error_samples:
            lines.append(f"error in {row.operation} c={row.concurrency}: {sample}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def positive_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers: {text!r}")
    return values


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--ports", type=int, default=10_000, help="ports to fill the network to")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per row")
    parser.add_argument(
        "--concurrency",
        type=positive_ints,
        default=[1, TARGET_CONCURRENCY],
        help="e.g. 1,16 (default); the fill runs at the highest",
    )
    parser.add_argument(
        "--min-requests",
        type=int,
        default=20,
        help="a row runs past --duration until this many (and twice its concurrency) completed",
    )
    parser.add_argument(
        "--max-duration", type=float, default=120.0, help="longest a row may run to get them"
    )
    parser.add_argument("--cidr", default="10.0.0.0/16", help="the subnet's IPv4 CIDR")
    parser.add_argument(
        "--backend",
        choices=("auto", "dvs", "edge"),
        default="auto",
        help="[network] backend of the cloud (edge: its data plane runs in the same process)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty MariaDB/PostgreSQL database for the cloud (default: SQLite in the workdir)",
    )
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.ports < 1:
        parser.error("--duration and --ports must be positive, --warmup not negative")
    return args


async def bench_main(cloud: Cloud, args: argparse.Namespace) -> int:
    start_kib = status_kib(cloud.pid, "VmHWM")
    prepared = await prepare(cloud, args.cidr)
    log(f"network {prepared.network_id}, subnet {prepared.subnet_id} ({args.cidr})")
    bench = Bench(cloud, prepared, args)
    await bench.run()
    peak_kib = status_kib(cloud.pid, "VmHWM")
    print(f"network backend: {args.backend}, database: {args.database_url or 'sqlite'}", flush=True)
    print(report(bench, start_kib, peak_kib), flush=True)
    if args.json:
        document = {
            "ports": args.ports,
            "list_items": bench.list_items,
            "list_bytes": bench.list_bytes,
            "rss_start_kib": start_kib,
            "rss_peak_kib": peak_kib,
            "cpus": os.cpu_count(),
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "rows": [asdict(r) for r in bench.rows],
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        log(f"wrote {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="vistack-bench-network-"))
    try:
        with (
            local_cloud(workdir, args.start_timeout, args.backend, args.database_url) as cloud,
            asyncio.Runner(loop_factory=loop_factory()) as runner,
        ):
            return runner.run(bench_main(cloud, args))
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if args.keep_data:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
