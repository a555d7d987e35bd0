package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// snapshots.go: disks of VM snapshots, as a host handles them. The stock simulator's CreateSnapshot_Task only
// records the snapshot; here (a Map handler, so it runs inside the simulator's own task) each disk of the VM gets
// a new vmfsSparse delta "<vm dir>/<disk>-00000N.vmdk" whose parent is the disk it had, and the VM's backing
// switches to it (backing.parent = the old backing; the snapshot's config keeps the old devices).
// RemoveSnapshot_Task / RemoveAllSnapshots_Task merge that delta's grains into its parent, point the VM (or the
// child delta) back at the parent and delete the delta's files. RevertToSnapshot does not touch disks (gap).

type snapDisk struct {
	key    int32
	before *types.VirtualDiskFlatVer2BackingInfo // the backing when the snapshot was taken
	delta  string                                // "[ds] path" of the delta made then
}

type snapRecord struct {
	vm    types.ManagedObjectReference
	disks []snapDisk
}

type snapshotDisks struct {
	self types.ManagedObjectReference
	mu   sync.Mutex
	recs map[types.ManagedObjectReference]*snapRecord
}

// installSnapshots: delta disks for snapshots, and CopyVirtualDisk_Task that consolidates delta chains.
func installSnapshots(model *simulator.Model) {
	installChainCopy(model)
	simulator.Map.AddHandler(&snapshotDisks{
		self: types.ManagedObjectReference{Type: "EsxSimSnapshotDisks", Value: "esxsim-snapshot-disks"},
		recs: map[types.ManagedObjectReference]*snapRecord{},
	})
}

func (h *snapshotDisks) Reference() types.ManagedObjectReference { return h.self }

func (h *snapshotDisks) PutObject(mo.Reference) {}

func (h *snapshotDisks) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	if obj.Reference().Type != "VirtualMachine" {
		return
	}
	touched := false
	for _, c := range changes {
		touched = touched || strings.HasPrefix(c.Name, "snapshot")
	}
	vm, ok := obj.(*mo.VirtualMachine)
	if !touched || !ok || vm.Snapshot == nil || vm.Snapshot.CurrentSnapshot == nil || vm.Config == nil {
		return
	}
	cur := *vm.Snapshot.CurrentSnapshot
	h.mu.Lock()
	_, known := h.recs[cur]
	if !known {
		h.recs[cur] = &snapRecord{vm: vm.Self}
	}
	h.mu.Unlock()
	if known {
		return // a revert or a removal moved currentSnapshot
	}
	rec := takeSnapshotDisks(vm)
	h.mu.Lock()
	h.recs[cur] = rec
	h.mu.Unlock()
}

func (h *snapshotDisks) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "VirtualMachineSnapshot" {
		return
	}
	h.mu.Lock()
	rec := h.recs[ref]
	delete(h.recs, ref)
	h.mu.Unlock()
	if rec == nil {
		return
	}
	vm, ok := simulator.Map.Get(rec.vm).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil {
		return
	}
	devs := append([]types.BaseVirtualDevice(nil), vm.Config.Hardware.Device...)
	for _, sd := range rec.disks {
		if err := mergeDelta(sd.delta, sd.before.FileName); err != nil {
			fmt.Fprintf(os.Stderr, "esxsim: merging %s into %s: %v\n", sd.delta, sd.before.FileName, err)
			continue
		}
		for i, dev := range devs {
			if disk, ok := dev.(*types.VirtualDisk); ok && disk.Key == sd.key {
				nd := *disk
				nd.Backing = reparent(disk.Backing, sd.delta, sd.before)
				devs[i] = &nd
			}
		}
		h.mu.Lock()
		for _, other := range h.recs {
			for i := range other.disks {
				if other.disks[i].before.FileName == sd.delta {
					other.disks[i].before = sd.before
				}
			}
		}
		h.mu.Unlock()
		if local, f := localPath(sd.delta); f == nil {
			for _, p := range extentPaths(local) {
				_ = os.Remove(p)
			}
		}
	}
	simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: devs}})
}

// reparent returns the backing chain with the node for delta replaced by before (copies, never in place).
func reparent(b types.BaseVirtualDeviceBackingInfo, delta string, before *types.VirtualDiskFlatVer2BackingInfo) types.BaseVirtualDeviceBackingInfo {
	top, ok := b.(*types.VirtualDiskFlatVer2BackingInfo)
	if !ok {
		return b
	}
	var walk func(n *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo
	walk = func(n *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
		if n == nil {
			return nil
		}
		if n.FileName == delta {
			return before
		}
		c := *n
		c.Parent = walk(n.Parent)
		if n.Parent != nil && n.Parent.FileName == delta {
			if local, f := localPath(c.FileName); f == nil {
				if d, err := readDescriptor(local); err == nil {
					d.set("parentFileNameHint", vmfsHint(before.FileName), true)
					_ = writeFileAtomic(local, d.bytes())
				}
			}
		}
		return &c
	}
	return walk(top)
}

func vmfsHint(dsPath string) string {
	var p object.DatastorePath
	p.FromString(dsPath)
	return "/vmfs/volumes/" + p.Datastore + "/" + strings.TrimPrefix(p.Path, "/")
}

var snapSuffix = regexp.MustCompile(`-\d{6}$`)

// takeSnapshotDisks gives every disk of vm a new delta on top of its current backing.
func takeSnapshotDisks(vm *mo.VirtualMachine) *snapRecord {
	rec := &snapRecord{vm: vm.Self}
	var vmDir object.DatastorePath
	vmDir.FromString(vm.Config.Files.VmPathName)
	devs := append([]types.BaseVirtualDevice(nil), vm.Config.Hardware.Device...)
	flatDisks(devs, func(i int, disk *types.VirtualDisk, b *types.VirtualDiskFlatVer2BackingInfo, parentLocal string) {
		pd, err := readDescriptor(parentLocal)
		if err != nil {
			return
		}
		base := snapSuffix.ReplaceAllString(strings.TrimSuffix(path.Base(b.FileName), ".vmdk"), "")
		var deltaPath, local string
		var f types.BaseMethodFault
		for n := 1; n < 1000000; n++ {
			deltaPath = fmt.Sprintf("[%s] %s", vmDir.Datastore, path.Join(path.Dir(vmDir.Path), fmt.Sprintf("%s-%06d.vmdk", base, n)))
			if local, f = localPath(deltaPath); f != nil {
				break
			}
			if _, err := os.Stat(local); os.IsNotExist(err) {
				break
			}
		}
		if f != nil {
			return
		}
		sectors := pd.capacitySectors()
		extName := strings.TrimSuffix(filepath.Base(local), ".vmdk") + "-delta.vmdk"
		if err := writeDeltaExtent(filepath.Join(filepath.Dir(local), extName), sectors); err != nil {
			return
		}
		d := deltaDescriptor(extName, sectors, pd.get("CID"), vmfsHint(b.FileName), pd.get("ddb.adapterType"))
		if err := writeFileAtomic(local, d.bytes()); err != nil {
			return
		}
		nb := *b
		nb.FileName = deltaPath
		nb.Parent = b
		nb.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
		nb.Uuid = ""
		nb.ContentId = ""
		nd := *disk
		nd.Backing = &nb
		devs[i] = &nd
		rec.disks = append(rec.disks, snapDisk{key: disk.Key, before: b, delta: deltaPath})
	})
	if len(rec.disks) > 0 {
		simulator.Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: devs}})
	}
	return rec
}

// mergeDelta writes every grain of the delta disk into its parent disk (flat or COWD extent).
func mergeDelta(delta, parent string) error {
	dl, f := localPath(delta)
	if f != nil {
		return fmt.Errorf("%s: %T", delta, f)
	}
	pl, f := localPath(parent)
	if f != nil {
		return fmt.Errorf("%s: %T", parent, f)
	}
	dd, err := readDescriptor(dl)
	if err != nil {
		return err
	}
	pd, err := readDescriptor(pl)
	if err != nil {
		return err
	}
	src, err := openCOWD(filepath.Join(filepath.Dir(dl), filepath.Base(dd.extents()[0].File)), false)
	if err != nil {
		return err
	}
	defer src.close()
	pe := pd.extents()[0]
	pfile := filepath.Join(filepath.Dir(pl), filepath.Base(pe.File))
	var write func(sector int64, data []byte) error
	switch pe.Type {
	case "VMFS", "FLAT":
		fh, err := os.OpenFile(pfile, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer fh.Close()
		write = func(s int64, data []byte) error { _, err := fh.WriteAt(data, s*512); return err }
	case "VMFSSPARSE":
		dst, err := openCOWD(pfile, true)
		if err != nil {
			return err
		}
		defer dst.close()
		write = dst.writeSectors
	default:
		return fmt.Errorf("%s: extent type %s not supported", parent, pe.Type)
	}
	buf := make([]byte, src.grainSize*512)
	return src.eachGrain(func(s, fs int64) error {
		if _, err := src.f.ReadAt(buf, fs*512); err != nil && err != io.EOF {
			return err
		}
		n := src.grainSize
		if s+n > src.numSectors {
			n = src.numSectors - s
		}
		return write(s, buf[:n*512])
	})
}
