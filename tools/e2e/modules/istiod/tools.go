//go:build tools

// Package tools pins pilot-discovery (istiod) so `go mod tidy` keeps its dependencies.
package tools

import _ "istio.io/istio/pilot/cmd/pilot-discovery"
