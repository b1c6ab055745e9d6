"""UTC time helpers: every stored and compared timestamp is naive UTC, rendered with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

from vistack.common.clock import utcnow

__all__ = ["isotime", "parse_isotime", "utcnow"]


def isotime(value: datetime | None, *, subsecond: bool = True) -> str | None:
    """Keystone's wire format: `2026-01-02T03:04:05.000000Z`."""
    if value is None:
        return None
    if subsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_isotime(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (with or without zone) into naive UTC.

    :raises ValueError: `text` is not a timestamp.
    """
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
