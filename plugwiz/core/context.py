"""The build context: the host tree at the SHA plus the plugin files, nothing else.

Layout (the paths the Dockerfile COPYs from):
    Dockerfile
    host/...              the host tree at the pinned commit (no .git)
    plugins/NAME/...      custom plugin sources (a file, or a directory's files)
    prebuilt/NAME.EXT     prebuilt plugins
    files/N/BASENAME      local extra files for the runtime
    plugwiz/loadcheck.go  the load-check init file
Every tar header is normalised (mtime 0, uid/gid 0, fixed modes) so the same project gives the
same bytes, and the layer cache hits whenever the content did not change.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from plugwiz.core.detect import go_package_name
from plugwiz.core.model import (
    PluginFacts,
    PluginKind,
    PluginSource,
    Project,
    ProjectError,
    ResolvedProject,
)
from plugwiz.core.plan import (
    CTX_FILES,
    CTX_HOST,
    CTX_LOADCHECK,
    CTX_PLUGINS,
    CTX_PREBUILT,
    DEFAULT_CACHE_ID,
    BuildPlan,
    extra_file_context_path,
    plan_build,
)
from plugwiz.core.ports import HostRepository
from plugwiz.core.render import emit_dockerfile

# Files larger than this are almost certainly not plugin sources (a core dump, a video...).
MAX_SOURCE_FILE_BYTES = 16 * 1024 * 1024
_ELF_MAGIC = b"\x7fELF"
_ET_DYN = 3  # ELF e_type of a shared object (a Go plugin, and PIE executables)


class PluginSourceError(ProjectError):
    """A plugin source that cannot be used; the message names it."""


@dataclass(frozen=True)
class ContextEntry:
    """One file of the build context."""

    path: str
    size: int


@dataclass(frozen=True)
class LocalFile:
    """A local file to place in the context: its path on disk and its path in the context."""

    disk: Path
    context: str
    executable: bool = False


def loadcheck_source() -> bytes:
    """The Go init file the load check adds to the host's main package."""
    return (resources.files("plugwiz.core") / "loadcheck.go").read_bytes()


def _walk_files(root: Path, what: str) -> list[Path]:
    """Regular files under `root`, sorted, skipping dot-entries; symlinks must stay inside."""
    real_root = root.resolve()
    found: list[Path] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            path = Path(directory) / filename
            resolved = path.resolve()
            if resolved != real_root and real_root not in resolved.parents:
                raise PluginSourceError(f"{what}: {path} links outside {root} (to {resolved})")
            if resolved.is_file():
                found.append(path)
    return found


def _check_go_file(path: Path, what: str, shown: str) -> None:
    """Refuse a file that is not Go source of `package main`; `shown` names it for a person."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PluginSourceError(f"{what}: cannot read {shown}: {exc.strerror}") from exc
    if size > MAX_SOURCE_FILE_BYTES:
        raise PluginSourceError(
            f"{what}: {shown} is {size // (1024 * 1024)} MiB, too large for Go source"
        )
    head = path.read_bytes()
    if not head.strip():
        raise PluginSourceError(f"{what}: {shown} is empty")
    if b"\x00" in head[:8192]:
        raise PluginSourceError(f"{what}: {shown} is a binary file, not Go source")
    package = go_package_name(head)
    if package is None:
        raise PluginSourceError(f"{what}: {shown} has no `package` clause; is it Go source?")
    if package != "main":
        raise PluginSourceError(
            f"{what}: {shown} is `package {package}`; a Go plugin must be `package main`"
        )


def _is_shared_object(head: bytes) -> bool:
    """True if `head` (a file's first bytes) starts an ELF shared object (ET_DYN)."""
    if len(head) < 18 or not head.startswith(_ELF_MAGIC):
        return False
    e_type = int.from_bytes(head[16:18], "little" if head[5] == 1 else "big")
    return e_type == _ET_DYN


def detect_plugin_kind(path: Path) -> PluginKind | None:
    """What a plugin source is on disk: a directory, an ELF shared object (prebuilt, whatever
    its extension), or a `.go` file; None when it is missing or none of these."""
    if path.is_dir():
        return PluginKind.DIRECTORY
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            if _is_shared_object(handle.read(18)):
                return PluginKind.PREBUILT
    except OSError:
        return None
    return PluginKind.FILE if path.suffix.lower() == ".go" else None


def _plugin_files(project: Project, plugin: PluginSource, kind: PluginKind) -> list[LocalFile]:
    name = plugin.output_name
    what = f"plugin {name!r}"
    path = project.source_path(plugin.source)
    if kind is PluginKind.PREBUILT:
        ext = project.loading.extension
        return [LocalFile(path, f"{CTX_PREBUILT}/{name}{ext}", executable=True)]
    if kind is PluginKind.FILE:
        _check_go_file(path, what, plugin.source)
        return [LocalFile(path, f"{CTX_PLUGINS}/{name}/{path.name}")]
    files = _walk_files(path, what)
    go_files = [f for f in files if f.suffix == ".go" and not f.name.endswith("_test.go")]
    if not go_files:
        raise PluginSourceError(f"{what}: {plugin.source} holds no .go files")
    for go_file in go_files:
        rel = go_file.relative_to(path).as_posix()
        _check_go_file(go_file, what, f"{plugin.source.rstrip('/')}/{rel}")
    return [LocalFile(f, f"{CTX_PLUGINS}/{name}/{f.relative_to(path).as_posix()}") for f in files]


def inspect_plugin(project: Project, plugin: PluginSource) -> PluginFacts:
    """Look at one custom plugin source on disk: its kind, and what stops it being built."""
    what = f"plugin {plugin.output_name!r}"
    path = project.source_path(plugin.source)
    shown = plugin.source
    kind = detect_plugin_kind(path)
    if kind is None:
        if not path.exists():
            return PluginFacts(None, f"{what}: {shown} does not exist")
        if path.is_file():
            if path.suffix.lower() == ".so":
                return PluginFacts(None, f"{what}: {shown} is not a shared object (no ELF header)")
            return PluginFacts(
                None,
                f"{what}: {shown} is neither Go source (.go) nor a prebuilt plugin "
                "(an ELF shared object)",
            )
        return PluginFacts(None, f"{what}: {shown} is not a file or a directory")
    try:
        _plugin_files(project, plugin, kind)
    except ProjectError as exc:
        return PluginFacts(kind, str(exc))
    except OSError as exc:
        return PluginFacts(kind, f"{what}: cannot read {shown}: {exc.strerror or exc}")
    return PluginFacts(kind)


def inspect_plugins(project: Project) -> tuple[PluginFacts, ...]:
    """`inspect_plugin` for every custom plugin, in order."""
    return tuple(inspect_plugin(project, plugin) for plugin in project.plugins)


def plugin_files(resolved: ResolvedProject, index: int) -> list[LocalFile]:
    """The local files of custom plugin `index`, checked, with their context paths."""
    project = resolved.project
    plugin = project.plugins[index]
    facts = resolved.plugins[index]
    if facts.problem or facts.kind is None:
        raise PluginSourceError(facts.problem or f"plugin {plugin.output_name!r} is unusable")
    return _plugin_files(project, plugin, facts.kind)


def local_context_files(resolved: ResolvedProject) -> list[LocalFile]:
    """Every local (non-host) file of the context, checked."""
    project = resolved.project
    result: list[LocalFile] = []
    for index in range(len(project.plugins)):
        result.extend(plugin_files(resolved, index))
    for index, extra in enumerate(project.files, start=1):
        if extra.from_host:
            continue
        path = project.source_path(extra.source)
        base = extra_file_context_path(index, extra.source)
        if path.is_file():
            result.append(LocalFile(path, base, os.access(path, os.X_OK)))
        elif path.is_dir():
            for f in _walk_files(path, f"extra file {extra.source!r}"):
                rel = f.relative_to(path).as_posix()
                result.append(LocalFile(f, f"{base}/{rel}", os.access(f, os.X_OK)))
        else:
            raise PluginSourceError(f"extra file {extra.source!r}: {path} does not exist")
    return result


def _tar_info(name: str, size: int, executable: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o755 if executable else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, executable: bool = False) -> None:
    tar.addfile(_tar_info(name, len(data), executable), io.BytesIO(data))


def write_context(
    resolved: ResolvedProject,
    repo: HostRepository,
    out: BinaryIO,
    *,
    buildkit: bool = False,
    cache_id: str = DEFAULT_CACHE_ID,
) -> list[ContextEntry]:
    """Write the build context for `resolved` as an uncompressed tar to `out`, with the
    Dockerfile for BuildKit when `buildkit` (its Go cache mount named `cache_id`).

    Raises ProjectError (or PluginSourceError) before writing anything if a source is unusable.
    """
    plan = plan_build(resolved)
    dockerfile = emit_dockerfile(resolved, plan, buildkit=buildkit, cache_id=cache_id).encode()
    local = local_context_files(resolved)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "Dockerfile", dockerfile)
        repo.export(resolved.sha, tar, CTX_HOST)
        if plan.check_package:
            _add_bytes(tar, CTX_LOADCHECK, loadcheck_source())
        for item in local:
            data = item.disk.read_bytes()
            _add_bytes(tar, item.context, data, item.executable)
    return context_listing(resolved, repo, plan)


class HashingWriter(io.RawIOBase):
    """A binary sink that passes writes on to `out` (if any) and hashes them: the digest of a
    build context names exactly what an image was built from."""

    def __init__(self, out: BinaryIO | None = None) -> None:
        super().__init__()
        self._out = out
        self._hash = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self._hash.update(view)
        if self._out is not None:
            self._out.write(view)
        return len(view)

    @property
    def digest(self) -> str:
        """`sha256:<hex>` of everything written so far."""
        return "sha256:" + self._hash.hexdigest()


def context_digest(resolved: ResolvedProject, repo: HostRepository) -> str:
    """The digest of the build context `resolved` would send (the `dev.plugwiz.context`
    label of an image built from it): equal digests mean the same inputs."""
    sink = HashingWriter()
    write_context(resolved, repo, sink)  # type: ignore[arg-type]
    return sink.digest


def context_listing(
    resolved: ResolvedProject, repo: HostRepository, plan: BuildPlan | None = None
) -> list[ContextEntry]:
    """The context's file list (for previews), without reading plugin contents."""
    plan = plan or plan_build(resolved)
    entries = [ContextEntry("Dockerfile", len(emit_dockerfile(resolved, plan).encode()))]
    entries.extend(ContextEntry(f"{CTX_HOST}/{path}", -1) for path in repo.files(resolved.sha))
    if plan.check_package:
        entries.append(ContextEntry(CTX_LOADCHECK, len(loadcheck_source())))
    for item in local_context_files(resolved):
        entries.append(ContextEntry(item.context, item.disk.stat().st_size))
    return entries


__all__ = [
    "CTX_FILES",
    "ContextEntry",
    "HashingWriter",
    "LocalFile",
    "PluginSourceError",
    "context_digest",
    "context_listing",
    "detect_plugin_kind",
    "inspect_plugin",
    "inspect_plugins",
    "local_context_files",
    "loadcheck_source",
    "plugin_files",
    "write_context",
]
