package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Methods vcsim lacks that the launcher models, by the managed object type
// they are called on. The guard (soap.go) routes a call here only when the
// simulator's own object does not implement it, so a newer govmomi that
// gains one of them takes over by itself.
var extensionMethods = map[string]string{
	"RebootGuest":            "VirtualMachine",
	"StandbyGuest":           "VirtualMachine",
	"AcquireTicket":          "VirtualMachine",
	"ExtendVirtualDisk_Task": "VirtualDiskManager",
}

// Why not subclass simulator.VirtualMachine? The simulator dispatches a SOAP
// call by reflection on the object stored in its registry, and govmomi's
// example replaces a VM there with a wrapper type. But vcsim asserts
// `Map.Get(ref).(*VirtualMachine)` in snapshots, clones, resource pool
// destroy, guest operations and more, and every new VM is a plain
// *VirtualMachine, so wrapped VMs break those paths. Instead the guard
// rewrites such a call into VistackInvoke on one extension object of our
// own. The simulator then does everything else as for its own methods:
// session check (NotAuthenticated), the global delay, locking, response and
// fault encoding; the original method name decides the response element.
//
// The object embeds an mo type first because vcsim walks every registry
// object in places (SearchIndex.FindByUuid, Model.Count, ...) and panics on
// one without; ExtensibleManagedObject matches none of those searches.
type extension struct {
	mo.ExtensibleManagedObject
	delay *simulator.DelayConfig
}

// invokeRequest carries the caller's original SOAP envelope, base64-encoded
// so that no namespace or escaping question arises.
type invokeRequest struct {
	This    types.ManagedObjectReference `xml:"_this"`
	Request string                       `xml:"request"`
}

type faultBody struct {
	Fault_ *soap.Fault `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *faultBody) Fault() *soap.Fault { return b.Fault_ }

func fault(msg string, f types.BaseMethodFault) soap.HasFault {
	return &faultBody{Fault_: simulator.Fault(msg, f)}
}

func registerExtensions(delay *simulator.DelayConfig) *extension {
	types.Add("VistackInvoke", reflect.TypeOf((*invokeRequest)(nil)).Elem())
	e := &extension{delay: delay}
	e.Self = types.ManagedObjectReference{Type: "VistackExtension", Value: "vistack-extension"}
	simulator.Map.Put(e)
	return e
}

// Lock and Unlock make the registry skip its per-object lock for the
// extension itself: each call locks the object it really works on.
func (e *extension) Lock()   {}
func (e *extension) Unlock() {}

func (e *extension) handles(call soapCall) bool {
	added := extensionMethods[call.Name] == call.This.Type
	wrapped := !added && vmAccess[call.Name][call.This.Type] != vmNone
	if !added && !wrapped {
		return false
	}
	obj := simulator.Map.Get(call.This)
	if obj == nil {
		return false // the simulator answers ManagedObjectNotFound itself
	}
	implemented := simulatorMethod(obj, call.Name).IsValid()
	if wrapped {
		return implemented // else the simulator's own MethodNotFound
	}
	return !implemented
}

// simulatorMethod finds the Go method the simulator would dispatch a SOAP
// method to ("CloneVM_Task" -> CloneVMTask), as its Service.call does.
func simulatorMethod(obj mo.Reference, name string) reflect.Value {
	if strings.HasSuffix(name, "_Task") {
		name = strings.TrimSuffix(name, "_Task") + "Task"
	}
	return reflect.ValueOf(obj).MethodByName(name)
}

func (e *extension) envelope(original []byte) []byte {
	return []byte(envelopeHead +
		`<VistackInvoke xmlns="urn:vim25"><_this type="` + e.Self.Type + `">` + e.Self.Value + `</_this>` +
		`<request>` + base64.StdEncoding.EncodeToString(original) + `</request></VistackInvoke>` +
		envelopeTail)
}

// VistackInvoke is called by the simulator, with the caller's session in ctx.
func (e *extension) VistackInvoke(ctx *simulator.Context, req *invokeRequest) soap.HasFault {
	raw, err := base64.StdEncoding.DecodeString(req.Request)
	if err != nil {
		return fault(err.Error(), &types.InvalidRequest{})
	}
	method, err := simulator.UnmarshalBody(types.TypeFunc(), raw)
	if err != nil {
		return fault(err.Error(), &types.InvalidRequest{})
	}
	obj := ctx.Map.Get(method.This)
	if obj == nil {
		return fault(fmt.Sprintf("managed object not found: %s", method.This), &types.ManagedObjectNotFound{Obj: method.This})
	}
	e.methodDelay(method.Name)

	// As in the simulator's own dispatch: hold the target's lock, and name
	// it the caller so nested ctx.WithLock calls on it do not deadlock.
	c := *ctx
	this := method.This
	c.Caller = &this

	// After the delays, before the target's lock (vmBuild, wrap.go).
	switch vmAccess[method.Name][method.This.Type] {
	case vmBuilds:
		vmBuild.RLock()
		defer vmBuild.RUnlock()
	case vmWalks:
		vmBuild.Lock()
		defer vmBuild.Unlock()
	}

	var res soap.HasFault
	simulator.Map.WithLock(obj, func() {
		switch r := method.Body.(type) {
		case *types.CloneVM_Task:
			res = cloneVMTask(&c, obj.(*simulator.VirtualMachine), r)
		case *types.RebootGuest:
			res = rebootGuest(&c, obj.(*simulator.VirtualMachine))
		case *types.StandbyGuest:
			res = standbyGuest(&c, obj.(*simulator.VirtualMachine))
		case *types.AcquireTicket:
			res = e.acquireTicket(obj.(*simulator.VirtualMachine), r)
		case *types.ExtendVirtualDisk_Task:
			res = extendVirtualDiskTask(obj, r)
		default:
			if extensionMethods[method.Name] != method.This.Type && simulatorMethod(obj, method.Name).IsValid() {
				res = callSimulator(&c, obj, method)
			} else {
				res = fault(method.Name+" is not modelled", &types.MethodNotFound{Receiver: method.This, Method: method.Name})
			}
		}
	})
	return res
}

// methodDelay applies -method-delay for the original method name; the global
// -delay was already applied by the simulator to VistackInvoke.
func (e *extension) methodDelay(name string) {
	if e.delay == nil {
		return
	}
	d := float64(e.delay.MethodDelay[name])
	if d <= 0 {
		return
	}
	if e.delay.DelayJitter > 0 {
		d += mrand.NormFloat64() * e.delay.DelayJitter * d
	}
	if d > 0 {
		time.Sleep(time.Duration(math.Round(d)) * time.Millisecond)
	}
}

func notPoweredOn(vm *simulator.VirtualMachine) soap.HasFault {
	return fault("", &types.InvalidPowerState{
		RequestedState: types.VirtualMachinePowerStatePoweredOn,
		ExistingState:  vm.Runtime.PowerState,
	})
}

// rebootGuest: vCenter asks VMware Tools to restart the guest OS and returns
// at once; the VM stays poweredOn throughout. Modelled as a reset that keeps
// runtime.powerState (so no watcher ever sees poweredOff), moves bootTime,
// and logs VmGuestRebootEvent. Like vcsim's ShutdownGuest it does not
// require running Tools (vCenter raises ToolsUnavailable without them).
func rebootGuest(ctx *simulator.Context, vm *simulator.VirtualMachine) soap.HasFault {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return notPoweredOn(vm)
	}
	now := time.Now()
	postEvent(ctx, &types.VmGuestRebootEvent{VmEvent: vmEvent(vm)})
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "runtime.bootTime", Val: now},
		{Name: "summary.runtime.bootTime", Val: now},
	})
	return &methods.RebootGuestBody{Res: new(types.RebootGuestResponse)}
}

// standbyGuest: the guest enters standby, and with the default standby
// action ("checkpoint", config.defaultPowerOps.standbyAction) ESXi then
// suspends the VM; with "powerOnSuspend" it stays poweredOn.
func standbyGuest(ctx *simulator.Context, vm *simulator.VirtualMachine) soap.HasFault {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return notPoweredOn(vm)
	}
	postEvent(ctx, &types.VmGuestStandbyEvent{VmEvent: vmEvent(vm)})
	action := string(types.VirtualMachineStandbyActionTypeCheckpoint)
	if vm.Config != nil && vm.Config.DefaultPowerOps.StandbyAction != "" {
		action = vm.Config.DefaultPowerOps.StandbyAction
	}
	if action == string(types.VirtualMachineStandbyActionTypeCheckpoint) {
		res := vm.SuspendVMTask(ctx, &types.SuspendVM_Task{This: vm.Self})
		ref := res.(*methods.SuspendVM_TaskBody).Res.Returnval
		if t, ok := simulator.Map.Get(ref).(*simulator.Task); ok && t.Info.Error != nil {
			return fault(t.Info.Error.LocalizedMessage, t.Info.Error.Fault)
		}
	}
	return &methods.StandbyGuestBody{Res: new(types.StandbyGuestResponse)}
}

// acquireTicket returns a one-time console/device ticket as vCenter does,
// naming the ESXi host the VM runs on (port 902 for the MKS/authd family, 443
// for webmks) and that host's summary.config.sslThumbprint. Nothing listens
// there: the simulator has no consoles, so the ticket proves only the API
// exchange, never a console connection.
func (e *extension) acquireTicket(vm *simulator.VirtualMachine, req *types.AcquireTicket) soap.HasFault {
	port := int32(902)
	switch types.VirtualMachineTicketType(req.TicketType) {
	case types.VirtualMachineTicketTypeMks, types.VirtualMachineTicketTypeDevice,
		types.VirtualMachineTicketTypeGuestControl, types.VirtualMachineTicketTypeGuestIntegrity:
	case types.VirtualMachineTicketTypeWebmks, types.VirtualMachineTicketTypeWebRemoteDevice:
		port = 443
	default:
		return fault("invalid ticket type "+req.TicketType, &types.InvalidArgument{InvalidProperty: "ticketType"})
	}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return notPoweredOn(vm)
	}
	if vm.Runtime.Host == nil {
		return fault("virtual machine has no host", &types.InvalidState{})
	}
	host, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem)
	if !ok {
		return fault("virtual machine host not found", &types.InvalidState{})
	}

	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return fault(err.Error(), &types.SystemError{Reason: err.Error()})
	}
	t := types.VirtualMachineTicket{
		Ticket:        hex.EncodeToString(secret),
		CfgFile:       vmfsPath(vm),
		Host:          host.Name,
		Port:          port,
		SslThumbprint: hostThumbprint(host),
	}
	if req.TicketType == string(types.VirtualMachineTicketTypeWebmks) {
		t.Url = fmt.Sprintf("wss://%s:%d/ticket/%s", host.Name, port, t.Ticket)
	}
	return &methods.AcquireTicketBody{Res: &types.AcquireTicketResponse{Returnval: t}}
}

// vmfsPath renders "[ds] vm/vm.vmx" as the host path ESXi reports,
// "/vmfs/volumes/ds/vm/vm.vmx".
func vmfsPath(vm *simulator.VirtualMachine) string {
	if vm.Config == nil {
		return ""
	}
	var p object.DatastorePath
	if !p.FromString(vm.Config.Files.VmPathName) {
		return vm.Config.Files.VmPathName
	}
	return path.Join("/vmfs/volumes", p.Datastore, p.Path)
}

// extendVirtualDiskTask grows a disk through VirtualDiskManager as vCenter
// does: the descriptor's extent line says the new sector count, and VMs that
// have the disk attached show the new capacity. The -flat.vmdk keeps the
// bytes it holds (none, unless uploaded): a flat file sized to the capacity,
// even a sparse one, makes every vcsim CopyVirtualDisk_Task write that many
// bytes of zeros (measured: seconds of system time per GiB). A disk open in a powered-on
// VM is locked (FileLocked), shrinking is refused (InvalidArgument), and
// only VMFS-style descriptor + flat disks can be extended (NotSupported for
// monolithic sparse or multi-extent disks).
func extendVirtualDiskTask(vdm mo.Reference, req *types.ExtendVirtualDisk_Task) soap.HasFault {
	task := simulator.CreateTask(vdm, "extendVirtualDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, extendVirtualDisk(req)
	})
	return &methods.ExtendVirtualDisk_TaskBody{
		Res: &types.ExtendVirtualDisk_TaskResponse{Returnval: task.Run()},
	}
}

var extentLine = regexp.MustCompile(`^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)\s+"([^"]+)"(.*)$`)

func extendVirtualDisk(req *types.ExtendVirtualDisk_Task) types.BaseMethodFault {
	if req.Datacenter == nil {
		// Connected to vCenter (not ESXi) the datacenter is required.
		return &types.InvalidArgument{InvalidProperty: "datacenter"}
	}
	if req.NewCapacityKb <= 0 {
		return &types.InvalidArgument{InvalidProperty: "newCapacityKb"}
	}
	descriptor, fault := resolveDatastorePath(*req.Datacenter, req.Name)
	if fault != nil {
		return fault
	}
	if !strings.HasSuffix(descriptor, ".vmdk") {
		return &types.InvalidArgument{InvalidProperty: "name"}
	}
	text, err := os.ReadFile(descriptor)
	if err != nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: req.Name}}
	}
	if bytes.HasPrefix(text, []byte("KDMV")) || bytes.HasPrefix(text, []byte("COWD")) {
		return &types.NotSupported{} // hosted sparse disk, not a VMFS disk
	}

	flatName := strings.TrimSuffix(filepath.Base(descriptor), ".vmdk") + "-flat.vmdk"
	var extents []int
	lines := strings.Split(string(text), "\n")
	for i, l := range lines {
		if m := extentLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			extents = append(extents, i)
			flatName = m[4]
		}
	}
	if len(extents) > 1 {
		return &types.NotSupported{}
	}
	flat := filepath.Join(filepath.Dir(descriptor), flatName)
	st, err := os.Stat(flat)
	if err != nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: req.Name}}
	}

	newBytes := req.NewCapacityKb * 1024
	current := st.Size()
	if len(extents) == 1 {
		m := extentLine.FindStringSubmatch(strings.TrimSpace(lines[extents[0]]))
		if sectors, err := strconv.ParseInt(m[2], 10, 64); err == nil && sectors*512 > current {
			current = sectors * 512
		}
	}
	attached := attachedDisks(req.Name)
	for _, a := range attached {
		if a.disk.CapacityInKB*1024 > current {
			current = a.disk.CapacityInKB * 1024
		}
		if a.vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
			return &types.FileLocked{FileFault: types.FileFault{File: req.Name}}
		}
	}
	if newBytes < current {
		return &types.InvalidArgument{InvalidProperty: "newCapacityKb"}
	}

	sectors := (newBytes + 511) / 512
	if len(extents) == 1 {
		m := extentLine.FindStringSubmatch(strings.TrimSpace(lines[extents[0]]))
		lines[extents[0]] = fmt.Sprintf(`%s %d %s "%s"%s`, m[1], sectors, m[3], m[4], m[5])
		text = []byte(strings.Join(lines, "\n"))
	} else {
		// vcsim's CreateVirtualDisk leaves the descriptor empty: write the
		// one a VMFS thin disk would have, so the size can be read back.
		text = []byte(newDescriptor(sectors, flatName))
	}
	if err := os.WriteFile(descriptor, text, 0o644); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: req.Name}}
	}

	for _, a := range attached {
		a := a
		simulator.Map.WithLock(a.vm, func() { setDiskCapacity(a.vm, a.disk.Key, req.NewCapacityKb) })
	}
	return nil
}

func newDescriptor(sectors int64, flat string) string {
	return descriptor(sectors, flat, "lsilogic", true)
}

var taskReturnval = regexp.MustCompile(`<returnval type="Task">([^<]+)</returnval>`)

// taskSucceeded reads the task moref from a *_Task response; tasks run
// inside the call, so the task has its final state by now.
func taskSucceeded(response []byte) bool {
	m := taskReturnval.FindSubmatch(response)
	if m == nil {
		return false
	}
	t, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: string(m[1])}).(*simulator.Task)
	return ok && t.Info.State == types.TaskInfoStateSuccess
}

// descriptor renders the text descriptor of a VMFS disk with one flat extent.
func descriptor(sectors int64, flat, adapter string, thin bool) string {
	cid := make([]byte, 4)
	_, _ = rand.Read(cid)
	var b strings.Builder
	w := bufio.NewWriter(&b)
	fmt.Fprintf(w, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=%s\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n", hex.EncodeToString(cid))
	fmt.Fprintf(w, "# Extent description\nRW %d VMFS \"%s\"\n\n", sectors, flat)
	fmt.Fprintf(w, "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"%s\"\n", adapter)
	if thin {
		fmt.Fprintf(w, "ddb.thinProvisioned = \"1\"\n")
	}
	fmt.Fprintf(w, "ddb.virtualHWVersion = \"13\"\n")
	_ = w.Flush()
	return b.String()
}

// recordCreatedDisk runs after a successful VirtualDiskManager
// CreateVirtualDisk_Task. vcsim creates both files empty and forgets the
// capacity; vCenter's descriptor states it. Write the descriptor an ESXi
// host would (one flat extent, the adapter, thin or not), so the capacity
// can be read back over /folder and ExtendVirtualDisk_Task can refuse a
// shrink. A descriptor that already has content is left alone. The flat
// file stays as it is (see extendVirtualDisk).
func recordCreatedDisk(body, response []byte) {
	if !taskSucceeded(response) {
		return
	}
	method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		return
	}
	req, ok := method.Body.(*types.CreateVirtualDisk_Task)
	if !ok || req.Datacenter == nil {
		return
	}
	spec, ok := req.Spec.(*types.FileBackedVirtualDiskSpec)
	if !ok || spec.CapacityKb <= 0 {
		return
	}
	desc, fault := resolveDatastorePath(*req.Datacenter, req.Name)
	if fault != nil || !strings.HasSuffix(desc, ".vmdk") {
		return
	}
	if st, err := os.Stat(desc); err != nil || st.Size() != 0 {
		return
	}
	flatName := strings.TrimSuffix(filepath.Base(desc), ".vmdk") + "-flat.vmdk"
	if _, err := os.Stat(filepath.Join(filepath.Dir(desc), flatName)); err != nil {
		return
	}
	bytes := spec.CapacityKb * 1024
	adapter := strings.ToLower(spec.AdapterType)
	if adapter == "" {
		adapter = "lsilogic"
	}
	thin := spec.DiskType == string(types.VirtualDiskTypeThin) || spec.DiskType == string(types.VirtualDiskTypeSeSparse)
	_ = os.WriteFile(desc, []byte(descriptor((bytes+511)/512, flatName, adapter, thin)), 0o644)
}

// resolveDatastorePath maps "[ds] dir/file.vmdk" in a datacenter to the local
// file behind the simulated datastore.
func resolveDatastorePath(dcRef types.ManagedObjectReference, name string) (string, types.BaseMethodFault) {
	var p object.DatastorePath
	if !p.FromString(name) || p.Datastore == "" {
		return "", &types.InvalidDatastorePath{DatastorePath: name}
	}
	dc, ok := simulator.Map.Get(dcRef).(*simulator.Datacenter)
	if !ok {
		return "", &types.ManagedObjectNotFound{Obj: dcRef}
	}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name != p.Datastore || !inDatacenter(ds, dc.Self) {
			continue
		}
		return filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(p.Path)), nil
	}
	return "", &types.InvalidDatastore{Name: p.Datastore}
}

func inDatacenter(e mo.Entity, dc types.ManagedObjectReference) bool {
	for parent := e.Entity().Parent; parent != nil; {
		if *parent == dc {
			return true
		}
		pe, ok := simulator.Map.Get(*parent).(mo.Entity)
		if !ok {
			return false
		}
		parent = pe.Entity().Parent
	}
	return false
}

type attachedDisk struct {
	vm   *simulator.VirtualMachine
	disk *types.VirtualDisk
}

func attachedDisks(name string) []attachedDisk {
	var want object.DatastorePath
	want.FromString(name)
	var out []attachedDisk
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if vm.Config == nil {
			continue
		}
		for _, d := range vm.Config.Hardware.Device {
			disk, ok := d.(*types.VirtualDisk)
			if !ok {
				continue
			}
			b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
			if !ok {
				continue
			}
			var have object.DatastorePath
			have.FromString(b.GetVirtualDeviceFileBackingInfo().FileName)
			if have.Datastore == want.Datastore && path.Clean(have.Path) == path.Clean(want.Path) {
				out = append(out, attachedDisk{vm: vm, disk: disk})
			}
		}
	}
	return out
}

func setDiskCapacity(vm *simulator.VirtualMachine, key int32, kb int64) {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	d, ok := devices.FindByKey(key).(*types.VirtualDisk)
	if !ok {
		return
	}
	// Replace the device value rather than edit it in place, so the
	// PropertyCollector sees a change of config.hardware.device.
	nd := *d
	nd.CapacityInKB = kb
	nd.CapacityInBytes = kb * 1024
	out := make([]types.BaseVirtualDevice, 0, len(devices))
	for _, dev := range devices {
		if dev.GetVirtualDevice().Key == key {
			out = append(out, &nd)
		} else {
			out = append(out, dev)
		}
	}
	simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: out}})
}

// vmEvent fills the event arguments vCenter sets on VM events (vcsim's own
// helper for this is unexported).
func vmEvent(vm *simulator.VirtualMachine) types.VmEvent {
	ev := types.VmEvent{
		Event: types.Event{
			Vm: &types.VmEventArgument{
				EntityEventArgument: types.EntityEventArgument{Name: vm.Name},
				Vm:                  vm.Self,
			},
		},
	}
	if vm.Config != nil {
		ev.Template = vm.Config.Template
	}
	if vm.Runtime.Host != nil {
		if h, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem); ok {
			ev.Host = &types.HostEventArgument{
				EntityEventArgument: types.EntityEventArgument{Name: h.Name},
				Host:                h.Self,
			}
			if h.Parent != nil {
				if cr, ok := simulator.Map.Get(*h.Parent).(mo.Entity); ok {
					ev.ComputeResource = &types.ComputeResourceEventArgument{
						EntityEventArgument: types.EntityEventArgument{Name: cr.Entity().Name},
						ComputeResource:     cr.Reference(),
					}
				}
			}
		}
	}
	for parent := vm.Parent; parent != nil; {
		pe, ok := simulator.Map.Get(*parent).(mo.Entity)
		if !ok {
			break
		}
		if dc, ok := pe.(*simulator.Datacenter); ok {
			ev.Datacenter = &types.DatacenterEventArgument{
				EntityEventArgument: types.EntityEventArgument{Name: dc.Name},
				Datacenter:          dc.Self,
			}
			break
		}
		parent = pe.Entity().Parent
	}
	return ev
}

func postEvent(ctx *simulator.Context, ev types.BaseEvent) {
	m := simulator.Map.EventManager()
	ctx.WithLock(m, func() {
		m.PostEvent(ctx, &types.PostEvent{EventToPost: ev})
	})
}
