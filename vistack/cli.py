"""The `vistack` command line: `up`, `keys rotate`, `db upgrade`, `edge teardown`/`meters`,
`vcenter`."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from types import FrameType
from typing import NoReturn

import click
import uvicorn

from vistack.config import ConfigError, Settings, load_settings

LOG = logging.getLogger("vistack")


def _settings(config: str | None, data_dir: str | None, bind: str | None = None) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, bind=bind)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


@click.group()
def main() -> None:
    """vistack: OpenStack on VMware vSphere."""


@main.command()
@click.option("--data-dir", default=None, help="State directory (default ./.vistack).")
@click.option("--bind", default=None, help="HOST:PORT to listen on (default 127.0.0.1:5000).")
@click.option("--config", "config_file", default=None, help="TOML configuration file.")
def up(data_dir: str | None, bind: str | None, config_file: str | None) -> None:
    """Run the whole cloud in the foreground until Ctrl-C or SIGTERM."""
    settings = _settings(config_file, data_dir, bind)
    _configure_logging(settings.server.log_level)
    # Heavy imports only for the commands that need them.
    from vistack.app import build_cloud
    from vistack.credentials import bootstrap_passwords, write_client_files

    host, _, port = settings.server.bind.rpartition(":")
    if not host or not port.isdigit():
        raise click.UsageError(f"--bind must be HOST:PORT, got {settings.server.bind!r}")
    from vistack.drivers.errors import DriverError

    try:
        cloud = build_cloud(settings)
    except DriverError as exc:
        # One line a person can act on (unreachable, TLS, credentials), never a traceback.
        click.echo(f"vistack: error: {exc.message}", err=True)
        raise SystemExit(1) from None
    if cloud.vsphere is not None:
        for vcenter in cloud.vsphere.vcenters:
            LOG.info(
                "vCenter %s at %s:%s (%s)",
                vcenter.endpoint.name,
                vcenter.endpoint.host,
                vcenter.endpoint.port,
                "embedded" if cloud.vsphere.embedded else "configured",
            )
    passwords = bootstrap_passwords(settings)
    cloud.bootstrap(passwords["admin"], passwords["demo"])
    server = uvicorn.Server(
        uvicorn.Config(
            cloud.asgi,
            host=host,
            port=int(port),
            log_level=settings.server.log_level,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
        )
    )

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            write_client_files(settings, passwords)
            click.echo(f"vistack ready: {settings.public_url}/identity/v3", nl=True)
            sys.stdout.flush()
        await task

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn handles SIGINT/SIGTERM while it serves, then re-raises the signal after its
    # graceful shutdown; with a handler in place the re-raised signal lands here and a requested
    # stop exits 0 instead of dying by the signal (-15). Also covers a signal before startup.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    try:
        asyncio.run(serve())
    finally:
        cloud.close()
    if not server.started:
        raise SystemExit(1)


@main.group()
def keys() -> None:
    """Fernet key management."""


@keys.command("rotate")
@click.option("--data-dir", default=None)
@click.option("--config", "config_file", default=None)
@click.option(
    "--credential",
    is_flag=True,
    help="Rotate the credential keys instead, re-encrypting every stored credential.",
)
def keys_rotate(data_dir: str | None, config_file: str | None, credential: bool) -> None:
    """Promote the staged key to primary and stage a new one (safe on a running cloud)."""
    from vistack.identity.wiring import key_repository, rotate_credential_keys

    if credential:
        settings = _settings(config_file, data_dir)
        result = rotate_credential_keys(settings)
        click.echo(
            f"rotated credential keys: primary key is now {result.primary}, "
            f"{result.keys} keys in {settings.credential_key_path}, "
            f"{result.reencrypted} credentials re-encrypted"
        )
        return
    repository = key_repository(_settings(config_file, data_dir))
    repository.ensure()
    primary = repository.rotate()
    click.echo(
        f"rotated: primary key is now {primary}, "
        f"{len(repository.keys())} keys in {repository.directory}"
    )


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--data-dir", default=None)
@click.option("--config", "config_file", default=None)
def db_upgrade(data_dir: str | None, config_file: str | None) -> None:
    """Apply every pending migration."""
    from vistack.common.db import Database
    from vistack.migrations import runner

    settings = _settings(config_file, data_dir)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    database = Database.from_url(settings.database_url)
    runner.upgrade(database.engine)
    database.dispose()
    click.echo("database schema is up to date")


@main.group()
def edge() -> None:
    """The local edge agent's data plane (edge network backend)."""


@edge.command("teardown")
@click.option("--data-dir", default=None)
@click.option("--config", "config_file", default=None)
def edge_teardown(data_dir: str | None, config_file: str | None) -> None:
    """Remove this node's routers, DHCP servers, bridges and firewall tables (run it with the
    cloud stopped: `vistack up` leaves them running on purpose, so a restart cuts no traffic)."""
    from pathlib import Path

    from vistack.network.dataplane.sync import teardown_state_dir

    settings = _settings(config_file, data_dir)
    state_dir = Path(settings.network.edge_state_dir or settings.data_path / "edge")
    teardown_state_dir(state_dir)
    click.echo(f"edge data plane of {state_dir} removed")


def rows_of(
    counters: dict[tuple[str, str], tuple[int, int]],
) -> list[tuple[tuple[str, str], tuple[int, int]]]:
    """The counters of `edge meters`, by router then label."""
    return sorted(counters.items())


@edge.command("meters")
@click.option("--data-dir", default=None)
@click.option("--config", "config_file", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the counters as JSON.")
def edge_meters(data_dir: str | None, config_file: str | None, as_json: bool) -> None:
    """Print the metering labels' traffic counters of this node's routers (packets and bytes
    since the label reached the router). Neutron reports these to a telemetry service; vistack
    has none yet, so this is how they are read."""
    import json
    from pathlib import Path

    from vistack.edge.agent import EdgeAgent, EdgeConfig
    from vistack.network.dataplane.sync import agent_name

    settings = _settings(config_file, data_dir)
    state_dir = Path(settings.network.edge_state_dir or settings.data_path / "edge")
    counters = EdgeAgent(EdgeConfig(state_dir, name=agent_name(state_dir))).meter_counters()
    rows = [
        {"router_id": router, "label_id": label, "packets": packets, "bytes": octets}
        for (router, label), (packets, octets) in rows_of(counters)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    table: list[tuple[str, ...]] = [("router", "label", "packets", "bytes")]
    table += [(router, label, str(p), str(b)) for (router, label), (p, b) in rows_of(counters)]
    header = table[0]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@main.group()
def vcenter() -> None:
    """vCenter connection checks."""


@vcenter.command("check")
@click.option("--data-dir", default=None, help="Data dir of a running cloud (its vcenter.json).")
@click.option("--config", "config_file", default=None, help="TOML configuration file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def vcenter_check(data_dir: str | None, config_file: str | None, as_json: bool) -> None:
    """Connect to the vCenter(s) vistack would use and report what they offer, or what is wrong.

    With the data dir of a running embedded cloud, checks its embedded vCenter; otherwise the
    configured [vcenter] (and [[vcenters]]). Exits 1 on a connection failure (one line on
    stderr) or when the report lists errors.
    """
    import dataclasses
    import json

    from vistack.drivers.errors import DriverError, TLSVerificationError
    from vistack.vsphere.check import check_vcenter, render_json
    from vistack.vsphere.embedded import read_endpoint_file
    from vistack.vsphere.runtime import configured_endpoints, read_health

    settings = _settings(config_file, data_dir)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    def fail(message: str, error: DriverError | None = None) -> NoReturn:
        if as_json:
            detail: dict[str, str] = {"message": message}
            if error is not None:
                detail["kind"] = type(error).__name__
                if isinstance(error, TLSVerificationError) and error.thumbprint:
                    detail["thumbprint"] = error.thumbprint
            click.echo(json.dumps({"ok": False, "error": detail}, indent=2))
        click.echo(f"vistack: error: {message}", err=True)
        raise SystemExit(1)

    try:
        embedded = read_endpoint_file(settings.data_path)
        endpoints = [embedded] if embedded is not None else configured_endpoints(settings)
    except (DriverError, ValueError) as exc:
        fail(str(exc))
    if not endpoints:
        fail(
            f"no vCenter configured ([vcenter] host is empty) and no embedded vCenter running "
            f"for data dir {settings.data_path} (start the cloud with `vistack up`)"
        )
    reports = []
    for endpoint in endpoints:
        try:
            report = check_vcenter(endpoint, timeout=settings.vcenter.connect_timeout)
        except DriverError as exc:
            fail(exc.message, exc)
        health = read_health(settings.data_path, endpoint.name)
        reports.append(dataclasses.replace(report, cloud_health=health) if health else report)
    if as_json:
        click.echo(render_json(reports))
    else:
        click.echo("\n\n".join(report.render_text() for report in reports))
    errors = [problem for report in reports for problem in report.errors]
    for problem in errors:
        click.echo(f"vistack: error: {problem.message}", err=True)
    if errors:
        raise SystemExit(1)
