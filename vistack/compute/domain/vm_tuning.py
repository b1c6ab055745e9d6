"""A flavor's extra specs as the VM tuning the vSphere driver applies.

The keys are the VMware driver's (`quota:cpu_limit`, `quota:cpu_reservation`,
`quota:cpu_shares_level`, `quota:cpu_shares_share` and the same for `memory`, in MHz and MB;
`vmware:hw_version`). Values are checked when an administrator sets them
(`extra_spec_rules.py`); a flavor made before those checks existed may still hold a bad one,
which is then left out rather than failing every boot of the flavor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.drivers.models import Allocation, VMTuning

SHARE_LEVELS = ("low", "normal", "high", "custom")


def _number(specs: Mapping[str, Any], key: str) -> int | None:
    try:
        value = int(str(specs[key]))
    except (KeyError, TypeError, ValueError):
        return None
    return value


def _allocation(specs: Mapping[str, Any], resource: str) -> Allocation:
    limit = _number(specs, f"quota:{resource}_limit")
    reservation = _number(specs, f"quota:{resource}_reservation")
    level = str(specs.get(f"quota:{resource}_shares_level") or "") or None
    shares = _number(specs, f"quota:{resource}_shares_share")
    if level not in SHARE_LEVELS or level == "normal":
        level = None
    return Allocation(
        # vSphere: a negative limit is no limit, a zero reservation reserves nothing.
        limit=limit if limit is not None and limit >= 0 else None,
        reservation=reservation if reservation is not None and reservation > 0 else None,
        shares_level=level,
        shares=shares if level == "custom" and shares is not None and shares >= 0 else None,
    )


def vm_tuning(flavor: Mapping[str, Any]) -> VMTuning:
    """The VMTuning `flavor` (a server's embedded flavor, with `extra_specs`) asks for."""
    specs: Mapping[str, Any] = flavor.get("extra_specs") or {}
    version = str(specs.get("vmware:hw_version") or "") or None
    if version is not None and not version.startswith("vmx-"):
        version = f"vmx-{version}" if version.isdigit() else None
    return VMTuning(
        cpu=_allocation(specs, "cpu"), memory=_allocation(specs, "memory"), hw_version=version
    )
