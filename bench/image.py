"""Glance image data throughput: upload and download MB/s through vistack's image API, against
the datastore `/folder` HTTP endpoint it stores into, measured side by side in one run.

Why this comparison: every image byte vistack accepts goes on to the embedded vCenter's
datastore over `/folder` HTTP (vistack/vsphere/images.py), and every byte it serves comes back
the same way. The datastore is therefore the ceiling, and the figure that tells whether the
image service is any good is the *ratio* API/raw, measured on the same machine at the same
moment with the same client code. The acceptance target is 0.8 of raw, with the server's memory
flat: an image streams through, it is never held whole in RAM.

What is measured, each over `--rounds` rounds after a warm-up round that is not counted:

* **upload**: `PUT /image/v2/images/{id}/file` of a `--size-mib` (512) image, from the first
  byte sent to the 204 (the image is then active: hashed, format-checked, moved into place),
  against a `PUT` of the same file to `/folder/<folder>/<name>?dcPath=..&dsName=..`;
* **download**: `GET /image/v2/images/{id}/file` read to the end, against a `GET` of the raw
  file. Each side downloads the file it has just uploaded, so both are as warm in the page
  cache.

The API and raw sides alternate (each uploads, then downloads), the side that goes first
alternates per round, and dirty pages are flushed before every transfer, so the noise of a
shared 2-core machine falls on both sides alike; the median of the rounds is reported. The CPU
columns say where the time went: vistack, the simulator, and "other", the rest of the machine
(kernel writeback, neighbours): when "other" is high the figures are noisy.

The payload is random bytes (`disk_format=raw`, so the format check is the raw one) written to
a file first; the client streams it from disk in `--block` (1 MiB) pieces with a
Content-Length, through http.client on a fresh connection per transfer, reading downloads into
one reused buffer, so the client neither holds the image nor copies it. Unless `--no-vmdk`, one
more round uploads and downloads a real streamOptimized VMDK of the same data made by qemu-img
(`disk_format=vmdk`), which exercises the VMDK inspector.

Memory: vistack's peak RSS during each API transfer (the kernel's high-water mark `VmHWM`,
reset through /proc/<pid>/clear_refs before the transfer, and a 10 ms `VmRSS` sampler) is
printed against its RSS just before, and the peak over every transfer against its RSS when it
became ready: "flat" means it grew by a small fraction of the image (under an eighth, or
32 MiB for small images).

What bounds the ratios (measured on the 2-core reference machine): an upload must compute md5
and sha512 of every byte (Glance's `checksum` and `os_hash_value`): about 800 and 860 MB/s
there, 1.3 CPU-seconds per 512 MiB, more than the whole raw PUT takes. Hashed on other threads
while the bytes are sent (vistack/image/domain/digests.py), an upload can at best run at md5's
speed, and only with cores to spare; on 2 shared cores it is CPU-bound and the upload ratio
stays well under 0.8. A download passes every byte through vistack (two more socket copies and
the event loop), which the raw GET, served by sendfile, does not.

The server is a real `vistack up` on a free port in a temporary directory, with its embedded
vCenter, the access log off and bcrypt at cost 4 (tokens are not what is measured).

Run: `.venv/bin/python bench/image.py [--size-mib 512] [--rounds 5] [--json results.json]`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from vistack_process import (
    BenchError,
    admin_auth_body,
    log,
    running_vistack,
    status_kib,
)

MIB = 1 << 20
MB = 1_000_000
TARGET_RATIO = 0.8
#: Growth of vistack's RSS still called flat for a small image (an eighth of a large one).
FLAT_FLOOR = 32 * (1 << 20)
OCTET_STREAM = "application/octet-stream"


# --------------------------------------------------------------------------------------------
# /proc readings: CPU and memory of the processes involved


def cpu_seconds(pid: int | None) -> float:
    """user+system CPU of `pid` (all its threads), 0 when it cannot be read."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class MemoryWatch:
    """Peak RSS of a process over a window: the kernel's VmHWM, reset at the start through
    clear_refs (exact, catches spikes between samples), and a sampler thread as a fallback
    for kernels or users that cannot reset it."""

    INTERVAL = 0.01

    def __init__(self, pid: int | None) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hwm_reset = False
        self.before_kib = 0
        self.sampled_peak_kib = 0

    def __enter__(self) -> MemoryWatch:
        if self._pid is None:
            return self
        with contextlib.suppress(OSError):
            Path(f"/proc/{self._pid}/clear_refs").write_text("5")
            self._hwm_reset = True
        self.before_kib = status_kib(self._pid, "VmRSS") or 0
        self.sampled_peak_kib = self.before_kib
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        assert self._pid is not None
        while not self._stop.wait(self.INTERVAL):
            rss = status_kib(self._pid, "VmRSS") or 0
            self.sampled_peak_kib = max(self.sampled_peak_kib, rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_kib(self) -> int:
        hwm = status_kib(self._pid, "VmHWM") if self._pid and self._hwm_reset else None
        return max(self.sampled_peak_kib, hwm or 0)


# --------------------------------------------------------------------------------------------
# The client: http.client, one fresh connection per transfer, the file streamed from disk


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Address:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise BenchError(f"only plain http:// endpoints are supported, got {url!r}")
        return cls(parts.hostname, parts.port or 80)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    #: Bytes of body read (for a streamed download the body itself is not kept).
    length: int
    seconds: float


def connect(address: Address) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(address.host, address.port, timeout=600)


def call(
    address: Address,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> Reply:
    """A small request with a JSON body (or none), its response read whole."""
    payload = None if body is None else json.dumps(body).encode()
    sent = {"Accept": "application/json", **(headers or {})}
    if payload is not None:
        sent["Content-Type"] = "application/json"
    connection = connect(address)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data,
            len(data),
            time.perf_counter() - started,
        )
    finally:
        connection.close()


def put_file(
    address: Address, path: str, headers: dict[str, str], source: Path, block: int
) -> Reply:
    """PUT `source` with a Content-Length, read from disk `block` bytes at a time into one
    buffer that is sent as is: the client holds one block, whatever the file's size."""
    size = source.stat().st_size
    buffer = bytearray(block)
    view = memoryview(buffer)
    connection = connect(address)
    try:
        with source.open("rb", buffering=0) as handle:
            started = time.perf_counter()
            connection.putrequest("PUT", path, skip_accept_encoding=True)
            for name, value in {**headers, "Content-Length": str(size)}.items():
                connection.putheader(name, value)
            connection.endheaders()
            while n := handle.readinto(buffer):
                connection.send(view[:n])
            response = connection.getresponse()
            data = response.read()
            seconds = time.perf_counter() - started
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, data, size, seconds
        )
    finally:
        connection.close()


def get_file(address: Address, path: str, headers: dict[str, str], block: int) -> Reply:
    """GET `path` and read the body to its end into one reused buffer, counting the bytes."""
    buffer = bytearray(block)
    view = memoryview(buffer)
    connection = connect(address)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        length = 0
        while n := response.readinto(view):
            length += n
        seconds = time.perf_counter() - started
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, b"", length, seconds
        )
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------
# The cloud under test


@dataclass
class Cloud:
    api: Address
    admin: dict[str, str]
    pid: int
    data_dir: Path


@contextlib.contextmanager
def local_cloud(workdir: Path, timeout: float) -> Iterator[Cloud]:
    """`vistack up` on a free port with its data in `workdir`; SIGTERM on exit."""
    with running_vistack(workdir, timeout) as server:
        address = Address(server.host, server.port)
        yield Cloud(address, server.admin, server.pid, server.data_dir)


def issue_token(cloud: Cloud) -> str:
    auth = cloud.admin
    body = admin_auth_body(auth)
    reply = call(cloud.api, "POST", "/identity/v3/auth/tokens", body=body)
    token = reply.headers.get("x-subject-token")
    if reply.status != 201 or not token:
        raise BenchError(f"token issue answered {reply.status}: {reply.body[:300]!r}")
    return token


@dataclass(frozen=True)
class Datastore:
    """Where the default image store writes: the simulator's `/folder` endpoint and names."""

    address: Address
    datacenter: str
    datastore: str
    folder: str
    #: The simulator's process, for its CPU figure (None if unknown).
    pid: int | None

    def path(self, name: str) -> str:
        query = urlencode({"dcPath": self.datacenter, "dsName": self.datastore})
        return f"/folder/{quote(f'{self.folder}/{name}')}?{query}"


def find_datastore(cloud: Cloud, token: str) -> Datastore:
    """The default image store (from the stores API) on the embedded vCenter's endpoint."""
    reply = call(cloud.api, "GET", "/image/v2/info/stores/detail", {"X-Auth-Token": token})
    if reply.status != 200:
        raise BenchError(f"stores detail answered {reply.status}: {reply.body[:300]!r}")
    stores = json.loads(reply.body)["stores"]
    default = next((s for s in stores if s.get("default")), stores[0] if stores else None)
    if default is None or default.get("type") != "vmware":
        raise BenchError(f"no vSphere datastore image store: {stores}")
    properties = default["properties"]
    # The file vistack/vsphere/embedded.py writes; read here as JSON, not through vistack, so
    # the bench talks to the cloud only as a client would (plus this one local file).
    document = json.loads((cloud.data_dir / "vcenter.json").read_text())
    endpoint = document["endpoint"]
    if endpoint.get("protocol", "https") != "http":
        raise BenchError("the embedded vCenter is not plain http; this bench only speaks http")
    return Datastore(
        Address(endpoint["host"], int(endpoint["port"])),
        properties["datacenter"],
        properties["datastore"],
        properties["folder"],
        document.get("pid"),
    )


# --------------------------------------------------------------------------------------------
# Payloads


@dataclass(frozen=True)
class Payload:
    label: str
    path: Path
    disk_format: str
    md5: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def random_payload(path: Path, size: int) -> Payload:
    """Random bytes (incompressible, no format signature): the raw format's check applies."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("wb") as handle:
        left = size
        while left:
            block = os.urandom(min(MIB, left))
            digest.update(block)
            handle.write(block)
            left -= len(block)
    return Payload("raw", path, "raw", digest.hexdigest())


def vmdk_payload(source: Path, path: Path) -> Payload | None:
    """`source` as a streamOptimized VMDK made by qemu-img, or None when there is none."""
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        log("qemu-img not found: skipping the VMDK round")
        return None
    command = [qemu_img, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized"]
    subprocess.run([*command, str(source), str(path)], check=True)
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    return Payload("vmdk", path, "vmdk", digest.hexdigest())


# --------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Sample:
    payload: str
    direction: str
    side: str
    round: int
    bytes: int
    seconds: float
    #: CPU seconds over the transfer.
    client_cpu: float
    server_cpu: float
    vcenter_cpu: float
    other_cpu: float
    #: vistack's RSS just before and its peak during the transfer (KiB).
    rss_before_kib: int
    rss_peak_kib: int

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / MB


@dataclass
class Bench:
    cloud: Cloud
    token: str
    datastore: Datastore
    block: int
    samples: list[Sample] = field(default_factory=list)
    #: API image ids and raw file names of the current round, for its downloads.
    images: dict[str, str] = field(default_factory=dict)
    #: Tells this run's raw files from any other's.
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def measured(
        self,
        payload: Payload,
        direction: str,
        side: str,
        round_: int,
        transfer: Any,
    ) -> Reply:
        """Run `transfer()` with CPU and memory accounting; record it unless a warm-up.

        Dirty pages are flushed first (untimed): a 512 MiB upload leaves that much for the
        kernel to write back, and without the flush that writeback would land on whichever
        transfer comes next, API or raw, and decide the figures more than the code does.
        """
        os.sync()
        pids = (self.cloud.pid, self.datastore.pid)
        cpu0 = time.process_time()
        server0, vc0 = (cpu_seconds(pid) for pid in pids)
        busy0 = machine_busy_seconds()
        with MemoryWatch(self.cloud.pid) as memory:
            reply: Reply = transfer()
        cpu1 = time.process_time()
        server1, vc1 = (cpu_seconds(pid) for pid in pids)
        busy1 = machine_busy_seconds()
        own = (cpu1 - cpu0) + (server1 - server0) + (vc1 - vc0)
        sample = Sample(
            payload.label,
            direction,
            side,
            round_,
            reply.length,
            reply.seconds,
            cpu1 - cpu0,
            server1 - server0,
            vc1 - vc0,
            max(0.0, (busy1 - busy0) - own),
            memory.before_kib,
            memory.peak_kib,
        )
        if round_ > 0:
            self.samples.append(sample)
        log(
            f"  {payload.label} {direction:<8} {side:<3} {sample.mb_per_s:8.1f} MB/s "
            f"(server CPU {sample.server_cpu:.2f} s, vCenter {sample.vcenter_cpu:.2f} s, "
            f"client {sample.client_cpu:.2f} s, other {sample.other_cpu:.2f} s)"
        )
        return reply

    def auth(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}

    def api_upload(self, payload: Payload, round_: int) -> None:
        created = call(
            self.cloud.api,
            "POST",
            "/image/v2/images",
            self.auth(),
            {
                "name": f"bench-{payload.label}-{round_}",
                "disk_format": payload.disk_format,
                "container_format": "bare",
            },
        )
        if created.status != 201:
            raise BenchError(f"image create answered {created.status}: {created.body[:300]!r}")
        image_id = json.loads(created.body)["id"]
        self.images["api"] = image_id
        headers = {**self.auth(), "Content-Type": OCTET_STREAM}
        path = f"/image/v2/images/{image_id}/file"
        reply = self.measured(
            payload,
            "upload",
            "api",
            round_,
            lambda: put_file(self.cloud.api, path, headers, payload.path, self.block),
        )
        if reply.status != 204:
            raise BenchError(f"API upload answered {reply.status}: {reply.body[:300]!r}")

    def api_download(self, payload: Payload, round_: int) -> None:
        path = f"/image/v2/images/{self.images['api']}/file"
        reply = self.measured(
            payload,
            "download",
            "api",
            round_,
            lambda: get_file(self.cloud.api, path, self.auth(), self.block),
        )
        check_download(reply, payload, "API")
        if reply.headers.get("content-md5") not in (None, payload.md5):
            raise BenchError(f"API download's Content-MD5 is not {payload.md5}")
        deleted = call(self.cloud.api, "DELETE", path.removesuffix("/file"), self.auth())
        if deleted.status != 204:
            raise BenchError(f"image delete answered {deleted.status}: {deleted.body[:300]!r}")

    def raw_upload(self, payload: Payload, round_: int) -> None:
        # A new file each time, as the API side writes one. After each download the API side
        # deletes its image and the raw side empties its file (vcsim has no DELETE on
        # /folder), so both free the pages they wrote, untimed: writing into just-freed memory
        # or into never-touched memory costs the simulator very differently on a VM (3x
        # seen), and both sides must pay alike.
        name = f"bench-raw-{self.run}-{round_}.{payload.label}"
        self.images["raw"] = name
        path = self.datastore.path(name)
        headers = {"Content-Type": OCTET_STREAM}
        reply = self.measured(
            payload,
            "upload",
            "raw",
            round_,
            lambda: put_file(self.datastore.address, path, headers, payload.path, self.block),
        )
        if not 200 <= reply.status < 300:
            raise BenchError(f"raw upload answered {reply.status}: {reply.body[:300]!r}")

    def raw_download(self, payload: Payload, round_: int) -> None:
        path = self.datastore.path(self.images["raw"])
        reply = self.measured(
            payload,
            "download",
            "raw",
            round_,
            lambda: get_file(self.datastore.address, path, {}, self.block),
        )
        check_download(reply, payload, "raw")
        # Emptied (vcsim's PUT truncates), untimed, as the API side deletes its image.
        emptied = call(self.datastore.address, "PUT", path, {"Content-Length": "0"})
        if not 200 <= emptied.status < 300:
            raise BenchError(f"emptying the raw file answered {emptied.status}")

    def round(self, payload: Payload, round_: int) -> None:
        """Each side uploads then downloads; the side that goes first alternates."""
        sides = ["api", "raw"] if round_ % 2 else ["raw", "api"]
        log(f"round {round_ or 'warm-up'} ({payload.label}, {' then '.join(sides)})")
        for side in sides:
            if side == "api":
                self.api_upload(payload, round_)
                self.api_download(payload, round_)
            else:
                self.raw_upload(payload, round_)
                self.raw_download(payload, round_)


def check_download(reply: Reply, payload: Payload, side: str) -> None:
    if reply.status != 200 or reply.length != payload.size:
        raise BenchError(
            f"{side} download answered {reply.status} with {reply.length} bytes of {payload.size}"
        )


# --------------------------------------------------------------------------------------------
# Output


@dataclass(frozen=True)
class Figure:
    payload: str
    direction: str
    rounds: int
    api_mb_s: float
    raw_mb_s: float
    ratio: float
    api_rounds: list[float]
    raw_rounds: list[float]
    server_cpu_s: float
    vcenter_cpu_s: float
    other_cpu_s: float
    rss_before_mib: float
    rss_peak_mib: float


def figures(samples: list[Sample]) -> list[Figure]:
    keys = dict.fromkeys((s.payload, s.direction) for s in samples)
    result = []
    for payload, direction in keys:
        mine = [s for s in samples if (s.payload, s.direction) == (payload, direction)]
        api = [s for s in mine if s.side == "api"]
        raw = [s for s in mine if s.side == "raw"]
        if not api or not raw:
            continue
        api_median = statistics.median(s.mb_per_s for s in api)
        raw_median = statistics.median(s.mb_per_s for s in raw)
        result.append(
            Figure(
                payload,
                direction,
                len(api),
                api_median,
                raw_median,
                api_median / raw_median,
                [round(s.mb_per_s, 1) for s in api],
                [round(s.mb_per_s, 1) for s in raw],
                statistics.median(s.server_cpu for s in api),
                statistics.median(s.vcenter_cpu for s in api),
                statistics.median(s.other_cpu for s in mine),
                min(s.rss_before_kib for s in api) / 1024,
                max(s.rss_peak_kib for s in api) / 1024,
            )
        )
    return result


def render(results: list[Figure], size: int, start_kib: int) -> str:
    header = [
        "payload",
        "direction",
        "rounds",
        "API MB/s",
        "raw MB/s",
        "API/raw",
        "server CPU s",
        "vCenter CPU s",
        "other CPU s",
        "RSS before MiB",
        "RSS peak MiB",
    ]
    rows = [
        [
            f.payload,
            f.direction,
            str(f.rounds),
            f"{f.api_mb_s:.1f}",
            f"{f.raw_mb_s:.1f}",
            f"{f.ratio:.2f}",
            f"{f.server_cpu_s:.2f}",
            f"{f.vcenter_cpu_s:.2f}",
            f"{f.other_cpu_s:.2f}",
            f"{f.rss_before_mib:.0f}",
            f"{f.rss_peak_mib:.0f}",
        ]
        for f in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    lines = [line(header), rule, *(line(r) for r in rows), ""]
    for f in results:
        verdict = "meets" if f.ratio >= TARGET_RATIO else "below"
        lines.append(
            f"{f.payload} {f.direction}: API {f.api_mb_s:.1f} MB/s vs raw {f.raw_mb_s:.1f} MB/s, "
            f"API/raw {f.ratio:.2f} ({verdict} the {TARGET_RATIO} target); "
            f"rounds API {f.api_rounds}, raw {f.raw_rounds}"
        )
    for f in results:
        growth = f.rss_peak_mib - f.rss_before_mib
        lines.append(
            f"{f.payload} {f.direction}: vistack RSS {f.rss_before_mib:.0f} MiB before, "
            f"peak {f.rss_peak_mib:.0f} MiB (+{growth:.0f} MiB, "
            f"{100 * growth * MIB / size:.1f}% of the {size / MIB:.0f} MiB image)"
        )
    if results:
        peak = max(f.rss_peak_mib for f in results)
        growth = peak - start_kib / 1024
        # A few MiB are the first image request's own (imports, thread pools), whatever the
        # image's size: hence the floor for small images.
        limit = max(size / 8, FLAT_FLOOR) / MIB
        lines.append(
            f"vistack RSS {start_kib / 1024:.0f} MiB when ready (before any image), peak over "
            f"every measured transfer {peak:.0f} MiB (+{growth:.0f} MiB): "
            + (f"flat (under {limit:.0f} MiB)" if growth < limit else f"NOT flat (>= {limit:.0f})")
        )
    lines.append("MB/s = 10^6 bytes/s; CPU columns: medians, seconds per transfer (API side)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=512, help="image size (MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (after warm-up)")
    parser.add_argument("--block", type=int, default=MIB, help="client read/send size (bytes)")
    parser.add_argument("--no-vmdk", action="store_true", help="skip the qemu-img VMDK round")
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", help="write the samples and figures here too")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.size_mib < 1:
        parser.error("--rounds and --size-mib must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="vistack-bench-image-"))
    try:
        size = args.size_mib * MIB
        log(f"writing a {args.size_mib} MiB random payload to {workdir}")
        payloads = [random_payload(workdir / "payload.raw", size)]
        with local_cloud(workdir, args.start_timeout) as cloud:
            token = issue_token(cloud)
            datastore = find_datastore(cloud, token)
            log(
                f"image store {datastore.datastore} ({datastore.datacenter}, folder "
                f"{datastore.folder!r}) at {datastore.address.host}:{datastore.address.port}"
            )
            bench = Bench(cloud, token, datastore, args.block)
            start_kib = status_kib(cloud.pid, "VmRSS") or 0
            for round_ in range(args.rounds + 1):
                bench.round(payloads[0], round_)
            if not args.no_vmdk:
                log("converting the payload to a streamOptimized VMDK with qemu-img")
                vmdk = vmdk_payload(payloads[0].path, workdir / "payload.vmdk")
                if vmdk is not None:
                    payloads.append(vmdk)
                    bench.round(vmdk, 1)
            results = figures(bench.samples)
            print(
                f"vistack {cloud.api.host}:{cloud.api.port} (pid {cloud.pid}) vs datastore "
                f"/folder {datastore.address.host}:{datastore.address.port}; "
                f"{args.size_mib} MiB images, {args.block} B client blocks, {os.cpu_count()} CPUs"
            )
            print(render(results, size, start_kib))
            if args.json:
                Path(args.json).write_text(
                    json.dumps(
                        {
                            "size_bytes": size,
                            "rss_start_kib": start_kib,
                            "block": args.block,
                            "cpus": os.cpu_count(),
                            "figures": [asdict(f) for f in results],
                            "samples": [asdict(s) for s in bench.samples],
                        },
                        indent=2,
                    )
                    + "\n"
                )
                log(f"wrote {args.json}")
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    finally:
        if args.keep_data:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
