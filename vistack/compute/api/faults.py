"""Nova's fault body: `{"itemNotFound": {"code": 404, "message": ...}}`, named by status
(common/openstack_faults.py, which Cinder shares)."""

from __future__ import annotations

from vistack.common.openstack_faults import FAULT_NAMES, render_named_fault

render_nova_fault = render_named_fault

__all__ = ["FAULT_NAMES", "render_nova_fault"]
