"""Nova's rules for server tags (2.26): a tag is 1 to 60 characters without `/` or `,` (a
list filter separates tags with commas, a URL path with slashes), and a server has at most 50.
Shared by the tags API and the create's `tags` (2.52)."""

from __future__ import annotations

from typing import Any

from vistack.common.errors import BadRequest

MAX_TAGS = 50
MAX_TAG_LENGTH = 60


def valid_tag(tag: Any) -> bool:
    return (
        isinstance(tag, str)
        and 1 <= len(tag) <= MAX_TAG_LENGTH
        and "/" not in tag
        and "," not in tag
    )


def check_tags(raw: Any, field: str = "tags") -> tuple[str, ...]:
    """A list of tags as a request gives it (`PUT /tags`, or a create's `tags` at 2.52),
    checked; duplicates are kept once.

    :raises BadRequest: not a list, an invalid tag, or more than 50.
    """
    if not isinstance(raw, list):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value must be a list.")
    invalid = [tag for tag in raw if not valid_tag(tag)]
    if invalid:
        raise BadRequest(
            f"Tags '{invalid}' are invalid. Each tag must be a string without characters '/' "
            f"and ',', of 1 to {MAX_TAG_LENGTH} characters."
        )
    unique = tuple(dict.fromkeys(raw))
    if len(unique) > MAX_TAGS:
        raise BadRequest(
            f"The number of tags exceeded the per-server limit {MAX_TAGS}. The number of tags "
            f"in request is {len(unique)}."
        )
    return unique


def split_filter(value: str) -> tuple[str, ...]:
    """A list filter's value (`tags=red,blue`): the tags, empty entries dropped."""
    return tuple(tag for tag in value.split(",") if tag)
