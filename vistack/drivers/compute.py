"""The compute driver interface: clusters as compute nodes, VMs as Nova servers.

Every VM is addressed by its instance UUID (the Nova server id), never by name or moref, so a
VM found after a vCenter restart or a vMotion is still the same server.
"""

from __future__ import annotations

from typing import Protocol

from vistack.drivers.models import AttachedDisk, ClusterInfo, NicInfo, NicSpec, VMInfo, VMSpec


class ComputeDriver(Protocol):
    """Build, run and take down VMs on the clusters a backend manages."""

    def list_clusters(self) -> list[ClusterInfo]:
        """Every cluster with its hosts, CPU/memory capacity and datastores.

        :raises TransientError: the backend is unreachable.
        """
        ...

    def create_vm(self, spec: VMSpec) -> VMInfo:
        """Create a powered-off VM, empty or cloned from `spec.template`.

        A clone gets the spec's CPUs, memory, NICs and extra disks even where the backend's
        clone ignores them (vcsim does): the driver reconfigures after cloning if needed.

        :raises AlreadyExistsError: a VM with this instance UUID exists.
        :raises NotFoundError: the cluster, datastore, template or a port group is unknown.
        :raises NoCapacityError: the datastore has no room for the disks.
        :raises TransientError: the backend is unreachable.
        """
        ...

    def get_vm(self, instance_uuid: str) -> VMInfo:
        """The VM's current state.

        :raises NotFoundError: no VM has this instance UUID.
        """
        ...

    def list_vms(self) -> list[VMInfo]:
        """Every VM (templates excluded) the backend knows, including ones vistack did not make.

        :raises TransientError: the backend is unreachable.
        """
        ...

    def power_on(self, instance_uuid: str) -> None:
        """Power the VM on.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: it is already on.
        :raises NoCapacityError: the cluster cannot admit it.
        """
        ...

    def power_off(self, instance_uuid: str) -> None:
        """Power the VM off hard (pull the plug); Nova's stop does a guest shutdown first.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: it is already off.
        """
        ...

    def reboot(self, instance_uuid: str, *, hard: bool) -> None:
        """Reset the VM (`hard`), or ask the guest to reboot.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: it is not powered on.
        :raises UnsupportedError: soft reboot where the backend lacks `RebootGuest` (vcsim); the
            caller decides whether a hard reset is acceptable, the driver never degrades silently.
        """
        ...

    def destroy_vm(self, instance_uuid: str) -> None:
        """Delete the VM and every disk still attached to it (as vCenter does).

        Not idempotent on purpose: a caller that wants "gone either way" catches NotFoundError,
        and one that expected the VM learns it was missing. Detach volumes first.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: it is powered on.
        """
        ...

    def reconfigure(self, instance_uuid: str, *, cpus: int, memory_mb: int) -> VMInfo:
        """Set the VM's CPU count and memory (resize); the VM should be off.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: the backend refuses while powered on (vcsim does not check).
        """
        ...

    def attach_nic(self, instance_uuid: str, nic: NicSpec) -> NicInfo:
        """Add a NIC on a port group with the given MAC.

        :raises NotFoundError: no such VM or port group.
        :raises AlreadyExistsError: the VM already has a NIC with that MAC.
        """
        ...

    def detach_nic(self, instance_uuid: str, mac: str) -> None:
        """Remove the NIC with this MAC.

        :raises NotFoundError: no such VM, or it has no NIC with that MAC.
        """
        ...

    def attach_disk(self, instance_uuid: str, path: str) -> AttachedDisk:
        """Attach an existing disk (a volume) by datastore path.

        :raises NotFoundError: no such VM or disk file.
        :raises AlreadyExistsError: the disk is attached to this VM already.
        :raises InvalidStateError: the disk is attached to another VM.
        """
        ...

    def detach_disk(self, instance_uuid: str, path: str) -> None:
        """Detach a disk, keeping its file (Cinder detach).

        :raises NotFoundError: no such VM, or the disk is not attached to it.
        """
        ...

    def grow_disk(self, instance_uuid: str, path: str, size_gb: int) -> AttachedDisk:
        """Grow an attached disk (resize of a root disk, extend of an in-use volume).

        :raises NotFoundError: no such VM, or the disk is not attached to it.
        :raises InvalidStateError: `size_gb` is smaller than the disk (never shrink).
        """
        ...
