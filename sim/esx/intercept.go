package main

import (
	"bytes"
	"fmt"
	"io/ioutil"
	"math/rand"
	"net/http"
	"os"
	"reflect"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// The simulator dispatches SOAP methods by reflection on the Go type of the object in its Map. Objects
// that the simulator itself type-asserts (VirtualMachine) cannot be wrapped, so methods on them that we
// add or check are handled here, in front of the simulator's /sdk handler.

var typeFunc = types.TypeFunc()

type interceptor struct {
	sdk   http.Handler
	delay *simulator.DelayConfig
}

// serveSDK answers the methods we own and passes everything else (body restored) to the simulator.
func (ic *interceptor) serveSDK(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		ic.sdk.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	pass := func() {
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		ic.sdk.ServeHTTP(w, r)
	}
	method, err := simulator.UnmarshalBody(typeFunc, body)
	if err == nil && method.This.Type == "PropertyCollector" && fastWait.handle(ic, w, r, method, func(to http.ResponseWriter) {
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		ic.sdk.ServeHTTP(to, r)
	}) {
		return // waitupdates.go
	}
	if err != nil || method.This.Type != "VirtualMachine" && method.This.Type != "Folder" {
		pass()
		return
	}
	switch method.Name {
	case "RebootGuest", "CreateVM_Task", "ReconfigVM_Task", "Destroy_Task":
	default:
		pass()
		return
	}
	obj := simulator.Map.Get(method.This)
	if obj == nil || !sessionValid(ic.sdk, r) {
		pass() // the simulator answers ManagedObjectNotFound / NotAuthenticated
		return
	}

	switch req := method.Body.(type) {
	case *types.RebootGuest:
		vm, ok := obj.(*simulator.VirtualMachine)
		if !ok {
			pass()
			return
		}
		ic.sleep(method.Name)
		var res soap.HasFault
		simulator.Map.WithLock(vm, func() { res = rebootGuest(vm) })
		writeSOAP(w, res)
	case *types.CreateVM_Task:
		if fault := checkConfigSpec(&req.Config); fault != nil {
			ic.sleep(method.Name)
			ref := simulator.CreateTask(obj, "createVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return nil, fault }).Run()
			writeSOAP(w, &methods.CreateVM_TaskBody{Res: &types.CreateVM_TaskResponse{Returnval: ref}})
			return
		}
		pass()
	case *types.ReconfigVM_Task:
		if fault := checkConfigSpec(&req.Spec); fault != nil {
			ic.sleep(method.Name)
			ref := simulator.CreateTask(obj, "reconfigVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return nil, fault }).Run()
			writeSOAP(w, &methods.ReconfigVM_TaskBody{Res: &types.ReconfigVM_TaskResponse{Returnval: ref}})
			return
		}
		pass()
	case *types.Destroy_Task:
		vm, ok := obj.(*simulator.VirtualMachine)
		if !ok {
			pass()
			return
		}
		var disks []string
		simulator.Map.WithLock(vm, func() { disks = vmDiskFiles(&vm.VirtualMachine) })
		pass()
		if simulator.Map.Get(method.This) == nil {
			// the VM is gone: delete its disks too (not only its directory); never their parents
			for _, d := range disks {
				if desc, f := localPath(d); f == nil {
					if _, err := os.Stat(desc); err == nil {
						for _, p := range extentPaths(desc) {
							_ = os.Remove(p)
						}
					}
				}
			}
		}
	default:
		pass()
	}
}

func (ic *interceptor) sleep(name string) {
	if ic.delay == nil {
		return
	}
	d := ic.delay.Delay
	if md, ok := ic.delay.MethodDelay[name]; ok {
		d += md
	}
	if ic.delay.DelayJitter > 0 {
		d += int(rand.NormFloat64() * ic.delay.DelayJitter * float64(d))
	}
	if d > 0 {
		time.Sleep(time.Duration(d) * time.Millisecond)
	}
}

// vmDiskFiles lists the datastore paths of a VM's own disks (not their parents).
func vmDiskFiles(vm *mo.VirtualMachine) []string {
	var out []string
	if vm.Config == nil {
		return nil
	}
	for _, d := range vm.Config.Hardware.Device {
		if disk, ok := d.(*types.VirtualDisk); ok {
			if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok && b.GetVirtualDeviceFileBackingInfo().FileName != "" {
				out = append(out, b.GetVirtualDeviceFileBackingInfo().FileName)
			}
		}
	}
	return out
}

// rebootGuest: a real host needs the VM powered on (and tools running; the simulator has no tools).
func rebootGuest(vm *simulator.VirtualMachine) soap.HasFault {
	body := &methods.RebootGuestBody{}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		body.Fault_ = simulator.Fault("", &types.InvalidPowerState{
			RequestedState: types.VirtualMachinePowerStatePoweredOn,
			ExistingState:  vm.Runtime.PowerState,
		})
		return body
	}
	now := time.Now()
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "runtime.bootTime", Val: &now},
		{Name: "summary.runtime.bootTime", Val: &now},
	})
	body.Res = &types.RebootGuestResponse{}
	return body
}

// checkConfigSpec refuses what a host refuses but the simulator would accept or crash on: a NIC on a
// network that does not exist, and a new delta disk whose parent disk does not exist.
func checkConfigSpec(spec *types.VirtualMachineConfigSpec) types.BaseMethodFault {
	for i, ch := range spec.DeviceChange {
		ds := ch.GetVirtualDeviceConfigSpec()
		if ds.Device == nil || ds.Operation == types.VirtualDeviceConfigSpecOperationRemove {
			continue
		}
		dev := ds.Device.GetVirtualDevice()
		if nic, ok := ds.Device.(types.BaseVirtualEthernetCard); ok {
			if b, ok := nic.GetVirtualEthernetCard().Backing.(*types.VirtualEthernetCardNetworkBackingInfo); ok {
				if networkNamed(b.DeviceName) == nil {
					return &types.InvalidDeviceBacking{InvalidDeviceSpec: types.InvalidDeviceSpec{DeviceIndex: int32(i)}}
				}
			}
		}
		if _, ok := ds.Device.(*types.VirtualDisk); ok {
			b, ok := dev.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			if ok && b.Parent != nil && b.Parent.FileName != "" {
				p, f := localPath(b.Parent.FileName)
				if f != nil {
					return f
				}
				if _, err := os.Stat(p); err != nil {
					return notFound(b.Parent.FileName)
				}
			}
		}
	}
	return nil
}

func networkNamed(name string) *mo.Network {
	for _, e := range simulator.Map.All("Network") {
		if n, ok := e.(*mo.Network); ok && n.Name == name {
			return n
		}
	}
	return nil
}

// --- SOAP response encoding (the same shape as the simulator's) ---

type soapEnvelope struct {
	XMLName xml.Name    `xml:"soapenv:Envelope"`
	Enc     string      `xml:"xmlns:soapenc,attr"`
	Env     string      `xml:"xmlns:soapenv,attr"`
	XSD     string      `xml:"xmlns:xsd,attr"`
	XSI     string      `xml:"xmlns:xsi,attr"`
	Body    interface{} `xml:"soapenv:Body"`
}

type faultDetail struct{ Fault types.AnyType }

func (d *faultDetail) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	kind := reflect.TypeOf(d.Fault).Elem().Name()
	start.Name.Local = kind + "Fault"
	start.Attr = append(start.Attr,
		xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
		xml.Attr{Name: xml.Name{Local: "xsi:type"}, Value: kind})
	return e.EncodeElement(d.Fault, start)
}

type soapFault struct {
	XMLName xml.Name `xml:"soapenv:Fault"`
	Code    string   `xml:"faultcode"`
	String  string   `xml:"faultstring"`
	Detail  struct {
		Fault *faultDetail
	} `xml:"detail"`
}

type soapResponse struct{ Body soap.HasFault }

func (r *soapResponse) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	val := reflect.ValueOf(r.Body).Elem().FieldByName("Res")
	if !val.IsValid() || val.IsNil() {
		return fmt.Errorf("%T: no response", r.Body)
	}
	res := xml.StartElement{Name: xml.Name{Space: "urn:vim25", Local: val.Elem().Type().Name()}}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := e.EncodeElement(val.Interface(), res); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

func writeSOAP(w http.ResponseWriter, res soap.HasFault) {
	var body interface{}
	status := http.StatusOK
	if f := res.Fault(); f != nil {
		status = http.StatusInternalServerError
		sf := &soapFault{Code: f.Code, String: f.String}
		sf.Detail.Fault = &faultDetail{f.Detail.Fault}
		body = struct{ Fault *soapFault }{sf}
	} else {
		body = &soapResponse{res}
	}
	var out bytes.Buffer
	out.WriteString(xml.Header)
	e := xml.NewEncoder(&out)
	err := e.Encode(&soapEnvelope{
		Enc:  "http://schemas.xmlsoap.org/soap/encoding/",
		Env:  "http://schemas.xmlsoap.org/soap/envelope/",
		XSD:  "http://www.w3.org/2001/XMLSchema",
		XSI:  "http://www.w3.org/2001/XMLSchema-instance",
		Body: body,
	})
	if err == nil {
		err = e.Flush()
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}
