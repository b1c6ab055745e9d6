"""Restart recovery of images: what each interrupted state becomes, from this node's markers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from vistack.common.db import Database
from vistack.image.db.images import SqlImageRepository
from vistack.image.domain.models import Image, ImageTask, Status
from vistack.image.domain.recovery import FAILED, IMPORTING, InFlight, recover
from vistack.migrations import runner


@pytest.fixture
def repo(tmp_path: Path) -> SqlImageRepository:
    database = Database.from_url(f"sqlite:///{tmp_path / 'images.db'}")
    runner.upgrade(database.engine)
    return SqlImageRepository(database)


def _image(repo: SqlImageRepository, image_id: str, status: Status, **properties: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    repo.create(
        Image(
            image_id, "x", "p1", status.value, "private", False, False, "raw", "bare",
            7, None, None, None, None, 0, 0, now, now, dict(properties),
        )
    )  # fmt: skip


def _status(repo: SqlImageRepository, image_id: str) -> str:
    image = repo.get(image_id)
    assert image is not None
    return image.status


def test_interrupted_writes_become_retryable(repo: SqlImageRepository, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    in_flight = InFlight(staging)
    ids = {name: f"00000000-0000-0000-0000-00000000000{n}" for n, name in enumerate(
        ["saving", "staging", "importing-staged", "importing-lost", "copying", "done", "other"]
    )}  # fmt: skip
    _image(repo, ids["saving"], Status.SAVING)
    _image(repo, ids["staging"], Status.UPLOADING)
    _image(repo, ids["importing-staged"], Status.IMPORTING, **{IMPORTING: "ds1"})
    _image(repo, ids["importing-lost"], Status.IMPORTING, **{IMPORTING: "ds1"})
    _image(repo, ids["copying"], Status.ACTIVE, **{IMPORTING: "ds2"})
    _image(repo, ids["done"], Status.ACTIVE)
    _image(repo, ids["other"], Status.SAVING)  # another node's upload: no marker here
    (staging / ids["staging"]).write_bytes(b"partial")
    (staging / ids["importing-staged"]).write_bytes(b"staged")
    now = datetime.now(UTC).replace(tzinfo=None)
    repo.create_task(
        ImageTask(
            "task-1", ids["importing-staged"], "api_image_import", "processing", "p1", None,
            None, {}, None, "", now, now, None,
        )
    )  # fmt: skip
    for name in ("saving", "staging", "importing-staged", "importing-lost", "copying", "done"):
        in_flight.mark(ids[name])

    touched = recover(repo, in_flight, lambda image_id: staging / image_id)

    assert set(touched) == {ids[n] for n in ("saving", "staging", "importing-staged",
                                              "importing-lost", "copying")}  # fmt: skip
    assert _status(repo, ids["saving"]) == "queued"
    assert _status(repo, ids["staging"]) == "queued"
    assert not (staging / ids["staging"]).exists()
    assert _status(repo, ids["importing-staged"]) == "uploading"
    assert _status(repo, ids["importing-lost"]) == "queued"
    restaged = repo.get(ids["importing-staged"])
    assert restaged is not None
    assert (restaged.properties[IMPORTING], restaged.properties[FAILED]) == ("", "ds1")
    assert [t.status for t in repo.list_tasks(ids["importing-staged"])] == ["failure"]
    copied = repo.get(ids["copying"])
    assert copied is not None and copied.status == "active"
    assert copied.properties[FAILED] == "ds2"
    assert _status(repo, ids["done"]) == "active"
    assert _status(repo, ids["other"]) == "saving"
    assert in_flight.markers() == []


def test_hold_marks_only_while_running(tmp_path: Path) -> None:
    in_flight = InFlight(tmp_path)
    with in_flight.hold("abc"):
        assert [m.name for m in in_flight.markers()] == ["abc"]
    assert in_flight.markers() == []
    with pytest.raises(RuntimeError), in_flight.hold("abc"):
        raise RuntimeError("boom")
    assert in_flight.markers() == []
