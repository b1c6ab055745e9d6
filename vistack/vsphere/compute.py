"""The compute driver on vSphere: VMs addressed by instance UUID, built and run with tasks.

Reads go through the PropertyCollector (one `RetrievePropertiesEx` per VM read), tasks are waited
on through it too (`tasks.wait_for_task`), and the instance UUID → moref answer is cached
(`lookup.Lookup`), so a power operation costs the task and its wait, nothing more.

`create_vm` completes a new VM in one `ReconfigVM_Task` (`_complete`): the root disk grown to
the flavor, the spec's ISO images written into the VM's folder and put in CD-ROMs, and what the
clone ignored: vcsim's `CloneVM_Task` ignores CPU, memory and annotation in the clone spec, so
the VM read back after the clone is compared with the spec (on vCenter only the disk and the
CD-ROMs remain to do). Where vcsim differs too: `RebootGuest` is missing, so a soft reboot
raises `UnsupportedError` there instead of being degraded to a reset.
"""

from __future__ import annotations

import http.client
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, TypeVar

from vistack.drivers.errors import AlreadyExistsError, InvalidStateError, NotFoundError
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
    VMInfo,
    VMSpec,
    VMStats,
    VMTuning,
)
from vistack.drivers.paths import datastore_path, split_datastore_path
from vistack.drivers.vm_rules import RuleKind, VmGroupRule
from vistack.vsphere import cdrom, consoles, devices, diagnostics, serial_log, transport
from vistack.vsphere.datastore_files import FileConnections, put_file
from vistack.vsphere.drs_rules import DrsRules
from vistack.vsphere.lookup import Lookup
from vistack.vsphere.properties import ObjectProps, retrieve, retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.tuning import (
    TUNING_PATHS,
    allocations_differ,
    apply_allocations,
    tuning_of,
    upgrade_hardware,
)
from vistack.vsphere.vm_disks import VMDisks
from vistack.vsphere.vm_moves import VMMoves
from vistack.vsphere.vmomi import vim, vmodl

T = TypeVar("T")

#: vSphere's `runtime.powerState` values folded into the driver's (Libcloud's NODE_STATE_MAP).
POWER_STATE_MAP: dict[str, PowerState] = {
    "poweredOn": PowerState.ON,
    "poweredOff": PowerState.OFF,
    "suspended": PowerState.SUSPENDED,
}

#: Every property a VMInfo is built from, read in one call.
VM_PATHS = (
    "name",
    "config.instanceUuid",
    "config.template",
    "config.hardware.numCPU",
    "config.hardware.numCoresPerSocket",
    "config.hardware.memoryMB",
    "config.hardware.device",
    "config.annotation",
    "config.files.vmPathName",
    "runtime.powerState",
    "runtime.host",
    *TUNING_PATHS,
)

#: The guest OS id of VMs built from scratch; images carry their own in the template.
DEFAULT_GUEST_ID = "otherGuest64"


class VSphereCompute:
    """`ComputeDriver` on a `VCenterSession`."""

    def __init__(
        self, session: VCenterSession, lookup: Lookup, *, task_timeout: float = 600.0
    ) -> None:
        self._session = session
        self._lookup = lookup
        self._timeout = task_timeout

    # -- clusters -----------------------------------------------------------------------------

    def list_clusters(self) -> list[ClusterInfo]:
        return self._session.call(self._list_clusters)

    def _list_clusters(self, client: Client) -> list[ClusterInfo]:
        clusters = self._lookup.clusters(client)
        hosts = {
            h.moref: h
            for h in retrieve(
                client,
                "HostSystem",
                [
                    "name",
                    "summary.hardware.numCpuCores",
                    "summary.hardware.cpuMhz",
                    "summary.hardware.memorySize",
                    "summary.quickStats.overallCpuUsage",
                    "summary.quickStats.overallMemoryUsage",
                ],
                root=self._lookup.datacenter(client),
            )
        }
        result = []
        for cluster in clusters.values():
            members = [hosts[h] for h in cluster.hosts if h in hosts]
            cores = sum(int(h.get("summary.hardware.numCpuCores", 0)) for h in members)
            mhz = sum(
                int(h.get("summary.hardware.numCpuCores", 0))
                * int(h.get("summary.hardware.cpuMhz", 0))
                for h in members
            )
            cpu_used = sum(int(h.get("summary.quickStats.overallCpuUsage") or 0) for h in members)
            memory = sum(int(h.get("summary.hardware.memorySize", 0)) for h in members) // 2**20
            memory_used = sum(
                int(h.get("summary.quickStats.overallMemoryUsage") or 0) for h in members
            )
            result.append(
                ClusterInfo(
                    id=cluster.moref,
                    name=cluster.name,
                    hosts=tuple(str(h.get("name")) for h in members),
                    cpu_cores=cores,
                    cpu_mhz_total=mhz,
                    cpu_mhz_free=max(0, mhz - cpu_used),
                    memory_mb_total=memory,
                    memory_mb_free=max(0, memory - memory_used),
                    datastores=cluster.datastores,
                )
            )
        return result

    # -- create -------------------------------------------------------------------------------

    def create_vm(self, spec: VMSpec) -> VMInfo:
        return self._session.call(lambda c: self._create_vm(c, spec), idempotent=False)

    def _create_vm(self, client: Client, spec: VMSpec) -> VMInfo:
        lookup = self._lookup
        # vCenter silently replaces a duplicate instanceUuid rather than refusing it.
        if spec.may_exist and lookup.find_vm(client, spec.instance_uuid) is not None:
            raise AlreadyExistsError(f"a VM with instance UUID {spec.instance_uuid} exists")
        cluster = lookup.cluster(client, spec.cluster)
        datastore = lookup.datastore(client, spec.datastore)
        if spec.datastore not in cluster.datastores:
            raise NotFoundError(f"cluster {spec.cluster} does not see {spec.datastore}")
        pool = client.moref("ResourcePool", cluster.pool)
        nic_specs = [
            devices.new_nic(-200 - i, lookup.portgroup_switch_uuid(client, n.portgroup), *n_pm(n))
            for i, n in enumerate(spec.nics)
        ]
        if spec.template is None:
            vm = self._create_empty(client, spec, pool, nic_specs)
        else:
            vm = self._clone(client, spec, pool, datastore, nic_specs)
        lookup.remember_vm(spec.instance_uuid, client.ref(vm))
        info, device_list = self._read_devices(client, vm)
        if info.cluster and info.cluster != spec.cluster:
            self._into_cluster(client, vm, cluster.hosts, spec.instance_uuid)
            info, device_list = self._read_devices(client, vm)
        return self._complete(client, vm, spec, info, device_list)

    def _complete(
        self, client: Client, vm: Any, spec: VMSpec, info: VMInfo, device_list: list[Any]
    ) -> VMInfo:
        """Everything a new VM still needs before it runs, in one `ReconfigVM_Task`: what the
        clone ignored (vcsim), the root disk grown to the flavor, and the config drive's CD-ROM
        (its ISO written into the VM's folder first); then the hardware upgrade a flavor asks
        for, and the power-on when the spec wants it. The VMInfo returned is the one read
        after the clone with these changes applied, unless the allocations or the hardware
        version changed (vSphere may round those): then it is read again."""
        fix = self._post_clone_fixes(spec, info)
        config, size_gb = fix if fix is not None else (vim.vm.ConfigSpec(), 0)
        changes: list[Any] = []
        if size_gb:
            changes.append(devices.grow(devices.disks(device_list)[0], size_gb))
        for iso in spec.isos:
            relative = f"{spec.name}/{iso.name}"
            put_file(client, self._lookup, self._files, spec.datastore, relative, iso.data)
            path = datastore_path(spec.datastore, relative)
            changes.append(cdrom.add_iso_change(client, self._lookup, device_list, path))
        if changes:
            config.deviceChange = changes
        if fix is not None or changes:
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            info = applied(info, spec, size_gb)
        stale = allocations_differ(spec.tuning, info.tuning)
        wanted = spec.tuning.hw_version
        if wanted is not None and upgrade_needed(wanted, info.tuning.hw_version):
            upgrade_hardware(client, vm, wanted, self._timeout)
            stale = True
        if spec.power_on:
            wait_for_task(client, vm.PowerOnVM_Task(), self._timeout)
            info = replace(info, power_state=PowerState.ON)
        return self._read(client, vm) if stale else info

    @cached_property
    def _put(self) -> Callable[..., http.client.HTTPConnection]:
        return transport.connection_factory(self._session.endpoint, 10.0, 300.0)

    @cached_property
    def _files(self) -> FileConnections:
        endpoint = self._session.endpoint
        return FileConnections(self._put, (endpoint.host, endpoint.port))

    def _read_devices(self, client: Client, vm: Any) -> tuple[VMInfo, list[Any]]:
        """The VM's state and its raw device list, from one read."""
        props = retrieve_one(client, vm, VM_PATHS)
        if props is None or props.get("config.template"):
            raise vmodl.fault.ManagedObjectNotFound(obj=vm)
        info = self._info(props, self._lookup.host_names(client))
        return info, list(props.get("config.hardware.device") or ())

    def _create_empty(self, client: Client, spec: VMSpec, pool: Any, nics: list[Any]) -> Any:
        changes = [devices.scsi_controller()]
        unit = 0
        for index, disk in enumerate(spec.disks):
            key = -300 - index
            if unit == 7:
                unit += 1
            if disk.path is None:
                changes.append(
                    devices.new_disk(
                        key, devices.NEW_CONTROLLER_KEY, unit, disk.size_gb, disk.provisioning
                    )
                )
            else:
                changes.append(
                    devices.existing_disk(
                        key,
                        devices.NEW_CONTROLLER_KEY,
                        unit,
                        disk.path,
                        disk.io,
                        shared=disk.shared,
                    )
                )
            unit += 1
        config = vim.vm.ConfigSpec(
            name=spec.name,
            instanceUuid=spec.instance_uuid,
            guestId=DEFAULT_GUEST_ID,
            numCPUs=spec.cpus,
            numCoresPerSocket=spec.cores_per_socket,
            memoryMB=spec.memory_mb,
            annotation=spec.annotation,
            files=vim.vm.FileInfo(
                vmPathName=datastore_path(spec.datastore, f"{spec.name}/{spec.name}.vmx")
            ),
            deviceChange=changes + nics + [self._serial_port(spec)],
        )
        if allocations_differ(spec.tuning, VMTuning()):
            apply_allocations(config, spec.tuning)
        if spec.tuning.hw_version is not None:
            config.version = spec.tuning.hw_version
        task = self._lookup.vm_folder(client).CreateVM_Task(config=config, pool=pool)
        return self._vm_result(client, wait_for_task(client, task, self._timeout))

    def _clone(
        self, client: Client, spec: VMSpec, pool: Any, datastore: Any, nics: list[Any]
    ) -> Any:
        assert spec.template is not None
        template = client.moref("VirtualMachine", spec.template.id)
        changes = [*nics, self._serial_port(spec)]
        extra = [d for d in spec.disks if not d.root]
        if extra:
            source = retrieve_one(client, template, ["config.hardware.device"])
            if source is None:
                raise NotFoundError(f"template {spec.template.name} is gone")
            existing = list(source.get("config.hardware.device") or ())
            taken: set[tuple[int, int]] = set()
            for index, disk in enumerate(extra):
                controller, unit = devices.free_scsi_slot(existing, taken)
                taken.add((controller, unit))
                if disk.path is None:
                    changes.append(
                        devices.new_disk(
                            -300 - index, controller, unit, disk.size_gb, disk.provisioning
                        )
                    )
                else:
                    changes.append(
                        devices.existing_disk(
                            -300 - index, controller, unit, disk.path, disk.io, shared=disk.shared
                        )
                    )
        config = vim.vm.ConfigSpec(
            instanceUuid=spec.instance_uuid,
            numCPUs=spec.cpus,
            numCoresPerSocket=spec.cores_per_socket,
            memoryMB=spec.memory_mb,
            annotation=spec.annotation,
            deviceChange=changes,
        )
        if allocations_differ(spec.tuning, VMTuning()):
            apply_allocations(config, spec.tuning)  # honoured by vCenter, not by vcsim
        clone_spec = vim.vm.CloneSpec(
            location=vim.vm.RelocateSpec(pool=pool, datastore=datastore),
            powerOn=False,
            template=False,
            config=config,
        )
        try:
            task = template.CloneVM_Task(
                folder=self._lookup.vm_folder(client), name=spec.name, spec=clone_spec
            )
        except vmodl.fault.ManagedObjectNotFound as exc:
            raise NotFoundError(f"template {spec.template.name} is gone") from exc
        return self._vm_result(client, wait_for_task(client, task, self._timeout))

    def _post_clone_fixes(self, spec: VMSpec, info: VMInfo) -> tuple[Any, int] | None:
        """(ConfigSpec, root size to grow to or 0) a new VM still needs, or None.

        vcsim ignores CPU, memory and annotation in a clone spec, and no clone grows the root.

        On vCenter the clone spec is honoured and this returns None; the comparison costs nothing
        because the VM is read back anyway to return its VMInfo.
        """
        config = vim.vm.ConfigSpec()
        needed = False
        wanted = (spec.cpus, spec.cores_per_socket, spec.memory_mb)
        if (info.cpus, info.cores_per_socket, info.memory_mb) != wanted:
            config.numCPUs, config.numCoresPerSocket, config.memoryMB = wanted
            needed = True
        if info.annotation != spec.annotation:
            config.annotation, needed = spec.annotation, True
        if allocations_differ(spec.tuning, info.tuning):
            apply_allocations(config, spec.tuning)
            needed = True
        root = next((d for d in spec.disks if d.root and d.path is None), None)
        growing = spec.template is not None and root is not None and info.disks
        if growing and root is not None and info.disks[0].capacity_gb < root.size_gb:
            return config, root.size_gb
        return (config, 0) if needed else None

    @staticmethod
    def _serial_port(spec: VMSpec) -> Any:
        """The serial port writing the guest's console to a file in the VM's folder, where the
        config drive's ISO goes too (`serial_log`)."""
        relative = f"{spec.name}/{serial_log.SERIAL_LOG_NAME}"
        return serial_log.serial_port_change(datastore_path(spec.datastore, relative))

    @staticmethod
    def _vm_result(client: Client, result: Any) -> Any:
        if isinstance(result, str):
            return client.moref("VirtualMachine", result)
        return result

    # -- reads --------------------------------------------------------------------------------

    def get_vm(self, instance_uuid: str) -> VMInfo:
        return self._session.call(lambda c: self._on_vm(c, instance_uuid, self._read))

    def list_vms(self) -> list[VMInfo]:
        return self._session.call(self._list_vms)

    def _list_vms(self, client: Client) -> list[VMInfo]:
        found = retrieve(client, "VirtualMachine", VM_PATHS, root=self._lookup.datacenter(client))
        hosts = self._lookup.host_names(client)
        return [
            self._info(vm, hosts)
            for vm in found
            if not vm.get("config.template") and vm.get("config.instanceUuid")
        ]

    def _read(self, client: Client, vm: Any) -> VMInfo:
        props = retrieve_one(client, vm, VM_PATHS)
        if props is None or props.get("config.template"):
            raise vmodl.fault.ManagedObjectNotFound(obj=vm)
        return self._info(props, self._lookup.host_names(client))

    def _info(self, vm: ObjectProps, hosts: dict[str, tuple[str, str]]) -> VMInfo:
        device_list = vm.get("config.hardware.device") or ()
        cluster, host = hosts.get(vm.get("runtime.host") or "", ("", ""))
        vmx = vm.get("config.files.vmPathName") or ""
        return VMInfo(
            instance_uuid=str(vm.get("config.instanceUuid")),
            id=vm.moref,
            name=str(vm.get("name")),
            cluster=cluster,
            host=host,
            power_state=POWER_STATE_MAP.get(str(vm.get("runtime.powerState")), PowerState.UNKNOWN),
            cpus=int(vm.get("config.hardware.numCPU") or 0),
            cores_per_socket=int(vm.get("config.hardware.numCoresPerSocket") or 1),
            memory_mb=int(vm.get("config.hardware.memoryMB") or 0),
            disks=tuple(devices.attached(d) for d in devices.disks(device_list)),
            nics=tuple(devices.nic_info(n) for n in devices.nics(device_list)),
            annotation=str(vm.get("config.annotation") or ""),
            datastore=split_datastore_path(vmx)[0] if vmx else "",
            tuning=tuning_of(vm),
        )

    # -- power --------------------------------------------------------------------------------

    def power_on(self, instance_uuid: str) -> None:
        self._task(instance_uuid, lambda vm: vm.PowerOnVM_Task())

    def power_off(self, instance_uuid: str) -> None:
        self._task(instance_uuid, lambda vm: vm.PowerOffVM_Task())

    def reboot(self, instance_uuid: str, *, hard: bool) -> None:
        if hard:
            self._task(instance_uuid, lambda vm: vm.ResetVM_Task())
            return

        def soft(client: Client, vm: Any) -> None:
            vm.RebootGuest()

        # RebootGuest is not a task; MethodNotFound (vcsim) classifies as UnsupportedError.
        self._session.call(lambda c: self._on_vm(c, instance_uuid, soft), idempotent=False)

    def destroy_vm(self, instance_uuid: str) -> None:
        self._task(instance_uuid, lambda vm: vm.Destroy_Task())
        self._lookup.forget_vm(instance_uuid)

    def _task(self, instance_uuid: str, start: Callable[[Any], Any]) -> None:
        def run(client: Client, vm: Any) -> None:
            wait_for_task(client, start(vm), self._timeout)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def _on_vm(self, client: Client, instance_uuid: str, fn: Callable[[Client, Any], T]) -> T:
        """Run `fn(client, vm)`; a cached moref that went stale is looked up once more."""
        vm = self._lookup.vm(client, instance_uuid)
        try:
            return fn(client, vm)
        except vmodl.fault.ManagedObjectNotFound:
            self._lookup.forget_vm(instance_uuid)
            fresh = self._lookup.vm(client, instance_uuid)
            if client.ref(fresh) == client.ref(vm):
                raise
            return fn(client, fresh)

    # -- reconfigure --------------------------------------------------------------------------

    def reconfigure(self, instance_uuid: str, *, cpus: int, memory_mb: int) -> VMInfo:
        def run(client: Client, vm: Any) -> VMInfo:
            config = vim.vm.ConfigSpec(numCPUs=cpus, memoryMB=memory_mb)
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            return self._read(client, vm)

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def attach_nic(self, instance_uuid: str, nic: NicSpec) -> NicInfo:
        def run(client: Client, vm: Any) -> NicInfo:
            mac = nic.mac.lower()
            if any(n.mac == mac for n in self._devices_info(client, vm)[1]):
                raise AlreadyExistsError(f"VM {instance_uuid} has a NIC with MAC {nic.mac}")
            switch = self._lookup.portgroup_switch_uuid(client, nic.portgroup)
            config = vim.vm.ConfigSpec(deviceChange=[devices.new_nic(-1, switch, *n_pm(nic))])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            # Read back, so the answer equals what get_vm reports (device key, switch UUID).
            for added in self._devices_info(client, vm)[1]:
                if added.mac == mac:
                    return added
            raise NotFoundError(f"the NIC with MAC {mac} vanished from VM {instance_uuid}")

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def detach_nic(self, instance_uuid: str, mac: str) -> None:
        def run(client: Client, vm: Any) -> None:
            found = [
                n
                for n in devices.nics(self._device_list(client, vm))
                if str(n.macAddress).lower() == mac.lower()
            ]
            if not found:
                raise NotFoundError(f"VM {instance_uuid} has no NIC with MAC {mac}")
            config = vim.vm.ConfigSpec(deviceChange=[devices.remove(found[0])])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def attach_disk(
        self, instance_uuid: str, path: str, io: DiskIo | None = None, *, shared: bool = False
    ) -> AttachedDisk:
        def run(client: Client, vm: Any) -> AttachedDisk:
            device_list = self._device_list(client, vm)
            if any(devices.disk_path(d) == path for d in devices.disks(device_list)):
                raise AlreadyExistsError(f"{path} is attached to VM {instance_uuid} already")
            controller, unit = devices.free_scsi_slot(device_list, set())
            change = devices.existing_disk(-1, controller, unit, path, io, shared=shared)
            config = vim.vm.ConfigSpec(deviceChange=[change])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            return self._disk(client, vm, instance_uuid, path)

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def detach_disk(self, instance_uuid: str, path: str) -> None:
        def run(client: Client, vm: Any) -> None:
            disk = self._find_disk(client, vm, instance_uuid, path)
            config = vim.vm.ConfigSpec(deviceChange=[devices.remove(disk)])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def grow_disk(self, instance_uuid: str, path: str, size_gb: int) -> AttachedDisk:
        def run(client: Client, vm: Any) -> AttachedDisk:
            disk = self._find_disk(client, vm, instance_uuid, path)
            current = devices.disk_gb(disk)
            if size_gb < current:
                raise InvalidStateError(f"{path} is {current} GB; disks never shrink")
            config = vim.vm.ConfigSpec(deviceChange=[devices.grow(disk, size_gb)])
            wait_for_task(client, vm.ReconfigVM_Task(spec=config), self._timeout)
            return self._disk(client, vm, instance_uuid, path)

        return self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    # -- device helpers -----------------------------------------------------------------------

    @staticmethod
    def _device_list(client: Client, vm: Any) -> list[Any]:
        props = retrieve_one(client, vm, ["config.hardware.device"])
        if props is None:
            raise vmodl.fault.ManagedObjectNotFound(obj=vm)
        return list(props.get("config.hardware.device") or ())

    def _devices_info(self, client: Client, vm: Any) -> tuple[list[Any], list[NicInfo]]:
        device_list = self._device_list(client, vm)
        return device_list, [devices.nic_info(n) for n in devices.nics(device_list)]

    def _find_disk(self, client: Client, vm: Any, instance_uuid: str, path: str) -> Any:
        for disk in devices.disks(self._device_list(client, vm)):
            if devices.disk_path(disk) == path:
                return disk
        raise NotFoundError(f"{path} is not attached to VM {instance_uuid}")

    def _disk(self, client: Client, vm: Any, instance_uuid: str, path: str) -> AttachedDisk:
        return devices.attached(self._find_disk(client, vm, instance_uuid, path))

    # -- consoles and diagnostics (vsphere/consoles.py, vsphere/diagnostics.py) ----------------

    def acquire_console_ticket(self, instance_uuid: str) -> ConsoleTicket:
        return self._session.call(
            lambda c: self._on_vm(c, instance_uuid, consoles.acquire_ticket), idempotent=False
        )

    def vm_stats(self, instance_uuid: str) -> VMStats:
        return self._session.call(lambda c: self._on_vm(c, instance_uuid, diagnostics.vm_stats))

    def console_log(self, instance_uuid: str, max_bytes: int) -> bytes | None:
        devices_now = self._session.call(lambda c: self._on_vm(c, instance_uuid, self._device_list))
        path = serial_log.serial_log_path(devices_now)
        if path is None:
            return None
        return serial_log.read_tail(self._session, self._lookup, self._put, path, max_bytes)

    # -- suspend and DRS VM-VM rules (vistack.vsphere.drs_rules) -----------------------------

    def suspend(self, instance_uuid: str) -> None:
        self._task(instance_uuid, lambda vm: vm.SuspendVM_Task())

    @cached_property
    def _drs(self) -> DrsRules:
        """One per driver: it serialises each cluster's rule changes."""
        return DrsRules(self._session, self._lookup, task_timeout=self._timeout)

    def set_vm_group_rule(
        self,
        cluster: str,
        name: str,
        kind: RuleKind,
        vm_uuids: Sequence[str],
        *,
        mandatory: bool,
    ) -> VmGroupRule | None:
        return self._drs.set_rule(cluster, name, kind, vm_uuids, mandatory=mandatory)

    def delete_vm_group_rule(self, cluster: str, name: str) -> bool:
        return self._drs.delete_rule(cluster, name)

    def list_vm_group_rules(self, cluster: str) -> list[VmGroupRule]:
        return self._drs.list_rules(cluster)

    # -- moves and resizes (vm_moves.py) -----------------------------------------------------

    def _moves(self) -> VMMoves:
        return VMMoves(
            self._session,
            self._lookup,
            task_timeout=self._timeout,
            on_vm=self._on_vm,
            read=self._read,
        )

    def relocate_vm(self, instance_uuid: str, cluster: str, host: str | None = None) -> VMInfo:
        return self._moves().relocate_vm(instance_uuid, cluster, host)

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
        return self._moves().resize_vm(
            instance_uuid,
            cpus=cpus,
            memory_mb=memory_mb,
            cores_per_socket=cores_per_socket,
            root_gb=root_gb,
            tuning=tuning,
        )

    def copy_disk(self, source: str, destination: str) -> None:
        self._moves().copy_disk(source, destination)

    def replace_disk(self, instance_uuid: str, path: str, source: str, size_gb: int) -> VMInfo:
        return self._moves().replace_disk(instance_uuid, path, source, size_gb)

    # -- disks as images (snapshots, rescue): vsphere/vm_disks.py ------------------------------

    def _vm_disks(self) -> VMDisks:
        return VMDisks(self._session, self._lookup, task_timeout=self._timeout)

    def export_root_disk(self, instance_uuid: str, target: str) -> ImageFile:
        return self._vm_disks().export_root_disk(instance_uuid, target)

    def swap_disk(
        self,
        instance_uuid: str,
        old_path: str,
        new_path: str,
        io: DiskIo | None = None,
        *,
        shared: bool = False,
    ) -> AttachedDisk:
        return self._vm_disks().swap_disk(instance_uuid, old_path, new_path, io, shared=shared)

    def clean_swap(self, instance_uuid: str, new_path: str) -> None:
        self._vm_disks().clean_swap(instance_uuid, new_path)

    def attach_rescue_disk(self, instance_uuid: str, source: str) -> AttachedDisk:
        return self._vm_disks().attach_rescue_disk(instance_uuid, source)

    def detach_rescue_disk(self, instance_uuid: str) -> None:
        self._vm_disks().detach_rescue_disk(instance_uuid)

    # -- CD-ROMs holding ISO files: the config drive (vistack.vsphere.cdrom) -----------------

    def attach_iso(self, instance_uuid: str, path: str) -> None:
        def run(client: Client, vm: Any) -> None:
            cdrom.attach_iso(client, vm, self._lookup, path, self._timeout)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def detach_iso(self, instance_uuid: str, path: str) -> None:
        def run(client: Client, vm: Any) -> None:
            cdrom.detach_iso(client, vm, path, self._timeout)

        self._session.call(lambda c: self._on_vm(c, instance_uuid, run), idempotent=False)

    def list_isos(self, instance_uuid: str) -> list[str]:
        return self._session.call(lambda c: self._on_vm(c, instance_uuid, cdrom.list_isos))

    def _into_cluster(
        self, client: Client, vm: Any, hosts: tuple[str, ...], instance_uuid: str
    ) -> None:
        """Move a new VM onto a host of its cluster: vcsim's clone stays on the template's host
        (in whichever cluster made the template) where vCenter's DRS places it in the pool's
        cluster. Never runs on vCenter; on vcsim the host is chosen by the VM's UUID."""
        host = client.moref("HostSystem", hosts[zlib.crc32(instance_uuid.encode()) % len(hosts)])
        wait_for_task(
            client, vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=host)), self._timeout
        )


def applied(info: VMInfo, spec: VMSpec, root_gb: int) -> VMInfo:
    """`info` after a reconfigure that set the spec's CPUs, memory and annotation and grew
    the root disk to `root_gb` (0: unchanged)."""
    disks = info.disks
    if root_gb and disks:
        disks = (replace(disks[0], capacity_gb=root_gb), *disks[1:])
    return replace(
        info,
        cpus=spec.cpus,
        cores_per_socket=spec.cores_per_socket,
        memory_mb=spec.memory_mb,
        annotation=spec.annotation,
        disks=disks,
    )


def n_pm(nic: NicSpec) -> tuple[str, str]:
    """(port group key, MAC) of a NicSpec, in `devices.new_nic`'s argument order."""
    return nic.portgroup, nic.mac.lower()
