"""The edge agent's passes in a process of their own, beside the API's.

A pass reads the whole network state, compiles it and programs the node: Python work that grows
with the cloud (10,000 ports: a few hundred ms), after every burst of writes. In the API's
process it took the GIL from the requests that caused it (port creates at concurrency 16 fell
from ~210/s to ~135/s); in its own process it runs on another core, as Neutron's agents do.
The sync thread stays in the API's process (it is notified there, and keeps the status and the
heartbeat); per pass it sends one line to the worker and waits for the answer, not holding the
GIL. A worker that fails or dies fails that pass; the sync's retry starts a new one.

Protocol, one JSON object per line: first the `WorkerConfig`, then per pass `"apply"`, answered
by `{"configurations": ..., "changes": [...]}` or `{"error": "..."}`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from vistack.common.db import Database
from vistack.edge import EdgeAgent, EdgeConfig
from vistack.network.dataplane.compile import read_state
from vistack.network.dataplane.report import configurations
from vistack.network.db.repository import NetworkStore

LOG = logging.getLogger(__name__)

#: The longest a pass may take in the worker before the sync gives up on it (and on the worker).
PASS_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to program the node as the API's own agent would."""

    database_url: str
    state_dir: str
    trunk_interface: str | None
    name: str
    metadata_socket: str | None

    @classmethod
    def of(cls, database_url: str, config: EdgeConfig) -> WorkerConfig:
        socket = config.metadata_socket
        return cls(
            database_url=database_url,
            state_dir=str(config.state_dir),
            trunk_interface=config.trunk_interface,
            name=config.name,
            metadata_socket=str(socket) if socket is not None else None,
        )

    def edge_config(self) -> EdgeConfig:
        socket = Path(self.metadata_socket) if self.metadata_socket else None
        return EdgeConfig(
            Path(self.state_dir), self.trunk_interface, name=self.name, metadata_socket=socket
        )


@dataclass(frozen=True)
class PassResult:
    """What one pass did: the agents' report counts and the node changes it made."""

    configurations: dict[str, dict[str, Any]]
    changes: tuple[str, ...]


class WorkerPasses:
    """Runs passes in a worker process, started on the first and again after a failure."""

    def __init__(self, config: WorkerConfig) -> None:
        self._config = config
        self._process: subprocess.Popen[str] | None = None

    def run(self) -> PassResult:
        process = self._process or self._start()
        try:
            answer = _exchange(process, "apply")
        except Exception:
            self.close()
            raise
        if "error" in answer:
            raise RuntimeError(str(answer["error"]))
        return PassResult(answer["configurations"], tuple(answer["changes"]))

    def _start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "vistack.network.dataplane.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(asdict(self._config)) + "\n")
        process.stdin.flush()
        self._process = process
        return process

    def close(self) -> None:
        """Stop the worker (it exits when its input closes; killed if it does not)."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


def _exchange(process: subprocess.Popen[str], request: str) -> dict[str, Any]:
    """Send one request line and read the answer line, within PASS_TIMEOUT_SECONDS."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(request) + "\n")
    process.stdin.flush()
    line = _read_line(process.stdout, PASS_TIMEOUT_SECONDS)
    if not line:
        raise RuntimeError(f"the edge worker exited (status {process.poll()})")
    answer: dict[str, Any] = json.loads(line)
    return answer


def _read_line(stream: IO[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise TimeoutError(f"the edge worker did not answer within {timeout:.0f} s")
    return result[0]


def serve(lines: IO[str], out: IO[str]) -> None:
    """The worker's loop: the config, then one pass per `apply` line, until input ends."""
    config = WorkerConfig(**json.loads(lines.readline()))
    database = Database.from_url(config.database_url, pool_size=1)
    store = NetworkStore(database)
    agent = EdgeAgent(config.edge_config())
    try:
        for line in lines:
            if json.loads(line) != "apply":
                continue
            try:
                state = read_state(store)
                agent.apply(state)
                answer: dict[str, Any] = {
                    "configurations": configurations(state),
                    "changes": list(agent.changes),
                }
            except Exception as exc:  # reported to the sync, which logs and retries
                LOG.exception("edge worker: the pass failed")
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        database.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(sys.stdin, sys.stdout)
