//go:build tools

// Package main pins kubectl and the node's Kubernetes components into this module, so
// `go build k8s.io/kubernetes/cmd/<name>` resolves them against the same versions as the
// control plane.
package main

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
