//go:build tools

// Package tools pins prometheus-operator v0.85.0 (the operator and prometheus-config-reloader) for the test world.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
	_ "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader"
)
