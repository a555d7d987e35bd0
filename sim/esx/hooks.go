package main

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// hooks is registered with the simulator's Map as a RegisterObject handler: the simulator calls it
// synchronously for every Put/Update/Remove, which lets us keep derived state (Network.vm) and the
// datastore files of VM disks right while the simulator's own methods run.
type hooks struct {
	self types.ManagedObjectReference
}

func installHooks() {
	h := &hooks{self: types.ManagedObjectReference{Type: "EsxSimHooks", Value: "esxsim-hooks"}}
	simulator.Map.AddHandler(h)
}

func (h *hooks) Reference() types.ManagedObjectReference { return h.self }

func (h *hooks) PutObject(obj mo.Reference) {
	if obj.Reference().Type == "VirtualMachine" {
		syncNetworkVMs()
	}
}

func (h *hooks) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	if obj.Reference().Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		switch c.Name {
		case "network":
			syncNetworkVMs()
		case "config.hardware.device":
			if vm, ok := obj.(*mo.VirtualMachine); ok {
				fixDiskFiles(vm)
			}
		}
	}
}

func (h *hooks) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type == "VirtualMachine" {
		// the VM is still in the Map while handlers run: drop it explicitly
		removeVMFromNetworks(ref)
	}
}

func removeVMFromNetworks(ref types.ManagedObjectReference) {
	for _, e := range simulator.Map.All("Network") {
		if n, ok := e.(*mo.Network); ok {
			for _, r := range n.Vm {
				if r == ref {
					list := append([]types.ManagedObjectReference(nil), n.Vm...)
					simulator.RemoveReference(&list, ref)
					simulator.Map.Update(n, []types.PropertyChange{{Name: "vm", Val: list}})
					break
				}
			}
		}
	}
}
