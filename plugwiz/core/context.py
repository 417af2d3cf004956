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

import io
import os
import tarfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from plugwiz.core.detect import go_package_name
from plugwiz.core.model import PluginKind, PluginSource, Project, ProjectError
from plugwiz.core.ports import HostRepository
from plugwiz.core.render import (
    CTX_FILES,
    CTX_HOST,
    CTX_LOADCHECK,
    CTX_PLUGINS,
    CTX_PREBUILT,
    extra_file_context_path,
    plan_build,
    render_dockerfile,
)

# Files larger than this are almost certainly not plugin sources (a core dump, a video...).
MAX_SOURCE_FILE_BYTES = 16 * 1024 * 1024
_ELF_MAGIC = b"\x7fELF"


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


def _check_go_file(path: Path, what: str) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PluginSourceError(f"{what}: cannot read {path}: {exc.strerror}") from exc
    if size > MAX_SOURCE_FILE_BYTES:
        raise PluginSourceError(
            f"{what}: {path} is {size // (1024 * 1024)} MiB, too large for Go source"
        )
    head = path.read_bytes()
    if not head.strip():
        raise PluginSourceError(f"{what}: {path} is empty")
    if b"\x00" in head[:8192]:
        raise PluginSourceError(f"{what}: {path} is a binary file, not Go source")
    package = go_package_name(head)
    if package is None:
        raise PluginSourceError(f"{what}: {path} has no `package` clause; is it Go source?")
    if package != "main":
        raise PluginSourceError(
            f"{what}: {path} is `package {package}`; a Go plugin must be `package main`"
        )


def plugin_files(project: Project, plugin: PluginSource) -> list[LocalFile]:
    """The local files of one custom plugin, checked, with their context paths."""
    name = plugin.output_name
    what = f"plugin {name!r}"
    path = project.source_path(plugin.source)
    if not path.exists():
        raise PluginSourceError(f"{what}: {path} does not exist")
    kind = plugin.kind
    if kind is PluginKind.PREBUILT:
        if not path.is_file():
            raise PluginSourceError(f"{what}: {path} is not a file")
        with path.open("rb") as handle:
            if handle.read(4) != _ELF_MAGIC:
                raise PluginSourceError(f"{what}: {path} is not a shared object (no ELF header)")
        ext = project.loading.extension
        return [LocalFile(path, f"{CTX_PREBUILT}/{name}{ext}", executable=True)]
    if kind is PluginKind.FILE:
        if not path.is_file():
            raise PluginSourceError(f"{what}: {path} is not a file")
        _check_go_file(path, what)
        return [LocalFile(path, f"{CTX_PLUGINS}/{name}/{path.name}")]
    if not path.is_dir():
        raise PluginSourceError(f"{what}: {path} is neither a .go file, a .so nor a directory")
    files = _walk_files(path, what)
    go_files = [f for f in files if f.suffix == ".go" and not f.name.endswith("_test.go")]
    if not go_files:
        raise PluginSourceError(f"{what}: {path} holds no .go files")
    for go_file in go_files:
        _check_go_file(go_file, what)
    return [LocalFile(f, f"{CTX_PLUGINS}/{name}/{f.relative_to(path).as_posix()}") for f in files]


def local_context_files(project: Project) -> list[LocalFile]:
    """Every local (non-host) file of the context, checked."""
    result: list[LocalFile] = []
    for plugin in project.plugins:
        result.extend(plugin_files(project, plugin))
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


def write_context(project: Project, repo: HostRepository, out: BinaryIO) -> list[ContextEntry]:
    """Write the build context for `project` as an uncompressed tar to `out`.

    Raises ProjectError (or PluginSourceError) before writing anything if a source is unusable.
    """
    dockerfile = render_dockerfile(project).encode()
    plan = plan_build(project)
    local = local_context_files(project)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "Dockerfile", dockerfile)
        repo.export(project.host.commit, tar, CTX_HOST)
        if plan.check_package:
            _add_bytes(tar, CTX_LOADCHECK, loadcheck_source())
        for item in local:
            data = item.disk.read_bytes()
            _add_bytes(tar, item.context, data, item.executable)
    return context_listing(project, repo)


def context_listing(project: Project, repo: HostRepository) -> list[ContextEntry]:
    """The context's file list (for previews), without reading plugin contents."""
    entries = [ContextEntry("Dockerfile", len(render_dockerfile(project).encode()))]
    sha = project.host.commit
    entries.extend(ContextEntry(f"{CTX_HOST}/{path}", -1) for path in repo.files(sha))
    if plan_build(project).check_package:
        entries.append(ContextEntry(CTX_LOADCHECK, len(loadcheck_source())))
    for item in local_context_files(project):
        entries.append(ContextEntry(item.context, item.disk.stat().st_size))
    return entries


__all__ = [
    "CTX_FILES",
    "ContextEntry",
    "LocalFile",
    "PluginSourceError",
    "context_listing",
    "local_context_files",
    "loadcheck_source",
    "plugin_files",
    "write_context",
]
