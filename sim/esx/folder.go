package main

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// folderHandler serves datastore files at /folder/<path>?dcPath=ha-datacenter&dsName=<ds> like a host:
// a logged-in session cookie is required (401 otherwise), GET/HEAD of a missing file is 404, PUT answers
// 201 (new) or 200 (replaced) and writes aligned 64 KiB runs of zeros as holes, DELETE answers 204.
// Directory listings are left to the simulator.
type folderHandler struct {
	sdk  http.Handler // for session checks
	next http.Handler // the simulator's /folder handler
}

func (h *folderHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !sessionValid(h.sdk, r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		http.Error(w, "session cookie required", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	if dc := q.Get("dcPath"); dc != "" && dc != "ha-datacenter" {
		http.Error(w, "no such datacenter", http.StatusNotFound)
		return
	}
	dirs := datastoreDirs()
	root, ok := dirs[q.Get("dsName")]
	if !ok {
		http.Error(w, "no such datastore", http.StatusNotFound)
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, "/folder")
	clean := path.Clean("/" + rel)
	if clean == "/" {
		h.next.ServeHTTP(w, r)
		return
	}
	file := filepath.Join(root, filepath.FromSlash(clean))

	switch r.Method {
	case http.MethodGet, http.MethodHead:
		st, err := os.Stat(file)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if st.IsDir() {
			h.next.ServeHTTP(w, r)
			return
		}
		f, err := os.Open(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", st.ModTime(), f)
	case http.MethodPut, http.MethodPost:
		st, err := os.Stat(file)
		existed := err == nil
		if existed && st.IsDir() {
			http.Error(w, "is a directory", http.StatusConflict)
			return
		}
		if existed && r.Method == http.MethodPost {
			w.WriteHeader(http.StatusConflict)
			return
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, cerr := copySparse(f, r.Body)
		if err := f.Close(); cerr == nil {
			cerr = err
		}
		if cerr != nil {
			http.Error(w, cerr.Error(), http.StatusInternalServerError)
			return
		}
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	case http.MethodDelete:
		st, err := os.Stat(file)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if st.IsDir() {
			err = os.RemoveAll(file)
		} else {
			err = os.Remove(file)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, POST, DELETE")
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}
