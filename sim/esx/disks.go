package main

import (
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// localPath resolves "[ds] dir/file" to the file in the datastore's local directory.
func localPath(dsPath string) (string, types.BaseMethodFault) {
	var p object.DatastorePath
	if !p.FromString(dsPath) || p.Datastore == "" {
		return "", &types.InvalidDatastorePath{DatastorePath: dsPath}
	}
	dir, ok := datastoreDirs()[p.Datastore]
	if !ok {
		return "", &types.InvalidDatastore{Name: p.Datastore}
	}
	clean := path.Clean("/" + p.Path)
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

func fileFault(f types.BaseFileFault, name string) types.BaseMethodFault {
	f.GetFileFault().File = name
	return f.(types.BaseMethodFault)
}

func notFound(name string) types.BaseMethodFault {
	return fileFault(new(types.FileNotFound), name)
}

// extentPaths lists the local files of a disk: its extents (from the descriptor) and the descriptor.
// Without a readable descriptor it falls back to the simulator's naming (x.vmdk + x-flat.vmdk).
func extentPaths(descPath string) []string {
	dir := filepath.Dir(descPath)
	var out []string
	if d, err := readDescriptor(descPath); err == nil {
		for _, e := range d.extents() {
			out = append(out, filepath.Join(dir, filepath.Base(e.File)))
		}
	} else {
		out = append(out, strings.TrimSuffix(descPath, ".vmdk")+"-flat.vmdk")
	}
	return append(out, descPath)
}

// diskManager replaces the simulator's VirtualDiskManager: real descriptors and sparse -flat files on
// create, ExtendVirtualDisk_Task, copies that rewrite the descriptor's extent names, and deletes that
// follow the descriptor (delta disks have no -flat file).
type diskManager struct {
	simulator.VirtualDiskManager
}

func installDiskManager(model *simulator.Model) {
	ref := model.ServiceContent.VirtualDiskManager
	if ref == nil {
		return
	}
	if orig, ok := simulator.Map.Get(*ref).(*simulator.VirtualDiskManager); ok {
		simulator.Map.Put(&diskManager{VirtualDiskManager: *orig})
	}
}

func (m *diskManager) task(name string, run func() (types.AnyType, types.BaseMethodFault)) types.ManagedObjectReference {
	return simulator.CreateTask(m, name, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return run() }).Run()
}

func (m *diskManager) CreateVirtualDiskTask(ctx *simulator.Context, req *types.CreateVirtualDisk_Task) soap.HasFault {
	ref := m.task("createVirtualDisk", func() (types.AnyType, types.BaseMethodFault) {
		desc, f := localPath(req.Name)
		if f != nil {
			return nil, f
		}
		if _, err := os.Stat(desc); err == nil {
			return nil, fileFault(new(types.FileAlreadyExists), req.Name)
		}
		var kb int64
		adapter, thin := "lsilogic", true
		if spec, ok := req.Spec.(*types.FileBackedVirtualDiskSpec); ok {
			kb = spec.CapacityKb
			adapter = spec.AdapterType
			thin = spec.DiskType == "" || spec.DiskType == string(types.VirtualDiskTypeThin)
		}
		if kb <= 0 {
			return nil, &types.InvalidArgument{InvalidProperty: "spec.capacityKb"}
		}
		if err := os.MkdirAll(filepath.Dir(desc), 0o700); err != nil {
			return nil, fileFault(new(types.CannotCreateFile), req.Name)
		}
		if f := writeFlatDisk(desc, kb*2, adapter, thin); f != nil {
			return nil, f
		}
		return req.Name, nil
	})
	return &methods.CreateVirtualDisk_TaskBody{Res: &types.CreateVirtualDisk_TaskResponse{Returnval: ref}}
}

// writeFlatDisk writes a descriptor and a sparse -flat file of the given size.
func writeFlatDisk(desc string, sectors int64, adapter string, thin bool) types.BaseMethodFault {
	flat := strings.TrimSuffix(desc, ".vmdk") + "-flat.vmdk"
	fh, err := os.OpenFile(flat, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fileFault(new(types.CannotCreateFile), flat)
	}
	err = fh.Truncate(sectors * 512)
	fh.Close()
	if err != nil {
		return fileFault(new(types.CannotCreateFile), flat)
	}
	d := flatDescriptor(filepath.Base(flat), sectors, adapter, thin)
	if err := writeFileAtomic(desc, d.bytes()); err != nil {
		return fileFault(new(types.CannotCreateFile), desc)
	}
	return nil
}

func (m *diskManager) DeleteVirtualDiskTask(ctx *simulator.Context, req *types.DeleteVirtualDisk_Task) soap.HasFault {
	ref := m.task("deleteVirtualDisk", func() (types.AnyType, types.BaseMethodFault) {
		desc, f := localPath(req.Name)
		if f != nil {
			return nil, f
		}
		if _, err := os.Stat(desc); err != nil {
			return nil, notFound(req.Name)
		}
		for _, p := range extentPaths(desc) {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return nil, fileFault(new(types.CannotDeleteFile), p)
			}
		}
		return nil, nil
	})
	return &methods.DeleteVirtualDisk_TaskBody{Res: &types.DeleteVirtualDisk_TaskResponse{Returnval: ref}}
}

func (m *diskManager) CopyVirtualDiskTask(ctx *simulator.Context, req *types.CopyVirtualDisk_Task) soap.HasFault {
	ref := m.task("copyVirtualDisk", func() (types.AnyType, types.BaseMethodFault) {
		src, f := localPath(req.SourceName)
		if f != nil {
			return nil, f
		}
		dst, f := localPath(req.DestName)
		if f != nil {
			return nil, f
		}
		d, err := readDescriptor(src)
		if err != nil {
			if _, serr := os.Stat(src); serr != nil {
				return nil, notFound(req.SourceName)
			}
			return nil, fileFault(new(types.FileFault), req.SourceName)
		}
		if _, err := os.Stat(dst); err == nil && (req.Force == nil || !*req.Force) {
			return nil, fileFault(new(types.FileAlreadyExists), req.DestName)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, fileFault(new(types.CannotCreateFile), req.DestName)
		}
		srcDir, dstDir := filepath.Dir(src), filepath.Dir(dst)
		srcBase := strings.TrimSuffix(filepath.Base(src), ".vmdk")
		dstBase := strings.TrimSuffix(filepath.Base(dst), ".vmdk")
		var fault types.BaseMethodFault
		d.rewriteExtents(func(e extent) extent {
			name := filepath.Base(e.File)
			newName := dstBase + strings.TrimPrefix(name, srcBase)
			if !strings.HasPrefix(name, srcBase) {
				newName = dstBase + "-" + name
			}
			if fault == nil {
				if err := copyFileSparse(filepath.Join(srcDir, name), filepath.Join(dstDir, newName)); err != nil {
					fault = fileFault(new(types.CannotCreateFile), newName)
				}
			}
			e.File = newName
			return e
		})
		if fault != nil {
			return nil, fault
		}
		d.set("CID", randomCID(), false)
		if d.get("ddb.uuid") != "" {
			d.set("ddb.uuid", randomDiskUUID(), true)
		}
		if err := writeFileAtomic(dst, d.bytes()); err != nil {
			return nil, fileFault(new(types.CannotCreateFile), req.DestName)
		}
		return nil, nil
	})
	return &methods.CopyVirtualDisk_TaskBody{Res: &types.CopyVirtualDisk_TaskResponse{Returnval: ref}}
}

// ExtendVirtualDisk_Task grows a flat disk (its -flat file and the descriptor's extent); never shrinks.
func (m *diskManager) ExtendVirtualDiskTask(ctx *simulator.Context, req *types.ExtendVirtualDisk_Task) soap.HasFault {
	ref := m.task("extendVirtualDisk", func() (types.AnyType, types.BaseMethodFault) {
		desc, f := localPath(req.Name)
		if f != nil {
			return nil, f
		}
		return nil, extendDisk(desc, req.Name, req.NewCapacityKb*2)
	})
	return &methods.ExtendVirtualDisk_TaskBody{Res: &types.ExtendVirtualDisk_TaskResponse{Returnval: ref}}
}

func extendDisk(desc, name string, sectors int64) types.BaseMethodFault {
	d, err := readDescriptor(desc)
	if err != nil {
		if _, serr := os.Stat(desc); serr != nil {
			return notFound(name)
		}
		return fileFault(new(types.FileFault), name)
	}
	ext := d.extents()
	cur := d.capacitySectors()
	if sectors < cur {
		return &types.InvalidArgument{InvalidProperty: "newCapacityKb"}
	}
	if sectors == cur {
		return nil
	}
	if len(ext) != 1 || (ext[0].Type != "VMFS" && ext[0].Type != "FLAT") {
		return &types.NotSupported{}
	}
	flat := filepath.Join(filepath.Dir(desc), filepath.Base(ext[0].File))
	if err := os.Truncate(flat, sectors*512); err != nil {
		return fileFault(new(types.CannotAccessFile), flat)
	}
	d.rewriteExtents(func(e extent) extent { e.Sectors = sectors; return e })
	d.set("ddb.geometry.cylinders", strconv.FormatInt(cylinders(sectors), 10), true)
	if err := writeFileAtomic(desc, d.bytes()); err != nil {
		return fileFault(new(types.CannotAccessFile), name)
	}
	return nil
}

// fixDiskFiles runs inside the simulator's device configuration (via hooks) and turns the empty files the
// simulator creates for a new disk into what a host writes: a flat disk of the device's capacity, or,
// when the backing names a parent, a small vmfsSparse delta whose descriptor points at the parent. It
// also grows flat disks whose device capacity was raised.
func fixDiskFiles(vm *mo.VirtualMachine) {
	if vm.Config == nil {
		return
	}
	flatDisks(vm.Config.Hardware.Device, func(_ int, disk *types.VirtualDisk, b *types.VirtualDiskFlatVer2BackingInfo, desc string) {
		st, err := os.Stat(desc)
		if err != nil {
			return
		}
		sectors := disk.CapacityInKB * 2
		if disk.CapacityInBytes > 0 {
			sectors = disk.CapacityInBytes / 512
		}
		if st.Size() != 0 {
			// existing disk: grow it if the device asks for more (never shrink)
			if d, err := readDescriptor(desc); err == nil && sectors > d.capacitySectors() {
				_ = extendDisk(desc, b.FileName, sectors)
			}
			return
		}
		base := strings.TrimSuffix(desc, ".vmdk")
		thin := b.ThinProvisioned == nil || *b.ThinProvisioned
		if b.Parent != nil && b.Parent.FileName != "" {
			_ = os.Remove(base + "-flat.vmdk") // the simulator's empty flat file
			writeDelta(desc, b, sectors)
			return
		}
		if sectors <= 0 {
			sectors = 2048
		}
		_ = writeFlatDisk(desc, sectors, "lsilogic", thin)
	})
}

// flatDisks calls fn for every disk in devs whose backing is a flat (or delta) file on a datastore of this
// simulator, with the device's index and the descriptor's local path.
func flatDisks(devs []types.BaseVirtualDevice, fn func(i int, disk *types.VirtualDisk, b *types.VirtualDiskFlatVer2BackingInfo, local string)) {
	for i, dev := range devs {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok || b.FileName == "" {
			continue
		}
		if local, f := localPath(b.FileName); f == nil {
			fn(i, disk, b, local)
		}
	}
}

func writeDelta(desc string, b *types.VirtualDiskFlatVer2BackingInfo, sectors int64) {
	parentCID := ""
	if pp, f := localPath(b.Parent.FileName); f == nil {
		if pd, err := readDescriptor(pp); err == nil {
			parentCID = pd.get("CID")
			if n := pd.capacitySectors(); n > 0 {
				sectors = n
			}
		}
	}
	var p object.DatastorePath
	p.FromString(b.Parent.FileName)
	hint := "/vmfs/volumes/" + p.Datastore + "/" + strings.TrimPrefix(p.Path, "/")
	deltaName := filepath.Base(strings.TrimSuffix(desc, ".vmdk")) + "-delta.vmdk"
	_ = writeDeltaExtent(filepath.Join(filepath.Dir(desc), deltaName), sectors)
	d := deltaDescriptor(deltaName, sectors, parentCID, hint, "lsilogic")
	_ = writeFileAtomic(desc, d.bytes())
}
