// Package main is the bundled "upper" demo plugin: it uppercases its input.
// Build with: go build -buildmode=plugin -o upper.so ./plugins/upper
package main

import (
	"strings"

	"example.com/plugwiz-demo/provider"
)

type upper struct{}

func (upper) Name() string { return "upper" }

func (upper) Transform(s string) string { return strings.ToUpper(provider.Clean(s)) }

// New is looked up by the demo host.
func New() provider.Provider { return upper{} }
