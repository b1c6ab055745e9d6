"""What the image domain needs from persistence, as a Protocol the db layer implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vistack.image.domain.models import Image, ImageTask, ListQuery, Member, Usage


@dataclass(frozen=True)
class Viewer:
    """Whose images a query may see: a project, or everything for an administrator."""

    project_id: str | None
    is_admin: bool


class ImageRepository(Protocol):
    def create(self, image: Image) -> None:
        """:raises Conflict: an image with this id exists."""

    def get(self, image_id: str) -> Image | None: ...

    def list_images(self, query: ListQuery, viewer: Viewer) -> list[Image]:
        """One page; the marker must be visible to `viewer`.

        :raises BadRequest: the marker is not an image this viewer can see.
        """

    def update(
        self,
        image_id: str,
        *,
        columns: Mapping[str, Any] | None = None,
        set_properties: Mapping[str, str] | None = None,
        remove_properties: frozenset[str] = frozenset(),
        tags: list[str] | None = None,
        expected_status: frozenset[str] | None = None,
        location: tuple[str, str, int] | None = None,
    ) -> Image | None:
        """Apply the changes (and record a `(store, url, size)` location) in one transaction.

        Returns None when the image is gone or (with `expected_status`) is not in one of
        those states any more: a compare-and-set, so two uploads cannot both start.
        """

    def delete(self, image_id: str) -> bool:
        """Delete the row (properties, tags, members and locations go with it)."""

    def add_tag(self, image_id: str, tag: str) -> None: ...

    def remove_tag(self, image_id: str, tag: str) -> bool: ...

    def tag_count(self, image_id: str) -> int: ...

    def add_location(self, image_id: str, store: str, url: str, size: int) -> None: ...

    def remove_location(self, image_id: str, store: str) -> bool: ...

    def add_member(self, image_id: str, member_id: str) -> Member:
        """:raises Conflict: the project is a member already."""

    def get_member(self, image_id: str, member_id: str) -> Member | None: ...

    def list_members(self, image_id: str) -> list[Member]: ...

    def update_member(self, image_id: str, member_id: str, status: str) -> Member | None: ...

    def delete_member(self, image_id: str, member_id: str) -> bool: ...

    def member_count(self, image_id: str) -> int: ...

    def usage(self, project_id: str) -> Usage: ...

    def create_task(self, task: ImageTask) -> None: ...

    def finish_task(
        self, task_id: str, status: str, message: str = "", result: dict[str, Any] | None = None
    ) -> None: ...

    def list_tasks(self, image_id: str) -> list[ImageTask]: ...
