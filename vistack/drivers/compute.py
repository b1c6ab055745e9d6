"""The compute driver interface: clusters as compute nodes, VMs as Nova servers.

Every VM is addressed by its instance UUID (the Nova server id), never by name or moref, so a
VM found after a vCenter restart or a vMotion is still the same server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vistack.drivers.models import (
    AttachedDisk,
    ClusterInfo,
    ConsoleTicket,
    DiskIo,
    ImageFile,
    NicInfo,
    NicSpec,
    VMInfo,
    VMSpec,
    VMStats,
    VMTuning,
)
from vistack.drivers.vm_rules import RuleKind, VmGroupRule


class ComputeDriver(Protocol):
    """Build, run and take down VMs on the clusters a backend manages."""

    def list_clusters(self) -> list[ClusterInfo]:
        """Every cluster with its hosts, CPU/memory capacity and datastores.

        :raises TransientError: the backend is unreachable.
        """
        ...

    def create_vm(self, spec: VMSpec) -> VMInfo:
        """Create a VM, empty or cloned from `spec.template`, powered on when `spec.power_on`.

        A clone gets the spec's CPUs, memory, NICs and extra disks even where the backend's
        clone ignores them (vcsim does): the driver reconfigures after cloning if needed, in
        the same step that grows the root disk and puts each of `spec.isos` (written into the
        VM's folder first) in a CD-ROM. A VM that exists when this raises is the caller's to
        destroy (a build's undo does).

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

    def attach_disk(
        self, instance_uuid: str, path: str, io: DiskIo | None = None, *, shared: bool = False
    ) -> AttachedDisk:
        """Attach an existing disk (a volume) by datastore path, with `io` (the volume type's
        QoS: IOPS limit and shares) as the disk's IO allocation when given. With `shared`
        (a multiattach volume) the backing is in multi-writer sharing, which is what lets
        vSphere open one disk file from several VMs at once.

        :raises NotFoundError: no such VM or disk file.
        :raises AlreadyExistsError: the disk is attached to this VM already.
        :raises InvalidStateError: the disk is attached to another VM (and not shared there).
        """
        ...

    def detach_disk(self, instance_uuid: str, path: str) -> None:
        """Detach a disk, keeping its file (Cinder detach).

        :raises NotFoundError: no such VM, or the disk is not attached to it.
        """
        ...

    def swap_disk(
        self,
        instance_uuid: str,
        old_path: str,
        new_path: str,
        io: DiskIo | None = None,
        *,
        shared: bool = False,
    ) -> AttachedDisk:
        """Nova's swap volume: copy the data of the attached disk `old_path` into the existing,
        detached disk `new_path`, then put `new_path` on the VM in `old_path`'s place (same
        controller and unit, with `io` and `shared` as `attach_disk` takes them) in one
        reconfiguration that keeps `old_path`'s file. A failure leaves the VM with `old_path`.

        :raises NotFoundError: no such VM, `old_path` is not attached to it, or no disk file
            at `new_path`.
        :raises AlreadyExistsError: `new_path` is attached to this VM already.
        :raises InvalidStateError: `new_path` is attached to another VM.
        """
        ...

    def clean_swap(self, instance_uuid: str, new_path: str) -> None:
        """Remove what a `swap_disk` onto `new_path` that was cut short (the service stopped
        during the copy) left on the VM and the datastore: the VM snapshot the copy was taken
        under (removed, its delta consolidated into the VM's disk) and the partial copy next to
        `new_path`. Nothing left is no error; `new_path` itself is not touched.

        :raises NotFoundError: no such VM.
        """
        ...

    def grow_disk(self, instance_uuid: str, path: str, size_gb: int) -> AttachedDisk:
        """Grow an attached disk (resize of a root disk, extend of an in-use volume).

        :raises NotFoundError: no such VM, or the disk is not attached to it.
        :raises InvalidStateError: `size_gb` is smaller than the disk (never shrink).
        """
        ...

    def suspend(self, instance_uuid: str) -> None:
        """Suspend the VM (memory saved to its directory, host resources freed); `power_on`
        resumes it.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: it is not powered on (vcsim does not check).
        """
        ...

    def set_vm_group_rule(
        self,
        cluster: str,
        name: str,
        kind: RuleKind,
        vm_uuids: Sequence[str],
        *,
        mandatory: bool,
    ) -> VmGroupRule | None:
        """Make the cluster's VM-VM rule `name` hold exactly these VMs (create or edit it,
        enabled). VMs not found are left out; a rule needs two VMs, so with fewer found the
        rule is removed and None returned.

        :raises NotFoundError: no such cluster.
        """
        ...

    def delete_vm_group_rule(self, cluster: str, name: str) -> bool:
        """Remove the cluster's VM-VM rule `name`; False when there was none.

        :raises NotFoundError: no such cluster.
        """
        ...

    def list_vm_group_rules(self, cluster: str) -> list[VmGroupRule]:
        """The cluster's VM-VM affinity and anti-affinity rules, by name.

        :raises NotFoundError: no such cluster.
        """
        ...

    # -- moves and resizes (resize, cold and live migration) ------------------------------------

    def relocate_vm(self, instance_uuid: str, cluster: str, host: str | None = None) -> VMInfo:
        """Move the VM to `cluster` (its root resource pool) and `host` (one of its hosts; the
        first when None), powered on (vMotion) or off; its disks stay on their datastores, which
        the cluster must see. Relocating to where the VM already is changes nothing.

        :raises NotFoundError: no such VM, cluster, or host in that cluster.
        :raises NoCapacityError: the cluster cannot run the powered-on VM, or does not see
            its datastore.
        """
        ...

    def resize_vm(
        self,
        instance_uuid: str,
        *,
        cpus: int,
        memory_mb: int,
        cores_per_socket: int,
        root_gb: int,
        tuning: VMTuning | None = None,
    ) -> VMInfo:
        """Set CPUs, cores per socket and memory, and grow the root (first) disk to `root_gb`
        (0 or the current size: left alone), in one reconfiguration; the VM should be off.
        With `tuning`, its allocations replace the VM's and its hardware version (if any) is
        upgraded to.

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: `root_gb` is smaller than the root disk (never shrink), or
            the hardware version asked for is older than the VM's (never downgrade).
        """
        ...

    def copy_disk(self, source: str, destination: str) -> None:
        """Copy the disk file `source` to the new file `destination` (same format; the VM using
        `source`, if any, should be off).

        :raises NotFoundError: no disk at `source`, or the destination folder is missing.
        :raises AlreadyExistsError: a file exists at `destination`.
        """
        ...

    def replace_disk(self, instance_uuid: str, path: str, source: str, size_gb: int) -> VMInfo:
        """Make the VM's disk at `path` a copy of the disk file `source` (`size_gb` big),
        keeping `source`: the attached disk at `path` is detached and deleted, `source` copied
        to `path`, and `path` attached in the first free slot (the root's, when the root is the
        one replaced). Safe to repeat after an interruption at any point: each run starts by
        removing whatever is at `path`. The VM should be off.

        :raises NotFoundError: no such VM, or no disk at `source`.
        """
        ...

    def acquire_console_ticket(self, instance_uuid: str) -> ConsoleTicket:
        """A one-time WebMKS console ticket for the VM (Nova's `mks` console on VMware).

        :raises NotFoundError: no such VM.
        :raises InvalidStateError: the VM is not powered on (vCenter hands out no ticket then).
        :raises UnsupportedError: this vCenter cannot hand out tickets (vcsim lacks
            `AcquireTicket`).
        """
        ...

    def vm_stats(self, instance_uuid: str) -> VMStats:
        """The VM's figures for diagnostics: configuration, power, uptime and usage.

        :raises NotFoundError: no such VM.
        """
        ...

    def console_log(self, instance_uuid: str, max_bytes: int) -> bytes | None:
        """The last `max_bytes` of what the guest wrote to its serial console (the file
        behind the VM's serial port; empty until the guest writes), or None when the VM has
        no file-backed serial port (it was built without one).

        :raises NotFoundError: no such VM.
        :raises TransientError: the file could not be read just now.
        """
        ...

    def attach_iso(self, instance_uuid: str, path: str) -> None:
        """Add a CD-ROM backed by the ISO file at datastore `path`, connected at power-on (the
        config drive).

        :raises NotFoundError: no such VM, or no such ISO file.
        :raises AlreadyExistsError: a CD-ROM of this VM holds that ISO already.
        :raises NoCapacityError: the VM has no free IDE slot for another CD-ROM.
        """
        ...

    def detach_iso(self, instance_uuid: str, path: str) -> None:
        """Remove the CD-ROM backed by `path` (the file is kept).

        :raises NotFoundError: no such VM, or no CD-ROM of it holds that ISO.
        """
        ...

    def list_isos(self, instance_uuid: str) -> list[str]:
        """The datastore paths of the ISO files the VM's CD-ROMs hold, in device order.

        :raises NotFoundError: no such VM.
        """
        ...

    def export_root_disk(self, instance_uuid: str, target: str) -> ImageFile:
        """Copy the VM's root disk to the datastore path `target` as one self-contained VMDK
        file (an image's data), while the VM runs or not: the copy is of one moment (a VM
        snapshot for the copy's time). A failed copy leaves nothing at `target`.

        :raises NotFoundError: no such VM, it has no disk, or no such datastore.
        :raises AlreadyExistsError: a file exists at `target`.
        :raises NoCapacityError: the datastore has no room for the copy.
        :raises UnsupportedError: the backend cannot make a one-file copy of a disk with data.
        """
        ...

    def attach_rescue_disk(self, instance_uuid: str, source: str) -> AttachedDisk:
        """Add a copy of the disk file `source` (a rescue image) to the VM and make it the
        first boot device (Nova's rescue). Repeatable: a rescue disk already attached is kept.
        The VM should be off.

        :raises NotFoundError: no such VM, or no disk file at `source`.
        """
        ...

    def detach_rescue_disk(self, instance_uuid: str) -> None:
        """Remove the rescue disk (its file deleted) and boot from the root disk again
        (unrescue). A VM without a rescue disk is left as it is. The VM should be off.

        :raises NotFoundError: no such VM.
        """
        ...
