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
    CTX_MODULES,
    CTX_VENDOR,
    ModuleConflictError,
    ModuleNeed,
    ModulePlan,
    ModuleUse,
    conflict_table,
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
    if plan.delivery == "context":
        return _prepare_proxy(resolved, plan, sources)
    if plan.delivery == "vendor" and plan.needs:
        return _prepare_vendor(resolved, plan, sources)
    return PreparedModules()


def _prepare_proxy(
    resolved: ResolvedProject, plan: ModulePlan, sources: Sequence[ModuleSource]
) -> PreparedModules:
    fetcher = _Fetcher(sources)
    sums = _sums(plan, resolved)
    proxy = _ProxyFiles()
    missing: list[tuple[ModuleNeed, str]] = []
    for need in plan.needs:
        paths = proxy_paths(need.module, need.version)
        mod = fetcher.get(paths["mod"])
        if mod is None:
            if need.required:
                missing.append((need, fetcher.reasons[paths["mod"]]))
            continue
        _check(sums, need.module, need.version, True, mod[0], mod[1])
        zip_data: tuple[bytes, str] | None = None
        if need.zip:
            zip_data = fetcher.get(paths["zip"])
            if zip_data is None:
                if need.required:
                    missing.append((need, fetcher.reasons[paths["zip"]]))
                continue
            _check(sums, need.module, need.version, False, zip_data[0], zip_data[1])
        proxy.add(fetcher, need, mod[0], zip_data[0] if zip_data else None)
    if missing:
        raise unavailable_error(resolved, plan, missing)
    files = proxy.files()
    return PreparedModules(
        tuple((f"{CTX_GOPROXY}/{path}", data) for path, data in files), tuple(files)
    )


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


def _prepare_vendor(
    resolved: ResolvedProject, plan: ModulePlan, sources: Sequence[ModuleSource]
) -> PreparedModules:
    from plugwiz.core.modules import host_module_versions

    fetcher = _Fetcher(sources)
    sums = _sums(plan, resolved)
    host_versions = host_module_versions(resolved)
    upgrade = set(plan.settings.upgrade if plan.settings else ())
    skip = {p.module for p in plan.plugins} | {ld.module for ld in plan.local_dirs}
    skip.add(resolved.facts.gomod.module)
    queue: dict[str, ModuleNeed] = {n.module: n for n in plan.needs}
    done: dict[str, tuple[str, tuple[str, ...], str]] = {}
    vendor: dict[str, bytes] = {}
    proxy = _ProxyFiles()
    missing: list[tuple[ModuleNeed, str]] = []
    conflicts: list[ModuleUse] = []
    while queue:
        module = min(queue)
        need = queue.pop(module)
        if module in done and version_key(done[module][0]) >= version_key(need.version):
            continue
        paths = proxy_paths(need.module, need.version)
        mod = fetcher.get(paths["mod"])
        zip_data = fetcher.get(paths["zip"]) if mod is not None else None
        if mod is None or zip_data is None:
            if need.required:
                missing.append(
                    (
                        need,
                        fetcher.reasons.get(paths["mod"]) or fetcher.reasons.get(paths["zip"], ""),
                    )
                )
            continue
        if (need.module, need.version, False) not in sums:
            if not need.required:
                continue
            raise ModuleChecksumError(
                f"no checksum for {need.module} {need.version} in the plugins' go.sum files "
                f"({need.wanted_by} needs it): plugwiz vendors only modules it can check; run "
                "`go mod tidy` in the plugin's directory and try again"
            )
        _check(sums, need.module, need.version, True, mod[0], mod[1])
        _check(sums, need.module, need.version, False, zip_data[0], zip_data[1])
        try:
            contents = zip_contents(need.module, need.version, zip_data[0])
            gomod = parse_modfile(mod[0].decode("utf-8", "replace"), f"{need.module} go.mod")
        except (ModuleZipError, GoModError) as exc:
            raise ProjectError(f"{need.module} {need.version} from {zip_data[1]}: {exc}") from None
        for name in [k for k in vendor if k.startswith(f"{need.module}/")]:
            del vendor[name]
        vendor.update(vendored_files(need.module, contents))
        packages = tuple(
            need.module if not p else f"{need.module}/{p}" for p in package_dirs(contents)
        )
        done[need.module] = (need.version, packages, gomod.go)
        proxy.add(fetcher, need, mod[0], zip_data[0])
        # What this module requires: vendored by the host (an older version is fine, a
        # newer one is a conflict), or one more module to add.
        for req in gomod.requires:
            if req.path in skip:
                continue
            host_version = host_versions.get(req.path)
            if host_version is not None and req.path not in upgrade:
                if version_key(req.version) > version_key(host_version):
                    conflicts.append(ModuleUse(req.path, host_version, req.version, (need.module,)))
                continue
            known = done.get(req.path)
            queued = queue.get(req.path)
            best = max_version(
                [req.version, *(known[0:1] if known else ()), *([queued.version] if queued else [])]
            )
            if known is not None and known[0] == best:
                continue
            queue[req.path] = ModuleNeed(
                req.path, best, True, f"{need.module} (for {need.wanted_by})", required=False
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
    entries = vendor_entries(plan, done)
    files = {f"{CTX_VENDOR}/{name}": data for name, data in vendor.items()}
    files[f"{CTX_MODULES}/vendor/modules.txt"] = modules_txt_text(entries).encode()
    return PreparedModules(tuple(sorted(files.items())), tuple(proxy.files()))


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
    for need in plan.needs:
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
