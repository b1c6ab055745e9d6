"""Neutron's `revision-if-match`: `If-Match: revision_number=N` on a PUT or DELETE makes the
write conditional on the resource still being at revision N.

The API sets the constraint for the request (`revision_constraint`, a context variable, so no
domain signature changes and a request never sees another's); every update and delete calls
`check_revision` right after loading its row, inside the transaction that writes. The row is
re-read under a row lock first, so of two writers holding the same N only the first commits:
the second waits for it and then sees N+1 (SQLite serialises writers anyway).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from http import HTTPStatus
from typing import Protocol

from vistack.common.errors import VistackError
from vistack.network.db.repository import Unit
from vistack.network.domain.errors import NeutronBadRequest

_EXPECTED: ContextVar[int | None] = ContextVar("vistack_network_expected_revision", default=None)
_HEADER = re.compile(r"^\s*revision_number\s*=\s*(\d+)\s*$")


class RevisionNumberConstraintFailed(VistackError):
    """412: the resource changed since the revision the client named."""

    status = HTTPStatus.PRECONDITION_FAILED

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")
        self.kind = "RevisionNumberConstraintFailed"


class Revisioned(Protocol):
    revision_number: int


def parse_if_match(value: str | None) -> int | None:
    """The revision an `If-Match` header demands, None without one; anything but
    `revision_number=<integer>` is refused rather than silently ignored."""
    if value is None:
        return None
    match = _HEADER.match(value)
    if match is None:
        raise NeutronBadRequest(
            f"Invalid If-Match header {value!r}: expected 'revision_number=<integer>'."
        )
    return int(match.group(1))


@contextmanager
def revision_constraint(value: str | None) -> Iterator[None]:
    """Within this block, updates and deletes demand the revision the header names."""
    token = _EXPECTED.set(parse_if_match(value))
    try:
        yield
    finally:
        _EXPECTED.reset(token)


def check_revision(unit: Unit, row: Revisioned) -> None:
    """Refuse the write (412) when the request named a revision the row is no longer at."""
    expected = _EXPECTED.get()
    if expected is None:
        return
    unit.lock_for_revision(row)
    unit.session.refresh(row, ["revision_number"])
    if row.revision_number != expected:
        raise RevisionNumberConstraintFailed(expected, row.revision_number)
