"""Where a new volume's disk goes: the datastore with the most free space among those the
configuration and the volume type allow (Cinder's capacity weigher, over vSphere datastores)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from vistack.common.errors import ServiceUnavailable
from vistack.drivers.models import DatastoreInfo
from vistack.volume.domain import spec_ops

#: The backend's name in Cinder's host strings and `volume_backend_name`.
BACKEND = "vmware"


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


def capabilities(ds: DatastoreInfo) -> dict[str, Any]:
    """What a datastore's pool reports to the scheduler (and `GET /scheduler-stats/get_pools`):
    the keys a volume type's unscoped or `capabilities:` extra specs are matched against."""
    return {
        "pool_name": ds.name,
        "volume_backend_name": BACKEND,
        "vendor_name": "VMware",
        "driver_version": "1.0.0",
        "storage_protocol": "vmdk",
        "total_capacity_gb": ds.capacity_gb,
        "free_capacity_gb": ds.free_gb,
        "reserved_percentage": 0,
        "thin_provisioning_support": True,
        "thick_provisioning_support": True,
        # A multiattach volume's disk goes on each VM in multi-writer sharing, which every
        # vSphere datastore takes (VMFS and NFS for eager-zeroed thick disks, vSAN any).
        "multiattach": True,
    }


def choose(
    datastores: Sequence[DatastoreInfo],
    size_gb: int,
    *,
    configured: Sequence[str] = (),
    regex: str | None = None,
    specs: Mapping[str, str] | None = None,
) -> DatastoreInfo:
    """The allowed datastore with the most free space that fits `size_gb` (ties: by name),
    among those whose pool capabilities satisfy the type's capability `specs` (Cinder's
    CapabilitiesFilter).

    :raises NoValidDatastore: none is allowed, none satisfies the type, or none has room;
        the message says which.
    """
    candidates = allowed(datastores, configured, regex)
    if not candidates:
        raise NoValidDatastore(
            "No valid backend was found. No datastore is allowed for this volume type "
            f"(datastore regex {regex!r}, configured datastores {list(configured) or 'all'})."
        )
    if specs:
        misses = [spec_ops.unmet(specs, capabilities(d)) for d in candidates]
        candidates = [d for d, miss in zip(candidates, misses, strict=True) if not miss]
        if not candidates:
            unmet = {k: v for miss in misses for k, v in miss.items()}
            raise NoValidDatastore(
                "No valid backend was found. No pool has the capabilities the volume type "
                f"asks for: {', '.join(f'{k}={v!r}' for k, v in sorted(unmet.items()))}."
            )
    fitting = [d for d in candidates if d.free_gb >= size_gb]
    if not fitting:
        best = max(d.free_gb for d in candidates)
        raise NoValidDatastore(
            f"No valid backend was found. No datastore has {size_gb} GB free "
            f"(the most free space is {best} GB)."
        )
    return sorted(fitting, key=lambda d: (-d.free_gb, d.name))[0]
