"""The second benchmark host, shaped like real ones (the kind the reference was written for).

`write_realhost(dest)` writes it, always byte for byte the same (a fixed seed), so the
benchmarks need no network and the repository no megabytes of generated Go:

- a `go 1.12` module (`example.net/relay`) with a `vendor/` directory in Go 1.12's format
  (no `## explicit` lines, so `-mod=vendor` is needed and given) holding five third-party-like
  modules of real size (about 60,000 lines): an HTTP router, a configuration loader, an SQL
  helper with struct scanning, a structured logger and a text-tables module, which import
  each other like real dependencies do;
- the host's own packages (`internal/...`, about 8,000 lines) and its main package in `main/`;
- `pluginapi/`, and two bundled plugins (`plugins/webhook`, `plugins/audit`) that are loaded
  with the `.prov` extension (`--prov NAME.prov`, as in the reference);
- a config file (`config.sample.json`) and static files (`static/`).

Each generated unit is ordinary Go of the kinds such libraries hold: types with methods,
parsers written as state machines, indexes behind locks, large switch statements and lookup
tables. `python benchmarks/realhost.py DIR` writes the tree to look at.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

MODULE = "example.net/relay"
MAIN_PACKAGE = "./main"
BUNDLED = ("plugins/webhook", "plugins/audit")
PLUGIN_EXT = ".prov"
CONFIG_TARGET = "/etc/relay/config.json"


@dataclass(frozen=True)
class Library:
    """A vendored third-party-like module: its packages, units per package, imports."""

    path: str
    version: str
    packages: tuple[tuple[str, int, tuple[str, ...]], ...]  # (subdir, units, imported pkgs)
    std: tuple[str, ...] = ()  # standard packages its units use besides the common ones


# A name each standard package exports, to use it (what real libraries of that kind import).
STD_USES = {
    "bufio": "bufio.MaxScanTokenSize",
    "compress/gzip": "gzip.BestSpeed",
    "crypto/hmac": "hmac.Equal",
    "crypto/sha256": "sha256.Size",
    "crypto/tls": "tls.VersionTLS12",
    "database/sql": "sql.ErrNoRows",
    "encoding/base64": "base64.StdEncoding",
    "html/template": "template.HTMLEscapeString",
    "io": "io.EOF",
    "mime/multipart": "multipart.ErrMessageTooLarge",
    "net/http": "http.StatusOK",
    "net/url": "url.PathEscape",
    "os": "os.PathSeparator",
    "path/filepath": "filepath.Separator",
    "regexp": "regexp.QuoteMeta",
}


LIBRARIES = (
    Library(
        "example.net/zlog",
        "v1.8.2",
        (("", 10, ()), ("encoder", 8, ())),
        ("bufio", "io", "os"),
    ),
    Library(
        "example.net/router",
        "v1.4.2",
        (
            ("", 14, ("example.net/zlog",)),
            ("middleware", 8, ("example.net/zlog", "example.net/router")),
        ),
        ("compress/gzip", "net/http", "net/url", "regexp"),
    ),
    Library(
        "example.net/konfig",
        "v1.3.1",
        (
            ("", 8, ()),
            ("parsers/toml", 12, ("example.net/konfig",)),
            ("providers/env", 5, ("example.net/konfig",)),
        ),
        ("os", "path/filepath", "regexp"),
    ),
    Library(
        "example.net/sqlq",
        "v1.5.4",
        (
            ("", 16, ("example.net/zlog",)),
            ("reflectx", 8, ()),
            ("pgwire", 14, ("example.net/sqlq/reflectx",)),
        ),
        ("crypto/sha256", "crypto/tls", "database/sql", "encoding/base64"),
    ),
    Library(
        "example.net/textkit",
        "v0.9.0",
        (("tables", 18, ()), ("", 8, ("example.net/textkit/tables",))),
        ("regexp",),
    ),
)

# The host's own packages: (dir, units, imports, standard packages).
HOST_PACKAGES = (
    ("internal/models", 5, ("example.net/relay/pluginapi",), ()),
    (
        "internal/store",
        5,
        ("example.net/sqlq", "example.net/relay/internal/models"),
        ("database/sql",),
    ),
    ("internal/config", 3, ("example.net/konfig", "example.net/konfig/parsers/toml"), ("os",)),
    (
        "internal/api",
        5,
        ("example.net/router", "example.net/router/middleware"),
        ("html/template", "mime/multipart", "net/http"),
    ),
    ("internal/manager", 4, ("example.net/zlog", "example.net/textkit"), ("os",)),
)

_TYPES = ("int64", "string", "float64", "bool", "[]string", "map[string]string", "time.Duration")


def _names(rng: random.Random, prefix: str) -> str:
    syllables = ("ka", "ro", "mi", "te", "lu", "sa", "vo", "ne", "pi", "da", "qu", "zo")
    return prefix + "".join(rng.choice(syllables) for _ in range(3)).capitalize()


def _unit(
    pkg: str, index: int, imports: tuple[str, ...], std: tuple[str, ...], rng: random.Random
) -> str:
    """One file of ordinary library code (about 300 lines)."""
    t = _names(rng, "") + str(index)  # a type name, unique in its package
    low = t[0].lower() + t[1:]
    fields = [(f"F{i}{_names(rng, '')}", rng.choice(_TYPES)) for i in range(rng.randint(4, 8))]
    field_lines = "\n".join(f"\t{name} {kind}" for name, kind in fields)
    cases = rng.randint(30, 60)
    switch = "\n".join(
        f'\tcase {i}:\n\t\treturn "{_names(rng, low)}-{i}", {rng.randint(1, 999)}'
        for i in range(cases)
    )
    rows = rng.randint(40, 90)
    table = "\n".join(
        f'\t{{{i}, "{_names(rng, "")}", {rng.random():.4f}, {rng.choice(("true", "false"))}}},'
        for i in range(rows)
    )
    uses = [(imported, f"dep{number}") for number, imported in enumerate(imports)]
    import_lines = "".join(f'\t"{path}"\n' for path in std)
    import_lines += "".join(f'\t{alias} "{path}"\n' for path, alias in uses)
    dep_calls = "".join(f"\t_ = {STD_USES[path]}\n" for path in std)
    dep_calls += "".join(f"\t_ = {alias}.Version\n" for _, alias in uses)
    stringer = "\n".join(
        f"\tb.WriteString(\"{name}=\")\n\tb.WriteString(fmt.Sprint(x.{name}))\n\tb.WriteByte(' ')"
        for name, _ in fields
    )
    return f"""package {pkg}

import (
\t"bytes"
\t"encoding/json"
\t"errors"
\t"fmt"
\t"sort"
\t"strconv"
\t"strings"
\t"sync"
\t"time"
\t"unicode"
{import_lines})

var _ = time.Second

// {t} is one record of the {pkg} package: fields, children and an index.
type {t} struct {{
\tID       int64
\tName     string
\tTags     []string
\tAttrs    map[string]string
\tWeight   float64
\tEnabled  bool
{field_lines}
\tchildren []*{t}
\tmu       sync.Mutex
}}

var err{t}Invalid = errors.New("{pkg}: invalid {low}")

// New{t} makes a {t} with a name and a weight.
func New{t}(name string, weight float64) *{t} {{
{dep_calls}\treturn &{t}{{Name: name, Weight: weight, Attrs: map[string]string{{}}, Enabled: true}}
}}

// String describes x.
func (x *{t}) String() string {{
\tvar b strings.Builder
\tb.WriteString("{t}(")
\tb.WriteString(strconv.FormatInt(x.ID, 10))
\tb.WriteString(", ")
\tb.WriteString(strconv.Quote(x.Name))
\tb.WriteString(") ")
{stringer}
\treturn b.String()
}}

// Validate says what is wrong with x.
func (x *{t}) Validate() error {{
\tif x == nil {{
\t\treturn err{t}Invalid
\t}}
\tif strings.TrimSpace(x.Name) == "" {{
\t\treturn fmt.Errorf("{low} %d: %w: empty name", x.ID, err{t}Invalid)
\t}}
\tfor _, r := range x.Name {{
\t\tif !unicode.IsPrint(r) {{
\t\t\treturn fmt.Errorf("{low} %q: %w: unprintable %U", x.Name, err{t}Invalid, r)
\t\t}}
\t}}
\tif x.Weight < 0 || x.Weight > 1e9 {{
\t\treturn fmt.Errorf("{low} %q: weight %v out of range", x.Name, x.Weight)
\t}}
\tseen := make(map[string]bool, len(x.Tags))
\tfor _, tag := range x.Tags {{
\t\tif seen[tag] {{
\t\t\treturn fmt.Errorf("{low} %q: tag %q twice", x.Name, tag)
\t\t}}
\t\tseen[tag] = true
\t}}
\treturn nil
}}

// AddChild appends c under x.
func (x *{t}) AddChild(c *{t}) {{
\tx.mu.Lock()
\tdefer x.mu.Unlock()
\tx.children = append(x.children, c)
}}

// Walk visits x and its children depth first until fn returns false.
func (x *{t}) Walk(fn func(depth int, n *{t}) bool) bool {{
\treturn x.walk(0, fn)
}}

func (x *{t}) walk(depth int, fn func(int, *{t}) bool) bool {{
\tif !fn(depth, x) {{
\t\treturn false
\t}}
\tfor _, c := range x.children {{
\t\tif !c.walk(depth+1, fn) {{
\t\t\treturn false
\t\t}}
\t}}
\treturn true
}}

// SortedTags returns the tags in order, without duplicates.
func (x *{t}) SortedTags() []string {{
\tout := append([]string(nil), x.Tags...)
\tsort.Strings(out)
\tj := 0
\tfor i := range out {{
\t\tif i == 0 || out[i] != out[i-1] {{
\t\t\tout[j] = out[i]
\t\t\tj++
\t\t}}
\t}}
\treturn out[:j]
}}

// Attr returns an attribute or def.
func (x *{t}) Attr(key, def string) string {{
\tif v, ok := x.Attrs[key]; ok {{
\t\treturn v
\t}}
\treturn def
}}

// Parse{t} reads "name;weight;tag,tag;key=value,key=value".
func Parse{t}(s string) (*{t}, error) {{
\tconst (
\t\tstName = iota
\t\tstWeight
\t\tstTags
\t\tstAttrs
\t)
\tx := New{t}("", 0)
\tstate := stName
\tvar field bytes.Buffer
\tflush := func() error {{
\t\tv := field.String()
\t\tfield.Reset()
\t\tswitch state {{
\t\tcase stName:
\t\t\tx.Name = strings.TrimSpace(v)
\t\tcase stWeight:
\t\t\tif v == "" {{
\t\t\t\treturn nil
\t\t\t}}
\t\t\tw, err := strconv.ParseFloat(v, 64)
\t\t\tif err != nil {{
\t\t\t\treturn fmt.Errorf("{low} weight %q: %w", v, err)
\t\t\t}}
\t\t\tx.Weight = w
\t\tcase stTags:
\t\t\tif v != "" {{
\t\t\t\tx.Tags = append(x.Tags, v)
\t\t\t}}
\t\tcase stAttrs:
\t\t\tif v == "" {{
\t\t\t\treturn nil
\t\t\t}}
\t\t\tkey, value, ok := strings.Cut(v, "=")
\t\t\tif !ok {{
\t\t\t\treturn fmt.Errorf("{low} attribute %q: no '='", v)
\t\t\t}}
\t\t\tx.Attrs[key] = value
\t\t}}
\t\treturn nil
\t}}
\tfor _, r := range s {{
\t\tswitch {{
\t\tcase r == ';':
\t\t\tif err := flush(); err != nil {{
\t\t\t\treturn nil, err
\t\t\t}}
\t\t\tif state == stAttrs {{
\t\t\t\treturn nil, fmt.Errorf("{low}: too many fields in %q", s)
\t\t\t}}
\t\t\tstate++
\t\tcase r == ',' && (state == stTags || state == stAttrs):
\t\t\tif err := flush(); err != nil {{
\t\t\t\treturn nil, err
\t\t\t}}
\t\tdefault:
\t\t\tfield.WriteRune(r)
\t\t}}
\t}}
\tif err := flush(); err != nil {{
\t\treturn nil, err
\t}}
\treturn x, x.Validate()
}}

// MarshalJSON writes x as JSON.
func (x *{t}) MarshalJSON() ([]byte, error) {{
\ttype plain struct {{
\t\tID     int64             `json:"id"`
\t\tName   string            `json:"name"`
\t\tTags   []string          `json:"tags,omitempty"`
\t\tAttrs  map[string]string `json:"attrs,omitempty"`
\t\tWeight float64           `json:"weight"`
\t}}
\treturn json.Marshal(plain{{x.ID, x.Name, x.SortedTags(), x.Attrs, x.Weight}})
}}

// {t}Index finds {t} records by name.
type {t}Index struct {{
\tmu     sync.RWMutex
\tbyName map[string]*{t}
\torder  []string
}}

// Put adds or replaces x.
func (ix *{t}Index) Put(x *{t}) {{
\tix.mu.Lock()
\tdefer ix.mu.Unlock()
\tif ix.byName == nil {{
\t\tix.byName = make(map[string]*{t})
\t}}
\tif _, ok := ix.byName[x.Name]; !ok {{
\t\tix.order = append(ix.order, x.Name)
\t}}
\tix.byName[x.Name] = x
}}

// Get finds a record by name.
func (ix *{t}Index) Get(name string) (*{t}, bool) {{
\tix.mu.RLock()
\tdefer ix.mu.RUnlock()
\tx, ok := ix.byName[name]
\treturn x, ok
}}

// Range visits the records in insertion order.
func (ix *{t}Index) Range(fn func(*{t}) bool) {{
\tix.mu.RLock()
\tnames := append([]string(nil), ix.order...)
\tix.mu.RUnlock()
\tfor _, name := range names {{
\t\tif x, ok := ix.Get(name); ok && !fn(x) {{
\t\t\treturn
\t\t}}
\t}}
}}

// {t}Code names a status code of this unit and its cost.
func {t}Code(code int) (string, int) {{
\tswitch code {{
{switch}
\t}}
\treturn "unknown", 0
}}

// {low}Table is this unit's lookup table.
var {low}Table = [...]struct {{
\tCode    int
\tName    string
\tRatio   float64
\tEnabled bool
}}{{
{table}
}}

// {t}Ratio looks a ratio up by name.
func {t}Ratio(name string) (float64, bool) {{
\tfor _, row := range {low}Table {{
\t\tif strings.EqualFold(row.Name, name) && row.Enabled {{
\t\t\treturn row.Ratio, true
\t\t}}
\t}}
\treturn 0, false
}}
"""


def _package_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1].replace("-", "")


def _write(dest: Path, rel: str, text: str) -> None:
    path = dest / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_package(
    dest: Path,
    rel_dir: str,
    import_path: str,
    units: int,
    imports: tuple[str, ...],
    std: tuple[str, ...],
    seed: int,
) -> None:
    rng = random.Random(seed)
    pkg = _package_name(import_path)
    _write(
        dest,
        f"{rel_dir}/doc.go",
        f"// Package {pkg} is part of the benchmark's generated host.\npackage {pkg}\n\n"
        f'// Version of the package.\nconst Version = "{import_path}@{seed}"\n',
    )
    for index in range(units):
        _write(dest, f"{rel_dir}/unit{index:02d}.go", _unit(pkg, index, imports, std, rng))


_PLUGINAPI = """// Package pluginapi is what the host and its plugins share.
package pluginapi

import (
	"fmt"

	"example.net/zlog"
)

// Version of the plugin API.
const Version = "relay/pluginapi 1"

// Event is what the host hands every plugin.
type Event struct {
	Kind    string
	Subject string
	Fields  map[string]string
}

// Plugin is what a plugin's exported `Plugin` variable implements.
type Plugin interface {
	Name() string
	Handle(Event) (string, error)
}

// Describe says which plugin handled an event.
func Describe(p Plugin, e Event) string {
	_ = zlog.Version
	return fmt.Sprintf("%s handled %s/%s", p.Name(), e.Kind, e.Subject)
}
"""

_MAIN = """package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"plugin"
	"strings"

	"example.net/relay/internal/api"
	"example.net/relay/internal/config"
	"example.net/relay/internal/manager"
	"example.net/relay/internal/models"
	"example.net/relay/internal/store"
	"example.net/relay/pluginapi"
)

type provs []string

func (p *provs) String() string     { return strings.Join(*p, ",") }
func (p *provs) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	var files provs
	configPath := flag.String("config", "", "config file (JSON)")
	flag.Var(&files, "prov", "plugin to load (repeatable)")
	flag.Parse()
	settings := map[string]string{}
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(2)
		}
		if err := json.Unmarshal(data, &settings); err != nil {
			fmt.Fprintln(os.Stderr, "relay: config:", err)
			os.Exit(2)
		}
	}
	_ = []string{api.Version, config.Version, manager.Version, models.Version, store.Version}
	if _, err := os.Stat("/app/static/index.html"); err == nil {
		fmt.Println("relay: static files present")
	}
	ok := 0
	for _, path := range files {
		p, err := plugin.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		sym, err := p.Lookup("Plugin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", path, err)
			os.Exit(1)
		}
		plug, isPlugin := sym.(*pluginapi.Plugin)
		if !isPlugin {
			fmt.Fprintf(os.Stderr, "relay: %s: Plugin is %T\\n", path, sym)
			os.Exit(1)
		}
		out, err := (*plug).Handle(pluginapi.Event{Kind: "test", Subject: settings["name"]})
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		fmt.Printf("relay: loaded %s from %s: %s\\n", (*plug).Name(), path, out)
		ok++
	}
	fmt.Printf("relay: %d plugins ok\\n", ok)
}
"""


def plugin_source(
    name: str, stamp: str, imports: tuple[str, ...] = (), std: tuple[str, ...] = ()
) -> str:
    """A plugin for this host (bundled or custom): `Plugin` answers with its stamp."""
    import_lines = "".join(f'\t"{path}"\n' for path in (*std, *imports))
    uses = "".join(f"\t_ = {STD_USES[path]}\n" for path in std)
    uses += "".join(f"\t_ = {path.rsplit('/', 1)[-1]}.Version\n" for path in imports)
    return f"""package main

import (
\t"fmt"
\t"strings"

\t"example.net/relay/pluginapi"
{import_lines})

// Stamp is what this plugin adds to every event it handles.
const Stamp = "{stamp}"

type {name}Plugin struct{{}}

func (p {name}Plugin) Name() string {{ return "{name}" }}

func (p {name}Plugin) Handle(e pluginapi.Event) (string, error) {{
{uses}\treturn fmt.Sprintf("%s [%s]", strings.ToUpper(pluginapi.Describe(p, e)), Stamp), nil
}}

// Plugin is what the host looks up.
var Plugin pluginapi.Plugin = {name}Plugin{{}}
"""


def write_realhost(dest: Path) -> None:
    """Write the realistic host's tree to `dest` (which must not exist)."""
    dest.mkdir(parents=True)
    requires = "".join(f"\t{lib.path} {lib.version}\n" for lib in LIBRARIES)
    _write(dest, "go.mod", f"module {MODULE}\n\ngo 1.12\n\nrequire (\n{requires})\n")
    modules_txt = []
    seed = 1
    for lib in LIBRARIES:
        modules_txt.append(f"# {lib.path} {lib.version}")
        _write(dest, f"vendor/{lib.path}/go.mod", f"module {lib.path}\n\ngo 1.12\n")
        _write(dest, f"vendor/{lib.path}/LICENSE", "Generated benchmark fixture. No rights.\n")
        for sub, units, imports in lib.packages:
            import_path = f"{lib.path}/{sub}" if sub else lib.path
            modules_txt.append(import_path)
            rel = f"vendor/{import_path}"
            _write_package(dest, rel, import_path, units, imports, lib.std, seed)
            seed += 1
    _write(dest, "vendor/modules.txt", "\n".join(modules_txt) + "\n")
    for rel_dir, units, imports, std in HOST_PACKAGES:
        _write_package(dest, rel_dir, f"{MODULE}/{rel_dir}", units, imports, std, seed)
        seed += 1
    _write(dest, "pluginapi/pluginapi.go", _PLUGINAPI)
    _write(dest, "main/main.go", _MAIN)
    _write(
        dest,
        "plugins/webhook/webhook.go",
        plugin_source("webhook", "bundled", ("example.net/router",), ("crypto/hmac", "net/http")),
    )
    _write(
        dest,
        "plugins/audit/audit.go",
        plugin_source("audit", "bundled", ("example.net/sqlq",), ("database/sql",)),
    )
    _write(dest, "config.sample.json", '{"name": "relay-bench", "listen": ":9000"}\n')
    _write(dest, "static/index.html", "<!doctype html><title>relay</title><p>relay</p>\n")
    _write(dest, "static/app.css", "body { font-family: sans-serif; }\n" * 20)
    _write(dest, "static/app.js", "console.log('relay');\n" * 20)
    _write(dest, "Makefile", "build:\n\tgo build -mod=vendor -o relay ./main\n")
    _write(dest, "README.md", "# relay\n\nA generated benchmark host.\n")


def line_count(root: Path) -> tuple[int, int]:
    """Lines of Go under `root`: (vendored, the host's own)."""
    vendored = own = 0
    for path in root.rglob("*.go"):
        lines = path.read_text().count("\n")
        if "vendor" in path.relative_to(root).parts:
            vendored += lines
        else:
            own += lines
    return vendored, own


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "realhost")
    write_realhost(target)
    print(f"wrote {target}: {line_count(target)[0]} vendored and {line_count(target)[1]} own lines")
