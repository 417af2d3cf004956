"""A new plugin to start from (`plugwiz new`): a copy of one of the host's bundled plugins,
renamed, or a minimal skeleton when the host has none.

A bundled plugin is the host's own working example of its plugin interface, so a copy of it
compiles and loads as it is. It is read through the repository port at the resolved commit
(the same tree a build uses), renamed with `plugwiz.core.gosource.rename_package` (its
package-level names, its ID strings and its file names), and written to a directory the
project then lists as a custom plugin.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from plugwiz.core.gosource import (
    IDENT,
    OP,
    STRING,
    GoSourceError,
    Token,
    rename_file_name,
    rename_package,
    string_value,
    tokenize,
)
from plugwiz.core.model import (
    BundledPlugin,
    PluginSource,
    Project,
    ProjectError,
    ResolvedProject,
    check_name,
    effective_bundled,
    name_from_source,
)
from plugwiz.core.ports import HostRepository

# A bundled plugin directory larger than this is not an example to copy.
MAX_COPIED_BYTES = 4 * 1024 * 1024


class ScaffoldError(ProjectError):
    """A new plugin cannot be made as asked; the message says why and what to do."""


class NoBundledPluginError(ScaffoldError):
    """The host has no bundled plugin to copy (a skeleton can be offered instead)."""


@dataclass(frozen=True)
class NewPlugin:
    """The files of a new plugin (`(file name, content)`, in a directory of their own) and
    how they were made: copied from the bundled plugin at `origin` (a path in the host tree)
    or, when `origin` is empty, a skeleton. `notes` are things its author should know."""

    name: str
    files: tuple[tuple[str, bytes], ...]
    origin: str = ""
    commit: str = ""
    renamed: tuple[tuple[str, str], ...] = ()
    strings: int = 0
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a person: where it comes from and what was renamed."""
        if not self.origin:
            return f"{self.name}: a minimal skeleton ({len(self.files)} file)"
        renamed = ", ".join(f"{a} -> {b}" for a, b in self.renamed) or "no identifier"
        ids = f", {self.strings} ID string(s)" if self.strings else ""
        return (
            f"{self.name}: copied from the bundled plugin {self.origin} at {self.commit[:12]} "
            f"({len(self.files)} file(s); renamed {renamed}{ids})"
        )


def pick_bundled(resolved: ResolvedProject, choice: str | None = None) -> BundledPlugin:
    """The bundled plugin to copy: `choice` (its name or its path), else the first one.
    NoBundledPluginError when the host has none; ScaffoldError when `choice` is not one."""
    bundled = effective_bundled(resolved.project, resolved.facts)
    if not bundled:
        raise NoBundledPluginError(
            "the host has no bundled plugin to start from (no `package main` directory "
            "without `func main()` in its tree)"
        )
    if not choice:
        return bundled[0]
    wanted = choice.strip().removeprefix("./").rstrip("/")
    for plugin in bundled:
        if wanted in (plugin.output_name, plugin.path.removeprefix("./").rstrip("/")):
            return plugin
    names = ", ".join(b.output_name for b in bundled)
    raise ScaffoldError(f"the host has no bundled plugin {choice!r}; it has: {names}")


def plugin_from_bundled(
    resolved: ResolvedProject, repo: HostRepository, bundled: BundledPlugin, name: str
) -> NewPlugin:
    """Copy the bundled plugin `bundled` out of the host tree at the resolved commit and
    rename it `name` (see the module docstring)."""
    check_name(name)
    sha = resolved.sha
    directory = bundled.path.removeprefix("./").strip("/")
    prefix = f"{directory}/"
    files = [f for f in repo.files(sha) if f.startswith(prefix)]
    own = sorted(f for f in files if "/" not in f[len(prefix) :])
    nested = sorted({f[len(prefix) :].split("/", 1)[0] for f in files if f not in own})
    if not any(f.endswith(".go") for f in own):
        raise ScaffoldError(f"the bundled plugin {directory} has no Go file at {sha[:12]}")
    contents: dict[str, bytes] = {}
    total = 0
    for path in own:
        data = repo.read(sha, path)
        if data is None:
            continue
        total += len(data)
        if total > MAX_COPIED_BYTES:
            raise ScaffoldError(f"the bundled plugin {directory} is too large to copy")
        contents[path[len(prefix) :]] = data
    # The code names the plugin after its directory (`plugins/upper`: "upper"); a name the
    # project gives it (`{path: plugins/upper, name: shout}`) is renamed too.
    old = name_from_source(directory)
    olds = [old] + ([bundled.output_name] if bundled.output_name != old else [])
    go_names = [n for n in contents if n.endswith(".go")]
    try:
        sources = [contents[n].decode("utf-8") for n in go_names]
    except UnicodeDecodeError:
        raise ScaffoldError(
            f"the bundled plugin {directory} has a Go file that is not UTF-8"
        ) from None
    identifiers: list[tuple[str, str]] = []
    strings = 0
    for each in olds:
        try:
            result = rename_package(sources, each, name)
        except GoSourceError as exc:
            raise ScaffoldError(f"cannot rename {directory}: {exc}") from None
        sources = list(result.sources)
        identifiers += result.identifiers
        strings += result.strings
    renamed_text = dict(zip(go_names, sources, strict=True))
    notes: list[str] = []
    module = resolved.facts.gomod.module
    for file_name in go_names:
        for imported in _imports(tokenize(renamed_text[file_name])):
            if imported.startswith(f"{module}/{directory}/"):
                inner = imported[len(module) + 1 :]
                if "/internal/" in f"/{inner}/":
                    notes.append(
                        f"{file_name} imports {imported}, internal to {directory}: Go refuses "
                        "that import from outside it; copy that package in or move it up"
                    )
                else:
                    notes.append(f"{file_name} still imports {imported} from the host")
    if nested:
        notes.append(
            f"not copied: {', '.join(nested)} under {directory} (packages of the host; "
            "the copy imports them from there)"
        )
    out: list[tuple[str, bytes]] = []
    header = (
        f"// {name}: made by `plugwiz new {name}` from the host's bundled plugin "
        f"{directory} at {sha[:12]}.\n\n"
    )
    taken: set[str] = set()
    primary = _primary_file(go_names, old)
    for file_name, data in sorted(contents.items()):
        new_file = rename_file_name(file_name, old, name)
        if new_file.endswith("_test.go") and not file_name.endswith("_test.go"):
            new_file = file_name  # a name ending in _test must not turn a file into a test
        if new_file in taken:
            new_file = file_name
        taken.add(new_file)
        if file_name in renamed_text:
            text = renamed_text[file_name]
            if file_name == primary:
                text = header + text
            data = text.encode("utf-8")
        out.append((new_file, data))
    return NewPlugin(
        name,
        tuple(sorted(out)),
        origin=directory,
        commit=sha,
        renamed=tuple(identifiers),
        strings=strings,
        notes=tuple(dict.fromkeys(notes)),
    )


def _primary_file(go_names: Sequence[str], old: str) -> str:
    """The file that gets the header: the one named after the plugin, else the first."""
    for file_name in sorted(go_names):
        if PurePosixPath(file_name).stem == old:
            return file_name
    return sorted(n for n in go_names if not n.endswith("_test.go"))[0] if go_names else ""


def _import_specs(tokens: Sequence[Token]) -> list[tuple[str, str]]:
    """(package name, import path) of a Go file's imports: the alias, else the path's last
    element (`_` and `.` imports included as written)."""
    specs: list[tuple[str, str]] = []
    code = [t for t in tokens if t.kind != "comment"]
    for k, token in enumerate(code):
        if token.kind == IDENT and token.text in ("func", "type", "var", "const"):
            break  # imports come before every other declaration
        if token.kind != STRING:
            continue
        value = string_value(token.text)
        if value is None:
            continue
        before = code[k - 1] if k else None
        if before is not None and before.kind == IDENT and before.text != "import":
            specs.append((before.text, value))
        elif before is not None and before.kind == OP and before.text == ".":
            specs.append((".", value))
        else:
            specs.append((PurePosixPath(value).name, value))
    return specs


def _imports(tokens: Sequence[Token]) -> list[str]:
    """The import paths of a Go file."""
    return [path for _name, path in _import_specs(tokens)]


# -- the skeleton -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LookedUpSymbol:
    """What the host looks up in every plugin, as far as plugwiz can tell: the symbol's
    name, its Go type as the host writes it (`func() provider.Provider`, `*registry.Plugin`:
    what `Lookup` returns, so a pointer for a variable), and the imports that type needs
    (`(package name, import path)`)."""

    symbol: str
    type: str = ""
    imports: tuple[tuple[str, str], ...] = ()


def looked_up_symbol(
    resolved: ResolvedProject, repo: HostRepository, symbol_type: str = ""
) -> LookedUpSymbol:
    """The load-check symbol (`loading.symbol`) with its type: `symbol_type` when the
    settings give one, else the type the host's code asserts on what `Lookup` returned."""
    symbol = resolved.project.loading.symbol
    sha = resolved.sha
    found_symbol, found_type = "", symbol_type
    imports: tuple[tuple[str, str], ...] = ()
    go_files = [
        p
        for p in repo.files(sha)
        if p.endswith(".go") and not p.endswith("_test.go") and "/vendor/" not in f"/{p}"
    ]
    for path in go_files:
        data = repo.read(sha, path) or b""
        if b".Lookup(" not in data:
            continue
        try:
            tokens = [t for t in tokenize(data.decode("utf-8")) if t.kind != "comment"]
        except (GoSourceError, UnicodeDecodeError):
            continue
        if not found_symbol:
            kind, value = _lookup_argument(tokens)
            found_symbol = _constant_value(repo, sha, go_files, value) if kind else value
        if not found_type:
            found_type = _asserted_type(tokens, data.decode("utf-8"))
        if found_type:
            import_map = _import_names(tokens)
            type_tokens = tokenize(found_type)
            qualifiers = {
                t.text
                for t, after in zip(type_tokens, type_tokens[1:], strict=False)
                if t.kind == IDENT and after.text == "."
            }
            imports = tuple(sorted((n, import_map[n]) for n in qualifiers if n in import_map))
            break
    return LookedUpSymbol(symbol or found_symbol, found_type, imports)


def _lookup_argument(tokens: Sequence[Token]) -> tuple[str, str]:
    """What the host passes to `Lookup`: ("", "New") for a literal, ("const", NAME) for a
    constant (`Lookup(provider.SymbolName)`), ("", "") when it cannot tell."""
    for k in range(len(tokens) - 3):
        if tokens[k].text != "Lookup" or tokens[k + 1].text != "(":
            continue
        argument = tokens[k + 2]
        if argument.kind == STRING and tokens[k + 3].text == ")":
            return "", string_value(argument.text) or ""
        if argument.kind == IDENT:
            j = k + 2
            if tokens[j + 1].text == "." and j + 2 < len(tokens) and tokens[j + 2].kind == IDENT:
                j += 2
            if j + 1 < len(tokens) and tokens[j + 1].text == ")":
                return "const", tokens[j].text
    return "", ""


def _constant_value(repo: HostRepository, sha: str, paths: Sequence[str], name: str) -> str:
    """The string value of the constant `name` (`const name = "..."`) in the host's files."""
    needle = name.encode()
    for path in paths:
        data = repo.read(sha, path) or b""
        if needle not in data:
            continue
        try:
            tokens = [t for t in tokenize(data.decode("utf-8")) if t.kind != "comment"]
        except (GoSourceError, UnicodeDecodeError):
            continue
        for k in range(len(tokens) - 2):
            if (
                tokens[k].text == name
                and tokens[k + 1].text == "="
                and tokens[k + 2].kind == STRING
            ):
                return string_value(tokens[k + 2].text) or ""
    return ""


def _asserted_type(tokens: Sequence[Token], source: str) -> str:
    """The first `x.(func...)`/`x.(*T)` assertion or `case func...:`/`case *T:` in the file."""
    for k in range(len(tokens) - 2):
        start: int | None = None
        if tokens[k].text == "." and tokens[k + 1].text == "(" and tokens[k + 2].text != "type":
            start, closer = k + 2, ")"
        elif tokens[k].text == "case":
            start, closer = k + 1, ":"
        if start is None or tokens[start].text not in ("func", "*"):
            continue
        depth = 0
        for j in range(start, len(tokens)):
            text = tokens[j].text
            if text in "([{" and tokens[j].kind == OP:
                depth += 1
            elif text in ")]}" and tokens[j].kind == OP:
                if depth == 0 and text == closer:
                    return source[tokens[start].start : tokens[j - 1].end]
                depth -= 1
            elif depth == 0 and text == closer:
                return source[tokens[start].start : tokens[j - 1].end]
    return ""


def _import_names(tokens: Sequence[Token]) -> dict[str, str]:
    """Package name -> import path for a file's imports."""
    return {name: path for name, path in _import_specs(tokens) if name not in ("_", ".")}


def skeleton_plugin(name: str, looked_up: LookedUpSymbol) -> NewPlugin:
    """A plugin that exports only what the host looks up, with a body to write."""
    check_name(name)
    lines = [
        f"// Package main is the {name} plugin, started by `plugwiz new {name}` as a minimal",
        "// skeleton: the host has no bundled plugin to copy.",
        "package main",
        "",
    ]
    if looked_up.imports:
        lines.append("import (")
        lines.extend(f'\t"{path}"' for _name, path in looked_up.imports)
        lines.extend([")", ""])
    symbol, kind = looked_up.symbol, looked_up.type
    notes: list[str] = []
    if not symbol:
        lines.append("// The host's load-check settings name no symbol: export what it looks up.")
        notes.append("no symbol is set (loading.symbol): the skeleton exports nothing yet")
    elif kind.startswith("func"):
        lines += [
            f"// {symbol} is looked up by the host (type {kind}).",
            f"func {symbol}{kind[len('func') :]} {{",
            f'\tpanic("{name}: {symbol} is not written yet")',
            "}",
        ]
    elif kind.startswith("*"):
        lines += [
            f"// {symbol} is looked up by the host (it gets a {kind}): give it a value.",
            f"var {symbol} {kind[1:]}",
        ]
    else:
        lines += [
            f"// {symbol} is looked up by the host; plugwiz could not tell its type.",
            f"var {symbol} struct{{}}",
        ]
        notes.append(f"the type of {symbol} is unknown: change it to what the host expects")
    text = "\n".join(lines) + "\n"
    return NewPlugin(name, ((f"{name}.go", text.encode("utf-8")),), notes=tuple(notes))


# -- writing it and adding it to the project --------------------------------------------------


def new_plugin(
    resolved: ResolvedProject,
    repo: HostRepository,
    name: str,
    *,
    bundled: str | None = None,
    skeleton: bool = False,
    symbol_type: str = "",
) -> NewPlugin:
    """A copy of a bundled plugin named `name`; with `skeleton`, a skeleton when the host has
    no bundled plugin (NoBundledPluginError otherwise)."""
    check_name(name)
    if any(p.output_name == name for p in resolved.project.plugins) or any(
        b.output_name == name for b in effective_bundled(resolved.project, resolved.facts)
    ):
        raise ScaffoldError(f"the project already has a plugin named {name!r}")
    try:
        chosen = pick_bundled(resolved, bundled)
    except NoBundledPluginError:
        if not skeleton:
            raise
        return skeleton_plugin(name, looked_up_symbol(resolved, repo, symbol_type))
    return plugin_from_bundled(resolved, repo, chosen, name)


def write_plugin(plugin: NewPlugin, directory: Path) -> list[Path]:
    """Write the plugin's files into `directory` (made if missing; refused if it holds
    anything, so nothing of the user's is overwritten)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ScaffoldError(f"{directory} already exists and is not empty: choose another -o DIR")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for file_name, data in plugin.files:
        path = directory / file_name
        path.write_bytes(data)
        written.append(path)
    return written


def with_new_plugin(project: Project, directory: Path, name: str) -> Project:
    """`project` with the plugin in `directory` appended (relative to the project directory
    when it is inside it; named when the directory's name is not `name`)."""
    try:
        relative = os.path.relpath(directory, project.base_dir)
        source = str(directory) if relative.startswith("..") else f"./{relative}"
    except ValueError:
        source = str(directory)
    plugin = PluginSource(source=source, name="" if name_from_source(source) == name else name)
    return replace(project, plugins=(*project.plugins, plugin))


__all__ = [
    "LookedUpSymbol",
    "NewPlugin",
    "NoBundledPluginError",
    "ScaffoldError",
    "looked_up_symbol",
    "new_plugin",
    "pick_bundled",
    "plugin_from_bundled",
    "skeleton_plugin",
    "with_new_plugin",
    "write_plugin",
]
