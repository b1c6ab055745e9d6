"""Images a restart interrupted: markers of in-flight writes, and putting images back.

Each upload or import touches an empty marker file (named by image id) under the staging dir
while it runs; a crash leaves it behind. At start `recover` reads this node's markers only, so
in a multi-controller cloud another node's uploads are left alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from vistack.image.domain.models import Status
from vistack.image.domain.ports import ImageRepository

LOG = logging.getLogger(__name__)
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
#: Under the staging dir: one empty file per image this process is writing.
IN_FLIGHT_DIR = ".in-flight"


class InFlight:
    """The marker files of the images this process is writing."""

    def __init__(self, staging_dir: Path) -> None:
        self.directory = staging_dir / IN_FLIGHT_DIR

    def mark(self, image_id: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker = self.directory / image_id
        marker.touch()
        return marker

    @contextlib.contextmanager
    def hold(self, image_id: str) -> Iterator[None]:
        """Marked while the block runs; unmarked however it ends (a crash leaves the mark)."""
        marker = self.mark(image_id)
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def markers(self) -> list[Path]:
        return sorted(self.directory.iterdir()) if self.directory.is_dir() else []


def recover(
    repo: ImageRepository, in_flight: InFlight, staging_file: Callable[[str], Path]
) -> list[str]:
    """After a restart: images this node was writing go back to where a user can retry.

    An upload or a staging that was cut off returns to `queued` (a partial staged file is
    removed); an import returns to `uploading` when its staged data survived (import it again),
    else to `queued`; an interrupted copy-image leaves
    the image active with the copies made. Unfinished tasks are failed. Returns the ids it
    touched.
    """
    touched: list[str] = []
    for marker in in_flight.markers():
        image_id = marker.name
        image = repo.get(image_id)
        if image is not None and image.status == Status.SAVING:
            repo.update(
                image_id,
                columns={"status": Status.QUEUED.value},
                expected_status=frozenset({Status.SAVING.value}),
            )
            touched.append(image_id)
        elif image is not None and image.status == Status.UPLOADING:
            # Cut off while staging: the staged file is partial.
            staging_file(image_id).unlink(missing_ok=True)
            repo.update(
                image_id,
                columns={"status": Status.QUEUED.value, "size": None},
                expected_status=frozenset({Status.UPLOADING.value}),
            )
            touched.append(image_id)
        elif image is not None and image.status == Status.IMPORTING:
            staged = staging_file(image_id).exists()
            repo.update(
                image_id,
                columns={
                    "status": (Status.UPLOADING if staged else Status.QUEUED).value,
                    **({} if staged else {"size": None}),
                },
                set_properties={IMPORTING: "", FAILED: image.properties.get(IMPORTING, "")},
                expected_status=frozenset({Status.IMPORTING.value}),
            )
            _fail_open_tasks(repo, image_id)
            touched.append(image_id)
        elif image is not None and image.properties.get(IMPORTING):
            repo.update(
                image_id, set_properties={IMPORTING: "", FAILED: image.properties[IMPORTING]}
            )
            _fail_open_tasks(repo, image_id)
            touched.append(image_id)
        marker.unlink(missing_ok=True)
    if touched:
        LOG.warning("images interrupted by a restart, now retryable: %s", ", ".join(touched))
    return touched


def _fail_open_tasks(repo: ImageRepository, image_id: str) -> None:
    for task in repo.list_tasks(image_id):
        if task.status == "processing":
            repo.finish_task(task.id, "failure", "vistack restarted during the import")
