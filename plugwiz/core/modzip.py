"""Go module zips, `h1:` checksums and the file-based module proxy layout. Pure.

A module proxy (the GOPROXY protocol, `file://` or HTTP) serves, for module path M (escaped:
upper-case letters become `!` + lower case) and version V::

    M/@v/list        known versions, one a line
    M/@v/V.info      {"Version": V, "Time": ...}
    M/@v/V.mod       the module's go.mod
    M/@v/V.zip       the module's files, each under `M@V/`

The zip follows golang.org/x/mod/zip: regular files only, no VCS directories, no nested modules
(a subdirectory with its own go.mod), no files of vendored packages, go.mod only at the root.
`go.sum` holds `h1:` hashes (golang.org/x/mod/sumdb/dirhash Hash1) of a zip's files and of
go.mod alone; the go command checks every download against them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Fixed time in zip headers, so the same files give the same zip bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})
# A version plugwiz can name in a file path: semver with Go's pseudo-version and +incompatible.
_VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+incompatible)?$")
# Module path characters the go command allows (module.CheckPath), lower and upper case.
_MODULE_PATH_RE = re.compile(r"^[A-Za-z0-9._~/+-]+$")


class ModuleZipError(ValueError):
    """A module zip or module path that cannot be used; the message names it."""


def escape_path(module: str) -> str:
    """The case-encoded form the proxy protocol uses: `github.com/Azure/x` ->
    `github.com/!azure/x` (module.EscapePath)."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)


def unescape_path(escaped: str) -> str:
    """The inverse of `escape_path`."""
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), escaped)


def check_module_version(module: str, version: str) -> None:
    """Raise ModuleZipError unless `module@version` is safe to use in a path."""
    parts = module.split("/")
    if (
        not module
        or not _MODULE_PATH_RE.match(module)
        or any(p in ("", ".", "..") for p in parts)
        or module.startswith("-")
    ):
        raise ModuleZipError(f"{module!r} is not a module path")
    if not _VERSION_RE.match(version):
        raise ModuleZipError(f"{module}: {version!r} is not a module version")


def hash1(files: Iterable[tuple[str, bytes]]) -> str:
    """dirhash.Hash1: `h1:` + base64(sha256 of "<sha256 hex>  <name>\\n" per file, by name)."""
    summary = hashlib.sha256()
    for name, data in sorted(files, key=lambda pair: pair[0]):
        if "\n" in name:
            raise ModuleZipError(f"file name {name!r} holds a newline")
        summary.update(f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


def hash_gomod(data: bytes) -> str:
    """The `h1:` hash go.sum records for a module's go.mod (`M V/go.mod h1:...`)."""
    return hash1([("go.mod", data)])


def hash_zip(data: bytes) -> str:
    """The `h1:` hash go.sum records for a module zip (`M V h1:...`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return hash1(
            (info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()
        )


def _is_vendored_package(name: str) -> bool:
    # golang.org/x/mod/zip's rule, including its historical offset quirk (issue 31562):
    # changing it would change every module's checksum.
    if name.startswith("vendor/"):
        start = len("vendor/")
    elif "/vendor/" in name:
        start = len("/vendor/")
    else:
        return False
    return "/" in name[start:]


def module_files(root: Path) -> list[tuple[str, Path]]:
    """(path in the module, file on disk) of every file a module zip of `root` holds, sorted:
    regular files only; no VCS directories, nested modules or vendored packages; go.mod only
    at the root (golang.org/x/mod/zip CreateFromDir)."""
    found: list[tuple[str, Path]] = []

    def walk(directory: Path, rel: str) -> None:
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            name = f"{rel}{entry.name}"
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name in _VCS_DIRS or (entry / "go.mod").is_file():
                    continue
                walk(entry, name + "/")
            elif entry.is_file():
                if _is_vendored_package(name) or name == "vendor/modules.txt":
                    continue
                if entry.name == "go.mod" and rel:
                    continue
                found.append((name, entry))

    walk(root, "")
    return found


def create_zip(module: str, version: str, files: Iterable[tuple[str, bytes]]) -> bytes:
    """A module zip: each file under `module@version/`, in name order, with fixed headers."""
    check_module_version(module, version)
    prefix = f"{module}@{version}/"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files, key=lambda pair: pair[0]):
            info = zipfile.ZipInfo(prefix + name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def zip_dir(module: str, version: str, root: Path) -> bytes:
    """The module zip of the directory `root`."""
    return create_zip(module, version, [(n, p.read_bytes()) for n, p in module_files(root)])


def zip_contents(module: str, version: str, data: bytes) -> dict[str, bytes]:
    """The files of a module zip by their path in the module; ModuleZipError for a zip that is
    not a module zip of `module@version` (a file outside the prefix, `..`, an absolute path)."""
    prefix = f"{module}@{version}/"
    files: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if not info.filename.startswith(prefix):
                    raise ModuleZipError(
                        f"{module}@{version}: zip file {info.filename!r} is outside {prefix}"
                    )
                rel = info.filename[len(prefix) :]
                parts = PurePosixPath(rel).parts
                if not rel or rel.startswith("/") or ".." in parts or "\\" in rel:
                    raise ModuleZipError(f"{module}@{version}: unsafe zip file name {rel!r}")
                files[rel] = archive.read(info)
    except zipfile.BadZipFile as exc:
        raise ModuleZipError(f"{module}@{version}: not a zip file ({exc})") from None
    return files


def info_json(version: str, time: str = "2024-01-01T00:00:00Z") -> bytes:
    """A `.info` file."""
    return (json.dumps({"Version": version, "Time": time}) + "\n").encode()


@dataclass(frozen=True)
class ProxyFile:
    """A file of a module proxy directory: its path under the directory, and content."""

    path: str
    data: bytes


def proxy_paths(module: str, version: str) -> dict[str, str]:
    """The proxy paths of `module@version`: keys `list`, `info`, `mod`, `zip`."""
    check_module_version(module, version)
    base = f"{escape_path(module)}/@v"
    return {
        "list": f"{base}/list",
        "info": f"{base}/{version}.info",
        "mod": f"{base}/{version}.mod",
        "zip": f"{base}/{version}.zip",
    }


def proxy_files(
    modules: Mapping[tuple[str, str], tuple[bytes, bytes | None, bytes | None]],
) -> list[ProxyFile]:
    """The files of a file-based proxy holding `modules`: (module, version) -> (info, go.mod,
    zip or None when only its go.mod is served). `@v/list` lists each module's versions."""
    versions: dict[str, list[str]] = {}
    out: list[ProxyFile] = []
    for (module, version), (info, mod, zip_data) in sorted(modules.items()):
        paths = proxy_paths(module, version)
        versions.setdefault(module, []).append(version)
        out.append(ProxyFile(paths["info"], info))
        if mod is not None:
            out.append(ProxyFile(paths["mod"], mod))
        if zip_data is not None:
            out.append(ProxyFile(paths["zip"], zip_data))
    for module, listed in sorted(versions.items()):
        path = proxy_paths(module, listed[0])["list"]
        out.append(ProxyFile(path, "".join(f"{v}\n" for v in sorted(set(listed))).encode()))
    return sorted(out, key=lambda f: f.path)


__all__ = [
    "ModuleZipError",
    "ProxyFile",
    "check_module_version",
    "create_zip",
    "escape_path",
    "hash1",
    "hash_gomod",
    "hash_zip",
    "info_json",
    "module_files",
    "proxy_files",
    "proxy_paths",
    "unescape_path",
    "zip_contents",
    "zip_dir",
]
