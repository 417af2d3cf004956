"""Reading go.mod: the module path, the `go` line and the `toolchain` line."""

from __future__ import annotations

import re

from plugwiz.core.model import GoMod

_GO_VERSION_RE = re.compile(r"^1(\.\d+){1,2}([a-z]+\d+)?$")
_TOOLCHAIN_RE = re.compile(r"^go1(\.\d+){1,2}([a-z]+\d+)?$")


class GoModError(ValueError):
    """go.mod cannot be understood; the message names the line."""


def _strip_comment(line: str) -> str:
    # go.mod comments are `//` to end of line; module paths never contain `//`.
    return line.split("//", 1)[0].strip()


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`':
        return token[1:-1]
    return token


def parse_gomod(text: str) -> GoMod:
    """Parse the parts of go.mod plugwiz needs; raises GoModError on a malformed file."""
    module = go = toolchain = ""
    requires: list[str] = []
    block: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
            elif block == "require":
                requires.append(line.split()[0])
            continue
        words = line.split()
        verb = words[0]
        if len(words) >= 2 and words[1] == "(":
            block = verb
            continue
        if verb == "module":
            if len(words) != 2:
                raise GoModError(
                    f"go.mod line {number}: expected `module PATH`, got {raw.strip()!r}"
                )
            module = _unquote(words[1])
        elif verb == "go":
            if len(words) != 2 or not _GO_VERSION_RE.match(words[1]):
                raise GoModError(f"go.mod line {number}: expected `go 1.N`, got {raw.strip()!r}")
            go = words[1]
        elif verb == "toolchain":
            if len(words) != 2 or not _TOOLCHAIN_RE.match(words[1]):
                raise GoModError(
                    f"go.mod line {number}: expected `toolchain go1.N.P`, got {raw.strip()!r}"
                )
            toolchain = words[1]
        elif verb == "require" and len(words) >= 3:
            requires.append(words[1])
        elif verb not in ("require", "replace", "exclude", "retract", "godebug", "tool"):
            raise GoModError(f"go.mod line {number}: unknown directive {verb!r}")
    if block is not None:
        raise GoModError(f"go.mod: the `{block} (` block is never closed")
    if not module:
        raise GoModError("go.mod has no `module` line")
    return GoMod(module=module, go=go, toolchain=toolchain, requires=tuple(requires))


def go_minor(version: str) -> tuple[int, int] | None:
    """`1.22.3` or `go1.22rc1` -> (1, 22); None if not a Go version."""
    match = re.match(r"^(?:go)?(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None
