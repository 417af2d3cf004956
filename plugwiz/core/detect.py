"""Finding the host's main package and its bundled plugins in a source tree."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from plugwiz.core.gomod import GoModError, parse_gomod
from plugwiz.core.model import HostFacts

_PACKAGE_RE = re.compile(rb"^\s*package\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
_FUNC_MAIN_RE = re.compile(rb"^func\s+main\s*\(\s*\)", re.MULTILINE)
_BLOCK_COMMENT_RE = re.compile(rb"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT_RE = re.compile(rb"//[^\n]*")
_IMPORT_BLOCK_RE = re.compile(rb"^import\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_IMPORT_LINE_RE = re.compile(
    rb"^import\s+(?:[A-Za-z_.][A-Za-z0-9_]*\s+)?\"([^\"]+)\"", re.MULTILINE
)
_IMPORT_SPEC_RE = re.compile(rb"(?:[A-Za-z_.][A-Za-z0-9_]*\s+)?\"([^\"]+)\"")

# Directories the go tool ignores, and trees that are never the host's own packages.
_SKIPPED_PARTS = ("vendor", "testdata")


class DetectError(ValueError):
    """The tree is not a Go module plugwiz can build."""


class HostGoModError(DetectError, GoModError):
    """The host's go.mod cannot be parsed (a DetectError, so every caller of detect_host that
    handles those shows it as a message)."""


def go_package_name(source: bytes) -> str | None:
    """The `package` clause of a Go file, ignoring comments; None if there is none."""
    stripped = _LINE_COMMENT_RE.sub(b"", _BLOCK_COMMENT_RE.sub(b"", source))
    match = _PACKAGE_RE.search(stripped)
    return match.group(1).decode() if match else None


def has_func_main(source: bytes) -> bool:
    """Whether a Go file declares `func main()` at top level."""
    return _FUNC_MAIN_RE.search(_BLOCK_COMMENT_RE.sub(b"", source)) is not None


def go_imports(source: bytes) -> list[str]:
    """The import paths of a Go file (comments ignored; aliases, `_` and `.` imports too)."""
    stripped = _LINE_COMMENT_RE.sub(b"", _BLOCK_COMMENT_RE.sub(b"", source))
    found = [m.group(1) for m in _IMPORT_LINE_RE.finditer(stripped)]
    for block in _IMPORT_BLOCK_RE.finditer(stripped):
        found.extend(m.group(1) for m in _IMPORT_SPEC_RE.finditer(block.group(1)))
    return [path.decode("utf-8", "replace") for path in found]


def external_imports(paths: set[str], module: str) -> tuple[str, ...]:
    """Of `paths`, the packages of other modules: a first element with a dot (a domain), so
    never the standard library, and not under `module` itself. Sorted."""
    prefix = module.rstrip("/") + "/"
    return tuple(
        sorted(
            p
            for p in paths
            if "." in p.split("/", 1)[0] and p != module and not p.startswith(prefix)
        )
    )


def _is_package_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    if not path.endswith(".go") or path.endswith("_test.go"):
        return False
    return not any(p in _SKIPPED_PARTS or p[0] in "._" for p in parts)


def detect_host(files: list[str], read: Callable[[str], bytes | None]) -> HostFacts:
    """Detect module facts, main packages and bundled plugins from a host tree.

    `files` lists every path in the tree; `read` returns a file's bytes. A directory of
    `package main` files with `func main()` is a main package; one without is a plugin.
    """
    gomod_bytes = read("go.mod")
    if gomod_bytes is None:
        raise DetectError("the host has no go.mod at its root; plugwiz builds Go modules only")
    try:
        gomod = parse_gomod(gomod_bytes.decode("utf-8", errors="replace"))
    except GoModError as exc:
        raise HostGoModError(
            f"the host's {exc}: fix it in the host repository, or choose another ref"
        ) from None
    main_dirs: set[str] = set()
    package_main_dirs: set[str] = set()
    imports: set[str] = set()
    for path in files:
        if not _is_package_file(path):
            continue
        content = read(path) or b""
        imports.update(go_imports(content))
        if go_package_name(content) != "main":
            continue
        directory = str(PurePosixPath(path).parent)
        package_main_dirs.add(directory)
        if has_func_main(content):
            main_dirs.add(directory)
    plugin_dirs = package_main_dirs - main_dirs
    fileset = set(files)
    return HostFacts(
        gomod=gomod,
        main_packages=tuple(sorted(main_dirs)),
        plugin_packages=tuple(sorted(plugin_dirs)),
        has_go_sum="go.sum" in fileset,
        vendored="vendor/modules.txt" in fileset,
        imports=external_imports(imports, gomod.module),
    )
