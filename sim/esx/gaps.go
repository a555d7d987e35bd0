package main

import (
	"encoding/json"
	"net/http"

	"github.com/vmware/govmomi/simulator"
)

// installGaps closes the simulator's gaps that a real host does not have (see README.md).
func installGaps(model *simulator.Model) {
	installNetworkSystem()
	installDiskManager(model)
	installHooks()
	installSnapshots(model)
	installFastWait()
	installTools()
}

// datastoreDirs maps each datastore's name to its local directory.
func datastoreDirs() map[string]string {
	out := map[string]string{}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		out[ds.Name] = ds.Info.GetDatastoreInfo().Url
	}
	return out
}

// wrapHandler puts our own routes in front of the simulator's mux: the control endpoints under /_sim/ and
// session bookkeeping. The server is started but nobody knows its port yet, so swapping is safe.
func wrapHandler(server *simulator.Server, model *simulator.Model) {
	mux := model.Service.ServeMux
	tracker := newSessionTracker()
	own := http.NewServeMux()
	own.HandleFunc("/_sim/expire-sessions", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		n := tracker.terminateAll()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"terminated": n})
	})
	ic := &interceptor{sdk: mux, delay: &model.DelayConfig}
	own.HandleFunc("/sdk", ic.serveSDK)
	own.HandleFunc("/sdk/vimService", ic.serveSDK)
	own.Handle("/folder/", &folderHandler{sdk: mux, next: mux})
	own.Handle("/", mux)
	server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		own.ServeHTTP(&recordingWriter{ResponseWriter: w, t: tracker}, r)
	})
}
