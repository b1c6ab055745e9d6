"""The one import of pyVmomi, typed `Any` at the boundary.

pyVmomi 9 ships `py.typed`, but its types are generated at run time (`vim.fault.NotFound` does not
exist for a type checker), so strict mypy sees only errors. Every module of this package takes
`vim`, `vmodl` and friends from here instead, as `Any`; the typed surface is ours (dataclasses,
`DriverError`s), and nothing outside `vistack.vsphere` imports pyVmomi at all.
"""

from __future__ import annotations

from typing import Any

import pyVmomi
import pyVmomi.VmomiSupport

_pyvmomi: Any = pyVmomi

vim: Any = _pyvmomi.vim
vmodl: Any = _pyvmomi.vmodl
SoapStubAdapter: Any = _pyvmomi.SoapStubAdapter
VmomiSupport: Any = _pyvmomi.VmomiSupport
#: Base class of every managed object reference (`vim.VirtualMachine("vm-1", stub)`).
ManagedObject: Any = _pyvmomi.VmomiSupport.ManagedObject
