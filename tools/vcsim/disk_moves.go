package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// renameCopiedExtent runs after a successful VirtualDiskManager
// MoveVirtualDisk_Task or CopyVirtualDisk_Task. vcsim renames (or copies)
// the descriptor and its -flat.vmdk as files, so the new descriptor still
// names the old flat file; vCenter rewrites the extent line to the new
// disk's own flat file, and so does this. Without it a moved disk's
// descriptor points at a file that no longer exists (reads and
// ExtendVirtualDisk_Task fail) and a copy's points at its source's data.
func renameCopiedExtent(body, response []byte) {
	if !taskSucceeded(response) {
		return
	}
	method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		return
	}
	var dc *types.ManagedObjectReference
	var name string
	switch req := method.Body.(type) {
	case *types.MoveVirtualDisk_Task:
		dc, name = req.DestDatacenter, req.DestName
		if dc == nil {
			dc = req.SourceDatacenter
		}
	case *types.CopyVirtualDisk_Task:
		dc, name = req.DestDatacenter, req.DestName
		if dc == nil {
			dc = req.SourceDatacenter
		}
	default:
		return
	}
	if dc == nil {
		return
	}
	desc, fault := resolveDatastorePath(*dc, name)
	if fault != nil || !strings.HasSuffix(desc, ".vmdk") {
		return
	}
	text, err := os.ReadFile(desc)
	if err != nil {
		return
	}
	own := strings.TrimSuffix(filepath.Base(desc), ".vmdk") + "-flat.vmdk"
	if _, err := os.Stat(filepath.Join(filepath.Dir(desc), own)); err != nil {
		return
	}
	lines := strings.Split(string(text), "\n")
	changed := false
	for i, l := range lines {
		m := extentLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || m[4] == own {
			continue
		}
		lines[i] = strings.Replace(l, "\""+m[4]+"\"", "\""+own+"\"", 1)
		changed = true
	}
	if changed {
		_ = os.WriteFile(desc, []byte(strings.Join(lines, "\n")), 0o644)
	}
}
