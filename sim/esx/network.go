package main

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// networkSystem replaces the simulator's HostNetworkSystem in the Map (same reference) to behave like a
// real host: a Network managed object per port group that is listed in HostSystem.network (and whose
// host/vm lists are kept), UpdatePortGroup, and RemovePortGroup refusing port groups VMs still use.
// It embeds the simulator's object by value: the property collector digs the mo type out of field 0.
type networkSystem struct {
	simulator.HostNetworkSystem
}

func installNetworkSystem() {
	for _, h := range simulator.Map.All("HostSystem") {
		host := h.(*simulator.HostSystem)
		orig, ok := simulator.Map.Get(host.ConfigManager.NetworkSystem.Reference()).(*simulator.HostNetworkSystem)
		if !ok {
			continue
		}
		s := &networkSystem{HostNetworkSystem: *orig}
		simulator.Map.Put(s)
		// Port groups that exist from the start ("VM Network") get the same treatment.
		for _, pg := range s.NetworkInfo.Portgroup {
			if n := s.networkByName(pg.Spec.Name); n != nil {
				s.linkNetwork(n)
			}
		}
		s.syncHostConfig()
	}
	syncNetworkVMs()
}

// networkByName finds the Network entity of a port group in the host's datacenter.
func (s *networkSystem) networkByName(name string) *mo.Network {
	for _, e := range simulator.Map.All("Network") {
		if n, ok := e.(*mo.Network); ok && n.Name == name {
			return n
		}
	}
	return nil
}

func (s *networkSystem) linkNetwork(n *mo.Network) {
	simulator.Map.AddReference(s.Host, &s.Host.Network, n.Self)
	simulator.Map.Update(n, []types.PropertyChange{{Name: "host", Val: []types.ManagedObjectReference{s.Host.Self}}})
}

// syncHostConfig mirrors the network system's port groups and vSwitches into HostSystem.config.network.
func (s *networkSystem) syncHostConfig() {
	if s.Host.Config == nil || s.Host.Config.Network == nil {
		return
	}
	simulator.Map.WithLock(s.Host, func() {
		s.Host.Config.Network.Portgroup = append([]types.HostPortGroup(nil), s.NetworkInfo.Portgroup...)
		s.Host.Config.Network.Vswitch = append([]types.HostVirtualSwitch(nil), s.NetworkInfo.Vswitch...)
	})
}

func (s *networkSystem) vswitch(name string) *types.HostVirtualSwitch {
	for i := range s.NetworkInfo.Vswitch {
		if s.NetworkInfo.Vswitch[i].Name == name {
			return &s.NetworkInfo.Vswitch[i]
		}
	}
	return nil
}

func (s *networkSystem) portgroupIndex(name string) int {
	for i, pg := range s.NetworkInfo.Portgroup {
		if pg.Spec.Name == name {
			return i
		}
	}
	return -1
}

func removeString(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// AddPortGroup: the simulator's, plus the Network object in HostSystem.network and the port group's
// vSwitch key.
func (s *networkSystem) AddPortGroup(ctx *simulator.Context, c *types.AddPortGroup) soap.HasFault {
	res := s.HostNetworkSystem.AddPortGroup(ctx, c)
	if res.Fault() != nil {
		return res
	}
	if i := s.portgroupIndex(c.Portgrp.Name); i >= 0 {
		s.NetworkInfo.Portgroup[i].Vswitch = "key-vim.host.VirtualSwitch-" + c.Portgrp.VswitchName
	}
	if n := s.networkByName(c.Portgrp.Name); n != nil {
		s.linkNetwork(n)
	}
	s.syncHostConfig()
	return res
}

// portgroupUsers lists the VMs with a NIC backed by the named port group.
func portgroupUsers(name string) []types.ManagedObjectReference {
	var out []types.ManagedObjectReference
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if vm.Config == nil {
			continue
		}
		for _, d := range vm.Config.Hardware.Device {
			nic, ok := d.(types.BaseVirtualEthernetCard)
			if !ok {
				continue
			}
			if b, ok := nic.GetVirtualEthernetCard().Backing.(*types.VirtualEthernetCardNetworkBackingInfo); ok && b.DeviceName == name {
				out = append(out, vm.Self)
				break
			}
		}
	}
	return out
}

// RemovePortGroup fails with ResourceInUse while a VM uses the port group (as a real host does), and
// also drops the Network from HostSystem.network.
func (s *networkSystem) RemovePortGroup(ctx *simulator.Context, c *types.RemovePortGroup) soap.HasFault {
	if s.portgroupIndex(c.PgName) >= 0 {
		if users := portgroupUsers(c.PgName); len(users) > 0 {
			return &methods.RemovePortGroupBody{Fault_: simulator.Fault(
				"The resource '"+c.PgName+"' is in use.",
				&types.ResourceInUse{Type: "Network", Name: c.PgName},
			)}
		}
	}
	n := s.networkByName(c.PgName)
	res := s.HostNetworkSystem.RemovePortGroup(ctx, c)
	if res.Fault() != nil {
		return res
	}
	if n != nil {
		simulator.Map.RemoveReference(s.Host, &s.Host.Network, n.Self)
	}
	s.syncHostConfig()
	return res
}

// UpdatePortGroup changes a port group's spec (VLAN, vSwitch, policy, and its name) in place.
func (s *networkSystem) UpdatePortGroup(ctx *simulator.Context, c *types.UpdatePortGroup) soap.HasFault {
	body := &methods.UpdatePortGroupBody{}
	i := s.portgroupIndex(c.PgName)
	if i < 0 {
		body.Fault_ = simulator.Fault("", &types.NotFound{})
		return body
	}
	spec := c.Portgrp
	if spec.Name == "" {
		spec.Name = c.PgName
	}
	if spec.VswitchName == "" {
		spec.VswitchName = s.NetworkInfo.Portgroup[i].Spec.VswitchName
	}
	if spec.VlanId < 0 || spec.VlanId > 4095 {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "portgrp.vlanId"})
		return body
	}
	to := s.vswitch(spec.VswitchName)
	if to == nil {
		body.Fault_ = simulator.Fault("", &types.NotFound{})
		return body
	}
	if spec.Name != c.PgName {
		if s.portgroupIndex(spec.Name) >= 0 {
			body.Fault_ = simulator.Fault("", &types.AlreadyExists{Name: spec.Name})
			return body
		}
		if users := portgroupUsers(c.PgName); len(users) > 0 {
			body.Fault_ = simulator.Fault("", &types.ResourceInUse{Type: "Network", Name: c.PgName})
			return body
		}
	}
	// move the name between / within vSwitches
	for j := range s.NetworkInfo.Vswitch {
		s.NetworkInfo.Vswitch[j].Portgroup = removeString(s.NetworkInfo.Vswitch[j].Portgroup, c.PgName)
	}
	to = s.vswitch(spec.VswitchName)
	to.Portgroup = append(to.Portgroup, spec.Name)

	pg := &s.NetworkInfo.Portgroup[i]
	pg.Spec = spec
	pg.Key = "key-vim.host.PortGroup-" + spec.Name
	pg.Vswitch = "key-vim.host.VirtualSwitch-" + spec.VswitchName

	if spec.Name != c.PgName {
		if n := s.networkByName(c.PgName); n != nil {
			simulator.Map.Update(n, []types.PropertyChange{{Name: "name", Val: spec.Name}})
			n.Summary = nil
			simulator.Map.Update(n, []types.PropertyChange{{Name: "summary", Val: &types.NetworkSummary{
				Network: &n.Self, Name: spec.Name, Accessible: true,
			}}})
		}
	}
	s.syncHostConfig()
	body.Res = &types.UpdatePortGroupResponse{}
	return body
}

// syncNetworkVMs recomputes every Network's vm list from the VMs' network lists.
func syncNetworkVMs() {
	users := map[types.ManagedObjectReference][]types.ManagedObjectReference{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		for _, n := range vm.Network {
			users[n] = append(users[n], vm.Self)
		}
	}
	for _, e := range simulator.Map.All("Network") {
		n, ok := e.(*mo.Network)
		if !ok {
			continue
		}
		want := users[n.Self]
		if !sameRefs(n.Vm, want) {
			simulator.Map.Update(n, []types.PropertyChange{{Name: "vm", Val: want}})
		}
	}
}

func sameRefs(a, b []types.ManagedObjectReference) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[types.ManagedObjectReference]int{}
	for _, r := range a {
		seen[r]++
	}
	for _, r := range b {
		if seen[r] == 0 {
			return false
		}
		seen[r]--
	}
	return true
}
