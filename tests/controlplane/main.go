// Command controlplane runs a real Kubernetes control plane for incluster's tests:
// etcd embedded in-process and kube-apiserver from k8s.io/kubernetes, both on loopback
// and free ports. It writes everything a client needs into --dir:
//
//	ca.crt            the CA that signed the serving certificate (a Pod's ca.crt)
//	admin.token       a system:masters bearer token
//	admin.kubeconfig  a kubeconfig for kubectl using that token
//	cluster.json      {"server": "https://127.0.0.1:PORT", "port": PORT, ...}
//
// cluster.json is written once etcd is ready and the apiserver is starting; callers then
// poll /readyz. The process exits when its standard input closes (so a parent that dies,
// even by a panic or a kill, takes the control plane with it) or on SIGINT/SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

type clusterInfo struct {
	Server     string `json:"server"`
	Port       int    `json:"port"`
	CAFile     string `json:"caFile"`
	AdminToken string `json:"adminTokenFile"`
	Kubeconfig string `json:"kubeconfig"`
	EtcdURL    string `json:"etcdUrl"`
	Pid        int    `json:"pid"`
}

func main() {
	dir := flag.String("dir", "", "state directory (created; removed on exit with --remove-on-exit)")
	removeOnExit := flag.Bool("remove-on-exit", false, "delete --dir when the process exits")
	watchStdin := flag.Bool("exit-on-stdin-eof", true, "exit when standard input closes")
	var extraArgs repeated
	flag.Var(&extraArgs, "apiserver-arg", "an extra kube-apiserver flag, appended after the built-in ones, e.g. --apiserver-arg=--watch-cache=false (repeatable; a scalar flag given again overrides the built-in value)")
	flag.Parse()
	if *dir == "" {
		fail("--dir is required")
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
	if *watchStdin {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop(0)
		}()
	}

	pki, err := writePKI(abs)
	if err != nil {
		fail("writing certificates: %v", err)
	}
	etcdURL, err := startEtcd(filepath.Join(abs, "etcd"))
	if err != nil {
		fail("starting etcd: %v", err)
	}
	port, err := freePort()
	if err != nil {
		fail("finding a free port: %v", err)
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	kubeconfig := filepath.Join(abs, "admin.kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, pki); err != nil {
		fail("writing kubeconfig: %v", err)
	}

	info := clusterInfo{
		Server: server, Port: port, CAFile: pki.caFile, AdminToken: pki.adminTokenFile,
		Kubeconfig: kubeconfig, EtcdURL: etcdURL, Pid: os.Getpid(),
	}
	if err := writeJSONAtomically(filepath.Join(abs, "cluster.json"), info); err != nil {
		fail("writing cluster.json: %v", err)
	}

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(append([]string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(abs, "apiserver-certs"),
		"--tls-cert-file=" + pki.servingCertFile,
		"--tls-private-key-file=" + pki.servingKeyFile,
		"--client-ca-file=" + pki.caFile,
		"--token-auth-file=" + pki.tokenAuthFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-signing-key-file=" + pki.saKeyFile,
		"--service-account-key-file=" + pki.saKeyFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--enable-priority-and-fairness=false",
		"--v=0",
	}, extraArgs...))
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver exited: %v\n", err)
		stop(1)
	}
	stop(0)
}

func startEtcd(dataDir string) (string, error) {
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
