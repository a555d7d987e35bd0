// Command esxsim runs VMware's govmomi ESX simulator (a standalone host, "ha-datacenter") on 127.0.0.1 for
// the pulumi-esx tests, with the gaps a real host does not have closed (see README.md).
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

type options struct {
	port        int
	tls         bool
	expiredCert bool
	username    string
	password    string
	delay       int
	methodDelay string
	jitter      float64
	state       string
	vms         int
	stdinEOF    bool
	trace       bool
}

// State is what the simulator publishes once it listens (state file and the READY line).
type State struct {
	URL              string            `json:"url"`
	Host             string            `json:"host"`
	Username         string            `json:"username"`
	Password         string            `json:"password"`
	ThumbprintSha1   string            `json:"thumbprintSha1,omitempty"`
	ThumbprintSha256 string            `json:"thumbprintSha256,omitempty"`
	Pid              int               `json:"pid"`
	Datastores       map[string]string `json:"datastores"`
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("esxsim", flag.ContinueOnError)
	fs.IntVar(&o.port, "port", 0, "TCP port on 127.0.0.1 (0 = a free port)")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS with a self-signed certificate generated at start")
	fs.BoolVar(&o.expiredCert, "expired-cert", false, "with -tls: a certificate whose validity ended yesterday (implies -tls)")
	fs.StringVar(&o.username, "username", "root", "the only user name Login accepts")
	fs.StringVar(&o.password, "password", "", "the only password Login accepts (default: random)")
	fs.IntVar(&o.delay, "delay", 0, "delay every SOAP method by this many ms")
	fs.StringVar(&o.methodDelay, "method-delay", "", "per-method delays in ms, e.g. 'CreateVM_Task=300,PowerOnVM_Task=200'")
	fs.Float64Var(&o.jitter, "jitter", 0, "delay jitter as a coefficient of variation (stddev/mean)")
	fs.StringVar(&o.state, "state", "", "write the state JSON to this file (atomically) once listening")
	fs.IntVar(&o.vms, "vms", 0, "number of VMs the host starts with")
	fs.BoolVar(&o.stdinEOF, "exit-on-stdin-eof", true, "exit when stdin reaches end of file (parent died)")
	fs.BoolVar(&o.trace, "trace", false, "write SOAP traffic to stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.expiredCert {
		o.tls = true
	}
	if o.password == "" {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		o.password = hex.EncodeToString(b)
	}
	if o.username == "" {
		return nil, fmt.Errorf("-username must not be empty")
	}
	return o, nil
}

func parseMethodDelays(s string) (map[string]int, error) {
	m := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kv := strings.SplitN(part, "=", 2)
		if len(kv) != 2 {
			return nil, fmt.Errorf("bad -method-delay entry %q (want Method=ms)", part)
		}
		ms, err := strconv.Atoi(strings.TrimSpace(kv[1]))
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("bad -method-delay entry %q (want Method=ms)", part)
		}
		m[strings.TrimSpace(kv[0])] = ms
	}
	return m, nil
}

// Sim is a running simulator.
type Sim struct {
	Model  *simulator.Model
	Server *simulator.Server
	State  State
}

// Start creates the ESX model, closes the gaps (see gaps.go) and serves it.
func Start(o *options) (*Sim, error) {
	delays, err := parseMethodDelays(o.methodDelay)
	if err != nil {
		return nil, err
	}
	simulator.Trace = o.trace

	model := simulator.ESX()
	model.Machine = o.vms
	model.Autostart = false
	if err := model.Create(); err != nil {
		return nil, err
	}
	model.DelayConfig.Delay = o.delay
	model.DelayConfig.MethodDelay = delays
	model.DelayConfig.DelayJitter = o.jitter

	installGaps(model)

	model.Service.Listen = &url.URL{
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port)),
		User: url.UserPassword(o.username, o.password),
	}
	st := State{Username: o.username, Password: o.password, Pid: os.Getpid(), Datastores: datastoreDirs()}
	if o.tls {
		cert, err := selfSignedCert(o.expiredCert)
		if err != nil {
			model.Remove()
			return nil, err
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		st.ThumbprintSha1, st.ThumbprintSha256 = thumbprints(cert.Certificate[0])
	}
	server := model.Service.NewServer()
	wrapHandler(server, model)

	st.Host = server.URL.Host
	u := url.URL{Scheme: server.URL.Scheme, Host: server.URL.Host, Path: server.URL.Path}
	st.URL = u.String()
	return &Sim{Model: model, Server: server, State: st}, nil
}

// Stop closes the server and removes the datastore directories.
func (s *Sim) Stop() {
	s.Server.Close()
	s.Model.Remove()
}

func writeState(path string, st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := ioutil.TempFile(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func main() {
	log.SetPrefix("esxsim: ")
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "esxsim:", err)
		os.Exit(2)
	}
	sim, err := Start(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "esxsim: start:", err)
		os.Exit(1)
	}

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		s := <-sigs
		log.Printf("stopping on %s", s)
		cancel()
	}()
	if o.stdinEOF {
		go func() {
			_, _ = io.Copy(ioutil.Discard, os.Stdin)
			log.Printf("stopping: stdin closed")
			cancel()
		}()
	}

	if o.state != "" {
		if err := writeState(o.state, sim.State); err != nil {
			sim.Stop()
			fmt.Fprintln(os.Stderr, "esxsim: state file:", err)
			os.Exit(1)
		}
	}
	line, _ := json.Marshal(sim.State)
	fmt.Printf("ESXSIM READY %s\n", line)

	<-ctx.Done()
	sim.Stop()
	if o.state != "" {
		_ = os.Remove(o.state)
	}
}
