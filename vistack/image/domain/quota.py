"""Glance's byte and upload-count quota rules, applied while an image streams."""

from __future__ import annotations

from vistack.common.errors import PayloadTooLarge


class ByteMeter:
    """Counts bytes and refuses to pass a limit: an image larger than the project's whole
    quota can never fit, so it is cut off as soon as it proves to be."""

    def __init__(self, limit: int | None, what: str) -> None:
        self.count = 0
        self._limit = limit
        self._what = what

    def add(self, n: int) -> None:
        self.count += n
        if self._limit is not None and self.count > self._limit:
            raise PayloadTooLarge(
                f"The image is larger than the project's whole {self._what} quota "
                f"({self._limit} bytes); ask for a larger quota."
            )


def check_busy(limit: int, uploading: int) -> None:
    """Refuse a new upload or stage while the project has `limit` running (-1: no limit)."""
    if limit >= 0 and uploading >= limit:
        raise PayloadTooLarge(
            f"The project already has {uploading} uploads in progress (image_count_uploading "
            f"limit {limit}); wait for them to finish."
        )


def byte_quota(resource: str, limit: int, used: int, size: int | None) -> int | None:
    """Glance's rule for byte quotas (oslo.limit with no delta): an upload may start while the
    project is not over `limit`, whatever its size, so the last one may overshoot; it is
    refused when the project is over, or when the image alone exceeds the whole quota.
    Returns the cap on this upload's bytes (None: unlimited)."""
    if limit < 0:
        return None
    if used > limit:
        raise PayloadTooLarge(
            f"The project is over its {resource} quota ({used} of {limit} bytes used); "
            "delete images or ask for a larger quota."
        )
    if size is not None and size > limit:
        raise PayloadTooLarge(
            f"The image ({size} bytes) is larger than the project's whole {resource} quota "
            f"({limit} bytes); ask for a larger quota."
        )
    return limit
