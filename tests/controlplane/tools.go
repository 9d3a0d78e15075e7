//go:build tools

// Package main pins kubectl into this module so `go build k8s.io/kubernetes/cmd/kubectl`
// resolves against the same versions as the control plane.
package main

import _ "k8s.io/kubernetes/cmd/kubectl"
