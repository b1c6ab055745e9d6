"""The metadata path: instance → namespace proxy → unix socket → relay → (fake) Nova metadata API.

The first half needs no root: the relay's header logic, and the relay and the proxy process run
against a fake upstream over a real unix socket and loopback TCP. The second half (root) builds a
router-served network and an isolated one with the edge agent, gives instance namespaces their
addresses (and the option 121 route) by DHCP, and fetches http://169.254.169.254/... from them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.edge.lab import Lab, needs_root, new_tag, wait_until
from vistack.edge import (
    DhcpHost,
    DhcpSubnet,
    EdgeAgent,
    EdgeConfig,
    EdgeError,
    EdgeState,
    ExternalGateway,
    Router,
    RouterInterface,
    Segment,
    metadata_procs,
    names,
    nft,
)
from vistack.edge import metadata_http as http
from vistack.edge.metadata import MetadataRelay, MetadataTarget, Origin, sign, upstream_headers
from vistack.edge.metadata_proxy import forward_headers

SECRET = "s3cret"
METADATA_IP = "169.254.169.254"
USER_DATA = random.Random(7).randbytes(300_000)  # several chunks, every byte value

# -- a fake Nova metadata API -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes


@dataclass
class Upstream:
    """Records every request; answers the instance id, user-data, a chunked body, or 404."""

    requests: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def start(self) -> Upstream:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): self.headers.get_all(k) or [] for k in self.headers}
                upstream.requests.append(Seen(self.command, self.path, headers, body))
                if self.path.endswith("/chunked"):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (b"hello ", b"chunked ", b"world"):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if self.path.endswith("/meta-data/instance-id"):
                    data = (self.headers.get("X-Instance-ID") or "").encode()
                elif self.path.endswith("/user-data"):
                    data = USER_DATA
                elif self.command == "POST":
                    data = b"stored " + body
                else:
                    self.send_error(404, "upstream has no such path")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@dataclass
class Directory:
    """The resolve callback: a table (ip, "router"|"network", id) → instance; records calls."""

    table: dict[tuple[str, str, str], MetadataTarget] = field(default_factory=dict)
    calls: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    broken: bool = False  # the database is down: the lookup raises

    def __call__(
        self, ip: str, router_id: str | None = None, network_id: str | None = None
    ) -> MetadataTarget | None:
        self.calls.append((ip, router_id, network_id))
        if self.broken:
            raise ConnectionError("database unavailable")
        if router_id is not None:
            return self.table.get((ip, "router", router_id))
        return self.table.get((ip, "network", network_id or ""))


def raw_request(sock_path: Path, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the relay's socket as a proxy would; parse the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(sock_path))
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


def proxied(path: str, ip: str, who: str, extra: str = "", method: str = "GET") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 169.254.169.254\r\nX-Forwarded-For: {ip}\r\n"
        f"{who}\r\n{extra}Connection: close\r\n\r\n"
    ).encode()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    fake = Upstream().start()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def relay(tmp_path: Path, upstream: Upstream) -> Iterator[tuple[MetadataRelay, Directory]]:
    directory = Directory()
    directory.table[("10.0.0.5", "router", "r-1")] = MetadataTarget("inst-1", "proj-1")
    directory.table[("10.0.0.6", "network", "n-1")] = MetadataTarget("inst-2", "proj-2")
    relay = MetadataRelay(tmp_path / "relay.sock", upstream.url, directory, SECRET)
    relay.response_timeout = 1.0
    relay.start()
    try:
        yield relay, directory
    finally:
        relay.stop()


# -- no root: header logic ----------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_the_instance_id() -> None:
    # `echo -n inst-1 | openssl dgst -sha256 -hmac s3cret`
    assert sign(SECRET, "inst-1") == (
        "0423ac5ab426fe85654f33cf6ebc38df4ce8ffe5bf842017ce9f21a5bd299eae"
    )


def test_upstream_headers_replace_identity_and_hop_by_hop_headers() -> None:
    client = [
        ("Host", "169.254.169.254"),
        ("Accept", "*/*"),
        ("X-Instance-ID", "someone-else"),
        ("x-tenant-id", "other-project"),
        ("X-Instance-ID-Signature", "forged"),
        ("X-Forwarded-For", "10.0.0.5"),
        ("X-Neutron-Router-ID", "r-1"),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "300"),
        ("Content-Length", "3"),
    ]
    out = upstream_headers(
        client,
        Origin("10.0.0.5", "r-1", None),
        MetadataTarget("inst-1", "proj-1"),
        SECRET,
        "nova:8775",
    )
    assert out == [
        ("Host", "nova:8775"),
        ("Accept", "*/*"),
        ("Content-Length", "3"),
        ("X-Forwarded-For", "10.0.0.5"),
        ("X-Instance-ID", "inst-1"),
        ("X-Tenant-ID", "proj-1"),
        ("X-Instance-ID-Signature", sign(SECRET, "inst-1")),
    ]


def test_proxy_replaces_identity_headers_sent_by_the_instance() -> None:
    client = [
        ("Accept", "*/*"),
        ("X-Forwarded-For", "10.9.9.9"),
        ("X-Neutron-Network-ID", "not-mine"),
        ("Forwarded", "for=10.9.9.9"),
        ("TE", "trailers"),
    ]
    assert forward_headers(client, "10.0.0.5", "r-1", None) == [
        ("Accept", "*/*"),
        ("X-Forwarded-For", "10.0.0.5"),
        ("X-Neutron-Router-ID", "r-1"),
    ]
    assert forward_headers([], "10.0.0.6", None, "n-1")[-1] == ("X-Neutron-Network-ID", "n-1")


def test_request_parsing_refuses_what_it_cannot_relay() -> None:
    req = http.parse_request(b"GET /latest HTTP/1.1\r\nHost: x\r\nContent-Length: 4")
    assert (req.method, req.target, req.get("host"), req.content_length()) == (
        "GET",
        "/latest",
        "x",
        4,
    )
    for head, status in (
        (b"GET http://evil/ HTTP/1.1", 400),
        (b"GET /a b HTTP/1.1", 400),
        (b"GET / HTTP/1.1\r\nbad header", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked", 411),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", 400),
        (b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 101, 431),
    ):
        with pytest.raises(http.HttpError) as err:
            http.parse_request(head).content_length()
        assert err.value.status == status, head


def test_router_metadata_filter_and_proxy_command(tmp_path: Path) -> None:
    text = nft.render_router_metadata("vistack_meta", "169.254.169.254")
    assert 'ip daddr 169.254.169.254 iifname "qr-*" accept' in text
    assert text.rstrip().endswith("ip daddr 169.254.169.254 drop\n  }\n}")
    spec = metadata_procs.ProxySpec.from_key("router:r-1")
    assert (spec.kind, spec.netns) == ("router", "qrouter-r-1")
    argv = metadata_procs.command(spec, Path("/run/m.sock"), tmp_path)
    assert argv[:3] == [sys.executable, "-m", "vistack.edge.metadata_proxy"]
    assert argv[argv.index("--router-id") :][:2] == ["--router-id", "r-1"]
    with pytest.raises(EdgeError):
        metadata_procs.ProxySpec.from_key("router:bad id")
    with pytest.raises(EdgeError):
        EdgeAgent(EdgeConfig(tmp_path, metadata_socket=Path("/" + "x" * 120)))


def test_which_namespaces_get_a_proxy() -> None:
    routed = DhcpSubnet(
        "net-a", "sub-a", "10.0.0.0/24", "10.0.0.2", "fa:16:3e:00:00:02", "10.0.0.1"
    )
    isolated = DhcpSubnet("net-b", "sub-b", "10.0.1.0/24", "10.0.1.2", "fa:16:3e:00:00:03")
    forced = dataclasses.replace(routed, network_id="net-c", metadata_via="dhcp")
    state = EdgeState(
        dhcp=(routed, isolated, forced),
        routers=(
            Router("r-1", (RouterInterface("sub-a", "net-a", "10.0.0.1", "10.0.0.0/24"),)),
            Router("r-2"),  # no interface yet: nobody routes metadata to it
        ),
    )
    assert [s.key for s in metadata_procs.wanted(state)] == [
        "router:r-1",
        "network:net-b",
        "network:net-c",
    ]


# -- no root: the relay over its unix socket ----------------------------------------------------


def test_relay_forwards_signed_request_and_streams_answer(
    relay: tuple[MetadataRelay, Directory], upstream: Upstream
) -> None:
    server, directory = relay
    status, headers, body = raw_request(
        server.socket_path, proxied("/latest/user-data", "10.0.0.5", "X-Neutron-Router-ID: r-1")
    )
    assert status == 200 and body == USER_DATA
    assert headers["connection"] == "close"
    assert directory.calls == [("10.0.0.5", "r-1", None)]
    seen = upstream.requests[-1].headers
    assert seen["x-instance-id"] == ["inst-1"]
    assert seen["x-tenant-id"] == ["proj-1"]
    assert seen["x-forwarded-for"] == ["10.0.0.5"]
    assert seen["x-instance-id-signature"] == [sign(SECRET, "inst-1")]
    assert "x-neutron-router-id" not in seen

    # A chunked answer passes through with its framing intact; a POST body arrives whole.
    status, headers, body = raw_request(
        server.socket_path, proxied("/openstack/chunked", "10.0.0.6", "X-Neutron-Network-ID: n-1")
    )
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert body == b"6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n"
    status, _, body = raw_request(
        server.socket_path,
        proxied(
            "/openstack/latest/password",
            "10.0.0.6",
            "X-Neutron-Network-ID: n-1",
            "Content-Length: 6\r\n",
            "POST",
        )
        + b"pa$$wd",
    )
    assert (status, body) == (200, b"stored pa$$wd")
    assert upstream.requests[-1].headers["x-instance-id"] == ["inst-2"]


def test_relay_answers_errors_itself(
    relay: tuple[MetadataRelay, Directory], upstream: Upstream
) -> None:
    server, directory = relay
    path = server.socket_path
    status, _, body = raw_request(
        path, proxied("/latest/meta-data/", "10.0.0.99", "X-Neutron-Router-ID: r-1")
    )
    assert status == 404 and b"no instance with address 10.0.0.99 behind router r-1" in body
    # The upstream's own 404 is passed through (not the relay's).
    status, _, body = raw_request(path, proxied("/nope", "10.0.0.5", "X-Neutron-Router-ID: r-1"))
    assert status == 404 and b"upstream has no such path" in body
    status, _, _ = raw_request(path, b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.5\r\n\r\n")
    assert status == 400
    before = len(upstream.requests)
    directory.broken = True
    status, _, body = raw_request(path, proxied("/", "10.0.0.5", "X-Neutron-Router-ID: r-1"))
    assert (status, body) == (500, b"metadata lookup failed\n")
    assert len(upstream.requests) == before


def test_relay_reports_upstream_down_and_slow(tmp_path: Path) -> None:
    directory = Directory({("10.0.0.5", "router", "r-1"): MetadataTarget("inst-1", "proj-1")})
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with MetadataRelay(tmp_path / "a.sock", f"http://127.0.0.1:{port}", directory, SECRET) as r:
        status, _, body = raw_request(
            r.socket_path, proxied("/latest", "10.0.0.5", "X-Neutron-Router-ID: r-1")
        )
    assert status == 502 and b"is unreachable" in body
    silent = socket.socket()  # accepts (backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        relay = MetadataRelay(tmp_path / "b.sock", url, directory, SECRET, response_timeout=0.5)
        with relay:
            status, _, body = raw_request(
                relay.socket_path, proxied("/latest", "10.0.0.5", "X-Neutron-Router-ID: r-1")
            )
        assert status == 504 and b"did not answer in time" in body
        assert not relay.socket_path.exists()
    finally:
        silent.close()


def test_relay_refuses_a_socket_in_use(relay: tuple[MetadataRelay, Directory]) -> None:
    server, directory = relay
    other = MetadataRelay(server.socket_path, "http://127.0.0.1:1", directory, SECRET)
    with pytest.raises(EdgeError, match="already serves"):
        other.start()
    assert os.stat(server.socket_path).st_mode & 0o777 == 0o600


def test_proxy_process_relays_with_its_identity(
    tmp_path: Path, relay: tuple[MetadataRelay, Directory], upstream: Upstream
) -> None:
    """The proxy module as its own process, on loopback instead of 169.254.169.254."""
    server, directory = relay
    directory.table[("127.0.0.1", "network", "n-1")] = MetadataTarget("inst-3", "proj-3")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pid_file = tmp_path / "proxy.pid"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vistack.edge.metadata_proxy",
            "--listen",
            f"127.0.0.1:{port}",
            "--socket",
            str(server.socket_path),
            "--network-id",
            "n-1",
            "--pid-file",
            str(pid_file),
        ],
    )
    try:
        assert wait_until(pid_file.exists, 10) is not None
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "GET",
            "/latest/meta-data/instance-id",
            headers={"X-Instance-ID": "inst-1", "X-Neutron-Router-ID": "r-1"},
        )
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"inst-3")
        assert directory.calls[-1] == ("127.0.0.1", None, "n-1")
        assert upstream.requests[-1].headers["x-instance-id"] == ["inst-3"]
        conn.close()
        # Relay gone: the proxy answers 502 itself.
        server.stop()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/latest")
        resp = conn.getresponse()
        assert resp.status == 502 and b"metadata relay unavailable" in resp.read()
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert not pid_file.exists()
    finally:
        proc.kill()
        proc.wait()


# -- root: instances fetch their metadata through the edge data plane ---------------------------

FETCH = """
import http.client, sys
conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=15)
spoof = {"X-Instance-ID": "spoofed", "X-Forwarded-For": "10.9.9.9", "X-Neutron-Router-ID": "x"}
conn.request("GET", sys.argv[1], headers=spoof)
resp = conn.getresponse()
sys.stdout.buffer.write(b"%d\\n" % resp.status + resp.read())
"""


def fetch(netns: str, path: str) -> tuple[int, bytes]:
    """GET from inside an instance with Python (any status), sending spoofed identity headers."""
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", FETCH, path],
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    status, _, body = proc.stdout.partition(b"\n")
    return int(status), body


def connects(netns: str, timeout: float) -> bool:
    """Whether a TCP connection to 169.254.169.254:80 from `netns` is accepted."""
    code = (
        "import socket, sys\n"
        f"socket.create_connection(({METADATA_IP!r}, 80), timeout={timeout}).close()"
    )
    argv = ["ip", "netns", "exec", netns, sys.executable, "-c", code]
    return subprocess.run(argv, capture_output=True, timeout=timeout + 10).returncode == 0


def wget(netns: str, path: str) -> bytes:
    """What cloud-init's first request looks like from an instance: busybox wget.

    No `-T`: busybox 1.35's wget crashes (SIGSEGV) with it; the subprocess timeout bounds it.
    """
    url = f"http://169.254.169.254{path}"
    argv = ["ip", "netns", "exec", netns, "busybox", "wget", "-q", "-O", "-", url]
    proc = subprocess.run(argv, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def dhcp_instance(lab: Lab, name: str, bridge: str, mac: str) -> tuple[str, str]:
    """An instance namespace addressed by DHCP, with the option 121 routes it was given."""
    netns = lab.instance(name, bridge, mac)
    lease = lab.dhcp(netns)
    routes = lease["staticroutes"].split()
    for dest, via in zip(routes[::2], routes[1::2], strict=True):
        subprocess.run(
            ["ip", "-n", netns, "route", "replace", dest, "via", via, "dev", "eth0"], check=True
        )
    return netns, lease["ip"]


def gone(pid: int) -> bool:
    """The process has exited and been reaped (by init, it is a daemon) within 5 s."""
    return wait_until(lambda: not Path(f"/proc/{pid}").exists(), 5) is not None


@dataclass
class MetaLab:
    agent: EdgeAgent
    state: EdgeState
    directory: Directory
    upstream: Upstream
    ids: dict[str, str]
    routed: str  # instance behind the router, known
    stranger: str  # instance behind the router, unknown to the directory
    isolated: str  # instance on the isolated network, known
    outsider: str  # a host on the router's external network

    def proxy_pid(self, key: str) -> int | None:
        spec = metadata_procs.ProxySpec.from_key(key)
        return metadata_procs.ours(metadata_procs.proxy_dir(self.agent.state_dir, spec))


@pytest.fixture
def meta(tmp_path: Path, lab: Lab, upstream: Upstream) -> Iterator[MetaLab]:
    rnd = random.Random()
    pa = f"10.{rnd.randrange(1, 250)}.{rnd.randrange(1, 250)}."
    pb = f"10.{rnd.randrange(1, 250)}.{rnd.randrange(1, 250)}."
    px = f"198.18.{rnd.randrange(1, 250)}."
    ids = {k: str(uuid.uuid4()) for k in ("net_a", "net_b", "net_x", "sub_a", "sub_b", "router")}
    state = EdgeState(
        segments=(Segment(ids["net_a"]), Segment(ids["net_b"]), Segment(ids["net_x"])),
        dhcp=(
            DhcpSubnet(
                ids["net_a"],
                ids["sub_a"],
                f"{pa}0/24",
                f"{pa}2",
                "fa:16:3e:01:00:02",
                gateway_ip=f"{pa}1",
                hosts=(
                    DhcpHost("fa:16:3e:01:00:11", f"{pa}11"),
                    DhcpHost("fa:16:3e:01:00:12", f"{pa}12"),
                ),
            ),
            DhcpSubnet(
                ids["net_b"],
                ids["sub_b"],
                f"{pb}0/24",
                f"{pb}2",
                "fa:16:3e:02:00:02",
                hosts=(DhcpHost("fa:16:3e:02:00:11", f"{pb}11"),),
            ),
        ),
        routers=(
            Router(
                ids["router"],
                interfaces=(RouterInterface(ids["sub_a"], ids["net_a"], f"{pa}1", f"{pa}0/24"),),
                gateway=ExternalGateway(ids["net_x"], f"{px}2", f"{px}0/24", nexthop=f"{px}1"),
            ),
        ),
    )
    directory = Directory()
    directory.table[(f"{pa}11", "router", ids["router"])] = MetadataTarget("vm-routed", "p-a")
    directory.table[(f"{pb}11", "network", ids["net_b"])] = MetadataTarget("vm-isolated", "p-b")
    relay = MetadataRelay(tmp_path / "meta.sock", upstream.url, directory, SECRET)
    relay.start()
    agent = EdgeAgent(
        EdgeConfig(tmp_path / "edge", name=f"m{new_tag()}", metadata_socket=relay.socket_path)
    )
    try:
        agent.apply(state)
        bridge_a, bridge_b = names.bridge(ids["net_a"]), names.bridge(ids["net_b"])
        routed, _ = dhcp_instance(lab, "a1", bridge_a, "fa:16:3e:01:00:11")
        stranger, _ = dhcp_instance(lab, "a2", bridge_a, "fa:16:3e:01:00:12")
        isolated, _ = dhcp_instance(lab, "b1", bridge_b, "fa:16:3e:02:00:11")
        outsider = lab.instance("x1", names.bridge(ids["net_x"]), "fa:16:3e:03:00:01")
        for argv in (
            ["addr", "add", f"{px}1/24", "dev", "eth0"],
            ["route", "add", f"{METADATA_IP}/32", "via", f"{px}2"],
        ):
            subprocess.run(["ip", "-n", outsider, *argv], check=True)
        yield MetaLab(agent, state, directory, upstream, ids, routed, stranger, isolated, outsider)
    finally:
        agent.teardown()
        relay.stop()


@needs_root
def test_instance_fetches_metadata_through_the_router(meta: MetaLab) -> None:
    assert wget(meta.routed, "/latest/meta-data/instance-id") == b"vm-routed"
    ip = meta.directory.calls[-1][0]
    assert meta.directory.calls[-1] == (ip, meta.ids["router"], None)
    seen = meta.upstream.requests[-1].headers
    assert seen["x-forwarded-for"] == [ip] and ip.endswith(".11")
    assert seen["x-instance-id"] == ["vm-routed"]
    assert seen["x-tenant-id"] == ["p-a"]
    assert seen["x-instance-id-signature"] == [sign(SECRET, "vm-routed")]
    # Byte-exact streaming of a large answer, and spoofed identity headers do not pass.
    assert wget(meta.routed, "/latest/user-data") == USER_DATA
    assert fetch(meta.routed, "/latest/meta-data/instance-id") == (200, b"vm-routed")
    assert meta.upstream.requests[-1].headers["x-forwarded-for"] == [ip]


@needs_root
def test_instance_fetches_metadata_on_an_isolated_network(meta: MetaLab) -> None:
    assert wget(meta.isolated, "/latest/meta-data/instance-id") == b"vm-isolated"
    ip, router_id, network_id = meta.directory.calls[-1]
    assert (router_id, network_id) == (None, meta.ids["net_b"]) and ip.endswith(".11")
    seen = meta.upstream.requests[-1].headers
    assert seen["x-forwarded-for"] == [ip]
    assert seen["x-instance-id-signature"] == [sign(SECRET, "vm-isolated")]
    assert wget(meta.isolated, "/latest/user-data") == USER_DATA


@needs_root
def test_unknown_instance_gets_404_and_upstream_down_502(meta: MetaLab) -> None:
    before = len(meta.upstream.requests)
    status, body = fetch(meta.stranger, "/latest/meta-data/instance-id")
    assert status == 404 and b"behind router" in body
    assert len(meta.upstream.requests) == before
    meta.upstream.close()
    status, body = fetch(meta.routed, "/latest/meta-data/instance-id")
    assert status == 502 and b"unreachable" in body
    status, body = fetch(meta.isolated, "/latest/meta-data/instance-id")
    assert status == 502


@needs_root
def test_proxy_lifecycle_follows_the_state(meta: MetaLab) -> None:
    router_key = f"router:{meta.ids['router']}"
    net_key = f"network:{meta.ids['net_b']}"
    pid = meta.proxy_pid(router_key)
    assert pid is not None and meta.proxy_pid(net_key) is not None
    assert meta.proxy_pid(f"network:{meta.ids['net_a']}") is None  # served by the router
    meta.agent.apply(meta.state)
    assert meta.agent.changes == []

    # A dead proxy is restarted by the next apply.
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not Path(f"/proc/{pid}/cmdline").read_bytes(), 5) is not None
    meta.agent.apply(meta.state)
    new_pid = meta.proxy_pid(router_key)
    assert new_pid is not None and new_pid != pid
    assert wget(meta.routed, "/latest/meta-data/instance-id") == b"vm-routed"

    # Removing the router (then the isolated network's DHCP) stops its proxy.
    net_pid = meta.proxy_pid(net_key)
    meta.agent.apply(dataclasses.replace(meta.state, routers=()))
    assert gone(new_pid)
    ledger = json.loads((meta.agent.state_dir / "ledger.json").read_text())
    assert ledger["metadata"] == [net_key]
    meta.agent.apply(dataclasses.replace(meta.state, routers=(), dhcp=meta.state.dhcp[:1]))
    assert net_pid is not None and gone(net_pid)
    assert json.loads((meta.agent.state_dir / "ledger.json").read_text())["metadata"] == []


@needs_root
def test_agent_without_relay_socket_runs_no_proxy(agent: EdgeAgent) -> None:
    ids = {k: str(uuid.uuid4()) for k in ("net", "sub", "router")}
    agent.apply(
        EdgeState(
            segments=(Segment(ids["net"]),),
            routers=(
                Router(
                    ids["router"],
                    (RouterInterface(ids["sub"], ids["net"], "10.1.1.1", "10.1.1.0/24"),),
                ),
            ),
        )
    )
    assert not (agent.state_dir / "metadata").exists()
    lo = subprocess.run(
        ["ip", "-n", names.router_ns(ids["router"]), "-j", "addr", "show", "dev", "lo"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "169.254.169.254" not in lo


@needs_root
def test_external_network_cannot_reach_the_router_proxy(meta: MetaLab) -> None:
    """The router carries 169.254.169.254 on lo; its input filter admits only the qr- legs."""
    assert not connects(meta.outsider, 0.5)
    router_ns = names.router_ns(meta.ids["router"])
    subprocess.run(
        ["ip", "netns", "exec", router_ns, "nft", "delete", "table", "ip", "vistack_meta"],
        check=True,
    )
    # Without the filter the outsider would get through (so the filter is what blocks it) ...
    assert connects(meta.outsider, 2)
    # ... and the next apply puts it back.
    meta.agent.apply(meta.state)
    assert not connects(meta.outsider, 0.5)
    assert wget(meta.routed, "/latest/meta-data/instance-id") == b"vm-routed"
