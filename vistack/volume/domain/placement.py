"""Where a new volume's disk goes: the datastore with the most free space among those the
configuration and the volume type allow (Cinder's capacity weigher, over vSphere datastores)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from vistack.common.errors import ServiceUnavailable
from vistack.drivers.models import DatastoreInfo


class NoValidDatastore(ServiceUnavailable):
    """No allowed datastore has room (Cinder's NoValidBackend; the volume goes to `error`)."""


def allowed(
    datastores: Sequence[DatastoreInfo], configured: Sequence[str], regex: str | None
) -> list[DatastoreInfo]:
    """The datastores volumes of this type may use: the configured ones (all when none are
    configured) whose name matches the type's `vmware:datastore_regex`."""
    out = [d for d in datastores if not configured or d.name in configured]
    if regex:
        pattern = re.compile(regex)
        out = [d for d in out if pattern.fullmatch(d.name)]
    return out


def allows(name: str, configured: Sequence[str], regex: str | None) -> bool:
    """Whether a volume on datastore `name` may stay there under these rules."""
    if configured and name not in configured:
        return False
    return not regex or re.fullmatch(regex, name) is not None


def choose(
    datastores: Sequence[DatastoreInfo],
    size_gb: int,
    *,
    configured: Sequence[str] = (),
    regex: str | None = None,
) -> DatastoreInfo:
    """The allowed datastore with the most free space that fits `size_gb` (ties: by name).

    :raises NoValidDatastore: none is allowed, or none has room; the message says which.
    """
    candidates = allowed(datastores, configured, regex)
    if not candidates:
        raise NoValidDatastore(
            "No valid backend was found. No datastore is allowed for this volume type "
            f"(datastore regex {regex!r}, configured datastores {list(configured) or 'all'})."
        )
    fitting = [d for d in candidates if d.free_gb >= size_gb]
    if not fitting:
        best = max(d.free_gb for d in candidates)
        raise NoValidDatastore(
            f"No valid backend was found. No datastore has {size_gb} GB free "
            f"(the most free space is {best} GB)."
        )
    return sorted(fitting, key=lambda d: (-d.free_gb, d.name))[0]
