//go:build tools

// Package tools pins Prometheus v3 (module v0.316.0 = Prometheus 3.16.0) for the test world (issue 16).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
