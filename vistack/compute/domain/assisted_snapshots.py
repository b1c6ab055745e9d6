"""`os-assisted-volume-snapshots`: Cinder's file-based drivers (NFS, GlusterFS) ask Nova's
libvirt driver to snapshot a disk file a running guest writes. A vSphere volume is a VMDK that
vCenter snapshots itself, so no Cinder driver ever asks this of a vSphere cloud: after the
policy check (administrators, as in Nova) the answer is a clear 501, never a pretend success.
"""

from __future__ import annotations

from vistack.common.context import RequestContext
from vistack.common.errors import NotImplementedByBackend
from vistack.common.policy import PolicyEngine

CREATE_RULE = "os_compute_api:os-assisted-volume-snapshots:create"
DELETE_RULE = "os_compute_api:os-assisted-volume-snapshots:delete"
REFUSAL = (
    "Assisted volume snapshots are a libvirt driver feature for file-backed Cinder volumes; "
    "vSphere volumes are snapshotted by Cinder through vCenter (POST /volume/v3/snapshots)."
)


class AssistedSnapshots:
    def __init__(self, policy: PolicyEngine) -> None:
        self._policy = policy

    def create(self, context: RequestContext) -> None:
        self._policy.authorize(CREATE_RULE, context, {})
        raise NotImplementedByBackend(REFUSAL)

    def delete(self, context: RequestContext) -> None:
        self._policy.authorize(DELETE_RULE, context, {})
        raise NotImplementedByBackend(REFUSAL)
