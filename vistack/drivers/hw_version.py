"""Virtual hardware versions (`vmx-NN`): which way a VM may go, on any backend."""

from __future__ import annotations

from vistack.drivers.errors import InvalidStateError


def version_number(version: str) -> int:
    """`vmx-13` → 13. :raises InvalidStateError: not a hardware version."""
    prefix, _, number = version.partition("-")
    if prefix != "vmx" or not number.isdigit():
        raise InvalidStateError(f"{version!r} is not a virtual hardware version (vmx-NN)")
    return int(number)


def upgrade_needed(wanted: str | None, actual: str | None) -> bool:
    """Whether the VM must be upgraded to `wanted`.

    :raises InvalidStateError: `wanted` is older than the VM's version: vSphere cannot
        downgrade virtual hardware, so the image's template decides the floor.
    """
    if wanted is None or wanted == actual:
        return False
    if actual is not None and version_number(wanted) < version_number(actual):
        raise InvalidStateError(
            f"The flavor asks for virtual hardware {wanted}, older than the image's {actual}; "
            "vSphere cannot downgrade virtual hardware"
        )
    return True
