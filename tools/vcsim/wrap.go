package main

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Two races in vcsim 0.24 that real vCenter does not have, fixed here
// without patching govmomi (docs/vsphere.md, "Concurrency fixes").
//
// 1. A VM is visible before it is built. NewVirtualMachine puts the new
//    *VirtualMachine into the registry (folderPutChild) first and only then
//    sets vm.Config, vm.Guest and the rest, holding no lock that a reader
//    shares. SearchIndex.FindByUuid walks the registry under Map's own
//    lock and reads vm.Config.InstanceUuid of every VM, so one that races a
//    CreateVM_Task or CloneVM_Task panics with a nil dereference
//    (search_index.go:138; seen in bench/vsphere.py at concurrency 8).
//    FindByDatastorePath (vm.Config), FindByIp/FindAllByIp and
//    FindByDnsName/FindAllByDnsName (vm.Guest) have the same window, as
//    does our ExtendVirtualDisk_Task (attachedDisks reads every vm.Config).
//    vmBuild is a readers-writer lock over that window: calls that build a
//    VM share it, calls that walk every VM take it alone. It is taken in
//    VistackInvoke after the -delay/-method-delay sleep and before the
//    target's own lock, so a simulated latency never holds it.
//
// 2. CloneVM_Task gives the clone the source's own device objects: it puts
//    the source's *VirtualDisk (and controllers, NICs, ...) into the
//    CreateVM_Task device change and rewrites the disk backing's fileName
//    in place. Source and every clone then share one object per device, so
//    the template's disk names the newest clone's .vmdk, destroying one
//    clone deletes the disk file of the newest sibling, and a Destroy_Task
//    racing a clone of the same template reads fileName "" half-way and
//    panics in removeDevice. cloneVMTask hands vcsim a deep copy instead.
//    No lock is needed for this one: nothing is shared any more.

type vmUse int

const (
	vmNone   vmUse = iota
	vmBuilds       // creates a VirtualMachine: shares vmBuild
	vmWalks        // reads every VirtualMachine: holds vmBuild alone
)

var vmBuild sync.RWMutex

// vmAccess: the calls that take vmBuild, by method and the type they are
// called on. Those vcsim implements are routed through VistackInvoke for
// it (extension.handles) and then run by the simulator's own method.
var vmAccess = map[string]map[string]vmUse{
	"CreateVM_Task":          {"Folder": vmBuilds},
	"RegisterVM_Task":        {"Folder": vmBuilds},
	"CloneVM_Task":           {"VirtualMachine": vmBuilds},
	"ImportVApp":             {"ResourcePool": vmBuilds, "VirtualApp": vmBuilds},
	"CreateChildVM_Task":     {"VirtualApp": vmBuilds},
	"FindByUuid":             {"SearchIndex": vmWalks},
	"FindByDatastorePath":    {"SearchIndex": vmWalks},
	"FindByIp":               {"SearchIndex": vmWalks},
	"FindAllByIp":            {"SearchIndex": vmWalks},
	"FindByDnsName":          {"SearchIndex": vmWalks},
	"FindAllByDnsName":       {"SearchIndex": vmWalks},
	"ExtendVirtualDisk_Task": {"VirtualDiskManager": vmWalks},
}

// callSimulator runs the simulator's own method for a routed call, as its
// Service.call would (the caller holds the target's lock). DisabledMethod is
// checked by the SOAP method name, as vCenter does.
func callSimulator(ctx *simulator.Context, obj mo.Reference, method *simulator.Method) soap.HasFault {
	if e, ok := obj.(mo.Entity); ok {
		for _, dm := range e.Entity().DisabledMethod {
			if dm == method.Name {
				return fault(fmt.Sprintf("%s method is disabled: %s", method.This, method.Name), &types.MethodDisabled{})
			}
		}
	}
	m := simulatorMethod(obj, method.Name)
	if !m.IsValid() {
		return fault(fmt.Sprintf("%s does not implement: %s", method.This, method.Name),
			&types.MethodNotFound{Receiver: method.This, Method: method.Name})
	}
	var args []reflect.Value
	if m.Type().NumIn() == 2 {
		args = append(args, reflect.ValueOf(ctx))
	}
	args = append(args, reflect.ValueOf(method.Body))
	return m.Call(args)[0].Interface().(soap.HasFault)
}

// cloneVMTask runs vcsim's CloneVMTask with the source's devices replaced,
// for the duration of the call, by a deep copy: the clone takes (and
// rewrites) the copies, the source keeps its own objects untouched. The
// caller holds the source's lock, which every other reader and writer of
// its config (PropertyCollector included) takes too, so none sees the swap.
func cloneVMTask(ctx *simulator.Context, vm *simulator.VirtualMachine, req *types.CloneVM_Task) soap.HasFault {
	if vm.Config == nil {
		return vm.CloneVMTask(ctx, req)
	}
	own := vm.Config.Hardware.Device
	vm.Config.Hardware.Device = deepCopy(own).([]types.BaseVirtualDevice)
	defer func() { vm.Config.Hardware.Device = own }()
	return vm.CloneVMTask(ctx, req)
}

// deepCopy copies a vim25 value: pointers, slices, maps and interfaces are
// followed, so the copy shares no mutable memory with the original.
// Unexported fields (time.Time's) are copied as values.
func deepCopy(v interface{}) interface{} {
	if v == nil {
		return nil
	}
	src := reflect.ValueOf(v)
	dst := reflect.New(src.Type()).Elem()
	copyValue(dst, src)
	return dst.Interface()
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Ptr:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyValue(e, src.Elem())
		dst.Set(e)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			copyValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for _, k := range src.MapKeys() {
			e := reflect.New(src.Type().Elem()).Elem()
			copyValue(e, src.MapIndex(k))
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	case reflect.Struct:
		dst.Set(src) // unexported fields by value
		for i := 0; i < src.NumField(); i++ {
			if dst.Field(i).CanSet() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Array:
		for i := 0; i < src.Len(); i++ {
			copyValue(dst.Index(i), src.Index(i))
		}
	default:
		dst.Set(src)
	}
}
