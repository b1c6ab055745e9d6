"""Microversion gates of the routes added after 3.0: below its version a route is unknown to
the client (Cinder answers 404, as for a path it does not serve)."""

from __future__ import annotations

from fastapi import Request

from vistack.common.errors import NotFound
from vistack.volume.api.microversion import version_of


def at_least(request: Request, wanted: tuple[int, int]) -> bool:
    return version_of(request) >= wanted


def require(request: Request, wanted: tuple[int, int]) -> None:
    """:raises NotFound: the request's microversion is below `wanted`."""
    refuse_below(version_of(request), wanted)


def refuse_below(version: tuple[int, int], wanted: tuple[int, int]) -> None:
    """`require` for a handler that already holds its request's version.

    :raises NotFound: `version` is below `wanted`.
    """
    if version < wanted:
        raise NotFound(
            f"The resource could not be found: it needs microversion "
            f"{wanted[0]}.{wanted[1]} or later (OpenStack-API-Version: volume "
            f"{wanted[0]}.{wanted[1]})."
        )
