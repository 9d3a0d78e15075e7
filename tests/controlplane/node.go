package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// nodeName is the name the kubelet registers (its credentials are for this name only: the Node
// authorizer and the NodeRestriction admission plugin hold it to that).
const nodeName = "incluster-node"

// nodeInfo tells the harness how the node's components reach the apiserver (cluster.json "node").
type nodeInfo struct {
	Name string `json:"name"`
	// Server is the apiserver at the node address, inside the node's network namespace.
	Server string `json:"server"`
	// Kubeconfigs maps a component (kubelet, kube-proxy, kube-controller-manager,
	// kube-scheduler) to its kubeconfig, each with a token for the identity the default RBAC
	// bindings expect.
	Kubeconfigs map[string]string `json:"kubeconfigs"`
	// ServiceAccountKeyFile signs ServiceAccount tokens (the controller-manager's
	// --service-account-private-key-file).
	ServiceAccountKeyFile string `json:"serviceAccountKeyFile"`
}

// nodeAPIServerArgs are the apiserver flags that a real node needs.
func nodeAPIServerArgs(node net.IP, pki pkiFiles) []string {
	return []string{
		// The `kubernetes` Service's endpoint: what kube-proxy sends ClusterIP traffic to, and
		// what the serving certificate is valid for (besides the ClusterIP and loopback).
		"--advertise-address=" + node.String(),
		// Node: the kubelet may read only what its Pods need; RBAC for everyone else.
		"--authorization-mode=Node,RBAC",
		// ServiceAccount (on by default; mounts the projected token into Pods) and
		// NodeRestriction (the kubelet may change only its own Node and Pods).
		"--enable-admission-plugins=NodeRestriction",
		// The default reconciler keeps the `kubernetes` EndpointSlice pointing at
		// --advertise-address, so kube-proxy can route 10.96.0.1:443 to it.
		"--endpoint-reconciler-type=lease",
		// `kubectl logs`: reach the kubelet at its InternalIP (else it tries the hostname, which
		// no DNS knows) and show it a client certificate its webhook authorization accepts.
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-client-certificate=" + pki.kubeletClientCertFile,
		"--kubelet-client-key=" + pki.kubeletClientKeyFile,
	}
}

// writeNodeCredentials gives each node component a bearer token (appended to the token file
// before the apiserver reads it) and a kubeconfig for the apiserver at the node address.
func writeNodeCredentials(dir string, node net.IP, port int, pki pkiFiles) (*nodeInfo, error) {
	info := &nodeInfo{
		Name:                  nodeName,
		Server:                fmt.Sprintf("https://%s", net.JoinHostPort(node.String(), fmt.Sprint(port))),
		Kubeconfigs:           map[string]string{},
		ServiceAccountKeyFile: pki.saKeyFile,
	}
	identities := []struct{ component, user, groups string }{
		{"kubelet", "system:node:" + nodeName, "system:nodes"},
		{"kube-proxy", "system:kube-proxy", ""},
		{"kube-controller-manager", "system:kube-controller-manager", ""},
		{"kube-scheduler", "system:kube-scheduler", ""},
	}
	tokens, err := os.OpenFile(pki.tokenAuthFile, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer tokens.Close()
	for _, id := range identities {
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		token := hex.EncodeToString(secret)
		if _, err := fmt.Fprintf(tokens, "%s,%s,%s-uid,%q\n", token, id.user, id.component, id.groups); err != nil {
			return nil, err
		}
		tokenFile := filepath.Join(dir, id.component+".token")
		if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
			return nil, err
		}
		kubeconfig := filepath.Join(dir, id.component+".kubeconfig")
		if err := writeKubeconfig(kubeconfig, info.Server, pki.caFile, tokenFile); err != nil {
			return nil, err
		}
		info.Kubeconfigs[id.component] = kubeconfig
	}
	return info, nil
}

// forwardFrom listens on 127.0.0.1 (port chosen by the kernel) in the network namespace at
// netnsPath and forwards each connection to target in this process's own namespace. It
// returns the address it listens on.
func forwardFrom(netnsPath, target string) (*net.TCPAddr, error) {
	type result struct {
		listener net.Listener
		err      error
	}
	bound := make(chan result)
	go func() {
		// This goroutine's thread enters the other namespace and never comes back: a goroutine
		// that exits while locked to its thread takes the thread with it, so nothing else ever
		// runs there. The listening socket stays in that namespace whichever thread accepts.
		runtime.LockOSThread()
		l, err := listenIn(netnsPath)
		bound <- result{l, err}
	}()
	r := <-bound
	if r.err != nil {
		return nil, r.err
	}
	go func() {
		for {
			conn, err := r.listener.Accept()
			if err != nil {
				return
			}
			go splice(conn, target)
		}
	}()
	return r.listener.Addr().(*net.TCPAddr), nil
}

func listenIn(netnsPath string) (net.Listener, error) {
	ns, err := os.Open(netnsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("setns %s: %v", netnsPath, err)
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// splice copies both ways between conn and a new connection to target, passing half-closes on.
func splice(conn net.Conn, target string) {
	defer conn.Close()
	upstream, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer upstream.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(upstream, conn)
		upstream.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(conn, upstream)
	conn.(*net.TCPConn).CloseWrite()
	<-done
}
