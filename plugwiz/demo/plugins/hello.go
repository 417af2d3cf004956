// Package main is the sample plugwiz custom plugin for the demo host.
// plugwiz copies it to plugwiz_plugins/hello/ inside the host module and
// builds it with: go build -buildmode=plugin -o /out/plugins/hello.so ./plugwiz_plugins/hello
package main

import "example.com/plugwiz-demo/provider"

type hello struct{}

func (hello) Name() string { return "hello" }

func (hello) Transform(s string) string {
	return "Hello from a custom plugin: " + provider.Clean(s)
}

// New is looked up by the demo host.
func New() provider.Provider { return hello{} }
