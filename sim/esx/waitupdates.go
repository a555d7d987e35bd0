package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// WaitForUpdatesEx without the stock simulator's 250 ms accumulation ticker (property_collector.go), which
// would dominate any measurement of how fast a client notices a finished task (a real host answers as soon
// as a change is there). For property collectors whose filters we saw created, esxsim answers
// WaitForUpdatesEx itself: it keeps the last result per collector, and on every change of any managed
// object (a Map handler wakes the waiters at once) collects the filters' specs again with the simulator's
// own RetrievePropertiesEx and reports the difference (enter / modify with the changed properties / leave).
// Collectors without a filter seen here (created before, or partialUpdates) go to the simulator unchanged.

type waitState struct {
	specs   []types.PropertyFilterSpec
	filters []types.ManagedObjectReference
	version int
	// last collected values: object -> property path -> value
	snap map[types.ManagedObjectReference]map[string]types.AnyType
	busy sync.Mutex
}

type fastWaiter struct {
	mu      sync.Mutex
	byPC    map[string]*waitState
	changed chan struct{}
	self    types.ManagedObjectReference
	off     bool
}

var fastWait = &fastWaiter{
	byPC:    map[string]*waitState{},
	changed: make(chan struct{}),
	self:    types.ManagedObjectReference{Type: "EsxSimFastWait", Value: "esxsim-fastwait"},
}

var filterRefRe = regexp.MustCompile(`<returnval type="PropertyFilter">([^<]+)</returnval>`)

// installFastWait: ESXSIM_STOCK_WAIT=1 keeps the stock collector (for reference measurements).
func installFastWait() {
	if os.Getenv("ESXSIM_STOCK_WAIT") == "1" {
		fastWait.off = true
		return
	}
	simulator.Map.AddHandler(fastWait)
}

// Map handler: any change wakes every waiter (they re-collect and compare).
func (f *fastWaiter) Reference() types.ManagedObjectReference           { return f.self }
func (f *fastWaiter) PutObject(mo.Reference)                            { f.wake() }
func (f *fastWaiter) UpdateObject(mo.Reference, []types.PropertyChange) { f.wake() }
func (f *fastWaiter) RemoveObject(types.ManagedObjectReference)         { f.wake() }
func (f *fastWaiter) wake() {
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fastWaiter) signal() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// handle answers CreateFilter (recording the spec) and WaitForUpdatesEx; false: not ours, pass it on.
func (f *fastWaiter) handle(ic *interceptor, w http.ResponseWriter, r *http.Request, method *simulator.Method, pass func(http.ResponseWriter)) bool {
	if f.off {
		return false
	}
	switch req := method.Body.(type) {
	case *types.CreateFilter:
		if req.PartialUpdates {
			return false
		}
		rec := httptest.NewRecorder()
		pass(rec)
		if m := filterRefRe.FindSubmatch(rec.Body.Bytes()); rec.Code == http.StatusOK && m != nil {
			f.mu.Lock()
			st := f.byPC[req.This.Value]
			if st == nil {
				st = &waitState{}
				f.byPC[req.This.Value] = st
			}
			st.specs = append(st.specs, req.Spec)
			st.filters = append(st.filters, types.ManagedObjectReference{Type: "PropertyFilter", Value: string(m[1])})
			f.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return true
	case *types.DestroyPropertyCollector:
		f.mu.Lock()
		delete(f.byPC, req.This.Value)
		f.mu.Unlock()
		return false
	case *types.WaitForUpdatesEx:
		f.mu.Lock()
		st := f.byPC[req.This.Value]
		f.mu.Unlock()
		if st == nil || !sessionValid(ic.sdk, r) {
			return false
		}
		ic.sleep(method.Name)
		writeSOAP(w, &methods.WaitForUpdatesExBody{Res: &types.WaitForUpdatesExResponse{Returnval: st.wait(r, req)}})
		return true
	}
	return false
}

func collectSpecs(specs []types.PropertyFilterSpec) map[types.ManagedObjectReference]map[string]types.AnyType {
	ctx := &simulator.Context{Session: &simulator.Session{Registry: simulator.NewRegistry()}, Map: simulator.Map}
	pc := simulator.NewPropertyCollector(types.ManagedObjectReference{Type: "PropertyCollector", Value: "esxsim-fastwait"}).(*simulator.PropertyCollector)
	out := map[types.ManagedObjectReference]map[string]types.AnyType{}
	for _, spec := range specs {
		res := pc.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{SpecSet: []types.PropertyFilterSpec{spec}})
		body, ok := res.(*methods.RetrievePropertiesExBody)
		if !ok || body.Res == nil || body.Res.Returnval == nil {
			continue
		}
		for _, o := range body.Res.Returnval.Objects {
			props := out[o.Obj]
			if props == nil {
				props = map[string]types.AnyType{}
				out[o.Obj] = props
			}
			for _, p := range o.PropSet {
				props[p.Name] = p.Val
			}
		}
	}
	return out
}

// diff turns old -> new snapshots into object updates (one filter update per recorded filter is enough for
// clients: they key on objects, and esxsim's collectors here have one filter each).
func diffSnap(old, cur map[types.ManagedObjectReference]map[string]types.AnyType) []types.ObjectUpdate {
	var out []types.ObjectUpdate
	for ref, props := range cur {
		prev, had := old[ref]
		ou := types.ObjectUpdate{Obj: ref, Kind: types.ObjectUpdateKindModify}
		if !had {
			ou.Kind = types.ObjectUpdateKindEnter
		}
		for name, val := range props {
			if pv, ok := prev[name]; had && ok && reflect.DeepEqual(pv, val) {
				continue
			}
			ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpAssign, Val: val})
		}
		for name := range prev {
			if _, ok := props[name]; !ok {
				ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpRemove})
			}
		}
		if !had || len(ou.ChangeSet) > 0 {
			out = append(out, ou)
		}
	}
	for ref := range old {
		if _, ok := cur[ref]; !ok {
			out = append(out, types.ObjectUpdate{Obj: ref, Kind: types.ObjectUpdateKindLeave})
		}
	}
	return out
}

// wait answers one WaitForUpdatesEx: nil (no change) when MaxWaitSeconds pass, or the client goes away.
func (st *waitState) wait(r *http.Request, req *types.WaitForUpdatesEx) *types.UpdateSet {
	st.busy.Lock()
	defer st.busy.Unlock()
	maxWait := 10 * time.Minute
	once := false
	if req.Options != nil && req.Options.MaxWaitSeconds != nil {
		once = *req.Options.MaxWaitSeconds == 0
		if *req.Options.MaxWaitSeconds > 0 {
			maxWait = time.Duration(*req.Options.MaxWaitSeconds) * time.Second
		}
	}
	if req.Version == "" || st.snap == nil || req.Version != strconv.Itoa(st.version) {
		// a new (or out of step) client: everything is new to it
		st.snap = map[types.ManagedObjectReference]map[string]types.AnyType{}
	}
	deadline := time.NewTimer(maxWait)
	defer deadline.Stop()
	for {
		woke := fastWait.signal() // taken before collecting: a change during the collect is not missed
		cur := collectSpecs(st.specs)
		if ups := diffSnap(st.snap, cur); len(ups) > 0 || req.Version == "" {
			st.snap = cur
			st.version++
			set := &types.UpdateSet{Version: strconv.Itoa(st.version)}
			if len(ups) > 0 {
				set.FilterSet = []types.PropertyFilterUpdate{{Filter: st.filters[0], ObjectSet: ups}}
			}
			return set
		}
		if once {
			return nil
		}
		select {
		case <-woke:
		case <-time.After(time.Second): // changes that bypass the Map's handlers
		case <-deadline.C:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}
