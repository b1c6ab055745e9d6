package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// growEditedExtents runs after a successful ReconfigVM_Task. vcsim applies
// a disk `edit` that raises capacityInKB to the VM's device only; vCenter
// grows the disk itself, so its descriptor's extent line states the new
// size. Without this a copy made after an in-use extend or a root-disk
// resize (CopyVirtualDisk_Task, or a data copy sized by the descriptor)
// has the size from before. The size written is the device's as vcsim
// left it; a descriptor is only ever grown, never shrunk, and an empty one
// made by stock vcsim gets the one ESXi writes (as extendVirtualDisk). The
// flat file keeps the bytes it holds (see extendVirtualDisk).
func growEditedExtents(vmRef types.ManagedObjectReference, body, response []byte) {
	if !taskSucceeded(response) {
		return
	}
	method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		return
	}
	req, ok := method.Body.(*types.ReconfigVM_Task)
	if !ok {
		return
	}
	var keys []int32
	for _, c := range req.Spec.DeviceChange {
		spec := c.GetVirtualDeviceConfigSpec()
		if spec.Operation != types.VirtualDeviceConfigSpecOperationEdit || spec.FileOperation != "" {
			continue
		}
		if _, ok := spec.Device.(*types.VirtualDisk); ok {
			keys = append(keys, spec.Device.GetVirtualDevice().Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	type grown struct {
		name string
		kb   int64
		thin bool
	}
	var disks []grown
	var dc *types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() {
		if vm.Config == nil {
			return
		}
		dc = datacenterOf(vm)
		devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
		for _, key := range keys {
			disk, ok := devices.FindByKey(key).(*types.VirtualDisk)
			if !ok {
				continue
			}
			b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
			if !ok {
				continue
			}
			kb := disk.CapacityInKB
			if disk.CapacityInBytes/1024 > kb {
				kb = disk.CapacityInBytes / 1024
			}
			thin := false
			if flat, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok && flat.ThinProvisioned != nil {
				thin = *flat.ThinProvisioned
			}
			disks = append(disks, grown{b.GetVirtualDeviceFileBackingInfo().FileName, kb, thin})
		}
	})
	if dc == nil {
		return
	}
	for _, d := range disks {
		growExtent(*dc, d.name, d.kb, d.thin)
	}
}

// growExtent sets the one flat extent of the descriptor at name to kb when
// that is more than it says. Hosted sparse and multi-extent disks are left
// alone: vCenter grows those differently, and nothing here makes them.
func growExtent(dc types.ManagedObjectReference, name string, kb int64, thin bool) {
	if kb <= 0 {
		return
	}
	desc, fault := resolveDatastorePath(dc, name)
	if fault != nil || !strings.HasSuffix(desc, ".vmdk") {
		return
	}
	text, err := os.ReadFile(desc)
	if err != nil || bytes.HasPrefix(text, []byte("KDMV")) || bytes.HasPrefix(text, []byte("COWD")) {
		return
	}
	sectors := (kb*1024 + 511) / 512
	var extents []int
	lines := strings.Split(string(text), "\n")
	for i, l := range lines {
		if extentLine.MatchString(strings.TrimSpace(l)) {
			extents = append(extents, i)
		}
	}
	switch {
	case len(extents) == 1:
		m := extentLine.FindStringSubmatch(strings.TrimSpace(lines[extents[0]]))
		if have, err := strconv.ParseInt(m[2], 10, 64); err != nil || have >= sectors {
			return
		}
		lines[extents[0]] = m[1] + " " + strconv.FormatInt(sectors, 10) + " " + m[3] + " \"" + m[4] + "\"" + m[5]
		text = []byte(strings.Join(lines, "\n"))
	case len(extents) == 0 && len(bytes.TrimSpace(text)) == 0:
		flat := strings.TrimSuffix(filepath.Base(desc), ".vmdk") + "-flat.vmdk"
		if _, err := os.Stat(filepath.Join(filepath.Dir(desc), flat)); err != nil {
			return
		}
		text = []byte(descriptor(sectors, flat, "lsilogic", thin))
	default:
		return
	}
	_ = os.WriteFile(desc, text, 0o644)
}

// datacenterOf walks up from a managed entity to its datacenter.
func datacenterOf(e mo.Entity) *types.ManagedObjectReference {
	for parent := e.Entity().Parent; parent != nil; {
		pe, ok := simulator.Map.Get(*parent).(mo.Entity)
		if !ok {
			return nil
		}
		if dc, ok := pe.(*simulator.Datacenter); ok {
			ref := dc.Self
			return &ref
		}
		parent = pe.Entity().Parent
	}
	return nil
}
