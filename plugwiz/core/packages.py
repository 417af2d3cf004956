"""System packages for cgo hosts and plugins, and the runtime libraries check. Pure.

A host that links a C library through cgo needs the library's headers in the builder
(`libsqlite3-dev`) and its shared object in the runtime (`libsqlite3-0`). The builder has both,
so a build can pass its load check while the runtime image lacks the library: the host then
dies at start with `error while loading shared libraries`. `missing_libraries` finds that
before the image is tagged, from the binaries' DT_NEEDED entries and the runtime image's own
files (as its dynamic loader would search them).
"""

from __future__ import annotations

import posixpath
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from plugwiz.core.images import libc_of
from plugwiz.core.model import ProjectError

APT = "apt"
APK = "apk"

# Debian: lower case, digits, + - . (at least two characters), an optional `=version` and
# `:arch`; Alpine names are a subset with `=version` too. Nothing a shell would act on.
_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?(?:=[A-Za-z0-9.+~:-]+)?$")

# Where glibc's loader looks after DT_RUNPATH and ld.so.cache, by ELF machine.
_MULTIARCH = {
    "amd64": "x86_64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "386": "i386-linux-gnu",
    "arm": "arm-linux-gnueabihf",
    "ppc64": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
}
_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
_CACHE_MAGIC_NEW = b"glibc-ld.so.cache1.1"
_CACHE_MAGIC_OLD = b"ld.so-1.7.0"


def check_packages(packages: Iterable[str], what: str) -> tuple[str, ...]:
    """The package names, each checked (they reach a RUN line); raises ProjectError."""
    checked: list[str] = []
    for name in packages:
        if not _PACKAGE_RE.match(name):
            raise ProjectError(
                f"{what} {name!r} is not a package name (lower-case letters, digits, + - ., "
                "an optional =VERSION)"
            )
        if name not in checked:
            checked.append(name)
    return tuple(checked)


def package_manager(image: str) -> str | None:
    """The package manager an image has, from its name: `apk` for Alpine, `apt` for Debian
    and Ubuntu (and the Go images built on them), None for distroless and scratch (no
    package manager, no shell)."""
    lower = image.lower()
    last = lower.rsplit("/", 1)[-1]
    if "distroless" in lower or last.startswith(("scratch", "static")):
        return None
    return APK if libc_of(image) == "musl" else APT


def install_command(manager: str, packages: tuple[str, ...]) -> str:
    """The RUN line that installs `packages`, leaving no package lists behind."""
    names = " ".join(packages)
    if manager == APK:
        return f"RUN apk add --no-cache {names}"
    return (
        "RUN apt-get update -qq && \\\n"
        "    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\\n"
        f"        {names} && \\\n"
        "    rm -rf /var/lib/apt/lists/*"
    )


def needs_manager(image: str, packages: tuple[str, ...], role: str) -> str:
    """The package manager of `image`, or ProjectError when packages cannot be installed."""
    manager = package_manager(image)
    if manager is None:
        raise ProjectError(
            f"packages.{role} needs a package manager, and the {role} image {image} has none "
            f"(distroless or scratch): choose a Debian or Alpine {role} image, or drop "
            f"packages.{role} ({', '.join(packages)})"
        )
    return manager


# -- the runtime libraries check ---------------------------------------------------------------


@dataclass(frozen=True)
class NeededLibrary:
    """A shared library a binary of the image needs (DT_NEEDED), and where its own
    DT_RUNPATH/DT_RPATH says to look first."""

    binary: str  # the host or plugin path in the image
    library: str  # e.g. libsqlite3.so.0
    run_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class MissingLibrary:
    """A library no directory of the runtime image holds; `binaries` need it."""

    library: str
    binaries: tuple[str, ...]


def search_dirs(machine: str, run_paths: Iterable[str], origin: str) -> list[str]:
    """The directories glibc's loader searches for a binary at `origin` (its directory):
    DT_RUNPATH/DT_RPATH (with $ORIGIN), then the multiarch and default directories of the
    ELF `machine` (`amd64`, as `plugwiz.core.elf` names it)."""
    dirs: list[str] = []
    for entry in run_paths:
        for part in entry.split(":"):
            if part:
                part = part.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
                dirs.append(posixpath.normpath(part))
    multiarch = _MULTIARCH.get(machine)
    if multiarch:
        dirs += [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    dirs += list(_DEFAULT_DIRS)
    return list(dict.fromkeys(dirs))


def ld_cache_names(data: bytes) -> set[str]:
    """The library names (sonames) an `/etc/ld.so.cache` lists: what `ldconfig` found in the
    directories /etc/ld.so.conf names. Empty for data it cannot read."""
    start = data.find(_CACHE_MAGIC_NEW)
    if start < 0:
        return set()
    header = start + len(_CACHE_MAGIC_NEW)
    try:
        nlibs, _strings_len = struct.unpack_from("<II", data, header)
    except struct.error:
        return set()
    # New format: magic, version (20 bytes together), nlibs, len_strings, flags + padding
    # and extension offset (8 bytes), 3 unused words; entries of 24 bytes: flags, key, value,
    # osversion, hwcap (8). String offsets count from the new header's start.
    entries = header + 8 + 4 + 4 + 12
    names: set[str] = set()
    for index in range(min(nlibs, 100_000)):
        try:
            _flags, key, _value = struct.unpack_from("<iII", data, entries + 24 * index)
        except struct.error:
            break
        position = start + key
        end = data.find(b"\0", position)
        if position >= len(data) or end < 0:
            continue
        names.add(data[position:end].decode("utf-8", "replace"))
    return names


def missing_libraries(
    needs: Iterable[NeededLibrary],
    machine: str,
    exists: Callable[[str], bool],
    cached: set[str],
) -> list[MissingLibrary]:
    """The needed libraries the runtime image lacks: in none of the loader's directories
    (`exists` asks the image) and not in its ld.so.cache (`cached`). glibc's own libraries
    are always there when the image has glibc; they are checked like the rest."""
    missing: dict[str, list[str]] = {}
    found: dict[tuple[str, tuple[str, ...], str], bool] = {}
    for need in needs:
        origin = posixpath.dirname(need.binary)
        key = (need.library, need.run_paths, origin)
        if key not in found:
            if "/" in need.library:
                found[key] = exists(need.library)
            else:
                found[key] = need.library in cached or any(
                    exists(f"{directory}/{need.library}")
                    for directory in search_dirs(machine, need.run_paths, origin)
                )
        if not found[key]:
            missing.setdefault(need.library, []).append(need.binary)
    return [MissingLibrary(lib, tuple(binaries)) for lib, binaries in missing.items()]


def missing_libraries_message(missing: list[MissingLibrary], runtime_image: str) -> str:
    """One message naming every missing library, who needs it, and what to do."""
    parts = []
    for item in missing:
        who = ", ".join(posixpath.basename(b) for b in item.binaries)
        parts.append(f"{item.library} (needed by {who})")
    names = "; ".join(parts)
    package_hint = _package_hint(missing[0].library)
    return (
        f"the runtime image {runtime_image} lacks shared libraries the host or its plugins "
        f"need: {names}. The host would not start. Add the package that holds each to "
        f"packages.runtime in plugwiz.yaml{package_hint}"
    )


def _package_hint(library: str) -> str:
    """Debian's usual package name for a library: `libsqlite3.so.0` -> `libsqlite3-0`."""
    match = re.match(r"^(lib[A-Za-z0-9_+-]*?)\.so\.(\d+)", library)
    if not match:
        return ""
    stem, major = match.groups()
    separator = "-" if stem[-1].isdigit() else ""
    return f" (on Debian usually {stem.lower().replace('_', '-')}{separator}{major})"


__all__ = [
    "APK",
    "APT",
    "MissingLibrary",
    "NeededLibrary",
    "check_packages",
    "install_command",
    "ld_cache_names",
    "missing_libraries",
    "missing_libraries_message",
    "needs_manager",
    "package_manager",
    "search_dirs",
]
