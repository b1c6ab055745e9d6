"""The edge worker process: a failed pass is an error the sync retries, a dead worker is
replaced by the next pass, and closing leaves no process behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistack.network.dataplane.worker import WorkerConfig, WorkerPasses


def test_failed_passes_and_a_dead_worker(tmp_path: Path) -> None:
    # A database without the network tables: every pass fails, in the worker.
    config = WorkerConfig(
        database_url=f"sqlite:///{tmp_path / 'empty.db'}",
        state_dir=str(tmp_path / "edge"),
        trunk_interface=None,
        name="nworkertest",
        metadata_socket=None,
    )
    passes = WorkerPasses(config)
    try:
        with pytest.raises(RuntimeError, match="no such table"):
            passes.run()
        first = passes._process
        assert first is not None and first.poll() is None, "a failed pass keeps the worker"

        first.kill()
        first.wait()
        with pytest.raises((RuntimeError, OSError)):
            passes.run()
        assert passes._process is None, "a dead worker is dropped"

        with pytest.raises(RuntimeError, match="no such table"):
            passes.run()
        second = passes._process
        assert second is not None and second is not first, "the next pass starts a new one"
    finally:
        passes.close()
    assert passes._process is None and second.poll() is not None
