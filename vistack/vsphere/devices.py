"""Virtual device specs and readings: disks, NICs and the SCSI controller, in one place.

Builders return `VirtualDeviceConfigSpec`s for Create/Clone/ReconfigVM; readers turn a VM's
`config.hardware.device` (already read through the PropertyCollector, so these are local data
objects, not lazy references) into the driver's dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vistack.drivers.errors import InvalidStateError, NoCapacityError
from vistack.drivers.models import NIC_ADAPTERS, AttachedDisk, DiskIo, NicInfo, Provisioning
from vistack.vsphere.vmomi import vim

KB_PER_GB = 1024 * 1024
#: SCSI unit 7 is the controller itself.
_SCSI_UNITS = [u for u in range(16) if u != 7]
#: The temporary key of the controller a new VM gets; its disks reference it.
NEW_CONTROLLER_KEY = -100

DeviceSpec = vim.vm.device.VirtualDeviceSpec
Operation = DeviceSpec.Operation
FileOperation = DeviceSpec.FileOperation


def scsi_controller() -> Any:
    """A paravirtual SCSI controller for a new VM (bus 0, no sharing)."""
    controller = vim.vm.device.ParaVirtualSCSIController(
        key=NEW_CONTROLLER_KEY,
        busNumber=0,
        sharedBus=vim.vm.device.VirtualSCSIController.Sharing.noSharing,
    )
    return DeviceSpec(operation=Operation.add, device=controller)


#: The backing's `sharing` of a disk several VMs write at once (a multiattach volume).
MULTI_WRITER = "sharingMultiWriter"


def _backing(path: str, provisioning: Provisioning, *, shared: bool = False) -> Any:
    backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
        fileName=path,
        diskMode="persistent",
        thinProvisioned=provisioning is Provisioning.THIN,
        eagerlyScrub=provisioning is Provisioning.EAGER_ZEROED_THICK,
    )
    if shared:
        # Without it the first VM's lock on the file makes vSphere refuse the second VM.
        backing.sharing = MULTI_WRITER
    return backing


def new_disk(key: int, controller: int, unit: int, size_gb: int, provisioning: Provisioning) -> Any:
    """A new empty disk in the VM's directory (vSphere picks the file name)."""
    disk = vim.vm.device.VirtualDisk(
        key=key,
        controllerKey=controller,
        unitNumber=unit,
        capacityInKB=size_gb * KB_PER_GB,
        backing=_backing("", provisioning),
    )
    return DeviceSpec(operation=Operation.add, fileOperation=FileOperation.create, device=disk)


def existing_disk(
    key: int,
    controller: int,
    unit: int,
    path: str,
    io: DiskIo | None = None,
    *,
    shared: bool = False,
) -> Any:
    """Attach the disk file at `path` (no file operation: the file is kept as it is), with
    `io` as its `storageIOAllocation` when given (a volume type's front-end QoS), and with
    `shared` in multi-writer sharing (a multiattach volume, on every VM that holds it).

    The capacity is left to vSphere to read from the descriptor; vcsim stores none. A shared
    disk is described as eager-zeroed thick, the only allocation vSphere opens in multi-writer
    on VMFS and NFS (a multiattach volume's disk is made so): a backing that said thin beside
    multi-writer would contradict it, and vcsim reports the VM's backing as sent.
    """
    allocation = Provisioning.EAGER_ZEROED_THICK if shared else Provisioning.THIN
    disk = vim.vm.device.VirtualDisk(
        key=key,
        controllerKey=controller,
        unitNumber=unit,
        capacityInKB=0,
        backing=_backing(path, allocation, shared=shared),
    )
    if io is not None:
        disk.storageIOAllocation = io_allocation(io)
    return DeviceSpec(operation=Operation.add, device=disk)


def io_allocation(io: DiskIo) -> Any:
    """vSphere's `StorageIOAllocationInfo` for `io`: `limit` in IOPS (-1: unlimited) and
    `shares` (a level, or `custom` with a number)."""
    info = vim.StorageResourceManager.IOAllocationInfo(
        limit=io.iops_limit if io.iops_limit is not None else -1
    )
    if io.shares_level is not None:
        info.shares = vim.SharesInfo(
            level=io.shares_level, shares=io.shares if io.shares is not None else 0
        )
    return info


def disk_io(disk: Any) -> DiskIo | None:
    """The disk's IO allocation, None when it is vSphere's default (no limit, normal or no
    shares)."""
    info = getattr(disk, "storageIOAllocation", None)
    if info is None:
        return None
    limit = getattr(info, "limit", None)
    shares = getattr(info, "shares", None)
    level = str(shares.level) if shares is not None and shares.level else None
    iops = int(limit) if limit is not None and int(limit) >= 0 else None
    if iops is None and level in (None, "normal"):
        return None
    return DiskIo(
        iops_limit=iops,
        shares_level=level,
        shares=int(shares.shares) if level == "custom" and shares is not None else None,
    )


def grow(disk: Any, size_gb: int) -> Any:
    """Edit `disk` (a device read from the VM) to `size_gb`."""
    disk.capacityInKB = size_gb * KB_PER_GB
    disk.capacityInBytes = size_gb * KB_PER_GB * 1024
    return DeviceSpec(operation=Operation.edit, device=disk)


def remove(device: Any) -> Any:
    """Remove a device; for a disk the file is kept (Cinder detach)."""
    return DeviceSpec(operation=Operation.remove, device=device)


#: Adapter name → the vSphere device class a NIC of that type is.
NIC_CLASSES: dict[str, Any] = {
    "vmxnet3": vim.vm.device.VirtualVmxnet3,
    "e1000": vim.vm.device.VirtualE1000,
    "e1000e": vim.vm.device.VirtualE1000e,
}


def nic_class(adapter: str) -> Any:
    """The device class for `adapter`.

    :raises InvalidStateError: not one of `NIC_ADAPTERS`; said before any call reaches vCenter,
        whose own answer (a `InvalidDeviceSpec` on some other field) would not name the cause.
    """
    try:
        return NIC_CLASSES[adapter]
    except KeyError:
        allowed = ", ".join(NIC_ADAPTERS)
        raise InvalidStateError(f"NIC adapter type {adapter!r} is not one of {allowed}") from None


def new_nic(
    key: int,
    switch_uuid: str,
    portgroup: str,
    mac: str,
    *,
    adapter: str = "vmxnet3",
    external_id: str | None = None,
) -> Any:
    """A NIC on a distributed port group with a fixed (Neutron) MAC.

    `addressType="manual"` makes vSphere keep `mac` instead of generating one; `external_id`
    (the Neutron port id) is stored on the device so the VM's config says which port it is.
    """
    port = vim.dvs.PortConnection(switchUuid=switch_uuid, portgroupKey=portgroup)
    nic = nic_class(adapter)(
        key=key,
        addressType="manual",
        macAddress=mac,
        backing=vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=port),
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=True, allowGuestControl=True, connected=True
        ),
    )
    if external_id is not None:
        nic.externalId = external_id
    return DeviceSpec(operation=Operation.add, device=nic)


def disks(devices: Iterable[Any]) -> list[Any]:
    """The VM's disks in controller/unit order, so the root disk comes first."""
    found = [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
    return sorted(found, key=lambda d: (d.controllerKey, d.unitNumber or 0))


def nics(devices: Iterable[Any]) -> list[Any]:
    return [d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)]


def disk_path(disk: Any) -> str:
    return str(getattr(disk.backing, "fileName", "") or "")


def disk_gb(disk: Any) -> int:
    """Capacity in whole GB, rounded up."""
    kb = int(disk.capacityInKB or 0)
    return -(-kb // KB_PER_GB)


def disk_shared(disk: Any) -> bool:
    """Whether the disk's backing is in multi-writer sharing."""
    return str(getattr(disk.backing, "sharing", "") or "") == MULTI_WRITER


def attached(disk: Any) -> AttachedDisk:
    return AttachedDisk(disk_path(disk), disk_gb(disk), disk_io(disk), disk_shared(disk))


def nic_adapter(nic: Any) -> str:
    """The adapter name of a NIC device; its vSphere type name for types vistack never makes."""
    for name, cls in NIC_CLASSES.items():
        if type(nic) is cls:
            return name
    return str(getattr(nic, "_wsdlName", type(nic).__name__))


def nic_mac(nic: Any) -> str:
    return str(nic.macAddress or "").lower()


def nic_info(nic: Any) -> NicInfo:
    backing = nic.backing
    port = getattr(backing, "port", None)
    switch_uuid = ""
    if port is not None:
        portgroup = str(port.portgroupKey or "")
        switch_uuid = str(port.switchUuid or "")
    else:
        network = getattr(backing, "network", None)
        portgroup = str(network._moId) if network is not None else ""
    connectable = getattr(nic, "connectable", None)
    return NicInfo(
        mac=nic_mac(nic),
        portgroup=portgroup,
        switch_uuid=switch_uuid,
        device_key=int(nic.key or 0),
        connected=bool(getattr(connectable, "connected", False)),
        external_id=str(getattr(nic, "externalId", None) or ""),
        adapter=nic_adapter(nic),
    )


def free_scsi_slot(devices: Sequence[Any], taken: set[tuple[int, int]]) -> tuple[int, int]:
    """(controller key, unit) of the first free slot on any SCSI controller.

    :raises NoCapacityError: every SCSI controller is full (15 disks each).
    """
    used = {(d.controllerKey, d.unitNumber) for d in devices if d.controllerKey is not None}
    used |= taken
    controllers = sorted(
        (d for d in devices if isinstance(d, vim.vm.device.VirtualSCSIController)),
        key=lambda c: c.busNumber,
    )
    for controller in controllers:
        for unit in _SCSI_UNITS:
            if (controller.key, unit) not in used:
                return controller.key, unit
    raise NoCapacityError("the VM has no free SCSI slot for another disk")
