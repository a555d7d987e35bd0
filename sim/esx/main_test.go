package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io/ioutil"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// One simulator per test binary: the govmomi simulator keeps its inventory in a package global.
var sim *Sim

func TestMain(m *testing.M) {
	var err error
	sim, err = Start(&options{username: "root", password: "pw", methodDelay: ""})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	sim.Stop()
	os.Exit(code)
}

func simURL(user, pass string) *url.URL {
	u, _ := url.Parse(sim.State.URL)
	u.User = url.UserPassword(user, pass)
	return u
}

type env struct {
	ctx context.Context
	c   *govmomi.Client
	dc  *object.Datacenter
	ds  *object.Datastore
	dir string
}

func connect(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, simURL("root", "pw"), true)
	if err != nil {
		t.Fatal(err)
	}
	f := find.NewFinder(c.Client, false)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: ctx, c: c, dc: dc, ds: ds, dir: sim.State.Datastores["LocalDS_0"]}
}

// faultName names the vim fault in a SOAP or task error ("" if none), e.g. "InvalidLogin".
func faultName(err error) string {
	var f interface{}
	switch {
	case err == nil:
		return ""
	case soap.IsSoapFault(err):
		f = soap.ToSoapFault(err).VimFault()
	case soap.IsVimFault(err):
		f = soap.ToVimFault(err)
	default:
		if te, ok := err.(interface{ Fault() types.BaseMethodFault }); ok {
			f = te.Fault()
		}
	}
	if f == nil {
		return ""
	}
	return strings.TrimSuffix(reflect.Indirect(reflect.ValueOf(f)).Type().Name(), "Fault")
}

func TestLoginRequiresConfiguredCredentials(t *testing.T) {
	_, err := govmomi.NewClient(context.Background(), simURL("root", "nope"), true)
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if faultName(err) != "InvalidLogin" {
		t.Fatalf("want InvalidLogin, got %v", err)
	}
	e := connect(t)
	if _, err := methods.GetCurrentTime(e.ctx, e.c); err != nil {
		t.Fatal(err)
	}
}

func TestExpireSessions(t *testing.T) {
	e := connect(t)
	resp, err := http.Post("http://"+sim.State.Host+"/_sim/expire-sessions", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("expire: %v %v", err, resp)
	}
	_, err = methods.GetCurrentTime(e.ctx, e.c)
	if faultName(err) != "NotAuthenticated" {
		t.Fatalf("want NotAuthenticated, got %v", err)
	}
}

func hostNetwork(t *testing.T, e *env) (*object.HostSystem, *object.HostNetworkSystem) {
	f := find.NewFinder(e.c.Client, false)
	f.SetDatacenter(e.dc)
	host, err := f.DefaultHostSystem(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := host.ConfigManager().NetworkSystem(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return host, ns
}

func createVM(t *testing.T, e *env, name string, devices []types.BaseVirtualDeviceConfigSpec) (*object.VirtualMachine, error) {
	folders, err := e.dc.Folders(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := hostNetwork(t, e)
	pool, err := host.ResourcePool(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         name,
		GuestId:      "otherGuest64",
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0] " + name},
		DeviceChange: devices,
	}
	task, err := folders.VmFolder.CreateVM(e.ctx, spec, pool, host)
	if err != nil {
		return nil, err
	}
	info, err := task.WaitForResult(e.ctx, nil)
	if err != nil {
		return nil, err
	}
	return object.NewVirtualMachine(e.c.Client, info.Result.(types.ManagedObjectReference)), nil
}

func nicSpec(pg string) types.BaseVirtualDeviceConfigSpec {
	return &types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationAdd,
		Device: &types.VirtualVmxnet3{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: types.VirtualEthernetCard{
			VirtualDevice: types.VirtualDevice{Key: -100, Backing: &types.VirtualEthernetCardNetworkBackingInfo{
				VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: pg},
			}},
		}}},
	}
}

func destroy(t *testing.T, e *env, vm *object.VirtualMachine) {
	task, err := vm.Destroy(e.ctx)
	if err == nil {
		err = task.Wait(e.ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestPortGroups(t *testing.T) {
	e := connect(t)
	host, ns := hostNetwork(t, e)
	spec := types.HostPortGroupSpec{Name: "pg-test", VlanId: 10, VswitchName: "vSwitch0", Policy: types.HostNetworkPolicy{}}
	if err := ns.AddPortGroup(e.ctx, spec); err != nil {
		t.Fatal(err)
	}
	var h mo.HostSystem
	if err := host.Properties(e.ctx, host.Reference(), []string{"network"}, &h); err != nil {
		t.Fatal(err)
	}
	nf := find.NewFinder(e.c.Client, false)
	nf.SetDatacenter(e.dc)
	netObj, err := nf.Network(e.ctx, "pg-test")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range h.Network {
		found = found || r == netObj.Reference()
	}
	if !found {
		t.Fatalf("HostSystem.network %v lacks %v", h.Network, netObj.Reference())
	}

	spec.VlanId = 20
	if err := ns.UpdatePortGroup(e.ctx, "pg-test", spec); err != nil {
		t.Fatal(err)
	}
	var mns mo.HostNetworkSystem
	if err := ns.Properties(e.ctx, ns.Reference(), []string{"networkInfo"}, &mns); err != nil {
		t.Fatal(err)
	}
	vlan := int32(-1)
	for _, pg := range mns.NetworkInfo.Portgroup {
		if pg.Spec.Name == "pg-test" {
			vlan = pg.Spec.VlanId
		}
	}
	if vlan != 20 {
		t.Fatalf("vlan after UpdatePortGroup = %d", vlan)
	}
	if err := ns.UpdatePortGroup(e.ctx, "no-such-pg", spec); err == nil {
		t.Fatal("UpdatePortGroup of a missing port group succeeded")
	}

	vm, err := createVM(t, e, "pgvm", []types.BaseVirtualDeviceConfigSpec{nicSpec("pg-test")})
	if err != nil {
		t.Fatal(err)
	}
	var n mo.Network
	if err := object.NewCommon(e.c.Client, netObj.Reference()).Properties(e.ctx, netObj.Reference(), []string{"vm", "host"}, &n); err != nil {
		t.Fatal(err)
	}
	if len(n.Vm) != 1 || n.Vm[0] != vm.Reference() || len(n.Host) != 1 {
		t.Fatalf("network vm=%v host=%v", n.Vm, n.Host)
	}
	err = ns.RemovePortGroup(e.ctx, "pg-test")
	if faultName(err) != "ResourceInUse" {
		t.Fatalf("RemovePortGroup in use: want ResourceInUse, got %v", err)
	}
	destroy(t, e, vm)
	if err := object.NewCommon(e.c.Client, netObj.Reference()).Properties(e.ctx, netObj.Reference(), []string{"vm"}, &n); err != nil {
		t.Fatal(err)
	}
	if len(n.Vm) != 0 {
		t.Fatalf("network vm after destroy = %v", n.Vm)
	}
	if err := ns.RemovePortGroup(e.ctx, "pg-test"); err != nil {
		t.Fatal(err)
	}
	if err := host.Properties(e.ctx, host.Reference(), []string{"network"}, &h); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.Network {
		if r == netObj.Reference() {
			t.Fatal("removed port group's network still in HostSystem.network")
		}
	}
	// a NIC on a missing network is refused (the stock simulator would crash)
	if _, err := createVM(t, e, "badnic", []types.BaseVirtualDeviceConfigSpec{nicSpec("pg-test")}); err == nil {
		t.Fatal("VM with a NIC on a missing network was created")
	}
}

func TestRebootGuest(t *testing.T) {
	e := connect(t)
	vm, err := createVM(t, e, "rebootvm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer destroy(t, e, vm)
	err = vm.RebootGuest(e.ctx)
	if faultName(err) != "InvalidPowerState" {
		t.Fatalf("RebootGuest powered off: want InvalidPowerState, got %v", err)
	}
	task, _ := vm.PowerOn(e.ctx)
	if err := task.Wait(e.ctx); err != nil {
		t.Fatal(err)
	}
	var before mo.VirtualMachine
	_ = vm.Properties(e.ctx, vm.Reference(), []string{"runtime"}, &before)
	if err := vm.RebootGuest(e.ctx); err != nil {
		t.Fatal(err)
	}
	var after mo.VirtualMachine
	_ = vm.Properties(e.ctx, vm.Reference(), []string{"runtime"}, &after)
	if after.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || after.Runtime.BootTime == nil ||
		(before.Runtime.BootTime != nil && !after.Runtime.BootTime.After(*before.Runtime.BootTime)) {
		t.Fatalf("after reboot: %v %v", after.Runtime.PowerState, after.Runtime.BootTime)
	}
	task, _ = vm.PowerOff(e.ctx)
	_ = task.Wait(e.ctx)
}

func diskSpec(kb int64) *types.FileBackedVirtualDiskSpec {
	return &types.FileBackedVirtualDiskSpec{
		VirtualDiskSpec: types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"},
		CapacityKb:      kb,
	}
}

func runTask(t *testing.T, e *env, f func() (*object.Task, error)) error {
	t.Helper()
	task, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return task.Wait(e.ctx)
}

func allocated(t *testing.T, p string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func TestVirtualDisks(t *testing.T) {
	e := connect(t)
	m := object.NewVirtualDiskManager(e.c.Client)
	name := "[LocalDS_0] disks/a.vmdk"
	if err := runTask(t, e, func() (*object.Task, error) { return m.CreateVirtualDisk(e.ctx, name, e.dc, diskSpec(10240)) }); err != nil {
		t.Fatal(err)
	}
	desc, err := readDescriptor(filepath.Join(e.dir, "disks/a.vmdk"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.capacitySectors() != 20480 || desc.get("createType") != "vmfs" || desc.extents()[0].File != "a-flat.vmdk" {
		t.Fatalf("descriptor: %s", desc.bytes())
	}
	flat := filepath.Join(e.dir, "disks/a-flat.vmdk")
	if st, _ := os.Stat(flat); st == nil || st.Size() != 10240*1024 {
		t.Fatalf("flat size: %v", st)
	}
	if a := allocated(t, flat); a > 64*1024 {
		t.Fatalf("flat file not sparse: %d bytes allocated", a)
	}

	ext := func(kb int64) error {
		req := types.ExtendVirtualDisk_Task{This: *e.c.ServiceContent.VirtualDiskManager, Name: name, Datacenter: types.NewReference(e.dc.Reference()), NewCapacityKb: kb}
		res, err := methods.ExtendVirtualDisk_Task(e.ctx, e.c, &req)
		if err != nil {
			return err
		}
		return object.NewTask(e.c.Client, res.Returnval).Wait(e.ctx)
	}
	if err := ext(20480); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(flat); st.Size() != 20480*1024 {
		t.Fatalf("flat size after extend: %d", st.Size())
	}
	desc, _ = readDescriptor(filepath.Join(e.dir, "disks/a.vmdk"))
	if desc.capacitySectors() != 40960 {
		t.Fatalf("descriptor after extend: %s", desc.bytes())
	}
	if err := ext(1024); err == nil {
		t.Fatal("shrinking a disk succeeded")
	}

	// copy: both files, descriptor names the new flat file, contents equal
	if err := ioutil.WriteFile(flat+".tmp", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(flat + ".tmp")
	fh, _ := os.OpenFile(flat, os.O_WRONLY, 0)
	_, _ = fh.WriteAt([]byte("hello disk"), 1<<20)
	fh.Close()
	dst := "[LocalDS_0] copies/b.vmdk"
	if err := runTask(t, e, func() (*object.Task, error) { return m.CopyVirtualDisk(e.ctx, name, e.dc, dst, e.dc, nil, false) }); err != nil {
		t.Fatal(err)
	}
	bdesc, err := readDescriptor(filepath.Join(e.dir, "copies/b.vmdk"))
	if err != nil || bdesc.extents()[0].File != "b-flat.vmdk" || bdesc.capacitySectors() != 40960 {
		t.Fatalf("copied descriptor: %v %s", err, bdesc.bytes())
	}
	a, _ := ioutil.ReadFile(flat)
	b, _ := ioutil.ReadFile(filepath.Join(e.dir, "copies/b-flat.vmdk"))
	if !bytes.Equal(a, b) {
		t.Fatal("copied flat differs")
	}
	if al := allocated(t, filepath.Join(e.dir, "copies/b-flat.vmdk")); al > 256*1024 {
		t.Fatalf("copy not sparse: %d", al)
	}
	if err := runTask(t, e, func() (*object.Task, error) { return m.DeleteVirtualDisk(e.ctx, dst, e.dc) }); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"copies/b.vmdk", "copies/b-flat.vmdk"} {
		if _, err := os.Stat(filepath.Join(e.dir, p)); !os.IsNotExist(err) {
			t.Fatalf("%s survived delete", p)
		}
	}
}

func sum(t *testing.T, p string) [32]byte {
	b, err := ioutil.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func linkedDisk(child, parent string) types.BaseVirtualDeviceConfigSpec {
	unit := int32(0)
	return &types.VirtualDeviceConfigSpec{
		Operation:     types.VirtualDeviceConfigSpecOperationAdd,
		FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate,
		Device: &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key: -200, ControllerKey: -300, UnitNumber: &unit,
				Backing: &types.VirtualDiskFlatVer2BackingInfo{
					VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: child},
					DiskMode:                     "persistent",
					ThinProvisioned:              types.NewBool(true),
					Parent: &types.VirtualDiskFlatVer2BackingInfo{
						VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: parent},
						DiskMode:                     "persistent",
					},
				},
			},
			CapacityInKB: 8192,
		},
	}
}

func scsiSpec() types.BaseVirtualDeviceConfigSpec {
	return &types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationAdd,
		Device: &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{
			VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: -300}, BusNumber: 0},
			SharedBus:         types.VirtualSCSISharingNoSharing,
		}},
	}
}

func TestLinkedClone(t *testing.T) {
	e := connect(t)
	m := object.NewVirtualDiskManager(e.c.Client)
	base := "[LocalDS_0] images/img1/img1.vmdk"
	if err := runTask(t, e, func() (*object.Task, error) { return m.CreateVirtualDisk(e.ctx, base, e.dc, diskSpec(8192)) }); err != nil {
		t.Fatal(err)
	}
	baseFlat := filepath.Join(e.dir, "images/img1/img1-flat.vmdk")
	fh, _ := os.OpenFile(baseFlat, os.O_WRONLY, 0)
	_, _ = fh.WriteAt([]byte("base image"), 0)
	fh.Close()
	baseDesc, baseData := sum(t, filepath.Join(e.dir, "images/img1/img1.vmdk")), sum(t, baseFlat)

	vm, err := createVM(t, e, "lc", []types.BaseVirtualDeviceConfigSpec{scsiSpec(), linkedDisk("[LocalDS_0] lc/lc.vmdk", base)})
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(e.dir, "lc/lc.vmdk")
	d, err := readDescriptor(child)
	if err != nil {
		t.Fatal(err)
	}
	if d.get("createType") != "vmfsSparse" || !strings.HasSuffix(d.get("parentFileNameHint"), "images/img1/img1.vmdk") ||
		d.capacitySectors() != 16384 || d.extents()[0].File != "lc-delta.vmdk" {
		t.Fatalf("child descriptor: %s", d.bytes())
	}
	if _, err := os.Stat(filepath.Join(e.dir, "lc/lc-flat.vmdk")); !os.IsNotExist(err) {
		t.Fatal("linked clone has a -flat file")
	}
	if st, err := os.Stat(filepath.Join(e.dir, "lc/lc-delta.vmdk")); err != nil || st.Size() > 64*1024 {
		t.Fatalf("delta extent: %v", err)
	}
	var mvm mo.VirtualMachine
	if err := vm.Properties(e.ctx, vm.Reference(), []string{"config.hardware.device"}, &mvm); err != nil {
		t.Fatal(err)
	}
	var parent string
	for _, dev := range mvm.Config.Hardware.Device {
		if disk, ok := dev.(*types.VirtualDisk); ok {
			if p := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).Parent; p != nil {
				parent = p.FileName
			}
		}
	}
	if parent != base {
		t.Fatalf("device backing parent = %q", parent)
	}
	destroy(t, e, vm)
	if _, err := os.Stat(child); !os.IsNotExist(err) {
		t.Fatal("child disk survived Destroy")
	}
	if sum(t, filepath.Join(e.dir, "images/img1/img1.vmdk")) != baseDesc || sum(t, baseFlat) != baseData {
		t.Fatal("base disk changed")
	}
	// a missing parent fails the task with FileNotFound
	_, err = createVM(t, e, "lc2", []types.BaseVirtualDeviceConfigSpec{scsiSpec(), linkedDisk("[LocalDS_0] lc2/lc2.vmdk", "[LocalDS_0] images/nope/nope.vmdk")})
	if faultName(err) != "FileNotFound" {
		t.Fatalf("missing parent: want FileNotFound, got %v", err)
	}
}

func TestFolderHTTP(t *testing.T) {
	e := connect(t)
	u := "http://" + sim.State.Host + "/folder/up/file.bin?dcPath=ha-datacenter&dsName=LocalDS_0"
	do := func(method string, body []byte, cookie bool) *http.Response {
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		if cookie {
			for _, c := range e.c.Client.Jar.Cookies(e.c.URL()) {
				req.AddCookie(c)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do("PUT", []byte("x"), false); r.StatusCode != 401 {
		t.Fatalf("PUT without cookie: %d", r.StatusCode)
	}
	if r := do("GET", nil, true); r.StatusCode != 404 {
		t.Fatalf("GET missing: %d", r.StatusCode)
	}
	data := make([]byte, 4<<20)
	copy(data[1<<20:], "data in the middle")
	data[len(data)-1] = 1
	if r := do("PUT", data, true); r.StatusCode != 201 {
		t.Fatalf("PUT new: %d", r.StatusCode)
	}
	if r := do("PUT", data, true); r.StatusCode != 200 {
		t.Fatalf("PUT replace: %d", r.StatusCode)
	}
	p := filepath.Join(e.dir, "up/file.bin")
	got, _ := ioutil.ReadFile(p)
	if !bytes.Equal(got, data) {
		t.Fatal("stored file differs")
	}
	if a := allocated(t, p); a > 512*1024 {
		t.Fatalf("uploaded zeros were written, not holes: %d bytes allocated", a)
	}
	req, _ := http.NewRequest("GET", u, nil)
	for _, c := range e.c.Client.Jar.Cookies(e.c.URL()) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", err, resp)
	}
	back, _ := ioutil.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(back, data) {
		t.Fatal("GET content differs")
	}
	if r := do("GET", nil, false); r.StatusCode != 401 {
		t.Fatalf("GET without cookie: %d", r.StatusCode)
	}
	if r := do("DELETE", nil, true); r.StatusCode != 204 {
		t.Fatalf("DELETE: %d", r.StatusCode)
	}
	if r := do("DELETE", nil, true); r.StatusCode != 404 {
		t.Fatalf("DELETE missing: %d", r.StatusCode)
	}
}
