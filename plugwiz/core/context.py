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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from plugwiz.core.detect import go_imports, go_package_name
from plugwiz.core.gomod import GoModError
from plugwiz.core.gomodfile import parse_modfile
from plugwiz.core.model import (
    LocalModule,
    PluginFacts,
    PluginKind,
    PluginModule,
    PluginSource,
    Project,
    ProjectError,
    ResolvedProject,
)
from plugwiz.core.modules import (
    CTX_GOPROXY,
    CTX_HOST_MODULES,
    CTX_MODULES,
    CTX_VENDOR,
    CTX_WARM,
    ModulePlan,
    host_vendor_entries,
    modules_txt_text,
    package_dirs,
    vendor_entries,
    warm_source,
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
from plugwiz.core.runtime_image import CTX_EMPTY_DIR

if TYPE_CHECKING:
    # Fetching modules is `write_context`'s business (imported there): `render` checks the
    # local files only and need not load the fetcher and its zip handling.
    from plugwiz.core.modfetch import PreparedModules
    from plugwiz.core.modsource import ModuleSource

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
    """A local file to place in the context: its path on disk and its path in the context
    (`data`: what to send instead of the file's content, e.g. a plugin's go.mod as the build
    has it)."""

    disk: Path
    context: str
    executable: bool = False
    data: bytes | None = None

    def content(self) -> bytes:
        return self.data if self.data is not None else self.disk.read_bytes()

    def size(self) -> int:
        return len(self.data) if self.data is not None else self.disk.stat().st_size


def loadcheck_source(resolved: ResolvedProject | None = None) -> bytes:
    """The Go init file the load check adds to the host's main package (with the project's
    symbol type written in, when it sets one)."""
    from plugwiz.core.loadcheck import loadcheck_source as render

    return render(resolved)


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


def _walk_module(root: Path, what: str) -> list[Path]:
    """A module directory's files as the build gets them: `_walk_files` without nested modules
    (a subdirectory with its own go.mod) and without the module's own vendor/ (a plugin is
    never the main module, so Go would ignore it)."""
    nested = {
        gomod.parent
        for gomod in root.rglob("go.mod")
        if gomod.parent != root
        and not any(p.startswith(".") for p in gomod.relative_to(root).parts)
    }
    files = []
    for path in _walk_files(root, what):
        rel = path.relative_to(root)
        if rel.parts[0] == "vendor" and len(rel.parts) > 1:
            continue
        if any(parent in nested for parent in path.parents):
            continue
        files.append(path)
    return files


def _module_facts(
    project: Project, plugin: PluginSource, path: Path, host_module: str
) -> PluginModule:
    """The go.mod, go.sum, packages and local replacements of a plugin module at `path`;
    PluginSourceError for what stops it being built."""
    what = f"plugin {plugin.output_name!r}"
    shown = plugin.source.rstrip("/")
    try:
        gomod_text = (path / "go.mod").read_text(encoding="utf-8")
        mod = parse_modfile(gomod_text, f"{shown}/go.mod")
    except UnicodeDecodeError:
        raise PluginSourceError(f"{what}: {shown}/go.mod is not UTF-8 text") from None
    except GoModError as exc:
        raise PluginSourceError(f"{what}: {exc}") from None
    files = _walk_module(path, what)
    rel_names = [f.relative_to(path).as_posix() for f in files]
    root_go = [f for f in files if f.parent == path and f.suffix == ".go"]
    root_go = [f for f in root_go if not f.name.endswith("_test.go")]
    if not root_go:
        raise PluginSourceError(
            f"{what}: {shown} has a go.mod but no .go files at its root: the plugin's "
            "`package main` must be the module's root package"
        )
    for go_file in root_go:
        _check_go_file(go_file, what, f"{shown}/{go_file.name}")
    gosum = path / "go.sum"
    gosum_text = gosum.read_text(encoding="utf-8") if gosum.is_file() else ""
    required = {r.path: r.version for r in mod.requires}
    local: list[LocalModule] = []
    for rep in mod.replaces:
        if not rep.local or rep.old == host_module:
            continue
        target = (path / rep.new).resolve()
        where = f"{what}: its go.mod replaces {rep.old} with {rep.new}"
        if not target.is_dir():
            raise PluginSourceError(f"{where}, which is not a directory ({target})")
        try:
            local_text = (target / "go.mod").read_text(encoding="utf-8")
            local_mod = parse_modfile(local_text, f"{target}/go.mod")
        except OSError:
            raise PluginSourceError(f"{where}, which has no go.mod ({target})") from None
        except (GoModError, UnicodeDecodeError) as exc:
            raise PluginSourceError(f"{where}: {exc}") from None
        if local_mod.module == host_module and host_module:
            continue  # a checkout of the host: the host as built takes its place
        if local_mod.module != rep.old:
            raise PluginSourceError(
                f"{where}, but that directory's go.mod says `module {local_mod.module}`"
            )
        local_files = _walk_module(target, f"{what} ({rep.old})")
        local_sum = target / "go.sum"
        local_imports = _imports(local_files)
        local.append(
            LocalModule(
                path=rep.old,
                version=required.get(rep.old, ""),
                directory=target,
                gomod_text=local_text,
                gosum_text=local_sum.read_text(encoding="utf-8") if local_sum.is_file() else "",
                packages=package_dirs(f.relative_to(target).as_posix() for f in local_files),
                imports=local_imports,
            )
        )
    return PluginModule(
        path=mod.module,
        gomod_text=gomod_text,
        gosum_text=gosum_text,
        packages=package_dirs(rel_names),
        local=tuple(local),
        imports=_imports(files),
    )


def _imports(files: list[Path]) -> tuple[str, ...]:
    """Every import path the non-test Go files among `files` name, sorted."""
    found: set[str] = set()
    for path in files:
        if path.suffix == ".go" and not path.name.endswith("_test.go"):
            found.update(go_imports(path.read_bytes()))
    return tuple(sorted(found))


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
    if (path / "go.mod").is_file():
        return [
            LocalFile(f, f"{CTX_PLUGINS}/{name}/{f.relative_to(path).as_posix()}")
            for f in _walk_module(path, what)
        ]
    files = _walk_files(path, what)
    go_files = [f for f in files if f.suffix == ".go" and not f.name.endswith("_test.go")]
    if not go_files:
        raise PluginSourceError(f"{what}: {plugin.source} holds no .go files")
    for go_file in go_files:
        rel = go_file.relative_to(path).as_posix()
        _check_go_file(go_file, what, f"{plugin.source.rstrip('/')}/{rel}")
    return [LocalFile(f, f"{CTX_PLUGINS}/{name}/{f.relative_to(path).as_posix()}") for f in files]


def inspect_plugin(project: Project, plugin: PluginSource, host_module: str = "") -> PluginFacts:
    """Look at one custom plugin source on disk: its kind, what stops it being built, and its
    module when it is a directory with a go.mod (`host_module`: the host's module path, whose
    local checkouts a plugin's go.mod may name; the host as built takes their place)."""
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
    module: PluginModule | None = None
    try:
        _plugin_files(project, plugin, kind)
        if kind is PluginKind.DIRECTORY and (path / "go.mod").is_file():
            module = _module_facts(project, plugin, path, host_module)
    except ProjectError as exc:
        return PluginFacts(kind, str(exc))
    except OSError as exc:
        return PluginFacts(kind, f"{what}: cannot read {shown}: {exc.strerror or exc}")
    return PluginFacts(kind, module=module)


def inspect_plugins(project: Project, host_module: str = "") -> tuple[PluginFacts, ...]:
    """`inspect_plugin` for every custom plugin, in order."""
    return tuple(inspect_plugin(project, plugin, host_module) for plugin in project.plugins)


def plugin_files(resolved: ResolvedProject, index: int) -> list[LocalFile]:
    """The local files of custom plugin `index`, checked, with their context paths."""
    project = resolved.project
    plugin = project.plugins[index]
    facts = resolved.plugins[index]
    if facts.problem or facts.kind is None:
        raise PluginSourceError(facts.problem or f"plugin {plugin.output_name!r} is unusable")
    return _plugin_files(project, plugin, facts.kind)


def _module_plugin_files(
    resolved: ResolvedProject, modules: ModulePlan, index: int, files: list[LocalFile]
) -> list[LocalFile]:
    """A plugin module's files with its go.mod as the build has it."""
    name = resolved.project.plugins[index].output_name
    module = modules.plugin(name)
    if module is None:
        return files
    gomod = f"{CTX_PLUGINS}/{name}/go.mod"
    return [replace(f, data=module.gomod_text.encode()) if f.context == gomod else f for f in files]


def local_module_files(modules: ModulePlan) -> list[LocalFile]:
    """The files of the local modules plugins' go.mod files replace, under plugwiz/deps/K/."""
    result: list[LocalFile] = []
    for local in modules.local_dirs:
        for path in _walk_module(local.directory, f"module {local.module}"):
            rel = path.relative_to(local.directory).as_posix()
            result.append(LocalFile(path, f"{local.context_dir}/{rel}"))
    return result


def local_context_files(
    resolved: ResolvedProject, plan: BuildPlan | None = None
) -> list[LocalFile]:
    """Every local (non-host) file of the context, checked."""
    project = resolved.project
    modules = (plan or plan_build(resolved)).modules
    result: list[LocalFile] = []
    for index in range(len(project.plugins)):
        result.extend(_module_plugin_files(resolved, modules, index, plugin_files(resolved, index)))
    result.extend(local_module_files(modules))
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


def module_context_files(
    resolved: ResolvedProject, plan: BuildPlan, prepared: PreparedModules | None = None
) -> list[tuple[str, bytes]]:
    """The context's module files: the host's go.mod and go.sum with its upgrades (when the
    plugins upgrade some of its modules), the merged go.mod and go.sum (and
    vendor/modules.txt) the plugins are built with, the go.mod files of the directories the
    merged go.mod replaces modules with, and what `prepared` fetched (file-based proxies, or
    vendored packages and the vendor/modules.txt that lists them)."""
    modules = plan.modules
    files: dict[str, bytes] = {}
    if modules.upgrades:
        files[f"{CTX_HOST_MODULES}/go.mod"] = modules.host_gomod.encode()
        if modules.host_gosum:
            files[f"{CTX_HOST_MODULES}/go.sum"] = modules.host_gosum.encode()
        if modules.vendored:
            entries = host_vendor_entries(modules, {})
            files[f"{CTX_HOST_MODULES}/vendor/modules.txt"] = modules_txt_text(entries).encode()
    if modules.merged:
        files[f"{CTX_MODULES}/go.mod"] = modules.gomod.encode()
        if modules.gosum:
            files[f"{CTX_MODULES}/go.sum"] = modules.gosum.encode()
        if modules.vendored:
            entries = vendor_entries(modules, {}, {})
            files[f"{CTX_MODULES}/vendor/modules.txt"] = modules_txt_text(entries).encode()
        else:
            for module in modules.plugins:
                files[f"{CTX_MODULES}/{module.builder_dir}/go.mod"] = module.gomod_text.encode()
            for local in modules.local_dirs:
                files[f"{CTX_MODULES}/{local.builder_dir}/go.mod"] = local.gomod_text.encode()
    if modules.warm_imports:
        files[f"{CTX_WARM}/warm.go"] = warm_source(modules).encode()
    for path, data in prepared.files if prepared is not None else ():
        files[path] = data
    return sorted(files.items())


def _export_submodules(
    repo: HostRepository, sha: str, tar: tarfile.TarFile, prefix: str, depth: int = 0
) -> None:
    """Add the host's submodules at their recorded commits (and theirs, a few levels deep)."""
    if depth > 4:
        return
    for link in repo.gitlinks(sha):
        sub = repo.open_submodule(sha, link)
        where = f"{prefix}/{link.path}"
        sub.export(link.sha, tar, where)
        _export_submodules(sub, link.sha, tar, where, depth + 1)


def check_submodules(resolved: ResolvedProject, repo: HostRepository) -> None:
    """Make sure every submodule of the host can be fetched at its recorded commit (before a
    build); raises HostRepoError naming the submodule and its URL otherwise."""
    for link in resolved.facts.submodules:
        repo.open_submodule(resolved.sha, link)


def _add_empty_dir(tar: tarfile.TarFile, name: str) -> None:
    info = _tar_info(name, 0, True)
    info.type = tarfile.DIRTYPE
    tar.addfile(info)


def write_context(
    resolved: ResolvedProject,
    repo: HostRepository,
    out: BinaryIO,
    sources: Sequence[ModuleSource] | None = None,
    *,
    buildkit: bool = False,
    cache_id: str = DEFAULT_CACHE_ID,
) -> list[ContextEntry]:
    """Write the build context for `resolved` as an uncompressed tar to `out`, with the
    Dockerfile for BuildKit when `buildkit` (its Go cache mount named `cache_id`).

    Modules the context carries come from `sources` (default: the offline directory and
    plugwiz's module cache, no network). Raises ProjectError (or PluginSourceError,
    ModulesUnavailableError...) or HostRepoError (a submodule) before writing anything if a
    source is unusable.
    """
    from plugwiz.core.modfetch import local_sources, prepare_modules

    plan = plan_build(resolved)
    dockerfile = emit_dockerfile(resolved, plan, buildkit=buildkit, cache_id=cache_id).encode()
    local = local_context_files(resolved, plan)
    if sources is None and plan.modules.settings is not None:
        sources = local_sources(plan.modules.settings)
    prepared = prepare_modules(resolved, plan.modules, sources or [])
    module_files = module_context_files(resolved, plan, prepared)
    check = loadcheck_source(resolved) if plan.check_package else b""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "Dockerfile", dockerfile)
        repo.export(resolved.sha, tar, CTX_HOST)
        if resolved.facts.submodules:
            _export_submodules(repo, resolved.sha, tar, CTX_HOST)
        if plan.check_package:
            _add_bytes(tar, CTX_LOADCHECK, check)
        for item in local:
            _add_bytes(tar, item.context, item.content(), item.executable)
        for path, data in module_files:
            _add_bytes(tar, path, data)
        if plan.writable:
            # What each directory the host writes starts as (COPY --chown of it).
            _add_empty_dir(tar, CTX_EMPTY_DIR)
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


def context_digest(
    resolved: ResolvedProject,
    repo: HostRepository,
    sources: Sequence[ModuleSource] | None = None,
) -> str:
    """The digest of the (classic) build context `resolved` would send, its modules taken
    from `sources` as in `write_context` (the `dev.plugwiz.context` label of an image built
    from it): equal digests mean the same inputs."""
    sink = HashingWriter()
    write_context(resolved, repo, sink, sources)  # type: ignore[arg-type]
    return sink.digest


def context_listing(
    resolved: ResolvedProject, repo: HostRepository, plan: BuildPlan | None = None
) -> list[ContextEntry]:
    """The context's file list (for previews), without reading plugin contents."""
    plan = plan or plan_build(resolved)
    entries = [ContextEntry("Dockerfile", len(emit_dockerfile(resolved, plan).encode()))]
    entries.extend(ContextEntry(f"{CTX_HOST}/{path}", -1) for path in repo.files(resolved.sha))
    entries.extend(
        ContextEntry(f"{CTX_HOST}/{link.path}/ (submodule at {link.sha[:12]})", -1)
        for link in resolved.facts.submodules
    )
    if plan.check_package:
        entries.append(ContextEntry(CTX_LOADCHECK, len(loadcheck_source(resolved))))
    for item in local_context_files(resolved, plan):
        entries.append(ContextEntry(item.context, item.size()))
    for path, data in module_context_files(resolved, plan):
        entries.append(ContextEntry(path, len(data)))
    modules = plan.modules
    if modules.delivery == "context":
        entries.extend(
            ContextEntry(f"{CTX_GOPROXY}/{need.module}@{need.version} (fetched)", -1)
            for need in modules.all_needs
        )
    elif modules.delivery == "vendor":
        entries.extend(
            ContextEntry(f"{CTX_VENDOR}/{need.module}/ ({need.version}, fetched)", -1)
            for need in modules.all_needs
        )
    if plan.writable:
        entries.append(ContextEntry(CTX_EMPTY_DIR + "/", 0))
    return entries


__all__ = [
    "CTX_FILES",
    "ContextEntry",
    "check_submodules",
    "local_module_files",
    "module_context_files",
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
