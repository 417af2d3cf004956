"""go.mod, go.sum and vendor/modules.txt in full: what merging a plugin's module into the host's
build needs (every requirement with its version, every replacement), and small, line-level edits
that keep the rest of the user's file as written. Pure.

`plugwiz.core.gomod` reads the few facts detection needs; this reads everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from plugwiz.core.gomod import GoModError

_LOCAL_PREFIXES = ("./", "../", "/", ".\\", "..\\")


@dataclass(frozen=True)
class Requirement:
    """`require PATH VERSION` (`indirect` when marked `// indirect`); `line` is 1-based."""

    path: str
    version: str
    indirect: bool = False
    line: int = 0


@dataclass(frozen=True)
class Replacement:
    """`replace OLD [OLD_VERSION] => NEW [NEW_VERSION]`; a NEW without version is a directory."""

    old: str
    old_version: str
    new: str
    new_version: str
    line: int = 0

    @property
    def local(self) -> bool:
        """True when the replacement is a directory (not a module at a version)."""
        return not self.new_version

    def applies_to(self, path: str, version: str) -> bool:
        return self.old == path and (not self.old_version or self.old_version == version)

    def target(self) -> str:
        """The right-hand side as go.mod writes it."""
        return f"{quote(self.new)} {self.new_version}".rstrip()

    def text(self) -> str:
        left = f"{quote(self.old)} {self.old_version}".rstrip()
        return f"{left} => {self.target()}"


@dataclass(frozen=True)
class ModFile:
    """A parsed go.mod."""

    module: str
    go: str = ""
    requires: tuple[Requirement, ...] = ()
    replaces: tuple[Replacement, ...] = ()
    excludes: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def required(self, path: str) -> Requirement | None:
        """The (highest) requirement on `path`, or None."""
        found = [r for r in self.requires if r.path == path]
        return max(found, key=lambda r: version_key(r.version)) if found else None

    def replacement(self, path: str, version: str = "") -> Replacement | None:
        """The replacement that applies to `path@version` (a versioned one first), or None."""
        exact = [r for r in self.replaces if r.old == path and r.old_version == version]
        if exact:
            return exact[-1]
        general = [r for r in self.replaces if r.old == path and not r.old_version]
        return general[-1] if general else None


def quote(token: str) -> str:
    """A go.mod token, quoted when it has to be."""
    if token and not re.search(r"[\s\"'`(){},]|//", token):
        return token
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_local_path(target: str) -> bool:
    """Whether a replacement target is a directory (`./x`, `../x`, `/abs`)."""
    return target.startswith(_LOCAL_PREFIXES) or target in (".", "..")


def _tokens(line: str) -> list[str]:
    """go.mod tokens of one line (comments removed, quotes undone)."""
    out: list[str] = []
    i = 0
    while i < len(line):
        c = line[i]
        if c.isspace():
            i += 1
            continue
        if line.startswith("//", i):
            break
        if c in '"`':
            end = line.find(c, i + 1)
            if c == '"':
                j = i + 1
                chars: list[str] = []
                while j < len(line) and line[j] != '"':
                    if line[j] == "\\" and j + 1 < len(line):
                        j += 1
                    chars.append(line[j])
                    j += 1
                out.append("".join(chars))
                i = j + 1
                continue
            if end < 0:
                raise GoModError(f"unterminated string in {line.strip()!r}")
            out.append(line[i + 1 : end])
            i = end + 1
            continue
        if c in "()":
            out.append(c)
            i += 1
            continue
        j = i
        while j < len(line) and not line[j].isspace() and line[j] not in "()":
            if line.startswith("//", j):
                break
            j += 1
        out.append(line[i:j])
        i = j
    return out


def _comment(line: str) -> str:
    index = line.find("//")
    return line[index + 2 :].strip() if index >= 0 else ""


def parse_modfile(text: str, name: str = "go.mod") -> ModFile:
    """Parse a go.mod completely; GoModError names the file and line."""
    module = go = ""
    requires: list[Requirement] = []
    replaces: list[Replacement] = []
    excludes: list[tuple[str, str]] = []
    block: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            words = _tokens(raw)
        except GoModError as exc:
            raise GoModError(f"{name} line {number}: {exc}") from None
        if not words:
            continue
        if block is not None:
            if words == [")"]:
                block = None
                continue
            verb, args = block, words
        else:
            verb, args = words[0], words[1:]
            if args == ["("]:
                block = verb
                continue
        where = f"{name} line {number}"
        if verb == "module":
            if len(args) != 1:
                raise GoModError(f"{where}: expected `module PATH`")
            module = args[0]
        elif verb == "go":
            go = args[0] if args else ""
        elif verb == "require":
            if len(args) != 2:
                raise GoModError(f"{where}: expected `require PATH VERSION`, got {raw.strip()!r}")
            indirect = _comment(raw).split(";")[0].strip() == "indirect"
            requires.append(Requirement(args[0], args[1], indirect, number))
        elif verb == "replace":
            if "=>" not in args:
                raise GoModError(f"{where}: expected `replace OLD => NEW`, got {raw.strip()!r}")
            arrow = args.index("=>")
            left, right = args[:arrow], args[arrow + 1 :]
            if len(left) not in (1, 2) or len(right) not in (1, 2):
                raise GoModError(f"{where}: malformed replace {raw.strip()!r}")
            if len(right) == 1 and not is_local_path(right[0]):
                raise GoModError(
                    f"{where}: replacement {right[0]!r} needs a version (or `./` for a directory)"
                )
            replaces.append(
                Replacement(
                    left[0],
                    left[1] if len(left) == 2 else "",
                    right[0],
                    right[1] if len(right) == 2 else "",
                    number,
                )
            )
        elif verb == "exclude":
            if len(args) == 2:
                excludes.append((args[0], args[1]))
        elif verb in ("retract", "toolchain", "godebug", "tool"):
            continue
        else:
            raise GoModError(f"{where}: unknown directive {verb!r}")
    if block is not None:
        raise GoModError(f"{name}: the `{block} (` block is never closed")
    if not module:
        raise GoModError(f"{name} has no `module` line")
    return ModFile(module, go, tuple(requires), tuple(replaces), tuple(excludes), text)


# -- versions ---------------------------------------------------------------------------------


def version_key(version: str) -> tuple[object, ...]:
    """A sort key ordering module versions as semver does (pre-releases before releases)."""
    match = re.match(r"^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?", version)
    if not match:
        return (-1, version)
    major, minor, patch, pre = match.groups()
    pre_key: tuple[object, ...]
    if pre is None:
        pre_key = (1,)
    else:
        parts: list[tuple[int, object]] = []
        for part in pre.split("."):
            parts.append((0, int(part)) if part.isdigit() else (1, part))
        pre_key = (0, tuple(parts))
    return (int(major), int(minor), int(patch), pre_key)


def max_version(versions: Iterable[str]) -> str:
    """The highest of `versions` ("" for none)."""
    listed = list(versions)
    return max(listed, key=version_key) if listed else ""


# -- go.sum -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SumLine:
    """One go.sum line: `path version[/go.mod] hash`."""

    path: str
    version: str
    gomod: bool
    hash: str

    def text(self) -> str:
        suffix = "/go.mod" if self.gomod else ""
        return f"{self.path} {self.version}{suffix} {self.hash}"


def parse_gosum(text: str, name: str = "go.sum") -> list[SumLine]:
    """The lines of a go.sum (blank lines skipped); GoModError for a malformed one."""
    lines: list[SumLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words:
            continue
        if len(words) != 3:
            raise GoModError(f"{name} line {number}: expected `MODULE VERSION HASH`")
        path, version, digest = words
        gomod = version.endswith("/go.mod")
        lines.append(SumLine(path, version.removesuffix("/go.mod"), gomod, digest))
    return lines


@dataclass(frozen=True)
class SumConflict:
    """Two go.sum files disagree about a module's checksum."""

    path: str
    version: str
    gomod: bool
    first: tuple[str, str]  # (where, hash)
    second: tuple[str, str]


def merge_gosums(sources: Iterable[tuple[str, str]]) -> tuple[str, list[SumConflict]]:
    """Merge go.sum texts given as (where, text): a sorted union, and every disagreement."""
    seen: dict[tuple[str, str, bool], tuple[str, str]] = {}
    conflicts: list[SumConflict] = []
    for where, text in sources:
        for line in parse_gosum(text, where):
            key = (line.path, line.version, line.gomod)
            known = seen.get(key)
            if known is None:
                seen[key] = (where, line.hash)
            elif known[1] != line.hash:
                conflicts.append(
                    SumConflict(line.path, line.version, line.gomod, known, (where, line.hash))
                )
    ordered = sorted(seen.items(), key=lambda item: (item[0][0], version_key(item[0][1]), item[0]))
    text = "".join(
        SumLine(path, version, gomod, digest).text() + "\n"
        for (path, version, gomod), (_where, digest) in ordered
    )
    return text, conflicts


# -- vendor/modules.txt -----------------------------------------------------------------------


@dataclass
class VendoredModule:
    """A `# path version [=> ...]` entry of vendor/modules.txt with its `##` notes and packages."""

    path: str
    version: str
    replacement: str = ""  # the text after `=>`, as written
    notes: list[str] = field(default_factory=list)  # `## explicit`, `## explicit; go 1.17`...
    packages: list[str] = field(default_factory=list)

    @property
    def explicit(self) -> bool:
        return any(n.split(";")[0].strip() == "explicit" for n in self.notes)

    def text(self) -> str:
        head = f"# {self.path} {self.version}".rstrip()
        if self.replacement:
            head += f" => {self.replacement}"
        return "".join(
            line + "\n" for line in [head, *(f"## {n}" for n in self.notes), *self.packages]
        )


def parse_modules_txt(text: str) -> list[VendoredModule]:
    """The modules of a vendor/modules.txt, in order (replacement-only `# a => b` lines of
    wildcard replacements are kept as modules without packages)."""
    modules: list[VendoredModule] = []
    current: VendoredModule | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("## "):
            if current is not None:
                current.notes.append(line[3:].strip())
            continue
        if line.startswith("# "):
            head, _, replacement = line[2:].partition("=>")
            words = head.split()
            current = VendoredModule(
                words[0] if words else "",
                words[1] if len(words) > 1 else "",
                replacement.strip(),
            )
            modules.append(current)
            continue
        if current is not None:
            current.packages.append(line)
    return modules


def format_modules_txt(modules: Iterable[VendoredModule]) -> str:
    """vendor/modules.txt text for `modules`, in the order given."""
    return "".join(m.text() for m in modules)


# -- editing go.mod ---------------------------------------------------------------------------


def set_requirement_versions(mod: ModFile, versions: dict[str, str]) -> str:
    """`mod`'s text with the version of each requirement named in `versions` changed (the line
    keeps its place, layout and comment)."""
    lines = mod.text.splitlines(keepends=True)
    for requirement in mod.requires:
        new = versions.get(requirement.path)
        if new is None or new == requirement.version:
            continue
        index = requirement.line - 1
        line = lines[index]
        # The version is the first whole-word occurrence after the path.
        at = line.find(requirement.path)
        head, tail = line[: at + len(requirement.path)], line[at + len(requirement.path) :]
        tail = re.sub(
            r"(\s+)" + re.escape(requirement.version) + r"(?=\s|$|//)",
            r"\g<1>" + new.replace("\\", r"\\"),
            tail,
            count=1,
        )
        lines[index] = head + tail
    return "".join(lines)


def drop_lines(mod: ModFile, line_numbers: Iterable[int]) -> str:
    """`mod`'s text with the given (1-based) lines commented out (so numbers stay put)."""
    drop = set(line_numbers)
    lines = mod.text.splitlines(keepends=True)
    for number in drop:
        index = number - 1
        if 0 <= index < len(lines):
            raw = lines[index]
            body = raw.rstrip("\r\n")
            ending = raw[len(body) :]
            lines[index] = f"// plugwiz: {body.strip()}{ending}"
    return "".join(lines)


def append_directives(
    text: str,
    comment: str,
    requires: Iterable[tuple[str, str]],
    replaces: Iterable[Replacement],
) -> str:
    """`text` with a commented block of `require` and `replace` directives added at the end."""
    requires = list(requires)
    replaces = list(replaces)
    if not requires and not replaces:
        return text
    out = text if text.endswith("\n") or not text else text + "\n"
    out += f"\n// {comment}\n"
    if requires:
        out += "require (\n"
        out += "".join(f"\t{quote(path)} {version}\n" for path, version in requires)
        out += ")\n"
    if replaces:
        out += "replace (\n"
        out += "".join(f"\t{r.text()}\n" for r in replaces)
        out += ")\n"
    return out


__all__ = [
    "ModFile",
    "Replacement",
    "Requirement",
    "SumConflict",
    "SumLine",
    "VendoredModule",
    "append_directives",
    "drop_lines",
    "format_modules_txt",
    "is_local_path",
    "max_version",
    "merge_gosums",
    "parse_gosum",
    "parse_modfile",
    "parse_modules_txt",
    "quote",
    "set_requirement_versions",
    "version_key",
]
