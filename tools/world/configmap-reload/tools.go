//go:build tools

// Package tools pins configmap-reload v0.14.0 (the newest the module proxy serves here) for the test world.
package tools

import (
	_ "github.com/jimmidyson/configmap-reload"
)
