"""Fixtures of the edge data plane tests (helpers live in `lab.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.lab import Lab, new_tag
from vistack.edge import EdgeAgent, EdgeConfig


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tag=new_tag(), workdir=tmp_path)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[EdgeAgent]:
    edge = EdgeAgent(EdgeConfig(state_dir=tmp_path / "edge", name=f"t{new_tag()}"))
    try:
        yield edge
    finally:
        edge.teardown()
