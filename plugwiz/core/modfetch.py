"""Getting the modules a build needs before it starts, and saying so when nothing can provide
them. Core logic over the `ModuleSource` port: which files, checked against go.sum, laid out
as the build context wants them.

Delivery (`ModulePlan.delivery`):
- `vendor`: a vendored host; the modules plugins add are fetched here, checked, and their
  packages go into the context (`plugwiz/vendor/...`) with the merged vendor/modules.txt;
- `context`: modules from the offline directory or an authenticated proxy are fetched here
  (credentials stay in this process) and sent as a file-based proxy (`plugwiz/goproxy/`);
- `build`: the build downloads them itself from GOPROXY (no credentials needed); plugwiz only
  checks beforehand that a source has each one (`probe_modules`);
- `none`: nothing to download.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plugwiz.core.gomod import GoModError
from plugwiz.core.gomodfile import max_version, parse_gosum, parse_modfile, version_key
from plugwiz.core.model import ProjectError, ResolvedProject
from plugwiz.core.modsource import (
    CachingSource,
    DirectorySource,
    EffectiveModuleSettings,
    ModuleSource,
    ModuleSourceError,
)
from plugwiz.core.modules import (
    CTX_GOPROXY,
    CTX_HOST_GOPROXY,
    CTX_HOST_MODULES,
    CTX_HOST_VENDOR,
    CTX_MODULES,
    CTX_VENDOR,
    Fetched,
    ModuleConflictError,
    ModuleNeed,
    ModulePlan,
    ModuleUse,
    conflict_table,
    host_module_versions,
    host_vendor_entries,
    modules_txt_text,
    package_dirs,
    vendor_entries,
    vendored_files,
)
from plugwiz.core.modzip import (
    ModuleZipError,
    hash_gomod,
    hash_zip,
    info_json,
    proxy_paths,
    zip_contents,
)
from plugwiz.core.paths import cache_dir


class ModulesUnavailableError(ProjectError):
    """No module source can provide some modules the build needs; the message names them and
    the ways out."""

    def __init__(self, message: str, missing: Sequence[str]) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


class ModuleChecksumError(ProjectError):
    """A module's content does not match go.sum; the message names the module."""


@dataclass(frozen=True)
class PreparedModules:
    """What the build context gets for modules (files by context path), and the module files
    fetched for it in the file-based proxy layout (by path under the proxy)."""

    files: tuple[tuple[str, bytes], ...] = ()
    proxy: tuple[tuple[str, bytes], ...] = ()


def module_cache() -> Path:
    """plugwiz's module download cache (the file-based proxy layout)."""
    return cache_dir() / "modules"


def local_sources(settings: EffectiveModuleSettings) -> list[ModuleSource]:
    """Sources that need no network: the offline directory (if set), then plugwiz's cache."""
    sources: list[ModuleSource] = []
    if settings.offline is not None:
        sources.append(
            DirectorySource(settings.offline, f"the offline module directory {settings.offline}")
        )
    sources.append(CachingSource(None, module_cache()))
    return sources


def _sums(plan: ModulePlan, resolved: ResolvedProject) -> dict[tuple[str, str, bool], str]:
    text = plan.gosum or resolved.facts.gosum_text
    if not text:
        return {}
    return {(s.path, s.version, s.gomod): s.hash for s in parse_gosum(text)}


class _Fetcher:
    """Tries each source in turn; remembers why a path could not be had."""

    def __init__(self, sources: Sequence[ModuleSource]) -> None:
        self.sources = list(sources)
        self.reasons: dict[str, str] = {}

    def get(self, path: str) -> tuple[bytes, str] | None:
        reasons: list[str] = []
        for source in self.sources:
            try:
                data = source.fetch(path)
            except ModuleSourceError as exc:
                reasons.append(str(exc))
                continue
            if data is not None:
                return data, source.describe()
            reasons.append(f"not in {source.describe()}")
        self.reasons[path] = "; ".join(dict.fromkeys(reasons)) or "no module source is set"
        return None


def _check(
    sums: dict[tuple[str, str, bool], str],
    module: str,
    version: str,
    gomod: bool,
    data: bytes,
    where: str,
) -> None:
    expected = sums.get((module, version, gomod))
    if expected is None:
        return
    actual = hash_gomod(data) if gomod else hash_zip(data)
    if actual != expected:
        what = "go.mod" if gomod else "files"
        raise ModuleChecksumError(
            f"checksum mismatch for {module} {version} ({what}): go.sum says {expected}, "
            f"{where} served {actual}. Either the module was changed after its release or "
            "go.sum is wrong: do not build with it until you know which (`go mod download "
            f"-json {module}@{version}` from the public proxy shows the real checksum)"
        )


def prepare_modules(
    resolved: ResolvedProject, plan: ModulePlan, sources: Sequence[ModuleSource]
) -> PreparedModules:
    """The module files the build context needs for `plan` (delivery `context` or `vendor`),
    fetched from `sources` in order and checked against go.sum. Raises
    ModulesUnavailableError, ModuleChecksumError or ModuleConflictError before any build."""
    settings = plan.settings
    if settings is not None and settings.offline is not None and not settings.offline.is_dir():
        raise ProjectError(
            f"modules.offline: {settings.offline} is not a directory; write it with "
            "`plugwiz modules PROJECT.yaml -o DIR` where the network is"
        )
    try:
        if plan.delivery == "context":
            return _prepare_proxy(resolved, plan, sources)
        if plan.delivery == "vendor" and plan.all_needs:
            return _prepare_vendor(resolved, plan, sources)
    except ModuleZipError as exc:
        raise ProjectError(str(exc)) from None
    return PreparedModules()


def _prepare_proxy(
    resolved: ResolvedProject, plan: ModulePlan, sources: Sequence[ModuleSource]
) -> PreparedModules:
    fetcher = _Fetcher(sources)
    sums = _sums(plan, resolved)
    missing: list[tuple[ModuleNeed, str]] = []
    parts = []
    for needs in (plan.host_needs, plan.needs):
        proxy = _ProxyFiles()
        for need in needs:
            fetched = _fetch_need(fetcher, sums, need, missing)
            if fetched is not None:
                proxy.add(fetcher, need, fetched[0], fetched[1])
        parts.append(proxy.files())
    if missing:
        raise unavailable_error(resolved, plan, missing)
    host_files, plugin_files = parts
    files = [(f"{CTX_HOST_GOPROXY}/{path}", data) for path, data in host_files]
    files += [(f"{CTX_GOPROXY}/{path}", data) for path, data in plugin_files]
    merged = dict(host_files)
    for path, data in plugin_files:
        if path.endswith("/@v/list") and path in merged:
            versions = set(merged[path].decode().split()) | set(data.decode().split())
            data = "".join(f"{v}\n" for v in sorted(versions, key=version_key)).encode()
        merged[path] = data
    return PreparedModules(tuple(sorted(files)), tuple(sorted(merged.items())))


def _fetch_need(
    fetcher: _Fetcher,
    sums: dict[tuple[str, str, bool], str],
    need: ModuleNeed,
    missing: list[tuple[ModuleNeed, str]],
) -> tuple[bytes, bytes | None] | None:
    """(go.mod, zip or None) of `need`, checked; None (noted in `missing` when required) if
    no source has it."""
    paths = proxy_paths(need.module, need.version)
    mod = fetcher.get(paths["mod"])
    if mod is None:
        if need.required:
            missing.append((need, fetcher.reasons[paths["mod"]]))
        return None
    _check(sums, need.module, need.version, True, mod[0], mod[1])
    if not need.zip:
        return mod[0], None
    zip_data = fetcher.get(paths["zip"])
    if zip_data is None:
        if need.required:
            missing.append((need, fetcher.reasons[paths["zip"]]))
        return None
    _check(sums, need.module, need.version, False, zip_data[0], zip_data[1])
    return mod[0], zip_data[0]


class _ProxyFiles:
    """Module files gathered in the file-based proxy layout."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._versions: dict[str, set[str]] = {}

    def add(self, fetcher: _Fetcher, need: ModuleNeed, mod: bytes, zip_data: bytes | None) -> None:
        paths = proxy_paths(need.module, need.version)
        info = fetcher.get(paths["info"])
        self._files[paths["info"]] = info[0] if info else info_json(need.version)
        self._files[paths["mod"]] = mod
        if zip_data is not None:
            self._files[paths["zip"]] = zip_data
        self._versions.setdefault(need.module, set()).add(need.version)

    def files(self) -> list[tuple[str, bytes]]:
        files = dict(self._files)
        for module, listed in self._versions.items():
            path = proxy_paths(module, next(iter(listed)))["list"]
            files[path] = "".join(f"{v}\n" for v in sorted(listed, key=version_key)).encode()
        return sorted(files.items())


class _Vendoring:
    """Modules fetched and vendored for one stage (the host's upgrades, or the plugins')."""

    def __init__(self) -> None:
        self.done: Fetched = {}
        self.files: dict[str, bytes] = {}
        self.proxy = _ProxyFiles()


def _prepare_vendor(
    resolved: ResolvedProject, plan: ModulePlan, sources: Sequence[ModuleSource]
) -> PreparedModules:
    fetcher = _Fetcher(sources)
    sums = _sums(plan, resolved)
    host_versions = host_module_versions(resolved)
    upgrades = {u.module: u.plugin_version for u in plan.upgrades}
    skip = {p.module for p in plan.plugins} | {ld.module for ld in plan.local_dirs}
    skip.add(resolved.facts.gomod.module)
    missing: list[tuple[ModuleNeed, str]] = []
    conflicts: list[ModuleUse] = []
    host = _Vendoring()
    plugins = _Vendoring()
    # The host's upgrades first (what they need becomes the host's too), then the plugins'.
    for stage, needs in ((host, plan.host_needs), (plugins, plan.needs)):
        versions = dict(host_versions)
        versions.update({m: v[0] for m, v in host.done.items()})
        versions.update(upgrades)
        _vendor_queue(
            fetcher, sums, needs, stage, versions, skip | set(host.done), missing, conflicts
        )
    if conflicts:
        raise ModuleConflictError(
            "modules the plugins add need newer versions of modules the host vendors:\n"
            + conflict_table(conflicts, "needs")
            + "\n  What to do: lower the plugin's requirement, pick a host ref that vendors "
            "those versions, or list them under `modules: {upgrade: [...]}` in plugwiz.yaml"
        )
    if missing:
        raise unavailable_error(resolved, plan, missing)
    files = {f"{CTX_HOST_VENDOR}/{name}": data for name, data in host.files.items()}
    files.update({f"{CTX_VENDOR}/{name}": data for name, data in plugins.files.items()})
    if plan.upgrades:
        entries = host_vendor_entries(plan, host.done)
        files[f"{CTX_HOST_MODULES}/vendor/modules.txt"] = modules_txt_text(entries).encode()
    if plan.merged:
        entries = vendor_entries(plan, host.done, plugins.done)
        files[f"{CTX_MODULES}/vendor/modules.txt"] = modules_txt_text(entries).encode()
    proxy = dict(host.proxy.files())
    proxy.update(plugins.proxy.files())
    return PreparedModules(tuple(sorted(files.items())), tuple(sorted(proxy.items())))


def _vendor_queue(
    fetcher: _Fetcher,
    sums: dict[tuple[str, str, bool], str],
    needs: Sequence[ModuleNeed],
    stage: _Vendoring,
    versions: dict[str, str],
    skip: set[str],
    missing: list[tuple[ModuleNeed, str]],
    conflicts: list[ModuleUse],
) -> None:
    """Fetch, check and vendor `needs` and what they require that `versions` (the host's) does
    not already provide, into `stage`."""
    queue: dict[str, ModuleNeed] = {n.module: n for n in needs}
    while queue:
        module = min(queue)
        need = queue.pop(module)
        known = stage.done.get(module)
        if known is not None and version_key(known[0]) >= version_key(need.version):
            continue
        if need.required and (need.module, need.version, False) not in sums:
            raise ModuleChecksumError(
                f"no checksum for {need.module} {need.version} in the go.sum files "
                f"({need.wanted_by} needs it): plugwiz vendors only modules it can check; run "
                "`go mod tidy` in the plugin's directory and try again"
            )
        fetched = _fetch_need(fetcher, sums, need, missing)
        if fetched is None:
            continue
        mod, zip_data = fetched
        if zip_data is None:
            continue
        if (need.module, need.version, False) not in sums:
            continue  # a module only some requirement names, and no go.sum vouches for
        try:
            contents = zip_contents(need.module, need.version, zip_data)
            gomod = parse_modfile(mod.decode("utf-8", "replace"), f"{need.module} go.mod")
        except GoModError as exc:
            raise ProjectError(f"{need.module} {need.version}: {exc}") from None
        for name in [k for k in stage.files if k.startswith(f"{need.module}/")]:
            del stage.files[name]
        stage.files.update(vendored_files(need.module, contents))
        packages = tuple(
            need.module if not p else f"{need.module}/{p}" for p in package_dirs(contents)
        )
        stage.done[need.module] = (need.version, packages, gomod.go)
        stage.proxy.add(fetcher, need, mod, zip_data)
        for req in gomod.requires:
            if req.path in skip:
                continue
            have = versions.get(req.path)
            if have is not None:
                if version_key(req.version) > version_key(have):
                    conflicts.append(ModuleUse(req.path, have, req.version, (need.module,)))
                continue
            current = stage.done.get(req.path)
            queued = queue.get(req.path)
            best = max_version(
                [
                    req.version,
                    *([current[0]] if current else []),
                    *([queued.version] if queued else []),
                ]
            )
            if current is not None and current[0] == best:
                continue
            queue[req.path] = ModuleNeed(
                req.path, best, True, f"{need.module} (for {need.wanted_by})", required=False
            )


def probe_modules(
    resolved: ResolvedProject,
    plan: ModulePlan,
    source: ModuleSource | None,
    direct: Callable[[str], str | None] | None = None,
) -> None:
    """For delivery `build`: check that `source` (the GOPROXY chain) has the go.mod of every
    module the build must download, or that `direct` (a reachability check of a module's
    origin, when GOPROXY allows `direct`) can reach it; ModulesUnavailableError otherwise."""
    if plan.delivery != "build":
        return
    fetcher = _Fetcher([source] if source is not None else [])
    missing: list[tuple[ModuleNeed, str]] = []
    for need in plan.all_needs:
        if not need.required:
            continue
        path = proxy_paths(need.module, need.version)["mod"]
        if fetcher.get(path) is not None:
            continue
        reason = fetcher.reasons.get(path, "")
        if direct is not None:
            problem = direct(need.module)
            if problem is None:
                continue
            reason = f"{reason}; {problem}" if reason else problem
        missing.append((need, reason))
    if missing:
        raise unavailable_error(resolved, plan, missing)


def unavailable_error(
    resolved: ResolvedProject, plan: ModulePlan, missing: Sequence[tuple[ModuleNeed, str]]
) -> ModulesUnavailableError:
    """One message for every module no source can provide, with the three ways out."""
    settings = plan.settings
    shown = [f"{n.module} {n.version}" for n, _ in missing]
    lines = [
        f"no module source can provide {len(missing)} module(s) the build needs (nothing was "
        "built):"
    ]
    width = max(len(s) for s in shown)
    for (need, _reason), text in zip(missing, shown, strict=True):
        lines.append(f"    {text.ljust(width)}  needed by {need.wanted_by}")
    reasons = list(dict.fromkeys(r for _, r in missing if r))
    if reasons:
        lines.append("  tried: " + reasons[0] if len(reasons) == 1 else "  tried:")
        if len(reasons) > 1:
            lines.extend(f"    - {r}" for r in reasons[:5])
    proxy = settings.proxy if settings and settings.proxy else "Go's default (proxy.golang.org)"
    project_hint = "plugwiz.yaml"
    lines += [
        "  Three ways out:",
        "    1. vendor: a host whose repository has vendor/ (`go mod vendor`) needs no "
        "download for its own modules; plugwiz adds the plugins' modules to it"
        + (
            " (this host has vendor/; the plugins' modules above are not in it)"
            if resolved.facts.vendored
            else ""
        ),
        f"    2. a module proxy that has them: GOPROXY (now: {proxy}) in the environment or "
        f"`modules: {{proxy: URL}}` in {project_hint}; credentials go in GOPROXY's URL in the "
        "environment or in ~/.netrc, never in the project file",
        f"    3. offline: run `plugwiz modules {project_hint} -o DIR` where the network is, "
        f"bring DIR here and set `modules: {{offline: DIR}}` in {project_hint}",
    ]
    return ModulesUnavailableError("\n".join(lines), shown)


__all__ = [
    "ModuleChecksumError",
    "ModulesUnavailableError",
    "PreparedModules",
    "local_sources",
    "module_cache",
    "prepare_modules",
    "probe_modules",
    "unavailable_error",
]
