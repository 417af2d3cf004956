// Package main is the bundled "reverse" demo plugin: it reverses the runes of
// its input. Build with: go build -buildmode=plugin -o reverse.so ./plugins/reverse
package main

import "example.com/plugwiz-demo/provider"

type reverse struct{}

func (reverse) Name() string { return "reverse" }

func (reverse) Transform(s string) string {
	r := []rune(provider.Clean(s))
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// New is looked up by the demo host.
func New() provider.Provider { return reverse{} }
