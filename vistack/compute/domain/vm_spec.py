"""The VM a Nova server is: one place that turns a server and its flavor into a `VMSpec`, for
the build and for every action that makes the VM again (rebuild, unshelve, volume-backed
rebuild), so a flavor's CPUs, cores, memory, tuning and the VM's annotation never differ
between a server's first VM and a later one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vistack.compute.domain.models import Server
from vistack.compute.domain.vm_tuning import vm_tuning
from vistack.drivers.models import DiskSpec, NicSpec, TemplateRef, VMSpec


def cores_per_socket(flavor: Mapping[str, Any]) -> int:
    """`hw:cpu_cores` when it divides the vCPUs (as the VMware driver applies it), else 1."""
    specs = flavor.get("extra_specs") or {}
    try:
        cores = int(specs.get("hw:cpu_cores", 1))
    except (TypeError, ValueError):
        return 1
    vcpus = int(flavor["vcpus"])
    return cores if cores >= 1 and vcpus % cores == 0 else 1


def root_disk(flavor: Mapping[str, Any]) -> tuple[DiskSpec, ...]:
    """The root disk an image-backed server's VM grows to: the flavor's, none for a 0 GB
    flavor (the image's own size then)."""
    size_gb = int(flavor["disk"])
    return (DiskSpec(size_gb=size_gb, root=True),) if size_gb > 0 else ()


def server_vm_spec(
    server: Server,
    cluster: str,
    datastore: str,
    *,
    template: TemplateRef | None,
    disks: tuple[DiskSpec, ...],
    nics: tuple[NicSpec, ...],
) -> VMSpec:
    """The server's VM on `cluster` and `datastore`: named and identified by the server id."""
    flavor = server.flavor
    return VMSpec(
        instance_uuid=server.id,
        name=server.id,
        cluster=cluster,
        datastore=datastore,
        cpus=int(flavor["vcpus"]),
        memory_mb=int(flavor["ram"]),
        cores_per_socket=cores_per_socket(flavor),
        tuning=vm_tuning(flavor),
        disks=disks,
        nics=nics,
        annotation=f"OpenStack server {server.name} ({server.id}) of project {server.project_id}",
        template=template,
    )
