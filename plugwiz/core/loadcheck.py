"""The load check's Go file, written per project: the template `loadcheck.go` with the
symbol's expected type filled in (when the project gives one). Pure.

The type is Go source (`func([]byte) (interface{}, error)`, `func() provider.Provider`,
`*registry.Plugin`). A qualifier is a host package named by its last path element (the
host's own `provider` package), a full import path (`example.com/x/api.Plugin`), or a standard
library package (`io.Reader`, `http.Handler`).
"""

from __future__ import annotations

import re
from importlib import resources

from plugwiz.core.model import ProjectError, ResolvedProject
from plugwiz.core.plan import symbol_type_problem

# A qualified identifier `QUALIFIER.Name`; QUALIFIER may be an import path.
_QUALIFIED_RE = re.compile(
    r"(?<![A-Za-z0-9_.])((?:[A-Za-z0-9_.~-]+/)*[A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)"
)
# Standard packages usually named by their last element.
_STD = {
    "http": "net/http",
    "url": "net/url",
    "json": "encoding/json",
    "xml": "encoding/xml",
    "template": "text/template",
    "sql": "database/sql",
    "fs": "io/fs",
    "rand": "math/rand",
    "big": "math/big",
    "atomic": "sync/atomic",
    "slog": "log/slog",
    "exec": "os/exec",
    "filepath": "path/filepath",
    "tls": "crypto/tls",
    "x509": "crypto/x509",
    "driver": "database/sql/driver",
    "httptest": "net/http/httptest",
    "signal": "os/signal",
    "user": "os/user",
    "heap": "container/heap",
    "list": "container/list",
    "utf8": "unicode/utf8",
}


def _template() -> str:
    return (resources.files("plugwiz.core") / "loadcheck.go").read_text(encoding="utf-8")


def qualified_type(
    text: str, host_module: str, host_packages: tuple[str, ...]
) -> tuple[str, list[tuple[str, str]]]:
    """`text` with every package qualifier replaced by an import alias, and the imports
    (alias, path) it needs; ProjectError when a short qualifier names several host packages."""
    imports: dict[str, str] = {}

    def import_path(qualifier: str) -> str:
        if "/" in qualifier or "." in qualifier:
            return qualifier
        matches = sorted(p for p in host_packages if p and p.rsplit("/", 1)[-1] == qualifier)
        if len(matches) > 1:
            listed = ", ".join(f"{host_module}/{m}" for m in matches)
            raise ProjectError(
                f"symbol type {text!r}: `{qualifier}` could be any of {listed}; write the "
                f"import path (`{host_module}/{matches[0]}.Name`)"
            )
        if matches:
            return f"{host_module}/{matches[0]}"
        return _STD.get(qualifier, qualifier)

    def alias(match: re.Match[str]) -> str:
        path = import_path(match.group(1))
        name = imports.setdefault(path, f"plugwiz_t{len(imports) + 1}")
        return f"{name}.{match.group(2)}"

    rewritten = _QUALIFIED_RE.sub(alias, text)
    return rewritten, [(a, p) for p, a in imports.items()]


def loadcheck_source(resolved: ResolvedProject | None = None) -> bytes:
    """The load check's Go file for `resolved` (the template as it is when no symbol type is
    set). Raises ProjectError for a type that cannot be written as Go."""
    text = _template()
    if resolved is None:
        return text.encode()
    wanted = resolved.project.loading.symbol_type.strip()
    if not wanted:
        return text.encode()
    problem = symbol_type_problem(wanted)
    if problem:
        raise ProjectError(problem)
    facts = resolved.facts
    expression, imports = qualified_type(wanted, facts.gomod.module, facts.packages)
    import_lines = "".join(f'\t{alias} "{path}"\n' for alias, path in imports)
    text = text.replace("\t// plugwiz:imports\n", import_lines)
    text = text.replace(
        "var plugwizExpectedType reflect.Type // plugwiz:expected-type",
        f"var plugwizExpectedType = reflect.TypeOf((*{expression})(nil)).Elem()",
    )
    text = text.replace(
        'const plugwizExpectedText = "" // plugwiz:expected-text',
        f"const plugwizExpectedText = {_go_string(wanted)}",
    )
    return text.encode()


def _go_string(text: str) -> str:
    """A Go interpreted string literal for `text` (checked to hold no quotes or newlines)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["loadcheck_source", "qualified_type"]
