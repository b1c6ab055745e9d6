"""Typed driver interfaces the service domains call, with vSphere and in-memory implementations.

Domains depend on the Protocols here, never on pyVmomi; `vistack.vsphere` implements them for a
real (or the embedded) vCenter, `vistack.drivers.fake` in memory for fast tests and fault
injection. One contract suite (`tests/contract`) runs against both.
"""
