package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// Persistent datastores (-datastore-root DIR): docs/vsphere.md, "Persistent
// datastores".
//
// Model.Create backs every local datastore by a fresh temp dir
// (ioutil.TempDir "govcsim-<dc>-<name>-*", passed to each host's
// CreateLocalDatastore), and nothing in between can be hooked: Create makes
// a new registry first, so no registry handler survives into it. What every
// file operation reads afterwards is the registry's Datastore object
// (FileManager.resolve, VirtualDiskManager, CreateVM/Destroy, the /folder
// handler, the datastore browser, our extension.go): each joins the
// datastore path onto ds.Info.GetDatastoreInfo().Url. So the launcher
// points Url (with LocalDatastoreInfo.Path and summary.url) at DIR/<name>
// after Create and before serving, and removes the then unused, empty temp
// dir. The moref keeps the temp path it was built from (<temp>@folder-N):
// morefs are opaque, and renaming one means rewriting every reference to it.

// datastoreRootLock is held for the launcher's lifetime: two launchers on
// one root would share files, and the second one's start-up would move the
// first one's VM folders aside.
const datastoreRootLock = ".vistack-vcsim.lock"

// datastoreRootWait is how long a start waits for a previous launcher on the
// same root to finish exiting (SIGTERM waits up to -shutdown-timeout for
// calls in flight, 5 s by default).
const datastoreRootWait = 15 * time.Second

// keptFolders are never moved aside at start-up, even if they hold VM-like
// files: vistack's image store and Cinder volumes live there.
var keptFolders = map[string]bool{"images": true, "volumes": true}

// lockDatastoreRoot creates DIR (0700) and takes its lock file, waiting up to
// datastoreRootWait for another launcher to let go. The lock goes with the
// process, also on SIGKILL.
func lockDatastoreRoot(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("-datastore-root: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, datastoreRootLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("-datastore-root: %w", err)
	}
	deadline := time.Now().Add(datastoreRootWait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("-datastore-root %s is in use by another launcher: %w", dir, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// useDatastoreRoot points each datastore of the model at DIR/<name>
// (created 0700 when missing, reused as it is otherwise) and removes the
// temp dir Model.Create made for it. It returns the new directories.
func useDatastoreRoot(root string) ([]string, error) {
	var dirs []string
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		info, ok := ds.Info.(*types.LocalDatastoreInfo)
		if !ok {
			return nil, fmt.Errorf("datastore %s is not a local datastore (%T)", ds.Name, ds.Info)
		}
		if ds.Name == "" || ds.Name != filepath.Base(ds.Name) || strings.HasPrefix(ds.Name, ".") {
			return nil, fmt.Errorf("datastore name %q cannot name a directory", ds.Name)
		}
		dir := filepath.Join(root, ds.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("datastore %s: %w", ds.Name, err)
		}
		old := info.Path
		info.Url = dir
		info.Path = dir
		ds.Summary.Url = dir
		// Capacity and free space come from statfs of the directory, which
		// may sit on another filesystem than $TMPDIR.
		if r := ds.RefreshDatastore(&types.RefreshDatastore{This: ds.Self}); r.Fault() != nil {
			return nil, fmt.Errorf("datastore %s: statfs %s: %v", ds.Name, dir, r.Fault().String)
		}
		// Empty: the model creates files only for -vms, which is refused
		// with -datastore-root. os.Remove (not RemoveAll) keeps it that way.
		if old != dir {
			if err := os.Remove(old); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("datastore %s: removing its temp dir: %w", ds.Name, err)
			}
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// orphanVMFolders moves the VM folders left by a previous run into
// <datastore dir>/.orphaned-<UTC time>/ and returns where they went.
//
// VMs never survive a restart (the model is rebuilt), so at start-up no VM
// owns any folder. A leftover folder breaks a new VM of the same name:
// CreateVM_Task with vmPathName "[ds] name/name.vmx" fails with
// FileAlreadyExists, and CloneVM_Task (vmPathName "[ds] name") silently makes
// "name (0)" instead. Nothing is deleted: the folders may hold disks someone
// still wants. Only top-level folders that look like a VM's are moved
// (isVMFolder); images/, volumes/, dot-entries and plain files stay.
func orphanVMFolders(dirs []string) ([]string, error) {
	if n := len(simulator.Map.All("VirtualMachine")); n > 0 {
		return nil, fmt.Errorf("internal: %d VMs exist before the orphan scan", n)
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	var moved []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		var stale []string
		partials := 0
		for _, e := range entries {
			name := e.Name()
			// DirEntry types come from lstat: a symlink is never a folder here.
			if !e.IsDir() || strings.HasPrefix(name, ".") {
				continue
			}
			if keptFolders[name] || !isVMFolder(filepath.Join(dir, name)) {
				partials += countPartials(filepath.Join(dir, name))
				continue
			}
			stale = append(stale, name)
		}
		if partials > 0 {
			log.Printf("%s: %d *.partial-* file(s) from uploads cut off by an earlier stop; left in place", dir, partials)
		}
		if len(stale) == 0 {
			continue
		}
		target, err := newOrphanDir(dir, stamp)
		if err != nil {
			return nil, err
		}
		for _, name := range stale {
			dst := filepath.Join(target, name)
			if err := os.Rename(filepath.Join(dir, name), dst); err != nil {
				return nil, fmt.Errorf("moving a leftover VM folder aside: %w", err)
			}
			moved = append(moved, dst)
		}
		log.Printf("%s: moved %d VM folder(s) of an earlier run (no VM owns them now) to %s",
			dir, len(stale), target)
	}
	return moved, nil
}

// newOrphanDir makes <dir>/.orphaned-<stamp>, with a -2, -3, ... suffix when
// an earlier start in the same second took the name.
func newOrphanDir(dir, stamp string) (string, error) {
	for i := 1; i < 1000; i++ {
		name := ".orphaned-" + stamp
		if i > 1 {
			name = fmt.Sprintf("%s-%d", name, i)
		}
		p := filepath.Join(dir, name)
		err := os.Mkdir(p, 0o700)
		if err == nil {
			return p, nil
		}
		if !os.IsExist(err) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: no free .orphaned-%s name", dir, stamp)
}

// isVMFolder: the folder holds a file only a VM (or a template being made)
// leaves: a .vmx/.vmtx, .nvram, snapshot file or vmware.log, or the disk named
// after the folder itself (<name>/<name>.vmdk, which vistack's template
// builder copies before it creates the VM). A folder of plain disks or image
// files (a configured image folder other than images/, say) is not one.
func isVMFolder(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	base := filepath.Base(dir)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		switch strings.ToLower(filepath.Ext(name)) {
		case ".vmx", ".vmtx", ".nvram", ".vmsd", ".vmsn":
			return true
		}
		if name == "vmware.log" || name == base+".vmdk" || name == base+"-flat.vmdk" {
			return true
		}
	}
	return false
}

func countPartials(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() && strings.Contains(e.Name(), ".partial-") {
			n++
		}
	}
	return n
}
