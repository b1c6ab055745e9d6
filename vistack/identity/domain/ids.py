"""Identifier generation (32 hex characters, the Keystone convention)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return uuid.uuid4().hex
