// Command demo-host is the plugwiz demo host. It loads Go plugins given with
// repeated --prov FILE.so flags, looks up their exported `New` symbol
// (func() provider.Provider) and runs each plugin's Transform on --text.
package main

import (
	"flag"
	"fmt"
	"os"
	"plugin"
	"strings"

	"example.com/plugwiz-demo/provider"
)

// pathList is a repeatable string flag.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(v string) error {
	*p = append(*p, v)
	return nil
}

func load(path string) (provider.Provider, error) {
	pl, err := plugin.Open(path)
	if err != nil {
		return nil, err
	}
	sym, err := pl.Lookup(provider.SymbolName)
	if err != nil {
		return nil, err
	}
	switch f := sym.(type) {
	case func() provider.Provider:
		return f(), nil
	case *func() provider.Provider:
		return (*f)(), nil
	default:
		return nil, fmt.Errorf("symbol %s has type %T, want func() provider.Provider", provider.SymbolName, sym)
	}
}

func main() {
	var provs pathList
	flag.Var(&provs, "prov", "path to a plugin `FILE.so` (repeatable)")
	text := flag.String("text", "hello, plugins", "text passed to each plugin's Transform")
	flag.Parse()

	if len(provs) == 0 {
		fmt.Println("demo-host: no plugins given (use --prov FILE.so)")
		return
	}

	var loaded []provider.Provider
	for _, path := range provs {
		p, err := load(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "demo-host: cannot load %s: %v\n", path, err)
			os.Exit(1)
		}
		fmt.Printf("loaded plugin %s from %s\n", p.Name(), path)
		loaded = append(loaded, p)
	}
	for _, p := range loaded {
		fmt.Printf("%s: %s\n", p.Name(), p.Transform(*text))
	}
	fmt.Printf("demo-host: %d plugins loaded\n", len(loaded))
}
