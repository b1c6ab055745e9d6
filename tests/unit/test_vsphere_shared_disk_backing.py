"""A multiattach volume's disk as the compute driver puts it on a VM (`vsphere/devices.py`):
in multi-writer sharing and described as eager-zeroed thick, the only allocation vSphere
shares; an ordinary attach stays as it was (thin, not shared). Found by the multiattach CLI
story, where the VM's backing said `thinProvisioned` beside `sharingMultiWriter`."""

from __future__ import annotations

from vistack.vsphere.devices import MULTI_WRITER, disk_shared, existing_disk

PATH = "[LocalDS_0] volumes/volume-1.vmdk"


def test_a_shared_disk_is_multi_writer_and_eager_zeroed_thick() -> None:
    backing = existing_disk(-1, 1000, 1, PATH, shared=True).device.backing
    assert backing.fileName == PATH and backing.sharing == MULTI_WRITER
    assert backing.eagerlyScrub is True and backing.thinProvisioned is False


def test_an_ordinary_attach_is_unshared_and_thin() -> None:
    spec = existing_disk(-1, 1000, 1, PATH)
    assert not disk_shared(spec.device)
    assert spec.device.backing.thinProvisioned is True
    assert spec.device.backing.eagerlyScrub is False
