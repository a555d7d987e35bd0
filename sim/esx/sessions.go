package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// sessionTracker remembers every session key the simulator hands out (its Set-Cookie headers), so that
// the control endpoint can terminate them all: the simulator's session table is private, but its
// SessionManager.TerminateSession works on keys.
type sessionTracker struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func newSessionTracker() *sessionTracker { return &sessionTracker{keys: map[string]struct{}{}} }

func (t *sessionTracker) record(h http.Header) {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == soap.SessionCookieName && c.Value != "" {
			t.mu.Lock()
			t.keys[c.Value] = struct{}{}
			t.mu.Unlock()
		}
	}
}

// terminateAll ends every known session; the next SOAP call with such a cookie answers NotAuthenticated.
func (t *sessionTracker) terminateAll() int {
	t.mu.Lock()
	keys := make([]string, 0, len(t.keys))
	for k := range t.keys {
		keys = append(keys, k)
	}
	t.keys = map[string]struct{}{}
	t.mu.Unlock()

	sm := simulator.Map.SessionManager()
	// TerminateSession refuses the caller's own session; this internal caller has none of the real keys.
	ctx := &simulator.Context{Session: &simulator.Session{UserSession: types.UserSession{Key: "esxsim-control"}}, Map: simulator.Map}
	n := 0
	for _, k := range keys {
		var res soap.HasFault
		simulator.Map.WithLock(sm, func() {
			res = sm.TerminateSession(ctx, &types.TerminateSession{This: sm.Self, SessionId: []string{k}})
		})
		if res.Fault() == nil {
			n++
		}
	}
	return n
}

// recordingWriter captures Set-Cookie headers at WriteHeader time.
type recordingWriter struct {
	http.ResponseWriter
	t       *sessionTracker
	written bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if !w.written {
		w.written = true
		w.t.record(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

const currentTimeEnvelope = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:vim25="urn:vim25">
<soapenv:Body><vim25:CurrentTime><vim25:_this type="ServiceInstance">ServiceInstance</vim25:_this></vim25:CurrentTime></soapenv:Body>
</soapenv:Envelope>`

// sessionValid asks the simulator itself whether the request's session cookie names a live session: it
// sends CurrentTime (which needs a session) through the SOAP handler with the same cookie.
func sessionValid(sdk http.Handler, r *http.Request) bool {
	c, err := r.Cookie(soap.SessionCookieName)
	if err != nil || c.Value == "" {
		return false
	}
	req := httptest.NewRequest(http.MethodPost, "/sdk", bytes.NewBufferString(currentTimeEnvelope))
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("Content-Type", "text/xml")
	req.AddCookie(&http.Cookie{Name: soap.SessionCookieName, Value: c.Value})
	rec := httptest.NewRecorder()
	sdk.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), "NotAuthenticated")
}
