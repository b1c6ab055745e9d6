"""`os-assisted-volume-snapshots` (libvirt's help for file-backed Cinder volumes): 403 for a
member, a 501 that says why for an administrator, never a pretend success."""

from __future__ import annotations

from tests.api.conftest import ComputeApi
from tests.api.helpers import Persona, persona_fixture
from tests.api.test_compute_servers import fault

member = persona_fixture("compute_api")

BODY = {
    "snapshot": {
        "volume_id": "0d7cf3b4-6f7e-4d0c-9a8c-2b1f4f0e9a11",
        "create_info": {"snapshot_id": "1", "type": "qcow2", "new_file": "new_file"},
    }
}


def test_administrators_are_told_vsphere_does_not_need_it(compute_api: ComputeApi) -> None:
    created = compute_api.post("/os-assisted-volume-snapshots", json=BODY)
    assert "libvirt driver feature" in fault(created, 501, "notImplemented")
    deleted = compute_api.delete("/os-assisted-volume-snapshots/1?delete_info={}")
    assert "vCenter" in fault(deleted, 501, "notImplemented")


def test_members_may_not_ask(compute_api: ComputeApi, member: Persona) -> None:
    created = compute_api.post("/os-assisted-volume-snapshots", json=BODY, token=member.token)
    fault(created, 403, "forbidden")
