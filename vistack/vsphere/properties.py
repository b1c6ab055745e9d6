"""Reading vSphere objects through the PropertyCollector, never through lazy attributes.

pyVmomi fetches every `obj.attr` with its own round trip, and the simulator crashes on unset
properties; `RetrievePropertiesEx` reads many objects' paths in one call and simply leaves unset
ones out. Managed object references in top-level values come back as opaque moref strings
(`"vm-42"`), so callers outside this package never hold pyVmomi references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from vistack.vsphere.vmomi import ManagedObject, vim, vmodl

if TYPE_CHECKING:
    from vistack.vsphere.session import Client

PropertyCollector = vmodl.query.PropertyCollector


@dataclass(frozen=True)
class ObjectProps:
    """One object's requested properties: `props` maps each path that is set to its value."""

    moref: str
    type: str
    props: dict[str, Any]

    def get(self, path: str, default: Any = None) -> Any:
        return self.props.get(path, default)


@cache
def vim_type(type_name: str) -> Any:
    """`vim.VirtualMachine` for "VirtualMachine" or "vim.VirtualMachine"."""
    name = type_name.removeprefix("vim.")
    obj: Any = vim
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def moref_of(obj: Any) -> str:
    """The opaque moref string of a pyVmomi managed object."""
    return str(obj._moId)


def type_of(obj: Any) -> str:
    """The vSphere type name of a managed object ("VirtualMachine")."""
    return str(obj._wsdlName)


def plain(value: Any) -> Any:
    """Managed object references (alone or in a list) become moref strings; the rest is kept."""
    if isinstance(value, ManagedObject):
        return moref_of(value)
    if isinstance(value, list) and value and isinstance(value[0], ManagedObject):
        return [moref_of(v) for v in value]
    return value


def to_object_props(content: Any) -> ObjectProps:
    """An `ObjectContent` (or an update's object) as `ObjectProps`."""
    return ObjectProps(
        moref=moref_of(content.obj),
        type=type_of(content.obj),
        props={prop.name: plain(prop.val) for prop in content.propSet or ()},
    )


def retrieve(
    client: Client, type_name: str, paths: Sequence[str], *, root: Any = None
) -> list[ObjectProps]:
    """Every object of `type_name` under `root` (default: the root folder) with `paths`.

    Uses a ContainerView (which removes the duplicates a `childEntity` walk would give) and
    follows `ContinueRetrievePropertiesEx` tokens when the server pages the answer.
    """
    content = client.content
    kind = vim_type(type_name)
    view = content.viewManager.CreateContainerView(root or content.rootFolder, [kind], True)
    try:
        spec = PropertyCollector.FilterSpec(
            objectSet=[
                PropertyCollector.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[
                        PropertyCollector.TraversalSpec(
                            name="view", path="view", skip=False, type=vim.view.ContainerView
                        )
                    ],
                )
            ],
            propSet=[PropertyCollector.PropertySpec(type=kind, pathSet=list(paths), all=False)],
        )
        return _collect(client, spec)
    finally:
        view.DestroyView()


def retrieve_one(client: Client, moref: Any, paths: Sequence[str]) -> ObjectProps | None:
    """`paths` of one object (a pyVmomi reference, see `Client.moref`); None if it is gone."""
    kind: Any = type(moref)
    spec = PropertyCollector.FilterSpec(
        objectSet=[PropertyCollector.ObjectSpec(obj=moref, skip=False)],
        propSet=[_property_spec(kind, tuple(paths))],
    )
    try:
        found = _collect(client, spec)
    except vmodl.fault.ManagedObjectNotFound:
        return None
    return found[0] if found else None


@cache
def _property_spec(kind: Any, paths: tuple[str, ...]) -> Any:
    """One shared PropertySpec per (type, paths): only read when a request is serialized."""
    return PropertyCollector.PropertySpec(type=kind, pathSet=list(paths), all=False)


def _collect(client: Client, spec: Any) -> list[ObjectProps]:
    collector = client.content.propertyCollector
    result = collector.RetrievePropertiesEx([spec], PropertyCollector.RetrieveOptions())
    objects: list[ObjectProps] = []
    while result is not None:
        objects.extend(to_object_props(content) for content in result.objects or ())
        if not result.token:
            break
        result = collector.ContinueRetrievePropertiesEx(result.token)
    return objects
