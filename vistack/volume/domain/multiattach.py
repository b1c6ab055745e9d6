"""Multiattach volumes: what a volume type's `multiattach` extra spec means on vSphere.

As in Cinder (3.50+), a volume is multiattach because its type says `multiattach="<is> True"`;
the volume create body's own `multiattach` flag is refused when true (Cinder removed it: the
type is the only way). Nova then attaches the volume to several servers (compute 2.60+).

On vSphere one VMDK is opened by several VMs only when its backing is in multi-writer
sharing (`VirtualDiskFlatVer2BackingInfo.sharing = sharingMultiWriter`) on every VM that has
it; the compute driver sets that for a multiattach volume's attachments. vSphere allows
multi-writer only on eager-zeroed thick disks (VMFS and NFS; vSAN takes thin ones too). So:

- a multiattach type that names no `vmware:vmdk_type` makes eagerZeroedThick disks, which
  work on every datastore, rather than thin disks a second attach would later fail on;
- a type that asks for both multiattach and `thin` or `thick` is refused (400) when its
  specs are set, since the combination would fail only later, at a second attach, on VMFS.

This cloud cannot tell vSAN from VMFS from the type alone, hence the rule for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from vistack.common.errors import BadRequest
from vistack.drivers.models import Provisioning

MULTIATTACH = "multiattach"
VMDK_TYPE = "vmware:vmdk_type"
_YES = "<is> true"
_NO = "<is> false"
BODY_FLAG_REMOVED = (
    "multiattach parameter has been removed. The default behavior is to use multiattach "
    "enabled volume types. Contact your administrator to create a multiattach enabled volume "
    "type (extra spec multiattach='<is> True') and use it to create multiattach volumes."
)


def _normal(value: str) -> str:
    return " ".join(value.split()).lower()


def is_multiattach(specs: Mapping[str, str]) -> bool:
    """Whether a volume of a type with these extra specs is multiattach (Cinder's test:
    `multiattach` is `<is> True`)."""
    return _normal(specs.get(MULTIATTACH, "")) == _YES


def check_specs(specs: Mapping[str, str]) -> None:
    """Refuse a `multiattach` spec Cinder would not read as a boolean, and multiattach
    combined with a disk allocation vSphere cannot share.

    :raises BadRequest: the message says what to set instead.
    """
    if MULTIATTACH not in specs:
        return
    if _normal(specs[MULTIATTACH]) not in (_YES, _NO):
        raise BadRequest(
            f"Extra spec {MULTIATTACH} must be '<is> True' or '<is> False', not "
            f"{specs[MULTIATTACH]!r}."
        )
    wanted = specs.get(VMDK_TYPE)
    if is_multiattach(specs) and wanted not in (None, Provisioning.EAGER_ZEROED_THICK.value):
        raise BadRequest(
            f"Extra spec {MULTIATTACH}='<is> True' cannot go with {VMDK_TYPE}={wanted}: "
            "vSphere shares a disk between servers (multi-writer) only when it is eager-zeroed "
            f"thick. Set {VMDK_TYPE} to eagerZeroedThick, or leave it unset (multiattach "
            "volumes are then eagerZeroedThick)."
        )


def disk_provisioning(specs: Mapping[str, str]) -> Provisioning:
    """The allocation of a new disk for a type: its `vmware:vmdk_type`; unset, thin, or
    eagerZeroedThick for a multiattach type (multi-writer needs it)."""
    if VMDK_TYPE in specs:
        return Provisioning(specs[VMDK_TYPE])
    if is_multiattach(specs):
        return Provisioning.EAGER_ZEROED_THICK
    return Provisioning.THIN
