//go:build tools

// Package tools pins the node's daemons into this module, so `go build <package>` resolves them
// against the versions in go.mod/go.sum: containerd v2 (daemon, runc shim, ctr) and the CNI
// plugins the node's network configuration uses (bridge, host-local, loopback).
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
)
