"""A Go binary's build facts, read from its ELF file without running it and without Go.

What it reads, and where:

- `.go.buildinfo` (Go's `debug/buildinfo` format): a 32-byte header (the magic
  `\\xff Go buildinf:`, the pointer size, flags), then either the Go version and the module
  info as varint-length strings (Go 1.18+, flag 0x2) or two pointers to Go string headers in
  the data segment (older Go). The module info is `runtime/debug.BuildInfo` text: `path`,
  `mod`, `dep`, `=>` (replacement) and `build KEY=VALUE` lines between two 16-byte sentinels.
  Go 1.19 and older write none of this into plugins (`-buildmode=plugin`); newer Go does.
- `.dynsym`: `go.link.pkghashbytes.<package>` (`go:link.` since Go 1.20), the fingerprint of
  every package a plugin-capable host or a plugin links. `runtime/plugin.go` compares exactly
  these when a plugin is opened ("plugin was built with a different version of package X").
  The dynamic symbol table survives `strip` and `-ldflags=-s -w`.
- the pclntab (found by its magic, so stripped files work too): the source file names, which
  show whether `-trimpath` was used, the build directory and GOROOT when it was not, and the
  module versions of a plugin that has no build info.
- ELF: `DT_NEEDED` libraries and the `.gnu.version_r` symbol versions (GLIBC_2.34...).

Every bad input gives `NotAGoBinaryError` (a ValueError) with a message for a person.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugwiz.core.elf import (
    ET_DYN,
    PF_W,
    PF_X,
    PT_LOAD,
    ElfError,
    ElfFile,
    glibc_versions,
)

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_HEADER_SIZE = 32
_ALIGN = 16
_SEARCH_SIZE = 64 * 1024  # debug/buildinfo looks this far into the data segment
_FLAG_BIG_ENDIAN = 0x1
_FLAG_INLINE = 0x2
_INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")
_MAX_STRING = 16 * 1024 * 1024
_PKGHASH_PREFIXES = ("go.link.pkghashbytes.", "go:link.pkghashbytes.")
# pclntab magics, by the Go releases that write them.
_PCLNTAB_MAGICS = {
    0xFFFFFFF1: "go1.20 or later",
    0xFFFFFFF0: "go1.18 or go1.19",
    0xFFFFFFFA: "go1.16 or go1.17",
}
_PCLNTAB_RE = re.compile(
    rb"(?:[\xf0\xf1\xfa]\xff\xff\xff|\xff\xff\xff[\xf0\xf1\xfa])\x00\x00[\x01\x02\x04][\x04\x08]"
)
_MODCACHE_RE = re.compile(r"(?:^|/pkg/mod/)((?:[^/@]+/)*[^/@]+)@(v[^/]+)/")
_GOROOT_RE = re.compile(r"^(/.*)/src/runtime/[^/]+\.(?:go|s)$")
_DEBIAN_GOROOT_RE = re.compile(r"/usr/lib/go-(1\.\d+)$")

# Build settings that change what the compiler writes for a package, and so the package hash
# Go checks at load time: they must match between host and plugin.
HASH_SETTINGS = (
    "-trimpath",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-compiler",
    "-race",
    "-msan",
    "-asan",
    "CGO_ENABLED",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "GOEXPERIMENT",
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GO386",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
    "GOWASM",
)
ARCH_LEVEL_SETTINGS = (
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GO386",
    "GOMIPS",
    "GOMIPS64",
    "GOPPC64",
    "GORISCV64",
)


class NotAGoBinaryError(ValueError):
    """The input is not a Go binary this reader understands; the message is for a person."""


@dataclass(frozen=True)
class Module:
    """A module as build info records it; `replace` is the module that replaced it, if any."""

    path: str
    version: str
    sum: str = ""
    replace: Module | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data: dict[str, Any] = {"path": self.path, "version": self.version, "sum": self.sum}
        if self.replace is not None:
            data["replace"] = self.replace.to_json()
        return data

    def describe(self) -> str:
        """`v1.2.0`, or `v1.2.0 => ../fork (devel)` when replaced."""
        text = self.version or "(no version)"
        if self.replace is not None:
            text += f" => {self.replace.path} {self.replace.version}".rstrip()
        return text

    @property
    def identity(self) -> tuple[str, str, str]:
        """What must be equal for two copies of the module to hold the same code."""
        chosen = self.replace or self
        return (chosen.path, chosen.version, chosen.sum)


@dataclass(frozen=True)
class GoBuildInfo:
    """The parsed `runtime/debug.BuildInfo` text of a binary."""

    go_version: str
    path: str = ""
    main: Module | None = None
    deps: tuple[Module, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BinaryFacts:
    """Everything plugwiz can tell about a Go ELF binary without running it."""

    kind: str  # "executable", "plugin" or "shared object"
    go_version: str  # "go1.19.8"; "" when the file does not record it (old plugins)
    go_version_hint: str  # what the file's layout says when go_version is "" ("go1.18 or go1.19")
    has_build_info: bool
    path: str  # main package import path from build info ("" when unknown)
    main: Module | None
    deps: tuple[Module, ...]
    settings: tuple[tuple[str, str], ...]
    machine: str  # GOARCH-style name from the ELF header ("amd64")
    bits: int
    big_endian: bool
    needed_libraries: tuple[str, ...]
    needed_versions: tuple[tuple[str, tuple[str, ...]], ...]
    package_hashes: tuple[tuple[str, str], ...]  # (import path, hex fingerprint), link order
    source_files: tuple[str, ...] = field(default=(), repr=False)

    # -- settings -------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        """The value of build setting `key` (`-trimpath`, `CGO_ENABLED`...), or None."""
        return next((v for k, v in self.settings if k == key), None)

    @property
    def goos(self) -> str:
        """GOOS from build info, else `linux` (every ELF Go binary plugwiz sees)."""
        return self.setting("GOOS") or "linux"

    @property
    def goarch(self) -> str:
        """GOARCH from build info, else from the ELF machine."""
        return self.setting("GOARCH") or self.machine

    @property
    def arch_level(self) -> tuple[str, str] | None:
        """(`GOAMD64`, `v1`), or another architecture's level setting, if recorded."""
        for key in ARCH_LEVEL_SETTINGS:
            value = self.setting(key)
            if value is not None:
                return key, value
        return None

    @property
    def trimpath(self) -> bool | None:
        """Whether `-trimpath` was used: from build info, else from the source file names."""
        value = self.setting("-trimpath")
        if value is not None:
            return value == "true"
        if self.has_build_info:
            return False
        if not self.source_files:
            return None
        return not any(f.startswith("/") for f in self.source_files)

    @property
    def cgo_enabled(self) -> bool | None:
        """CGO_ENABLED from build info; a plugin or plugin host always needs cgo."""
        value = self.setting("CGO_ENABLED")
        if value is not None:
            return value == "1"
        if any(name == "runtime/cgo" for name, _ in self.package_hashes):
            return True
        return None

    @property
    def is_plugin(self) -> bool:
        """True for `-buildmode=plugin` output."""
        mode = self.setting("-buildmode")
        if mode is not None:
            return mode == "plugin"
        return self.kind == "plugin"

    @property
    def can_load_plugins(self) -> bool:
        """True when the binary links Go's `plugin` package (and so exports package hashes)."""
        return bool(self.package_hashes) and any(n == "plugin" for n, _ in self.package_hashes)

    @property
    def hashes(self) -> dict[str, str]:
        """Package import path -> fingerprint (hex)."""
        return dict(self.package_hashes)

    @property
    def glibc_needed(self) -> tuple[str, ...]:
        """Every GLIBC_x.y version the file needs, oldest first."""
        return glibc_versions([v for _, versions in self.needed_versions for v in versions])

    @property
    def glibc_required(self) -> str | None:
        """The newest glibc release the file needs (`2.34`), or None."""
        needed = self.glibc_needed
        return needed[-1].removeprefix("GLIBC_") if needed else None

    @property
    def goroot(self) -> str:
        """The GOROOT the source file names show (only without -trimpath), else ""."""
        for name in self.source_files:
            match = _GOROOT_RE.match(name)
            if match:
                return match.group(1)
        return ""

    @property
    def build_dir(self) -> str:
        """The main module's directory at build time (only without -trimpath), else ""."""
        if not self.main or self.trimpath is not False:
            return ""
        module = self.main.path
        packages = [self.path] + [name for name, _ in self.package_hashes]
        rels = []
        for package in packages:
            if package.startswith(module + "/"):
                rels.append(package[len(module) + 1 :])
        for rel in sorted(set(rels), key=len, reverse=True):
            for name in self.source_files:
                directory = name.rsplit("/", 1)[0]
                if name.startswith("/") and directory.endswith("/" + rel):
                    return directory[: -len(rel) - 1]
        return ""

    def module_of(self, package: str) -> Module | None:
        """The module (main or dependency) that provides `package`, or None (std or unknown)."""
        best: Module | None = None
        for module in ([self.main] if self.main else []) + list(self.deps):
            if (package == module.path or package.startswith(module.path + "/")) and (
                best is None or len(module.path) > len(best.path)
            ):
                best = module
        return best

    def dep(self, path: str) -> Module | None:
        """The dependency (or main module) with module path `path`."""
        if self.main is not None and self.main.path == path:
            return self.main
        return next((m for m in self.deps if m.path == path), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stable keys)."""
        return {
            "kind": self.kind,
            "go_version": self.go_version or None,
            "go_version_hint": self.go_version_hint or None,
            "has_build_info": self.has_build_info,
            "path": self.path,
            "main": self.main.to_json() if self.main else None,
            "deps": [m.to_json() for m in self.deps],
            "settings": dict(self.settings),
            "goos": self.goos,
            "goarch": self.goarch,
            "trimpath": self.trimpath,
            "build_dir": self.build_dir or None,
            "goroot": self.goroot or None,
            "machine": self.machine,
            "bits": self.bits,
            "big_endian": self.big_endian,
            "needed_libraries": list(self.needed_libraries),
            "glibc_needed": list(self.glibc_needed),
            "glibc_required": self.glibc_required,
            "package_hashes": dict(self.package_hashes),
        }


# -- reading -----------------------------------------------------------------------------


def read_binary_facts(source: bytes | str | os.PathLike[str]) -> BinaryFacts:
    """The build facts of a Go ELF binary given as bytes or a path.

    Raises NotAGoBinaryError for anything that is not a readable Go ELF binary (with a
    message for a person), and OSError when a path cannot be read.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = "the file"
    else:
        path = Path(source)
        data = path.read_bytes()
        name = str(path)
    try:
        return _read(data)
    except NotAGoBinaryError as error:
        raise NotAGoBinaryError(f"{name}: {error}") from None
    except ElfError as error:
        raise NotAGoBinaryError(f"{name}: {error}") from None
    except (struct.error, IndexError, OverflowError, KeyError, MemoryError) as error:
        # A corrupt file can point anywhere; every read is bounds-checked, and this is the net.
        raise NotAGoBinaryError(f"{name}: corrupt or truncated ELF file ({error})") from None


def _read(data: bytes) -> BinaryFacts:
    elf = ElfFile(data)
    info = _build_info(elf)
    hashes = _package_hashes(elf)
    pclntab_hint, files = _source_files(elf)
    if info is None and not hashes and not pclntab_hint and elf.section(".note.go.buildid") is None:
        raise NotAGoBinaryError(
            "an ELF file, but not one Go built: it has no Go build info, package hashes or "
            "function table"
        )
    if info is None:
        info = GoBuildInfo(go_version="", deps=_deps_from_files(files))
    kind = "executable"
    if elf.type == ET_DYN:
        mode = dict(info.settings).get("-buildmode")
        if mode == "plugin" or (mode is None and _looks_like_plugin(elf, hashes)):
            kind = "plugin"
        elif mode not in ("exe", "pie"):
            kind = "shared object"
    return BinaryFacts(
        kind=kind,
        go_version=info.go_version,
        go_version_hint="" if info.go_version else pclntab_hint,
        has_build_info=bool(info.go_version),
        path=info.path,
        main=info.main,
        deps=info.deps,
        settings=info.settings,
        machine=elf.machine,
        bits=elf.bits,
        big_endian=elf.big_endian,
        needed_libraries=elf.needed_libraries(),
        needed_versions=tuple(sorted(elf.needed_versions().items())),
        package_hashes=hashes,
        source_files=files,
    )


def _looks_like_plugin(elf: ElfFile, hashes: tuple[tuple[str, str], ...]) -> bool:
    # A PIE executable has an entry point in an interpreter-loaded file; a plugin exports
    # package hashes and `plugin/unnamed-...` or its package's init task.
    return bool(hashes) and not any(s.name == ".interp" for s in elf.sections)


def _build_info(elf: ElfFile) -> GoBuildInfo | None:
    """Parse `.go.buildinfo` (or the start of the data segment when sections are gone)."""
    section = elf.section(".go.buildinfo")
    if section is not None and section.type != 8:
        base, limit = section.offset, section.size
    else:
        segment = next(
            (
                s
                for s in elf.segments
                if s.type == PT_LOAD and s.flags & (PF_X | PF_W) == PF_W and s.filesz
            ),
            None,
        )
        if segment is None:
            return None
        base, limit = segment.offset, segment.filesz
    if base >= len(elf.data):
        raise NotAGoBinaryError("truncated file: the Go build info lies past its end")
    # Everything from the start of the section (or segment) to the end of the file: the
    # strings may run past the 64 KiB in which the header is searched.
    blob = elf.data[base : base + limit] if limit else b""
    index = 0
    while True:
        index = blob.find(BUILDINFO_MAGIC, index, _SEARCH_SIZE + len(BUILDINFO_MAGIC))
        if index < 0:
            return None
        if index % _ALIGN == 0:
            break
        index += 1
    header = blob[index : index + _HEADER_SIZE]
    if len(header) < _HEADER_SIZE:
        raise NotAGoBinaryError("truncated Go build info (the header is cut off)")
    ptr_size, flags = header[14], header[15]
    if flags & _FLAG_INLINE:
        rest = blob[index + _HEADER_SIZE :]
        version, pos = _varint_string(rest, 0)
        modinfo, _ = _varint_string(rest, pos)
    else:
        if ptr_size not in (4, 8):
            raise NotAGoBinaryError(f"Go build info with pointer size {ptr_size}")
        big = bool(flags & _FLAG_BIG_ENDIAN)
        version_ptr = _int(header[16 : 16 + ptr_size], big)
        modinfo_ptr = _int(header[16 + ptr_size : 16 + 2 * ptr_size], big)
        version = _go_string(elf, version_ptr, ptr_size, big)
        modinfo = _go_string(elf, modinfo_ptr, ptr_size, big)
    if not version:
        return None
    # Go's own rule: the text sits between 16-byte sentinels and ends in a newline.
    modinfo = modinfo[16:-16] if len(modinfo) >= 33 and modinfo[-17] == "\n" else ""
    return parse_modinfo(version, modinfo)


def _int(raw: bytes, big: bool) -> int:
    return int.from_bytes(raw, "big" if big else "little")


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise NotAGoBinaryError("truncated or corrupt Go build info (a length runs past the end)")


def _varint_string(data: bytes, pos: int) -> tuple[str, int]:
    length, pos = _uvarint(data, pos)
    if length > _MAX_STRING or pos + length > len(data):
        raise NotAGoBinaryError("truncated Go build info (a string runs past the end)")
    return data[pos : pos + length].decode("utf-8", "replace"), pos + length


def _go_string(elf: ElfFile, addr: int, ptr_size: int, big: bool) -> str:
    """A Go string whose header (data pointer, length) is at virtual address `addr`."""
    header = elf.read_at(addr, 2 * ptr_size, "Go build info")
    data_ptr = _int(header[:ptr_size], big)
    length = _int(header[ptr_size:], big)
    if length == 0:
        return ""
    if length > _MAX_STRING:
        raise NotAGoBinaryError("corrupt Go build info (a string is implausibly long)")
    return elf.read_at(data_ptr, length, "Go build info").decode("utf-8", "replace")


def parse_modinfo(go_version: str, text: str) -> GoBuildInfo:
    """Parse `runtime/debug.BuildInfo` text (the part between the sentinels).

    Lenient where Go is strict: a line it cannot read is skipped, so one odd setting does
    not hide the rest.
    """
    path = ""
    main: Module | None = None
    deps: list[Module] = []
    settings: list[tuple[str, str]] = []
    for line in text.split("\n"):
        if line.startswith("path\t"):
            path = line[5:]
        elif line.startswith("mod\t"):
            main = _module(line[4:])
        elif line.startswith("dep\t"):
            dep = _module(line[4:])
            if dep is not None:
                deps.append(dep)
        elif line.startswith("=>\t"):
            replacement = _module(line[3:])
            if replacement is not None and deps:
                last = deps[-1]
                deps[-1] = Module(last.path, last.version, last.sum, replacement)
            elif replacement is not None and main is not None:
                main = Module(main.path, main.version, main.sum, replacement)
        elif line.startswith("build\t"):
            setting = _setting(line[6:])
            if setting is not None:
                settings.append(setting)
    return GoBuildInfo(
        go_version=go_version, path=path, main=main, deps=tuple(deps), settings=tuple(settings)
    )


def _module(fields_text: str) -> Module | None:
    fields = fields_text.split("\t")
    if not fields or not fields[0]:
        return None
    version = fields[1] if len(fields) > 1 else ""
    digest = fields[2] if len(fields) > 2 else ""
    return Module(fields[0], version, digest)


def _setting(text: str) -> tuple[str, str] | None:
    """`KEY=VALUE` of a build line; either side may be Go-quoted."""
    if not text:
        return None
    if text[0] in '"`':
        key, rest = _quoted_prefix(text)
        if key is None or not rest.startswith("="):
            return None
        raw = rest[1:]
    else:
        key, eq, raw = text.partition("=")
        if not eq or not key:
            return None
    if raw[:1] in ('"', "`"):
        value, rest = _quoted_prefix(raw)
        if value is None:
            return key, raw
        return key, value
    return key, raw


def _quoted_prefix(text: str) -> tuple[str | None, str]:
    """Unquote a Go string literal at the start of `text`: (value, rest) or (None, text)."""
    quote = text[0]
    if quote == "`":
        end = text.find("`", 1)
        return (text[1:end], text[end + 1 :]) if end > 0 else (None, text)
    out: list[str] = []
    i = 1
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
               "b": "\b", "f": "\f", "v": "\v"}  # fmt: skip
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), text[i + 1 :]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(nxt)
            if width and i + 2 + width <= len(text):
                try:
                    out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
                except (ValueError, OverflowError):
                    return None, text
                i += 2 + width
                continue
            return None, text
        out.append(char)
        i += 1
    return None, text


def _package_hashes(elf: ElfFile) -> tuple[tuple[str, str], ...]:
    """(package, fingerprint hex) from `go.link.pkghashbytes.*` dynamic symbols."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for symbol in elf.symbols(".dynsym"):
        prefix = next((p for p in _PKGHASH_PREFIXES if symbol.name.startswith(p)), None)
        if prefix is None or not 0 < symbol.size <= 64 or not symbol.section_index:
            continue
        package = symbol.name[len(prefix) :]
        if package in seen:
            continue
        offset = elf.file_offset(symbol.value, symbol.size)
        if offset is None:
            continue
        seen.add(package)
        found.append((package, elf.slice(offset, symbol.size, "package hash").hex()))
    return tuple(found)


def _source_files(elf: ElfFile) -> tuple[str, tuple[str, ...]]:
    """(Go release hint, source file names) from the pclntab, or ("", ())."""
    section = elf.section(".gopclntab")
    candidates: list[int] = []
    if section is not None and section.offset < len(elf.data):
        candidates.append(section.offset)
    else:
        candidates.extend(m.start() for m in _PCLNTAB_RE.finditer(elf.data) if m.start() % 8 == 0)
    for start in candidates[:64]:
        parsed = _parse_pclntab(elf, start)
        if parsed is not None:
            return parsed
    return "", ()


def _parse_pclntab(elf: ElfFile, start: int) -> tuple[str, tuple[str, ...]] | None:
    data = elf.data
    if start + 8 > len(data):
        return None
    magic = elf.uint(start, 4)
    hint = _PCLNTAB_MAGICS.get(magic)
    ptr_size = data[start + 7]
    if hint is None or ptr_size not in (4, 8) or data[start + 4 : start + 6] != b"\0\0":
        return None
    words = 8 if magic != 0xFFFFFFFA else 7
    if start + 8 + words * ptr_size > len(data):
        return None
    values = [elf.uint(start + 8 + i * ptr_size, ptr_size) for i in range(words)]
    nfiles = values[1]
    filetab, pctab = (values[5], values[6]) if words == 8 else (values[4], values[5])
    if not 0 < filetab <= pctab or start + pctab > len(data) or nfiles > 1_000_000:
        return None
    names = data[start + filetab : start + pctab].split(b"\0")
    files = tuple(sorted({n.decode("utf-8", "replace") for n in names if n}))
    if not files or not any(f.endswith((".go", ".s")) for f in files):
        return None
    return hint, files


def _unescape_module_path(path: str) -> str:
    # The module cache writes upper-case letters as `!` + lower case.
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), path)


def _deps_from_files(files: tuple[str, ...]) -> tuple[Module, ...]:
    """Dependency modules and versions seen in module-cache source paths (`mod@v1.2.0/x.go`)."""
    found: dict[str, str] = {}
    for name in files:
        match = _MODCACHE_RE.search(name)
        if match:
            found.setdefault(_unescape_module_path(match.group(1)), match.group(2))
    return tuple(Module(path, version) for path, version in sorted(found.items()))


def debian_go_minor(goroot: str) -> str:
    """`1.19` for Debian's `/usr/lib/go-1.19`, else ""."""
    match = _DEBIAN_GOROOT_RE.search(goroot)
    return match.group(1) if match else ""
