"""The in-memory compute driver: vSphere's VM semantics without vSphere.

It models vCenter, not vcsim: power operations check the state, destroy deletes attached disks,
cluster memory is admission-controlled, soft reboot works. Where vcsim differs, the contract
suite marks the case as unprovable on the simulator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
)
from vistack.drivers.fake.state import (
    FAKE_TUNING,
    FakeDisk,
    FakeFile,
    FakeNic,
    FakeState,
    FakeVM,
)
from vistack.drivers.hw_version import upgrade_needed
from vistack.drivers.models import (
    AttachedDisk,
    ClusterInfo,
    ConsoleTicket,
    DiskIo,
    ImageFile,
    NicInfo,
    NicSpec,
    PowerState,
    Provisioning,
    VMInfo,
    VMSpec,
    VMStats,
    VMTuning,
)
from vistack.drivers.paths import SERIAL_LOG_NAME, datastore_path, split_datastore_path
from vistack.drivers.vm_rules import RuleKind, VmGroupRule


class FakeCompute:
    """`ComputeDriver` over a `FakeState`."""

    def __init__(self, state: FakeState) -> None:
        self._state = state

    def list_clusters(self) -> list[ClusterInfo]:
        with self._state.operation("list_clusters"):
            return [self._cluster_info(name) for name in self._state.clusters]

    def create_vm(self, spec: VMSpec) -> VMInfo:
        state = self._state
        with state.operation("create_vm"):
            if spec.instance_uuid in state.vms:
                raise AlreadyExistsError(f"a VM with instance UUID {spec.instance_uuid} exists")
            cluster = state.clusters.get(spec.cluster)
            if cluster is None:
                raise NotFoundError(f"no cluster named {spec.cluster!r}")
            state.datastore(spec.datastore)
            if spec.datastore not in cluster.datastores:
                raise NotFoundError(f"cluster {spec.cluster} does not see {spec.datastore}")
            if any(vm.name == spec.name for vm in state.vms.values()):
                raise AlreadyExistsError(f"a VM named {spec.name!r} exists")
            for nic in spec.nics:
                state.portgroup(nic.portgroup)
            template = None
            if spec.template is not None:
                template = state.vm(spec.template.id, template=True)
            for disk in spec.disks:
                if disk.path is not None and disk.path not in state.disks:
                    raise NotFoundError(f"no disk at {disk.path}")
            disks = self._new_disks(spec, template)
            needed = sum(d.capacity_gb for d in disks)
            free = state.datastores[spec.datastore].capacity_gb
            if needed > free - state.datastore_used_gb(spec.datastore):
                raise NoCapacityError(f"datastore {spec.datastore} has no room for {needed} GB")
            if len(spec.isos) > self.IDE_SLOTS:
                raise NoCapacityError(f"VM {spec.name} has no free IDE slot for a CD-ROM")
            if spec.power_on and spec.memory_mb > self._cluster_info(cluster.name).memory_mb_free:
                raise NoCapacityError(
                    f"cluster {cluster.name} has no memory for {spec.memory_mb} MB"
                )
            host = cluster.hosts[len(state.vms) % len(cluster.hosts)].name
            vm = FakeVM(
                instance_uuid=spec.instance_uuid,
                id=state.new_id("vm"),
                name=spec.name,
                cluster=cluster.name,
                host=host,
                datastore=spec.datastore,
                cpus=spec.cpus,
                cores_per_socket=spec.cores_per_socket,
                memory_mb=spec.memory_mb,
                annotation=spec.annotation,
                tuning=_tuned(
                    template.tuning if template is not None else FAKE_TUNING,
                    spec.tuning,
                ),
            )
            for n in spec.nics:
                state.add_nic(vm, FakeNic(n.mac.lower(), n.portgroup))
            for new in disks:
                new.vm = vm.instance_uuid
                state.disks[new.path] = new
                vm.disks.append(new.path)
            for extra in spec.disks:
                if extra.path is not None:
                    state.disks[extra.path].vm = vm.instance_uuid
                    state.disks[extra.path].io = extra.io
                    state.disks[extra.path].shared = extra.shared
                    vm.disks.append(extra.path)
            for iso in spec.isos:
                relative = f"{spec.name}/{iso.name}"
                state.files[(spec.datastore, relative)] = FakeFile(
                    spec.datastore, relative, iso.data
                )
                vm.isos.append(datastore_path(spec.datastore, relative))
            vm.serial_log = datastore_path(spec.datastore, f"{spec.name}/{SERIAL_LOG_NAME}")
            if spec.power_on:
                vm.power_state = PowerState.ON
            state.vms[vm.instance_uuid] = vm
            return self._info(vm)

    def get_vm(self, instance_uuid: str) -> VMInfo:
        with self._state.operation("get_vm"):
            return self._info(self._state.vm(instance_uuid))

    def list_vms(self) -> list[VMInfo]:
        with self._state.operation("list_vms"):
            return [self._info(vm) for vm in self._state.vms.values() if not vm.template]

    def power_on(self, instance_uuid: str) -> None:
        state = self._state
        with state.operation("power_on"):
            vm = state.vm(instance_uuid)
            if vm.power_state is PowerState.ON:
                raise InvalidStateError(f"VM {instance_uuid} is already powered on")
            if vm.memory_mb > self._cluster_info(vm.cluster).memory_mb_free:
                raise NoCapacityError(f"cluster {vm.cluster} has no memory for {vm.memory_mb} MB")
            vm.power_state = PowerState.ON

    def power_off(self, instance_uuid: str) -> None:
        with self._state.operation("power_off"):
            vm = self._state.vm(instance_uuid)
            if vm.power_state is PowerState.OFF:
                raise InvalidStateError(f"VM {instance_uuid} is already powered off")
            vm.power_state = PowerState.OFF

    def reboot(self, instance_uuid: str, *, hard: bool) -> None:
        with self._state.operation("reboot"):
            vm = self._state.vm(instance_uuid)
            if vm.power_state is not PowerState.ON:
                raise InvalidStateError(f"VM {instance_uuid} is not powered on")

    def destroy_vm(self, instance_uuid: str) -> None:
        state = self._state
        with state.operation("destroy_vm"):
            vm = state.vm(instance_uuid)
            if vm.power_state is PowerState.ON:
                raise InvalidStateError(f"VM {instance_uuid} is powered on")
            for path in vm.disks:
                del state.disks[path]
            del state.vms[instance_uuid]

    def reconfigure(self, instance_uuid: str, *, cpus: int, memory_mb: int) -> VMInfo:
        with self._state.operation("reconfigure"):
            vm = self._state.vm(instance_uuid)
            vm.cpus, vm.memory_mb = cpus, memory_mb
            return self._info(vm)

    def attach_nic(self, instance_uuid: str, nic: NicSpec) -> NicInfo:
        state = self._state
        with state.operation("attach_nic"):
            vm = state.vm(instance_uuid)
            state.portgroup(nic.portgroup)
            if any(n.mac == nic.mac.lower() for n in vm.nics):
                raise AlreadyExistsError(f"VM {instance_uuid} has a NIC with MAC {nic.mac}")
            added = state.add_nic(vm, FakeNic(nic.mac.lower(), nic.portgroup))
            return state.nic_info(vm, added)

    def detach_nic(self, instance_uuid: str, mac: str) -> None:
        with self._state.operation("detach_nic"):
            vm = self._state.vm(instance_uuid)
            kept = [n for n in vm.nics if n.mac != mac.lower()]
            if len(kept) == len(vm.nics):
                raise NotFoundError(f"VM {instance_uuid} has no NIC with MAC {mac}")
            vm.nics = kept

    def attach_disk(
        self, instance_uuid: str, path: str, io: DiskIo | None = None, *, shared: bool = False
    ) -> AttachedDisk:
        state = self._state
        with state.operation("attach_disk"):
            vm = state.vm(instance_uuid)
            disk = state.disks.get(path)
            if disk is None:
                raise NotFoundError(f"no disk at {path}")
            if path in vm.disks:
                raise AlreadyExistsError(f"{path} is attached to VM {instance_uuid} already")
            holders = _holders(state, path)
            if holders and not (shared and disk.shared):
                # vSphere's lock: a second VM opens the file only in multi-writer sharing.
                raise InvalidStateError(f"{path} is attached to VM {holders[0]}")
            disk.vm = instance_uuid
            disk.io = io
            disk.shared = shared
            vm.disks.append(path)
            return AttachedDisk(path, disk.capacity_gb, io, shared)

    def detach_disk(self, instance_uuid: str, path: str) -> None:
        state = self._state
        with state.operation("detach_disk"):
            vm = state.vm(instance_uuid)
            if path not in vm.disks:
                raise NotFoundError(f"{path} is not attached to VM {instance_uuid}")
            vm.disks.remove(path)
            disk = state.disks[path]
            others = _holders(state, path)  # a multiattach volume's other VMs keep it
            disk.vm = others[0] if others else None
            if not others:
                disk.io, disk.shared = None, False

    def swap_disk(
        self,
        instance_uuid: str,
        old_path: str,
        new_path: str,
        io: DiskIo | None = None,
        *,
        shared: bool = False,
    ) -> AttachedDisk:
        state = self._state
        with state.operation("swap_disk"):
            vm = state.vm(instance_uuid)
            if old_path not in vm.disks:
                raise NotFoundError(f"{old_path} is not attached to VM {instance_uuid}")
            new = state.disks.get(new_path)
            if new is None:
                raise NotFoundError(f"no disk at {new_path}")
            if new_path in vm.disks:
                raise AlreadyExistsError(f"{new_path} is attached to VM {instance_uuid} already")
            holders = _holders(state, new_path)
            if holders:
                raise InvalidStateError(f"{new_path} is attached to VM {holders[0]}")
            old = state.disks[old_path]
            new.data = old.data  # the copy, then the one reconfiguration
            new.capacity_gb = max(new.capacity_gb, old.capacity_gb)
            vm.disks[vm.disks.index(old_path)] = new_path
            new.vm, new.io, new.shared = instance_uuid, io, shared
            others = _holders(state, old_path)
            old.vm = others[0] if others else None
            if not others:
                old.io, old.shared = None, False
            return AttachedDisk(new_path, new.capacity_gb, io, shared)

    def clean_swap(self, instance_uuid: str, new_path: str) -> None:
        # The fake's swap is one step: it never leaves a snapshot or a partial copy.
        with self._state.operation("clean_swap"):
            self._state.vm(instance_uuid)

    def grow_disk(self, instance_uuid: str, path: str, size_gb: int) -> AttachedDisk:
        state = self._state
        with state.operation("grow_disk"):
            vm = state.vm(instance_uuid)
            if path not in vm.disks:
                raise NotFoundError(f"{path} is not attached to VM {instance_uuid}")
            disk = state.disks[path]
            if size_gb < disk.capacity_gb:
                raise InvalidStateError(f"{path} is {disk.capacity_gb} GB; disks never shrink")
            disk.capacity_gb = size_gb
            return AttachedDisk(path, size_gb)

    def _new_disks(self, spec: VMSpec, template: FakeVM | None) -> list[FakeDisk]:
        """The disk files a new VM gets: copies of the template's, then the new empty ones."""
        sizes: list[tuple[int, Provisioning]] = []
        if template is not None:
            sizes = [
                (self._state.disks[p].capacity_gb, self._state.disks[p].provisioning)
                for p in template.disks
            ]
        for disk in spec.disks:
            if disk.path is not None:
                continue
            if disk.root and sizes:
                sizes[0] = (max(sizes[0][0], disk.size_gb), sizes[0][1])
            else:
                sizes.append((disk.size_gb, disk.provisioning))
        files = []
        for index, (size, provisioning) in enumerate(sizes):
            suffix = f"_{index}" if index else ""
            path = datastore_path(spec.datastore, f"{spec.name}/{spec.name}{suffix}.vmdk")
            files.append(FakeDisk(path, spec.datastore, size, provisioning))
        return files

    def _cluster_info(self, name: str) -> ClusterInfo:
        state = self._state
        cluster = state.clusters[name]
        cores = sum(h.cpu_cores for h in cluster.hosts)
        mhz = sum(h.cpu_cores * h.cpu_mhz_per_core for h in cluster.hosts)
        memory = sum(h.memory_mb for h in cluster.hosts)
        running = [
            vm
            for vm in state.vms.values()
            if vm.cluster == name and vm.power_state is PowerState.ON
        ]
        return ClusterInfo(
            id=cluster.id,
            name=name,
            hosts=tuple(h.name for h in cluster.hosts),
            cpu_cores=cores,
            cpu_mhz_total=mhz,
            cpu_mhz_free=mhz,
            memory_mb_total=memory,
            memory_mb_free=memory - sum(vm.memory_mb for vm in running),
            datastores=tuple(cluster.datastores),
        )

    def _info(self, vm: FakeVM) -> VMInfo:
        state = self._state
        return VMInfo(
            instance_uuid=vm.instance_uuid,
            id=vm.id,
            name=vm.name,
            cluster=vm.cluster,
            host=vm.host,
            power_state=vm.power_state,
            cpus=vm.cpus,
            cores_per_socket=vm.cores_per_socket,
            memory_mb=vm.memory_mb,
            disks=tuple(
                AttachedDisk(p, state.disks[p].capacity_gb, shared=state.disks[p].shared)
                for p in vm.disks
            ),
            nics=tuple(state.nic_info(vm, n) for n in vm.nics),
            annotation=vm.annotation,
            datastore=vm.datastore,
            tuning=vm.tuning,
        )

    def suspend(self, instance_uuid: str) -> None:
        with self._state.operation("suspend"):
            vm = self._state.vm(instance_uuid)
            if vm.power_state is not PowerState.ON:
                raise InvalidStateError(f"VM {instance_uuid} is not powered on")
            vm.power_state = PowerState.SUSPENDED

    def set_vm_group_rule(
        self,
        cluster: str,
        name: str,
        kind: RuleKind,
        vm_uuids: Sequence[str],
        *,
        mandatory: bool,
    ) -> VmGroupRule | None:
        state = self._state
        with state.operation("set_vm_group_rule"):
            self._rule_cluster(cluster)
            found = sorted(
                {u for u in vm_uuids if u in state.vms and state.vms[u].cluster == cluster}
            )
            existing = state.vm_rules.get((cluster, name))
            if len(found) < 2:
                state.vm_rules.pop((cluster, name), None)
                return None
            key = existing.key if existing is not None else state.new_id("rule")
            rule = VmGroupRule(name, kind, tuple(found), mandatory, True, key)
            state.vm_rules[(cluster, name)] = rule
            return rule

    def delete_vm_group_rule(self, cluster: str, name: str) -> bool:
        with self._state.operation("delete_vm_group_rule"):
            self._rule_cluster(cluster)
            return self._state.vm_rules.pop((cluster, name), None) is not None

    def list_vm_group_rules(self, cluster: str) -> list[VmGroupRule]:
        state = self._state
        with state.operation("list_vm_group_rules"):
            self._rule_cluster(cluster)
            rules = [r for (c, _), r in state.vm_rules.items() if c == cluster]
            # A VM destroyed since leaves its rules, as vCenter drops it from them.
            return [
                replace(r, vm_uuids=tuple(u for u in r.vm_uuids if u in state.vms))
                for r in sorted(rules, key=lambda r: r.name)
            ]

    def _rule_cluster(self, cluster: str) -> None:
        if cluster not in self._state.clusters:
            raise NotFoundError(f"no cluster named {cluster!r}")

    # -- moves and resizes --------------------------------------------------------------------

    def relocate_vm(self, instance_uuid: str, cluster: str, host: str | None = None) -> VMInfo:
        state = self._state
        with state.operation("relocate_vm"):
            vm = state.vm(instance_uuid)
            target = state.clusters.get(cluster)
            if target is None:
                raise NotFoundError(f"no cluster named {cluster!r}")
            names = [h.name for h in target.hosts]
            if host is not None and host not in names:
                raise NotFoundError(f"cluster {cluster} has no host {host!r}")
            if vm.cluster == cluster and (host is None or vm.host == host):
                return self._info(vm)
            if vm.datastore not in target.datastores:
                raise NoCapacityError(f"cluster {cluster} does not see {vm.datastore}")
            running = vm.power_state is PowerState.ON and vm.cluster != cluster
            if running and vm.memory_mb > self._cluster_info(cluster).memory_mb_free:
                raise NoCapacityError(f"cluster {cluster} has no memory for {vm.memory_mb} MB")
            vm.cluster, vm.host = cluster, host or names[0]
            return self._info(vm)

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
        state = self._state
        with state.operation("resize_vm"):
            vm = state.vm(instance_uuid)
            if tuning is not None:
                vm.tuning = _tuned(vm.tuning, tuning)
            root = state.disks[vm.disks[0]] if vm.disks else None
            if root is not None and 0 < root_gb < root.capacity_gb:
                raise InvalidStateError(f"{root.path} is {root.capacity_gb} GB; disks never shrink")
            vm.cpus, vm.memory_mb, vm.cores_per_socket = cpus, memory_mb, cores_per_socket
            if root is not None and root_gb > root.capacity_gb:
                root.capacity_gb = root_gb
            return self._info(vm)

    def copy_disk(self, source: str, destination: str) -> None:
        state = self._state
        with state.operation("copy_disk"):
            disk = state.disks.get(source)
            if disk is None:
                raise NotFoundError(f"no disk at {source}")
            if destination in state.disks:
                raise AlreadyExistsError(f"a disk exists at {destination}")
            datastore = destination[1:].partition("]")[0]
            state.datastore(datastore)
            free = state.datastores[datastore].capacity_gb - state.datastore_used_gb(datastore)
            if disk.capacity_gb > free:
                raise NoCapacityError(f"datastore {datastore} has no room for {destination}")
            state.disks[destination] = FakeDisk(
                destination, datastore, disk.capacity_gb, disk.provisioning
            )

    def replace_disk(self, instance_uuid: str, path: str, source: str, size_gb: int) -> VMInfo:
        state = self._state
        with state.operation("replace_disk"):
            vm = state.vm(instance_uuid)
            original = state.disks.get(source)
            if original is None:
                raise NotFoundError(f"no disk at {source}")
            if path in vm.disks:
                vm.disks.remove(path)
            state.disks.pop(path, None)
            datastore = path[1:].partition("]")[0]
            state.disks[path] = FakeDisk(
                path, datastore, size_gb, original.provisioning, vm=instance_uuid
            )
            vm.disks.insert(0, path)
            return self._info(vm)

    def acquire_console_ticket(self, instance_uuid: str) -> ConsoleTicket:
        """A ticket as vCenter hands it out: only for a powered-on VM, on its ESXi host."""
        state = self._state
        with state.operation("acquire_console_ticket"):
            vm = state.vm(instance_uuid)
            if vm.power_state is not PowerState.ON:
                raise InvalidStateError(f"VM {instance_uuid} is not powered on")
            ticket = hashlib.sha256(f"{vm.id}:{state.new_id('ticket')}".encode()).hexdigest()
            return ConsoleTicket(ticket=ticket[:32], host=vm.host, port=443)

    def vm_stats(self, instance_uuid: str) -> VMStats:
        """The figures vCenter's `summary` gives; quick stats are what a fake can know (none
        measured, so usage and uptime stay unknown)."""
        state = self._state
        with state.operation("vm_stats"):
            vm = state.vm(instance_uuid)
            powered = {PowerState.ON: "poweredOn", PowerState.SUSPENDED: "suspended"}
            return VMStats(
                power_state=vm.power_state,
                cpus=vm.cpus,
                memory_mb=vm.memory_mb,
                nic_macs=tuple(n.mac for n in vm.nics),
                disk_paths=tuple(vm.disks),
                raw={
                    "name": vm.name,
                    "instanceUuid": vm.instance_uuid,
                    "numCpu": vm.cpus,
                    "memorySizeMB": vm.memory_mb,
                    "numEthernetCards": len(vm.nics),
                    "numVirtualDisks": len(vm.disks),
                    "powerState": powered.get(vm.power_state, "poweredOff"),
                },
            )

    #: IDE controllers x units a vSphere VM has for CD-ROMs (two controllers, two units each).
    IDE_SLOTS = 4

    def attach_iso(self, instance_uuid: str, path: str) -> None:
        state = self._state
        with state.operation("attach_iso"):
            vm = state.vm(instance_uuid)
            if split_datastore_path(path) not in state.files:
                raise NotFoundError(f"no ISO file at {path}")
            if path in vm.isos:
                raise AlreadyExistsError(f"{path} is in a CD-ROM of VM {instance_uuid} already")
            if len(vm.isos) >= self.IDE_SLOTS:
                raise NoCapacityError(f"VM {instance_uuid} has no free IDE slot for a CD-ROM")
            vm.isos.append(path)

    def detach_iso(self, instance_uuid: str, path: str) -> None:
        with self._state.operation("detach_iso"):
            vm = self._state.vm(instance_uuid)
            if path not in vm.isos:
                raise NotFoundError(f"no CD-ROM of VM {instance_uuid} holds {path}")
            vm.isos.remove(path)

    def console_log(self, instance_uuid: str, max_bytes: int) -> bytes | None:
        """The tail of the VM's serial log file, as a guest would have written it there (tests
        write it with `FakeCloud.write_file`): empty until then."""
        state = self._state
        with state.operation("console_log"):
            path = state.vm(instance_uuid).serial_log
            if path is None:
                return None
            found = state.files.get(split_datastore_path(path))
            data = found.data if found is not None else b""
            return data[-max_bytes:] if max_bytes else b""

    def list_isos(self, instance_uuid: str) -> list[str]:
        with self._state.operation("list_isos"):
            return list(self._state.vm(instance_uuid).isos)

    def export_root_disk(self, instance_uuid: str, target: str) -> ImageFile:
        """The fake's disks hold no bytes: the copy is a file naming the disk it copies (its
        path and capacity), so an image made from it has real, distinct bytes to hash."""
        state = self._state
        datastore, path = split_datastore_path(target)
        with state.operation("export_root_disk"):
            vm = state.vm(instance_uuid)
            state.datastore(datastore)
            if not vm.disks:
                raise NotFoundError(f"VM {instance_uuid} has no disk to copy")
            if (datastore, path) in state.files:
                raise AlreadyExistsError(f"{target} exists")
            root = state.disks[vm.disks[0]]
            data = f"fake VMDK: a copy of {root.path} ({root.capacity_gb} GB)\n".encode()
            if len(data) > state.datastore_free_bytes(datastore):
                raise NoCapacityError(f"datastore {datastore} has no room for the copy")
            state.files[(datastore, path)] = FakeFile(datastore, path, data)
            return ImageFile(datastore, path, len(data))

    def attach_rescue_disk(self, instance_uuid: str, source: str) -> AttachedDisk:
        """Like vSphere: a copy of `source` in the VM's folder, attached after its disks (the
        fake has no boot order: a VM with a rescue disk boots from it)."""
        state = self._state
        with state.operation("attach_rescue_disk"):
            vm = state.vm(instance_uuid)
            rescue = datastore_path(vm.datastore, f"{vm.name}/{vm.name}-rescue.vmdk")
            if rescue in vm.disks:
                return AttachedDisk(rescue, state.disks[rescue].capacity_gb)
            source_ds, source_path = split_datastore_path(source)
            if source in state.disks:
                size_gb = state.disks[source].capacity_gb
            elif (source_ds, source_path) in state.files:
                size_gb = max(1, -(-len(state.files[(source_ds, source_path)].data) // 2**30))
            else:
                raise NotFoundError(f"no disk at {source}")
            disk = FakeDisk(rescue, vm.datastore, size_gb, Provisioning.THIN, vm.instance_uuid)
            state.disks[rescue] = disk
            vm.disks.append(rescue)
            return AttachedDisk(rescue, size_gb)

    def detach_rescue_disk(self, instance_uuid: str) -> None:
        state = self._state
        with state.operation("detach_rescue_disk"):
            vm = state.vm(instance_uuid)
            rescue = datastore_path(vm.datastore, f"{vm.name}/{vm.name}-rescue.vmdk")
            if rescue in vm.disks:
                vm.disks.remove(rescue)
                state.disks.pop(rescue, None)


def _tuned(current: VMTuning, wanted: VMTuning) -> VMTuning:
    """What a VM with `current` has after `wanted` is applied (as vSphere would: allocations
    replaced, the hardware version only ever raised).

    :raises InvalidStateError: `wanted` asks for an older hardware version.
    """
    version = current.hw_version
    if upgrade_needed(wanted.hw_version, version):
        version = wanted.hw_version
    return VMTuning(cpu=wanted.cpu, memory=wanted.memory, hw_version=version)


def _holders(state: FakeState, path: str) -> list[str]:
    """The VMs that have the disk at `path` attached (several for a multiattach volume)."""
    return [uuid for uuid, vm in state.vms.items() if path in vm.disks]
