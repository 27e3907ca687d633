//go:build tools

// Package tools pins etcd's server (the `etcd` binary is the module root's main package) for the test world (issue 16).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
