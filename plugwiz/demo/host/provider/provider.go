// Package provider defines the API shared by the plugwiz demo host and its
// plugins. Plugins must be built with the same toolchain and flags as the host
// and export a symbol `New` of type `func() provider.Provider`.
package provider

import "strings"

// Version is the version of the provider API.
const Version = "1.0"

// SymbolName is the name of the symbol every plugin must export.
const SymbolName = "New"

// Provider is implemented by every demo plugin.
type Provider interface {
	// Name returns a short, unique name for the plugin.
	Name() string
	// Transform returns a transformed copy of s.
	Transform(s string) string
}

// Describe returns a one-line description of p.
func Describe(p Provider) string {
	return p.Name() + " (provider API " + Version + ")"
}

// Clean trims surrounding whitespace from s; plugins may use it to normalise input.
func Clean(s string) string {
	return strings.TrimSpace(s)
}
