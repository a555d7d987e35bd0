package main

// Guest emulation (ESXSIM_TOOLS=1): the simulator has no guests, so VMware Tools never run and no VM ever reports
// an address. With this switch every powered-on VM behaves as if its guest booted with VMware Tools and the
// pulumi-esx guest tool applied machine.id: guest.toolsRunningStatus becomes guestToolsRunning and guest.ipAddress /
// guest.net report the machine.id addresses (per NIC, by MAC); a powered-off VM reports tools not running and no
// address. ShutdownGuest and RebootGuest then take the branches a real host with Tools takes.

import (
	"os"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func installTools() {
	if os.Getenv("ESXSIM_TOOLS") != "1" {
		return
	}
	go func() {
		for range time.Tick(50 * time.Millisecond) {
			for _, e := range simulator.Map.All("VirtualMachine") {
				if vm, ok := e.(*simulator.VirtualMachine); ok {
					simulator.Map.WithLock(vm, func() { emulateGuest(vm) })
				}
			}
		}
	}()
}

// machineIDAddresses: MAC (lower case) -> IPv4 address from the 2011 machine.id format "mac;ip;mask;gw;bcast;dns#...".
func machineIDAddresses(vm *simulator.VirtualMachine) (map[string]string, string) {
	out := map[string]string{}
	first := ""
	if vm.Config == nil {
		return out, first
	}
	for _, o := range vm.Config.ExtraConfig {
		v := o.GetOptionValue()
		if v.Key != "machine.id" {
			continue
		}
		s, _ := v.Value.(string)
		for _, rec := range strings.Split(s, "#") {
			f := strings.Split(rec, ";")
			if len(f) >= 2 && f[1] != "" {
				out[strings.ToLower(f[0])] = f[1]
				if first == "" {
					first = f[1]
				}
			}
		}
	}
	return out, first
}

func emulateGuest(vm *simulator.VirtualMachine) {
	on := vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
	running := vm.Guest != nil && vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	if on == running {
		return
	}
	if !on {
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
			{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
			{Name: "guest.ipAddress", Val: ""},
			{Name: "guest.net", Val: []types.GuestNicInfo{}},
		})
		return
	}
	byMac, first := machineIDAddresses(vm)
	var nics []types.GuestNicInfo
	for _, d := range vm.Config.Hardware.Device {
		if card, ok := d.(types.BaseVirtualEthernetCard); ok {
			c := card.GetVirtualEthernetCard()
			nic := types.GuestNicInfo{MacAddress: c.MacAddress, Connected: true, DeviceConfigId: c.Key}
			if ip := byMac[strings.ToLower(c.MacAddress)]; ip != "" {
				nic.IpAddress = []string{ip}
			}
			nics = append(nics, nic)
		}
	}
	simulator.Map.Update(vm, []types.PropertyChange{
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
		{Name: "guest.ipAddress", Val: first},
		{Name: "guest.net", Val: nics},
	})
}
