// Command controlplane runs a real Kubernetes control plane for incluster's tests:
// etcd embedded in-process and kube-apiserver from k8s.io/kubernetes, on loopback ports
// that cannot be taken by another process first (the apiserver is handed its bound listener;
// etcd is restarted on new ports if one was taken). It writes everything a client
// needs into --dir:
//
//	ca.crt            the CA that signed the serving certificate (a Pod's ca.crt)
//	admin.token       a system:masters bearer token
//	admin.kubeconfig  a kubeconfig for kubectl using that token
//	cluster.json      {"server": "https://127.0.0.1:PORT", "port": PORT, "etcdUrl": ..., ...}
//
// With --node-ip it serves a real node (see node.go): it then runs inside the node's network
// namespace, and --host-netns names the namespace where it also listens on loopback for the tests.
//
// A start on a directory that already holds a control plane's state (without --node-ip) restarts
// that control plane: it keeps the PKI (the same CA, serving certificate, service-account key and
// tokens, so clients keep trusting it and their tokens stay valid) and etcd's data, and, with
// --port, listens on the same port again if it is free. Otherwise everything is minted afresh.
//
// cluster.json is written once etcd is ready and the apiserver's port is bound; callers then
// poll /readyz. The process exits when its standard input closes (so a parent that dies, even
// by a panic or a kill, takes the control plane with it) or on SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/rest"
	basecompatibility "k8s.io/component-base/compatibility"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

type clusterInfo struct {
	Server     string `json:"server"`
	Port       int    `json:"port"`
	CAFile     string `json:"caFile"`
	AdminToken string `json:"adminTokenFile"`
	Kubeconfig string `json:"kubeconfig"`
	// EtcdURL is etcd's client URL (plain http on loopback), for tests that talk to etcd directly.
	EtcdURL string `json:"etcdUrl"`
	// Node is set with --node-ip: where the node's components find the apiserver and their
	// credentials.
	Node *nodeInfo `json:"node,omitempty"`
}

func main() {
	dir := flag.String("dir", "", "state directory (created; removed on exit with --remove-on-exit)")
	removeOnExit := flag.Bool("remove-on-exit", false, "delete --dir when the process exits")
	nodeIP := flag.String("node-ip", "", "serve a real node at this address (run inside the node's network namespace)")
	hostNetns := flag.String("host-netns", "", "with --node-ip: a network namespace (e.g. /proc/PID/ns/net) where the apiserver and etcd are also reachable on 127.0.0.1")
	preferredPort := flag.Int("port", 0, "the apiserver's port, if it is free (e.g. the port of the control plane this start restarts); otherwise a free one")
	var extraArgs repeated
	flag.Var(&extraArgs, "apiserver-arg", "an extra kube-apiserver flag, appended after the built-in ones, e.g. --apiserver-arg=--watch-cache=false (repeatable; a scalar flag given again overrides the built-in value)")
	flag.Parse()
	if *dir == "" {
		fail("--dir is required")
	}
	var node net.IP
	if *nodeIP != "" {
		if node = net.ParseIP(*nodeIP); node == nil {
			fail("bad --node-ip %q", *nodeIP)
		}
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail("bad --dir: %v", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		fail("cannot create %s: %v", abs, err)
	}
	stop := func(code int) {
		if *removeOnExit {
			os.RemoveAll(abs)
		}
		os.Exit(code)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop(0)
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		stop(0)
	}()

	// Node mode appends the node's tokens to the token file at every start: it always starts afresh.
	pki, kept, err := keptPKI(abs)
	if err != nil {
		fail("reading the kept certificates in %s: %v", abs, err)
	}
	if !kept || node != nil {
		if pki, err = writePKI(abs, node); err != nil {
			fail("writing certificates: %v", err)
		}
	}
	etcdURL, err := startEtcd(filepath.Join(abs, "etcd"))
	if err != nil {
		fail("starting etcd: %v", err)
	}

	// In node mode the apiserver listens on every address of the node's namespace (the node
	// address, for the kubelet and for the `kubernetes` Service's endpoint); otherwise on loopback.
	listenHost := "127.0.0.1"
	if node != nil {
		listenHost = "0.0.0.0"
	}
	listener, err := listen(listenHost, *preferredPort)
	if err != nil {
		fail("binding the apiserver's port: %v", err)
	}
	apiPort := listener.Addr().(*net.TCPAddr).Port
	port, server := apiPort, fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	info := clusterInfo{CAFile: pki.caFile, AdminToken: pki.adminTokenFile, EtcdURL: etcdURL}
	if *hostNetns != "" {
		// The tests live in another namespace: give them loopback addresses there.
		apiForward, err := forwardFrom(*hostNetns, fmt.Sprintf("127.0.0.1:%d", apiPort))
		if err != nil {
			fail("forwarding the apiserver into %s: %v", *hostNetns, err)
		}
		etcdHost, _ := url.Parse(etcdURL)
		etcdForward, err := forwardFrom(*hostNetns, etcdHost.Host)
		if err != nil {
			fail("forwarding etcd into %s: %v", *hostNetns, err)
		}
		port = apiForward.Port
		server = fmt.Sprintf("https://127.0.0.1:%d", port)
		info.EtcdURL = "http://" + etcdForward.String()
	}
	info.Server, info.Port = server, port
	info.Kubeconfig = filepath.Join(abs, "admin.kubeconfig")
	if err := writeKubeconfig(info.Kubeconfig, server, pki.caFile, pki.adminTokenFile); err != nil {
		fail("writing kubeconfig: %v", err)
	}

	args := []string{
		"--bind-address=" + listenHost,
		fmt.Sprintf("--secure-port=%d", apiPort), // the listener's port (the Service endpoint names it)
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(abs, "apiserver-certs"),
		"--tls-cert-file=" + pki.servingCertFile,
		"--tls-private-key-file=" + pki.servingKeyFile,
		// Client certificates signed by the CA authenticate (the node's components use tokens,
		// but kubectl and the tests could use either).
		"--client-ca-file=" + pki.caFile,
		// Static bearer tokens: the admin's (system:masters) and, in node mode, the components'.
		"--token-auth-file=" + pki.tokenAuthFile,
		// ServiceAccount tokens: the issuer a Pod's projected token names, signed and checked
		// with one RSA key (the controller-manager signs legacy tokens with the same key).
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-signing-key-file=" + pki.saKeyFile,
		"--service-account-key-file=" + pki.saKeyFile,
		// The ClusterIP range; its first address (10.96.0.1) is the `kubernetes` Service.
		"--service-cluster-ip-range=10.96.0.0/24",
		"--profiling=false",
		// Priority and fairness queues requests per flow; the tests' bursts do not need it.
		"--enable-priority-and-fairness=false",
		"--v=0",
	}
	if node == nil {
		args = append(args,
			"--advertise-address=127.0.0.1",
			"--authorization-mode=RBAC",
			// No controller-manager runs: the ServiceAccount admission plugin would refuse Pods
			// whose ServiceAccount's token controller never ran, and nobody serves the
			// `kubernetes` Service's endpoints, so neither is kept up.
			"--disable-admission-plugins=ServiceAccount",
			"--endpoint-reconciler-type=none",
		)
	} else {
		args = append(args, nodeAPIServerArgs(node, pki)...)
	}
	args = append(args, extraArgs...)

	if node != nil {
		nodeInfo, err := writeNodeCredentials(abs, node, apiPort, pki)
		if err != nil {
			fail("writing the node's credentials: %v", err)
		}
		info.Node = nodeInfo
	}
	if err := writeJSONAtomically(filepath.Join(abs, "cluster.json"), info); err != nil {
		fail("writing cluster.json: %v", err)
	}
	if err := runAPIServer(listener, args); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver exited: %v\n", err)
		stop(1)
	}
	stop(0)
}

// runAPIServer is kube-apiserver's command (app.NewAPIServerCommand) with one difference: it
// serves on a listener that is already bound, so no other process can take the port between
// choosing it and binding it.
func runAPIServer(listener net.Listener, args []string) error {
	s := options.NewServerRunOptions()
	flags := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, set := range s.Flags().FlagSets {
		flags.AddFlagSet(set)
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	// As kube-apiserver does: its loopback clients should not log the warnings it issues itself.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	featureGate := s.GenericServerRunOptions.ComponentGlobalsRegistry.FeatureGateFor(basecompatibility.DefaultKubeComponent)
	if err := logsapi.ValidateAndApply(s.Logs, featureGate); err != nil {
		return err
	}
	s.SecureServing.Listener = listener
	completed, err := s.Complete(context.Background())
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return utilerrors.NewAggregate(errs)
	}
	return app.Run(context.Background(), completed)
}

// listen binds the apiserver's port: preferred if it is not 0 and can be bound within a few
// seconds (a restart on the port of a process that just died), else a free one.
func listen(host string, preferred int) (net.Listener, error) {
	if preferred != 0 {
		for attempt := 0; attempt < 20; attempt++ {
			if l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", host, preferred)); err == nil {
				return l, nil
			}
			time.Sleep(250 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "controlplane: port %d is taken; listening on a free one\n", preferred)
	}
	return net.Listen("tcp", host+":0")
}

// startEtcd starts etcd on free loopback ports; returns its client URL. etcd binds its own
// listeners and advertises their URLs, so it cannot be handed listeners: if another process takes
// a port between choosing and binding it, etcd is started again on new ports. Data kept from an
// earlier start (a restart) is reused, never removed.
func startEtcd(dataDir string) (string, error) {
	_, statErr := os.Stat(dataDir)
	kept := statErr == nil
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var url string
		if url, err = startEtcdOnce(dataDir); err == nil {
			return url, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
			return "", err
		}
		if !kept {
			os.RemoveAll(dataDir)
		}
	}
	return "", err
}

func startEtcdOnce(dataDir string) (string, error) {
	clientPort, err := freePort()
	if err != nil {
		return "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "incluster-test"
	cfg.Dir = dataDir
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // test data only; keeps the slow test disks out of the latency
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case <-e.Server.ReadyNotify():
	case <-ctx.Done():
		e.Close()
		return "", fmt.Errorf("etcd was not ready within 60s")
	}
	go func() {
		err := <-e.Err()
		if err != nil {
			fmt.Fprintf(os.Stderr, "controlplane: etcd failed: %v\n", err)
		}
	}()
	return client.String(), nil
}

// freePort is a port that was free a moment ago (see startEtcd).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeJSONAtomically(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "controlplane: "+format+"\n", args...)
	os.Exit(2)
}

// repeated is a flag that may be given many times.
type repeated []string

func (r *repeated) String() string     { return fmt.Sprint([]string(*r)) }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }
