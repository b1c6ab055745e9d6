"""The in-memory compute driver: vSphere's VM semantics without vSphere.

It models vCenter, not vcsim: power operations check the state, destroy deletes attached disks,
cluster memory is admission-controlled, soft reboot works. Where vcsim differs, the contract
suite marks the case as unprovable on the simulator.
"""

from __future__ import annotations

from vistack.drivers.errors import (
    AlreadyExistsError,
    InvalidStateError,
    NoCapacityError,
    NotFoundError,
)
from vistack.drivers.fake.state import FakeDisk, FakeNic, FakeState, FakeVM
from vistack.drivers.models import (
    AttachedDisk,
    ClusterInfo,
    NicInfo,
    NicSpec,
    PowerState,
    Provisioning,
    VMInfo,
    VMSpec,
)
from vistack.drivers.paths import datastore_path


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
                    vm.disks.append(extra.path)
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

    def attach_disk(self, instance_uuid: str, path: str) -> AttachedDisk:
        state = self._state
        with state.operation("attach_disk"):
            vm = state.vm(instance_uuid)
            disk = state.disks.get(path)
            if disk is None:
                raise NotFoundError(f"no disk at {path}")
            if path in vm.disks:
                raise AlreadyExistsError(f"{path} is attached to VM {instance_uuid} already")
            disk.vm = instance_uuid
            vm.disks.append(path)
            return AttachedDisk(path, disk.capacity_gb)

    def detach_disk(self, instance_uuid: str, path: str) -> None:
        state = self._state
        with state.operation("detach_disk"):
            vm = state.vm(instance_uuid)
            if path not in vm.disks:
                raise NotFoundError(f"{path} is not attached to VM {instance_uuid}")
            vm.disks.remove(path)
            state.disks[path].vm = None

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
            disks=tuple(AttachedDisk(p, state.disks[p].capacity_gb) for p in vm.disks),
            nics=tuple(state.nic_info(vm, n) for n in vm.nics),
            annotation=vm.annotation,
            datastore=vm.datastore,
        )
