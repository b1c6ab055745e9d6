"""Cinder's fault body: `{"itemNotFound": {"code": 404, "message": ...}}`, named by status,
the same shape as Nova's (common/openstack_faults.py)."""

from __future__ import annotations

from vistack.common.openstack_faults import FAULT_NAMES, render_named_fault

render_cinder_fault = render_named_fault

__all__ = ["FAULT_NAMES", "render_cinder_fault"]
