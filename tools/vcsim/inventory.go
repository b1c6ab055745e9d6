package main

import (
	"crypto/sha1"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// setHostHardware raises the ESXi host templates. NewHostSystem copies
// esx.HostSystem (summary.hardware) and esx.HostHardwareInfo (hardware) for
// every host it creates, so this must run before Model.Create; the stock
// 2 cores x 2294 MHz / 4 GiB hosts are too small for any real flavor.
func setHostHardware(cores, mhz, memGiB int) {
	pkgs := 1
	if cores >= 2 && cores%2 == 0 {
		pkgs = 2 // two sockets, as on most virtualization servers
	}
	mem := int64(memGiB) << 30
	model := fmt.Sprintf("vistack simulated x86-64 CPU @ %.2fGHz", float64(mhz)/1000)

	hw := esx.HostSystem.Summary.Hardware
	hw.NumCpuPkgs = int16(pkgs)
	hw.NumCpuCores = int16(cores)
	hw.NumCpuThreads = int16(cores) // no hyper-threading: vcpus = cores
	hw.CpuMhz = int32(mhz)
	hw.MemorySize = mem
	hw.CpuModel = model

	info := esx.HostHardwareInfo
	info.CpuInfo.NumCpuPackages = int16(pkgs)
	info.CpuInfo.NumCpuCores = int16(cores)
	info.CpuInfo.NumCpuThreads = int16(cores)
	info.CpuInfo.Hz = int64(mhz) * 1000000
	info.MemorySize = mem

	// One package entry per socket, each owning its share of the threads.
	template := info.CpuPkg[0]
	perPkg := cores / pkgs
	info.CpuPkg = nil
	for p := 0; p < pkgs; p++ {
		pkg := template
		pkg.Index = int16(p)
		pkg.Hz = info.CpuInfo.Hz
		pkg.Description = model
		pkg.ThreadId = nil
		for t := 0; t < perPkg; t++ {
			pkg.ThreadId = append(pkg.ThreadId, int16(p*perPkg+t))
		}
		info.CpuPkg = append(info.CpuPkg, pkg)
	}
}

// fixInventory corrects what Model.Create leaves unlike vCenter, before any
// client can see it. It returns the datacenter's name.
func fixInventory(dcName string) (string, error) {
	dcs := simulator.Map.All("Datacenter")
	if len(dcs) != 1 {
		return "", fmt.Errorf("expected one datacenter, found %d", len(dcs))
	}
	dc := dcs[0].(*simulator.Datacenter)
	if dc.Name != dcName {
		// Only the datacenter itself is renamed: the model derives every
		// other name (DC0_C0, DC0_C0_H0, DC0_DVPG0) and the datastore temp
		// dirs from "DC0" while it builds them.
		simulator.Map.Update(dc, []types.PropertyChange{{Name: "name", Val: dcName}})
	}

	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		h.Summary.Config.SslThumbprint = hostThumbprint(h)
	}

	tagUplinkPortgroups()
	refreshInventory()
	simulator.Map.AddHandler(&taskEntityFix{Self: types.ManagedObjectReference{Type: "VistackTaskEntityFix", Value: "vistack-task-entity-fix"}})
	return dcName, nil
}

// hostThumbprint gives each host the stable SHA-1 thumbprint vCenter shows in
// summary.config.sslThumbprint (stock vcsim leaves it empty). No server
// presents a certificate with this thumbprint: ESXi hosts are not simulated
// as network endpoints.
func hostThumbprint(h *simulator.HostSystem) string {
	if h.Summary.Config.SslThumbprint != "" {
		return h.Summary.Config.SslThumbprint
	}
	sum := sha1.Sum([]byte("vistack-vcsim host " + h.Summary.Hardware.Uuid))
	return colonHex(sum[:])
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// tagUplinkPortgroups marks each DVS's "-DVUplinks-" port group the way vCenter
// does (config.uplinkPortgroup on the switch, tag SYSTEM/DVS.UPLINKPG and
// config.uplink on the port group), so drivers can tell it from tenant
// networks without matching names.
func tagUplinkPortgroups() {
	for _, e := range simulator.Map.All("DistributedVirtualPortgroup") {
		pg := e.(*simulator.DistributedVirtualPortgroup)
		if !strings.Contains(pg.Name, "-DVUplinks") || pg.Config.DistributedVirtualSwitch == nil {
			continue
		}
		pg.Tag = append(pg.Tag, types.Tag{Key: "SYSTEM/DVS.UPLINKPG"})
		pg.Config.Uplink = types.NewBool(true)
		if sw, ok := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch); ok {
			cfg := sw.Config.GetDVSConfigInfo()
			cfg.UplinkPortgroup = append(cfg.UplinkPortgroup, pg.Self)
		}
	}
}

func isUplinkPortgroup(pg *simulator.DistributedVirtualPortgroup) bool {
	if pg.Config.Uplink != nil && *pg.Config.Uplink {
		return true
	}
	for _, t := range pg.Tag {
		if t.Key == "SYSTEM/DVS.UPLINKPG" {
			return true
		}
	}
	return false
}

// refreshInventory re-derives the properties vcsim leaves stale: cluster
// capacity and DVS host members. It runs at start-up and after calls that
// add, remove or change hosts or switch members (soap.go).
func refreshInventory() {
	refreshCapacity()
	syncDVSMembers()
}

// syncDVSMembers fills the DVS's config.host from summary.hostMember. vcsim
// tracks membership only in the summary; vCenter lists each member host in
// config.host too, and that is where drivers usually look.
func syncDVSMembers() {
	for _, e := range simulator.Map.All("DistributedVirtualSwitch") {
		sw := e.(*simulator.DistributedVirtualSwitch)
		simulator.Map.WithLock(sw, func() {
			if sw.Config == nil {
				return
			}
			cfg := sw.Config.GetDVSConfigInfo()
			members := make([]types.DistributedVirtualSwitchHostMember, 0, len(sw.Summary.HostMember))
			for _, ref := range sw.Summary.HostMember {
				ref := ref
				m := types.DistributedVirtualSwitchHostMember{
					Config: types.DistributedVirtualSwitchHostMemberConfigInfo{
						Host:                &ref,
						MaxProxySwitchPorts: 512,
						Backing:             &types.DistributedVirtualSwitchHostMemberPnicBacking{},
					},
					ProductInfo: sw.Summary.ProductInfo,
					Status:      string(types.DistributedVirtualSwitchHostMemberHostComponentStateUp),
				}
				for _, old := range cfg.Host {
					if old.Config.Host != nil && *old.Config.Host == ref {
						m = old
					}
				}
				members = append(members, m)
			}
			cfg.Host = members
			sw.Summary.NumHosts = int32(len(members))
		})
	}
}

// refreshCapacity recomputes every compute resource's summary as vCenter
// does: totalCpu/effectiveCpu are sum(cores x MHz) in MHz (vcsim adds one
// core's MHz per host), totalMemory is bytes and effectiveMemory MiB (vcsim
// puts bytes in both), and hosts in maintenance mode or not connected do not
// count as effective.
func refreshCapacity() {
	for _, kind := range []string{"ClusterComputeResource", "ComputeResource"} {
		for _, e := range simulator.Map.All(kind) {
			e := e
			simulator.Map.WithLock(e, func() { recomputeSummary(e) })
		}
	}
}

func recomputeSummary(e mo.Entity) {
	var cr *mo.ComputeResource
	switch x := e.(type) {
	case *simulator.ClusterComputeResource:
		cr = &x.ComputeResource
	case *mo.ComputeResource:
		cr = x
	default:
		return
	}
	if cr.Summary == nil {
		return
	}
	s := cr.Summary.GetComputeResourceSummary()
	s.TotalCpu, s.TotalMemory, s.NumCpuCores, s.NumCpuThreads = 0, 0, 0, 0
	s.EffectiveCpu, s.EffectiveMemory, s.NumHosts, s.NumEffectiveHosts = 0, 0, 0, 0
	for _, ref := range cr.Host {
		h, ok := simulator.Map.Get(ref).(*simulator.HostSystem)
		if !ok || h.Summary.Hardware == nil {
			continue
		}
		hw := h.Summary.Hardware
		mhz := int32(hw.NumCpuCores) * hw.CpuMhz
		s.TotalCpu += mhz
		s.TotalMemory += hw.MemorySize
		s.NumCpuCores += hw.NumCpuCores
		s.NumCpuThreads += hw.NumCpuThreads
		s.NumHosts++
		if h.Runtime.ConnectionState == types.HostSystemConnectionStateConnected && !h.Runtime.InMaintenanceMode {
			s.EffectiveCpu += mhz
			s.EffectiveMemory += hw.MemorySize >> 20
			s.NumEffectiveHosts++
		}
	}
}

// taskEntityFix clears TaskInfo.entity when it names a manager rather than a
// ManagedEntity. vcsim sets it to the VirtualDiskManager, FileManager or
// VStorageObjectManager that owns the task; pyVmomi then fails to read
// task.info ("For "entity" expected type vim.ManagedEntity"), so
// pyVim.task.WaitForTask breaks. vCenter never puts a non-entity there.
type taskEntityFix struct {
	Self types.ManagedObjectReference
}

func (f *taskEntityFix) Reference() types.ManagedObjectReference { return f.Self }

// PutObject runs inside CreateTask, before the task is returned to anyone.
func (f *taskEntityFix) PutObject(o mo.Reference) {
	t, ok := o.(*simulator.Task)
	if !ok || t.Info.Entity == nil {
		return
	}
	if _, isEntity := simulator.Map.Get(*t.Info.Entity).(mo.Entity); !isEntity {
		t.Info.Entity = nil
		t.Info.EntityName = ""
	}
}

func (f *taskEntityFix) UpdateObject(mo.Reference, []types.PropertyChange) {}

func (f *taskEntityFix) RemoveObject(types.ManagedObjectReference) {}
