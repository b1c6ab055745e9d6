// Command vistack-vcsim is vistack's embedded vCenter: govmomi's simulator
// (Debian package golang-github-vmware-govmomi-dev) with a model shaped like a
// small OpenStack deployment, realistic host capacity, verified TLS, and a few
// fixes and additions that let pyVmomi drivers run against it unchanged.
//
// It prints one JSON "ready" line on stdout once it accepts connections, logs
// to stderr, and on SIGTERM/SIGINT stops serving, removes the model's temp
// datastore directories (never those under -datastore-root) and exits 0. See
// docs/vsphere.md for the flags, the ready line and what the simulator cannot
// prove.
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type options struct {
	clusters         int
	hostsPerCluster  int
	standaloneHosts  int
	datastores       int
	portgroups       int
	vms              int
	hostCPUCores     int
	hostCPUMHz       int
	hostMemoryGiB    int
	datacenter       string
	listen           string
	username         string
	password         string
	enforceLogin     bool
	tlsCert          string
	tlsKey           string
	tlsGenerate      string
	delay            int
	methodDelay      map[string]int
	delayJitter      float64
	sessionIdle      time.Duration
	trace            bool
	shutdownDeadline time.Duration
	datastoreRoot    string
}

// ready is the one machine-readable line on stdout. Field order is the
// documented order (docs/vsphere.md); optional fields are omitted when empty.
type ready struct {
	Event           string   `json:"event"`
	URL             string   `json:"url"`
	Host            string   `json:"host"`
	Port            int      `json:"port"`
	Protocol        string   `json:"protocol"`
	Username        string   `json:"username"`
	Password        string   `json:"password"`
	LoginEnforced   bool     `json:"login_enforced"`
	Thumbprint      string   `json:"thumbprint,omitempty"`
	CAFile          string   `json:"ca_file,omitempty"`
	CertFile        string   `json:"cert_file,omitempty"`
	KeyFile         string   `json:"key_file,omitempty"`
	APIVersion      string   `json:"api_version"`
	Datacenter      string   `json:"datacenter"`
	Clusters        []string `json:"clusters"`
	Hosts           []string `json:"hosts"`
	StandaloneHosts []string `json:"standalone_hosts"`
	Datastores      []string `json:"datastores"`
	DVS             string   `json:"dvs,omitempty"`
	Portgroups      []string `json:"portgroups"`
	VMs             int      `json:"vms"`
	TempDirs        []string `json:"temp_dirs"`
	DatastoreRoot   string   `json:"datastore_root,omitempty"`
	DatastoreDirs   []string `json:"datastore_dirs"`
	OrphanedDirs    []string `json:"orphaned_dirs,omitempty"`
	PID             int      `json:"pid"`
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("vistack-vcsim: ")

	opt, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vistack-vcsim:", err)
		os.Exit(2)
	}
	if err := run(opt); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	opt := &options{}
	fs := flag.NewFlagSet("vistack-vcsim", flag.ContinueOnError)
	fs.IntVar(&opt.clusters, "clusters", 2, "clusters in the datacenter")
	fs.IntVar(&opt.hostsPerCluster, "hosts-per-cluster", 3, "ESXi hosts per cluster")
	fs.IntVar(&opt.standaloneHosts, "standalone-hosts", 0, "standalone ESXi hosts (outside any cluster)")
	fs.IntVar(&opt.datastores, "datastores", 2, "local datastores, each mounted on every host")
	fs.IntVar(&opt.portgroups, "portgroups", 1, "distributed port groups on DVS0 besides its uplink port group (0: no DVS)")
	fs.IntVar(&opt.vms, "vms", 0, "powered-on VMs per cluster root pool and per standalone host")
	fs.IntVar(&opt.hostCPUCores, "host-cpu-cores", 32, "CPU cores per host (threads = cores)")
	fs.IntVar(&opt.hostCPUMHz, "host-cpu-mhz", 2600, "MHz per core")
	fs.IntVar(&opt.hostMemoryGiB, "host-memory-gib", 256, "memory per host in GiB")
	fs.StringVar(&opt.datacenter, "datacenter", "DC0", "datacenter name (other inventory names keep their DC0_ prefix)")
	fs.StringVar(&opt.listen, "listen", "127.0.0.1:0", "address to serve on (port 0: any free port)")
	fs.StringVar(&opt.username, "username", "vistack", "login user; enforced together with -password when either is given")
	fs.StringVar(&opt.password, "password", "vistack", "login password; enforced together with -username when either is given")
	fs.StringVar(&opt.tlsCert, "tls-cert", "", "PEM certificate to serve https with (needs -tls-key)")
	fs.StringVar(&opt.tlsKey, "tls-key", "", "PEM private key for -tls-cert")
	fs.StringVar(&opt.tlsGenerate, "tls-generate", "", "serve https with a self-signed cert kept in this dir (generated unless a valid one is there)")
	fs.IntVar(&opt.delay, "delay", 0, "milliseconds added to every SOAP call")
	methodDelay := fs.String("method-delay", "", "extra milliseconds per method, e.g. CloneVM_Task:500,PowerOnVM_Task:200")
	fs.Float64Var(&opt.delayJitter, "delay-jitter", 0, "delay jitter as a coefficient of variation (stddev/mean)")
	fs.DurationVar(&opt.sessionIdle, "session-idle-timeout", 0, "expire sessions idle this long (0: never)")
	fs.BoolVar(&opt.trace, "trace", false, "write SOAP requests and responses to stderr")
	fs.DurationVar(&opt.shutdownDeadline, "shutdown-timeout", 5*time.Second, "how long SIGTERM waits for calls in flight")
	fs.StringVar(&opt.datastoreRoot, "datastore-root", "", "back each datastore by DIR/<datastore name>, kept across restarts (default: temp dirs removed on exit)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "username" || f.Name == "password" {
			opt.enforceLogin = true
		}
	})

	var err error
	if opt.methodDelay, err = parseMethodDelay(*methodDelay); err != nil {
		return nil, err
	}

	switch {
	case opt.clusters < 0, opt.hostsPerCluster < 0, opt.standaloneHosts < 0, opt.datastores < 0,
		opt.portgroups < 0, opt.vms < 0, opt.delay < 0, opt.delayJitter < 0, opt.sessionIdle < 0:
		return nil, fmt.Errorf("counts, delays and timeouts must not be negative")
	case opt.clusters*opt.hostsPerCluster+opt.standaloneHosts == 0:
		return nil, fmt.Errorf("the model needs at least one host")
	case opt.vms > 0 && opt.datastores == 0:
		return nil, fmt.Errorf("-vms needs at least one datastore")
	case opt.hostCPUCores < 1 || opt.hostCPUCores > 4096:
		return nil, fmt.Errorf("-host-cpu-cores must be 1..4096")
	case opt.hostCPUMHz < 1 || opt.hostCPUMHz > 100000:
		return nil, fmt.Errorf("-host-cpu-mhz must be 1..100000")
	case opt.hostMemoryGiB < 1 || opt.hostMemoryGiB > 1<<20:
		return nil, fmt.Errorf("-host-memory-gib must be 1..1048576")
	case strings.TrimSpace(opt.datacenter) == "" || strings.ContainsAny(opt.datacenter, "/%"):
		return nil, fmt.Errorf("-datacenter must be a non-empty name without '/' or '%%'")
	case opt.username == "" || opt.password == "":
		return nil, fmt.Errorf("-username and -password must not be empty (vCenter rejects empty credentials)")
	case (opt.tlsCert == "") != (opt.tlsKey == ""):
		return nil, fmt.Errorf("-tls-cert and -tls-key go together")
	case opt.tlsCert != "" && opt.tlsGenerate != "":
		return nil, fmt.Errorf("use either -tls-cert/-tls-key or -tls-generate")
	case opt.datastoreRoot != "" && opt.vms > 0:
		// The model builds its VMs inside Model.Create, in the temp dirs,
		// before the launcher can point the datastores elsewhere.
		return nil, fmt.Errorf("-vms cannot be combined with -datastore-root")
	}
	if opt.datastoreRoot != "" {
		if opt.datastoreRoot, err = filepath.Abs(opt.datastoreRoot); err != nil {
			return nil, fmt.Errorf("-datastore-root: %w", err)
		}
	}
	return opt, nil
}

// parseMethodDelay reads "CloneVM_Task:500,PowerOnVM_Task:200".
func parseMethodDelay(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, ms, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(strings.TrimSpace(ms))
		if !ok || strings.TrimSpace(name) == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("-method-delay: want Method:milliseconds, got %q", item)
		}
		out[strings.TrimSpace(name)] = n
	}
	return out, nil
}

func run(opt *options) error {
	// Catch SIGTERM/SIGINT from the start: one that arrives while the model
	// is being built is handled after the ready line, with the clean-up.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)

	simulator.Trace = opt.trace
	simulator.SessionIdleTimeout = opt.sessionIdle

	// Host capacity comes from package-level templates that every new
	// HostSystem copies, so it must be raised before Model.Create.
	setHostHardware(opt.hostCPUCores, opt.hostCPUMHz, opt.hostMemoryGiB)

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = opt.clusters
	model.ClusterHost = opt.hostsPerCluster
	model.Host = opt.standaloneHosts
	model.Datastore = opt.datastores
	model.Portgroup = opt.portgroups
	model.Machine = opt.vms
	model.Pool = 0
	model.Autostart = true
	// Create() switches the delays on only after the inventory is built.
	model.DelayConfig = simulator.DelayConfig{
		Delay:       opt.delay,
		MethodDelay: opt.methodDelay,
		DelayJitter: opt.delayJitter,
	}

	if opt.datastoreRoot != "" {
		lock, err := lockDatastoreRoot(opt.datastoreRoot)
		if err != nil {
			return err
		}
		defer lock.Close()
	}

	// From here on, temp dirs exist: remove them on every way out.
	// Model.Remove deletes only the dirs Model.Create made, never DIR/<name>.
	defer model.Remove()
	if err := model.Create(); err != nil {
		return fmt.Errorf("creating the model: %w", err)
	}

	var orphaned []string
	if opt.datastoreRoot != "" {
		dirs, err := useDatastoreRoot(opt.datastoreRoot)
		if err != nil {
			return err
		}
		if orphaned, err = orphanVMFolders(dirs); err != nil {
			return err
		}
	}

	dcName, err := fixInventory(opt.datacenter)
	if err != nil {
		return err
	}

	var tlsCfg *tls.Config
	var certInfo *certInfo
	switch {
	case opt.tlsCert != "":
		certInfo, err = loadCert(opt.tlsCert, opt.tlsKey)
	case opt.tlsGenerate != "":
		certInfo, err = ensureSelfSigned(opt.tlsGenerate)
	}
	if err != nil {
		return err
	}
	if certInfo != nil {
		tlsCfg = &tls.Config{
			Certificates: []tls.Certificate{certInfo.pair},
			MinVersion:   tls.VersionTLS12,
			// SessionManager.LoginExtensionByCertificate reads the client
			// certificate when one is offered; nothing requires one.
			ClientAuth: tls.RequestClientCert,
		}
	}

	ext := registerExtensions(&model.DelayConfig)

	var login *url.Userinfo
	if opt.enforceLogin {
		// A Listen.User other than DefaultLogin makes the SessionManager
		// accept exactly this pair, as vCenter accepts only real accounts.
		login = url.UserPassword(opt.username, opt.password)
	} else {
		// Stock behaviour: any non-empty pair logs in; the defaults are
		// advertised on the ready line.
		simulator.DefaultLogin = url.UserPassword(opt.username, opt.password)
		login = simulator.DefaultLogin
	}

	// NewServer wires the simulator's ServeMux (SOAP, /folder, /nfc, /guestFile,
	// /about) and starts an httptest-style server on a throwaway loopback port.
	// We keep the mux, close that server, and serve the mux ourselves behind
	// the SOAP guard (soap.go): the guard has to sit in front of the handler
	// before the first request, and NewServer gives no hook for that.
	svc := model.Service
	svc.Listen = &url.URL{User: login}
	inner := svc.NewServer()
	mux := inner.Config.Handler
	inner.Close()

	ln, err := net.Listen("tcp", opt.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", opt.listen, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	hostPort := net.JoinHostPort(host, strconv.Itoa(addr.Port))
	sdkURL := &url.URL{Scheme: scheme, Host: hostPort, Path: simulator.Map.Path}
	pointSimulatorAt(svc, sdkURL, login, certInfo)

	server := &http.Server{
		Handler:           newSOAPGuard(mux, ext),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(os.Stderr, "vistack-vcsim: http: ", log.LstdFlags),
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			serveErr <- server.ServeTLS(ln, "", "")
		} else {
			serveErr <- server.Serve(ln)
		}
	}()

	r := readyLine(opt, sdkURL, host, addr.Port, dcName, certInfo, model)
	r.OrphanedDirs = orphaned
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", line); err != nil {
		return err
	}

	select {
	case s := <-sig:
		log.Printf("%s: shutting down", s)
	case err := <-serveErr:
		return fmt.Errorf("serving: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opt.shutdownDeadline)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		log.Printf("shutdown: %v (closing remaining connections)", err)
		_ = server.Close()
	}
	return nil // deferred model.Remove() deletes the datastore temp dirs
}

// pointSimulatorAt makes every place where the simulator advertises its own
// address (session manager, OptionManager, guest file URLs, login check)
// name our listener instead of the throwaway one NewServer started.
func pointSimulatorAt(svc *simulator.Service, u *url.URL, login *url.Userinfo, cert *certInfo) {
	sm := simulator.Map.SessionManager()
	sm.ServiceHostName = u.Host
	if cert != nil {
		der := cert.pair.Certificate[0]
		sm.TLSCert = func() string { return base64.StdEncoding.EncodeToString(der) }
	}

	om := simulator.Map.OptionManager()
	for _, s := range om.Setting {
		opt := s.GetOptionValue()
		v, ok := opt.Value.(string)
		if !ok {
			continue
		}
		if opt.Key == "vcsim.server.url" {
			opt.Value = u.String()
			continue
		}
		if strings.HasSuffix(opt.Key, ".uri") {
			if endpoint, err := url.Parse(v); err == nil {
				endpoint.Scheme = u.Scheme
				endpoint.Host = u.Host
				opt.Value = endpoint.String()
			}
		}
	}

	listen := *u
	listen.User = login
	svc.Listen = &listen
}

func readyLine(opt *options, u *url.URL, host string, port int, dc string, cert *certInfo, model *simulator.Model) *ready {
	r := &ready{
		Event:         "ready",
		URL:           u.String(),
		Host:          host,
		Port:          port,
		Protocol:      u.Scheme,
		Username:      opt.username,
		Password:      opt.password,
		LoginEnforced: opt.enforceLogin,
		APIVersion:    model.ServiceContent.About.ApiVersion,
		Datacenter:    dc,
		PID:           os.Getpid(),
	}
	if cert != nil {
		r.Thumbprint = cert.thumbprint
		r.CAFile = cert.caFile
		r.CertFile = cert.certFile
		r.KeyFile = cert.keyFile
	}

	names := func(kind string, keep func(interface{}) bool) []string {
		out := []string{}
		seen := map[string]bool{}
		for _, e := range simulator.Map.All(kind) {
			if keep != nil && !keep(e) {
				continue
			}
			name := e.Entity().Name
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}
	r.Clusters = names("ClusterComputeResource", nil)
	r.Hosts = names("HostSystem", func(e interface{}) bool {
		h := e.(*simulator.HostSystem)
		return h.Parent != nil && h.Parent.Type == "ClusterComputeResource"
	})
	r.StandaloneHosts = names("HostSystem", func(e interface{}) bool {
		h := e.(*simulator.HostSystem)
		return h.Parent == nil || h.Parent.Type != "ClusterComputeResource"
	})
	r.Datastores = names("Datastore", nil)
	if dvs := names("DistributedVirtualSwitch", nil); len(dvs) > 0 {
		r.DVS = dvs[0]
	}
	r.Portgroups = names("DistributedVirtualPortgroup", func(e interface{}) bool {
		return !isUplinkPortgroup(e.(*simulator.DistributedVirtualPortgroup))
	})
	r.VMs = len(simulator.Map.All("VirtualMachine"))
	r.DatastoreDirs = datastoreDirs()
	r.TempDirs = []string{}
	if opt.datastoreRoot == "" {
		r.TempDirs = r.DatastoreDirs
	} else {
		r.DatastoreRoot = opt.datastoreRoot
	}
	return r
}

// datastoreDirs lists the local directories behind the model's datastores:
// the temp dirs Model.Remove deletes on shutdown, or DIR/<name> with
// -datastore-root.
func datastoreDirs() []string {
	out := []string{}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if info, ok := ds.Info.(*types.LocalDatastoreInfo); ok {
			out = append(out, info.Path)
		} else {
			out = append(out, ds.Info.GetDatastoreInfo().Url)
		}
	}
	sort.Strings(out)
	return out
}
