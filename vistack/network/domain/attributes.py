"""Attributes every Neutron resource shares: the checks of a request body (its shape, strings,
booleans) and the leading attributes of a named resource's view.

They live below base.py (which composes the security-group and other services) so that every
domain module can use them without an import cycle.
"""

from __future__ import annotations

from typing import Any, Protocol

from vistack.network.domain.errors import NeutronBadRequest, invalid


def check_attributes(body: Any, allowed: set[str], resource: str) -> dict[str, Any]:
    """The attributes of `{resource: {...}}`, refused when the body has another shape or names
    an attribute not in `allowed` (as Neutron's API controller does)."""
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict) or len(body) != 1:
        raise NeutronBadRequest(
            f"Resource body required: the request body must be {{'{resource}': {{...}}}}."
        )
    attrs: dict[str, Any] = body[resource]
    unknown = sorted(set(attrs) - allowed)
    if unknown:
        raise NeutronBadRequest("Unrecognized attribute(s) '" + ", ".join(unknown) + "'")
    return attrs


def text(value: Any, name: str, limit: int = 255) -> str:
    """A string attribute (None is the empty string)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(f"'{value}' is not a valid string for {name}.")
    if len(value) > limit:
        raise invalid(f"'{value[:32]}...' exceeds maximum length of {limit} for {name}.")
    return value


def boolean(value: Any, name: str) -> bool:
    """Neutron's convert_to_boolean: JSON booleans and their spellings as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise invalid(f"'{value}' is not a valid boolean value for {name}.")


class Named(Protocol):
    """A row of a resource with a name and an owning project."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def project_id(self) -> str: ...


def named_view(row: Named) -> dict[str, Any]:
    """The attributes a named resource renders first: the owning project under both of
    Neutron's names (`tenant_id` is the old one, which clients still read)."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
    }
