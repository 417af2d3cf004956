"""Plugins with their own go.mod: one build list, the host's. Pure.

How plugwiz merges (documented in the README, "Plugins with their own modules"):

- The plugins are compiled in the host's module: its go.mod, with a marked block added at the
  end: a `require` of every plugin module (at `v0.0.0`), of the local modules their go.mod
  files replace, and of every module only the plugins need; in module mode also a `replace` of
  each plugin module with its directory in the build (`./plugwiz_plugins/NAME`) and of each
  local module with its own (`./plugwiz_deps/K`). Their other `replace` lines (module to
  module) move into it too, since Go obeys only the main module's. Plugins are built by import
  path, so every package of the plugin (subpackages included) compiles against the versions
  the host's binary uses.
- The host itself is built with its own go.mod (plus the upgrades the project allows): a
  module only plugins need changes nothing it links, and a module they share is at the same
  version by the rule below. So changing the plugins' modules rebuilds the plugins (the
  `modules` stage and the plugin stages after it), not the host.
- A plugin's requirement on the host's own module (any version, or a `replace` to a checkout
  of it) means this host as built: it is dropped from the plugin's go.mod in the build.
- A module the host already uses at another version: an older one is fine (the plugin is
  compiled against the host's, a note says so); a newer one is refused before any build, with a
  table and what to do, unless the project lists it under `modules.upgrade`: then the host is
  built with the newer version (a Dockerfile comment, an image label and a warning say so).
- A vendored host (vendor/modules.txt) stays vendored: plugwiz writes the merged
  vendor/modules.txt itself, puts the packages of the modules the plugins add into vendor/
  (taken from a module source before the build), and each plugin module's own files into
  vendor/<its module path>/ in the plugin's stage. The build needs no network.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from plugwiz.core.gomod import GoModError
from plugwiz.core.gomodfile import (
    ModFile,
    Replacement,
    SumConflict,
    VendoredModule,
    append_directives,
    drop_lines,
    format_modules_txt,
    max_version,
    merge_gosums,
    parse_gosum,
    parse_modfile,
    parse_modules_txt,
    set_requirement_versions,
    version_key,
)
from plugwiz.core.model import (
    PluginModule,
    ProjectError,
    ResolvedProject,
)
from plugwiz.core.modsource import EffectiveModuleSettings, effective_settings

PLUGIN_MODULE_VERSION = "v0.0.0"
CUSTOM_PLUGIN_DIR = "plugwiz_plugins"  # inside the host module (plugwiz.core.plan uses it too)
LOCAL_MODULE_DIR = "plugwiz_deps"
CTX_MODULES = "plugwiz/modules"  # merged go.mod, go.sum (and vendor/modules.txt), skeletons
CTX_DEPS = "plugwiz/deps"  # local modules the plugins' go.mod files replace
CTX_VENDOR = "plugwiz/vendor"  # packages of the modules plugins add to a vendored host
CTX_GOPROXY = "plugwiz/goproxy"  # modules the plugins need, sent with the context
CTX_WARM = "plugwiz/warm"  # a throwaway plugin importing what the plugins import from outside
WARM_DIR = "plugwiz_warm"  # ...and where the build has it (in the host module)
# The host's side when the plugins upgrade some of its modules: its go.mod and go.sum (and
# vendor/modules.txt) with the upgrades, and the upgraded modules' vendored packages.
CTX_HOST_MODULES = "plugwiz/host-modules"
CTX_HOST_VENDOR = "plugwiz/host-vendor"
CTX_HOST_GOPROXY = "plugwiz/host-goproxy"  # modules the host needs, sent with the context
GOPROXY_DIR = "/plugwiz/goproxy"  # where the builder has both
MODULES_STAGE = "modules"  # the stage that adds the plugins' modules (custom plugins start there)
MERGE_COMMENT = "Added by plugwiz: the plugins' modules (see plugwiz.yaml)"


class ModuleConflictError(ProjectError):
    """Plugins need newer versions of modules the host uses (or disagree about a checksum);
    the message holds the table and what to do."""


@dataclass(frozen=True)
class ModuleUse:
    """A module the host and some plugins both use, at different versions."""

    module: str
    host_version: str
    plugin_version: str
    plugins: tuple[str, ...]


@dataclass(frozen=True)
class LocalDir:
    """A local module a plugin's go.mod replaces, as the build has it."""

    index: int  # K of plugwiz_deps/K and plugwiz/deps/K
    module: str
    version: str
    directory: Path
    builder_dir: str  # plugwiz_deps/K, or vendor/<module> for a vendored host
    gomod_text: str
    packages: tuple[str, ...]
    plugins: tuple[str, ...]

    @property
    def context_dir(self) -> str:
        return f"{CTX_DEPS}/{self.index}"


@dataclass(frozen=True)
class PluginModulePlan:
    """How one plugin module is placed and built."""

    name: str
    module: str
    builder_dir: str  # plugwiz_plugins/NAME, or vendor/<module> for a vendored host
    gomod_text: str  # the plugin's go.mod as the build has it (host requirement dropped)
    packages: tuple[str, ...]
    local: tuple[int, ...]  # LocalDir indices it needs


@dataclass(frozen=True)
class ModuleNeed:
    """A module version the build needs from a module source, and why."""

    module: str
    version: str
    zip: bool  # its files (else only its go.mod)
    wanted_by: str  # "the host", "plugin greet"...
    required: bool = True  # False: a go.sum entry that may be stale (not fatal when missing)


@dataclass(frozen=True)
class ModulePlan:
    """What the build does about Go modules."""

    vendored: bool
    plugins: tuple[PluginModulePlan, ...] = ()
    local_dirs: tuple[LocalDir, ...] = ()
    gomod: str = ""  # the merged go.mod ("" = the host's as it is)
    gosum: str = ""  # the merged go.sum ("" = the host's as it is)
    modules_txt: tuple[VendoredModule, ...] = ()  # the host's entries (vendored)
    # The host's go.mod and go.sum with the upgrades ("" without upgrades).
    host_gomod: str = ""
    host_gosum: str = ""
    added: tuple[ModuleUse, ...] = ()  # modules only plugins need (host_version "")
    upgrades: tuple[ModuleUse, ...] = ()
    conflicts: tuple[ModuleUse, ...] = ()
    older: tuple[ModuleUse, ...] = ()
    sum_conflicts: tuple[SumConflict, ...] = ()
    replace_conflicts: tuple[str, ...] = ()
    delivery: str = "none"  # none | build | context | vendor
    host_needs: tuple[ModuleNeed, ...] = ()  # what the host stage downloads
    needs: tuple[ModuleNeed, ...] = ()  # what the plugins need on top
    settings: EffectiveModuleSettings | None = None
    host_go: str = ""
    # What the plugin modules import from outside themselves (std, the host, third-party):
    # compiled once in the `modules` stage so that a plugin's rebuild compiles only its own.
    warm_imports: tuple[str, ...] = ()

    @property
    def merged(self) -> bool:
        """True when some plugin is a module of its own."""
        return bool(self.plugins)

    def plugin(self, name: str) -> PluginModulePlan | None:
        return next((p for p in self.plugins if p.name == name), None)

    @property
    def all_needs(self) -> tuple[ModuleNeed, ...]:
        return (*self.host_needs, *self.needs)

    @property
    def upgraded_modules(self) -> set[str]:
        return {u.module for u in self.upgrades}

    @property
    def upgrade_label(self) -> str:
        """`module@host=>new` for each upgrade, comma-separated (the image label)."""
        return ",".join(f"{u.module}@{u.host_version}=>{u.plugin_version}" for u in self.upgrades)


@dataclass
class _Wanted:
    version: str
    plugins: list[str] = field(default_factory=list)


def _go_at_least(go: str, minor: int) -> bool:
    match = re.match(r"^1\.(\d+)", go)
    return match is not None and int(match.group(1)) >= minor


def host_module_versions(resolved: ResolvedProject) -> dict[str, str]:
    """The version of every module the host uses, as far as its files tell: go.mod's
    requirements, vendor/modules.txt, and (for modules neither names) the newest version
    whose files go.sum checks."""
    facts = resolved.facts
    versions: dict[str, str] = {}
    sums: dict[str, list[str]] = {}
    if facts.gosum_text:
        for line in parse_gosum(facts.gosum_text, "the host's go.sum"):
            if not line.gomod:
                sums.setdefault(line.path, []).append(line.version)
    for path, listed in sums.items():
        versions[path] = max_version(listed)
    if facts.vendor_modules_text:
        for module in parse_modules_txt(facts.vendor_modules_text):
            if module.path and module.version:
                versions[module.path] = module.version
    if facts.gomod_text:
        mod = parse_modfile(facts.gomod_text, "the host's go.mod")
        for req in mod.requires:
            versions[req.path] = max_version([req.version, versions.get(req.path, req.version)])
    return versions


def plan_modules(resolved: ResolvedProject) -> ModulePlan:
    """The module plan of `resolved`; raises ProjectError (a go.mod plugwiz cannot read)."""
    facts = resolved.facts
    settings = effective_settings(resolved)
    try:
        host_mod = (
            parse_modfile(facts.gomod_text, "the host's go.mod") if facts.gomod_text else None
        )
    except GoModError as exc:
        raise ProjectError(str(exc)) from None
    host_module = facts.gomod.module
    vendored = facts.vendored
    module_plugins: list[tuple[str, PluginModule]] = []
    for index, plugin in enumerate(resolved.project.plugins):
        pf = resolved.plugins[index] if index < len(resolved.plugins) else None
        if pf is not None and pf.module is not None and not pf.problem:
            module_plugins.append((plugin.output_name, pf.module))
    host_go = host_mod.go if host_mod else facts.gomod.go
    if not module_plugins:
        plan = ModulePlan(vendored=vendored, settings=settings, host_go=host_go)
        return _with_delivery(plan, resolved, host_mod, settings)

    try:
        host_versions = host_module_versions(resolved)
    except GoModError as exc:
        raise ProjectError(str(exc)) from None
    plugin_paths = {module.path for _name, module in module_plugins}
    seen_paths: dict[str, str] = {}
    for name, module in module_plugins:
        if module.path == host_module:
            raise ProjectError(
                f"plugin {name!r}: its go.mod says `module {module.path}`, the host's own "
                "module path; give the plugin a module path of its own"
            )
        if module.path in seen_paths:
            raise ProjectError(
                f"plugins {seen_paths[module.path]!r} and {name!r} are both module "
                f"{module.path}: one build cannot hold a module twice"
            )
        seen_paths[module.path] = name

    # Local modules (replace => directory), shared when two plugins name the same directory.
    local_by_dir: dict[Path, LocalDir] = {}
    local_by_path: dict[str, LocalDir] = {}
    plans: list[PluginModulePlan] = []
    wanted: dict[str, _Wanted] = {}
    hoisted: dict[str, tuple[Replacement, str]] = {}
    replace_conflicts: list[str] = []
    for name, module in module_plugins:
        try:
            mod = parse_modfile(module.gomod_text, f"plugin {name!r}: go.mod")
        except GoModError as exc:
            raise ProjectError(str(exc)) from None
        drop: list[int] = []
        local_indices: list[int] = []
        local_paths: set[str] = set()
        for local in module.local:
            if local.path == host_module:
                continue
            existing = local_by_dir.get(local.directory)
            if existing is None:
                other = local_by_path.get(local.path)
                if other is not None:
                    raise ProjectError(
                        f"plugins {', '.join(other.plugins)} and {name!r} replace {local.path} "
                        f"with different directories ({other.directory} and "
                        f"{local.directory}): point them at the same one"
                    )
                k = len(local_by_dir) + 1
                builder = f"vendor/{local.path}" if vendored else f"{LOCAL_MODULE_DIR}/{k}"
                existing = LocalDir(
                    k,
                    local.path,
                    local.version or PLUGIN_MODULE_VERSION,
                    local.directory,
                    builder,
                    local.gomod_text,
                    local.packages,
                    (name,),
                )
            else:
                existing = LocalDir(
                    existing.index,
                    existing.module,
                    max_version([existing.version, local.version or PLUGIN_MODULE_VERSION]),
                    existing.directory,
                    existing.builder_dir,
                    existing.gomod_text,
                    existing.packages,
                    (*existing.plugins, name),
                )
            local_by_dir[local.directory] = existing
            local_by_path[local.path] = existing
            local_indices.append(existing.index)
            local_paths.add(local.path)
        for rep in mod.replaces:
            if rep.old == host_module or rep.old in local_paths:
                drop.append(rep.line)
                continue
            if rep.local:
                # A directory replacement the plugin's facts do not know (not found on disk
                # is a problem reported by inspect_plugin): nothing to hoist.
                drop.append(rep.line)
                continue
            drop.append(rep.line)
            host_rep = host_mod.replacement(rep.old, rep.old_version) if host_mod else None
            if host_rep is not None:
                if host_rep.target() != rep.target():
                    replace_conflicts.append(
                        f"plugin {name!r} replaces {rep.old} with {rep.target()}, the host with "
                        f"{host_rep.target()}"
                    )
                continue
            known = hoisted.get(rep.old)
            if known is not None and known[0].target() != rep.target():
                replace_conflicts.append(
                    f"plugins {known[1]!r} and {name!r} replace {rep.old} differently "
                    f"({known[0].target()} and {rep.target()})"
                )
                continue
            hoisted[rep.old] = (rep, name)
        for req in mod.requires:
            if req.path == host_module:
                drop.append(req.line)
                continue
            if req.path in local_paths or req.path in plugin_paths:
                continue
            entry = wanted.setdefault(req.path, _Wanted(req.version))
            entry.version = max_version([entry.version, req.version])
            entry.plugins.append(name)
        builder = f"vendor/{module.path}" if vendored else f"{CUSTOM_PLUGIN_DIR}/{name}"
        plans.append(
            PluginModulePlan(
                name,
                module.path,
                builder,
                drop_lines(mod, sorted(set(drop))),
                module.packages,
                tuple(sorted(set(local_indices))),
            )
        )

    added: list[ModuleUse] = []
    upgrades: list[ModuleUse] = []
    conflicts: list[ModuleUse] = []
    older: list[ModuleUse] = []
    for path in sorted(wanted):
        entry = wanted[path]
        users = tuple(dict.fromkeys(entry.plugins))
        host_replaced = host_mod.replacement(path) if host_mod else None
        if host_replaced is not None and not host_replaced.old_version:
            continue  # the host replaces every version: it decides
        host_version = host_versions.get(path)
        if host_version is None:
            added.append(ModuleUse(path, "", entry.version, users))
            continue
        order = (version_key(entry.version) > version_key(host_version)) - (
            version_key(entry.version) < version_key(host_version)
        )
        if order == 0:
            continue
        use = ModuleUse(path, host_version, entry.version, users)
        if order < 0:
            older.append(use)
        elif path in settings.upgrade:
            upgrades.append(use)
        else:
            conflicts.append(use)

    sources = [("the host's go.sum", facts.gosum_text)]
    sources += [(f"plugin {n!r}'s go.sum", m.gosum_text) for n, m in module_plugins]
    sources += [
        (f"{ld.directory}/go.sum", _read_local_sum(ld.directory)) for ld in local_by_dir.values()
    ]
    try:
        gosum, sum_conflicts = merge_gosums((w, t) for w, t in sources if t)
    except GoModError as exc:
        raise ProjectError(str(exc)) from None

    local_dirs = tuple(sorted(local_by_dir.values(), key=lambda ld: ld.index))
    gomod = _merged_gomod(
        host_mod, plans, local_dirs, added, upgrades, [r for r, _ in hoisted.values()], vendored
    )
    host_gomod = host_gosum = ""
    if upgrades and host_mod is not None:
        listed = {r.path for r in host_mod.requires}
        host_gomod = append_directives(
            set_requirement_versions(host_mod, {u.module: u.plugin_version for u in upgrades}),
            "Upgraded by plugwiz for the plugins (modules.upgrade in plugwiz.yaml)",
            [(u.module, u.plugin_version) for u in upgrades if u.module not in listed],
            [],
        )
        host_gosum = gosum
    modules_txt: tuple[VendoredModule, ...] = ()
    if vendored:
        modules_txt = tuple(parse_modules_txt(facts.vendor_modules_text))
    own = [m.path for _n, m in module_plugins] + [ld.module for ld in local_dirs]
    imported = {i for _n, m in module_plugins for i in (*m.imports, *_local_imports(m))}
    warm = tuple(
        sorted(
            i
            for i in imported
            if i != "C" and not any(i == p or i.startswith(p + "/") for p in own)
        )
    )
    plan = ModulePlan(
        vendored=vendored,
        plugins=tuple(plans),
        local_dirs=local_dirs,
        gomod=gomod,
        gosum=gosum,
        modules_txt=modules_txt,
        host_gomod=host_gomod,
        host_gosum=host_gosum,
        warm_imports=warm,
        added=tuple(added),
        upgrades=tuple(upgrades),
        conflicts=tuple(conflicts),
        older=tuple(older),
        sum_conflicts=tuple(sum_conflicts),
        replace_conflicts=tuple(replace_conflicts),
        settings=settings,
        host_go=host_go,
    )
    return _with_delivery(plan, resolved, parse_modfile(gomod, "the merged go.mod"), settings)


def _local_imports(module: PluginModule) -> list[str]:
    return [i for local in module.local for i in local.imports]


def warm_source(plan: ModulePlan) -> str:
    """The throwaway plugin the `modules` stage builds to fill the Go build cache."""
    lines = [
        "// Code generated by plugwiz: built once in the modules stage so that the packages",
        "// the plugins import are compiled (as plugin code) before any plugin; never shipped.",
        "package main",
        "",
        "import (",
        *(f'\t_ "{path}"' for path in plan.warm_imports),
        ")",
        "",
    ]
    return "\n".join(lines)


def _read_local_sum(directory: Path) -> str:
    try:
        return (directory / "go.sum").read_text(encoding="utf-8")
    except OSError:
        return ""


def _merged_gomod(
    host_mod: ModFile | None,
    plans: list[PluginModulePlan],
    local_dirs: tuple[LocalDir, ...],
    added: list[ModuleUse],
    upgrades: list[ModuleUse],
    hoisted: list[Replacement],
    vendored: bool,
) -> str:
    if host_mod is None:
        return ""
    upgraded = {u.module: u.plugin_version for u in upgrades}
    text = set_requirement_versions(host_mod, upgraded)
    listed = {r.path for r in host_mod.requires}
    requires: list[tuple[str, str]] = [(p.module, PLUGIN_MODULE_VERSION) for p in plans]
    requires += [(ld.module, ld.version) for ld in local_dirs]
    requires += [(a.module, a.plugin_version) for a in added]
    requires += [(u.module, u.plugin_version) for u in upgrades if u.module not in listed]
    replaces: list[Replacement] = []
    if not vendored:
        replaces += [Replacement(p.module, "", f"./{p.builder_dir}", "") for p in plans]
        replaces += [Replacement(ld.module, "", f"./{ld.builder_dir}", "") for ld in local_dirs]
    replaces += sorted(hoisted, key=lambda r: r.old)
    return append_directives(text, MERGE_COMMENT, requires, replaces)


def _with_delivery(
    plan: ModulePlan,
    resolved: ResolvedProject,
    merged: ModFile | None,
    settings: EffectiveModuleSettings,
) -> ModulePlan:
    """The plan with where its modules come from, and which the host stage and the plugins'
    `modules` stage each need."""
    facts = resolved.facts
    if plan.vendored:
        host = tuple(ModuleNeed(u.module, u.plugin_version, True, _by(u)) for u in plan.upgrades)
        added = tuple(ModuleNeed(a.module, a.plugin_version, True, _by(a)) for a in plan.added)
        return _replace(plan, delivery="vendor", host_needs=host, needs=added)
    host_text = plan.host_gomod or facts.gomod_text
    try:
        host_mod = parse_modfile(host_text, "the host's go.mod") if host_text else None
    except GoModError as exc:
        raise ProjectError(str(exc)) from None
    wanted_by = {use.module: _by(use) for use in (*plan.added, *plan.upgrades)}
    host_needs = _needs(host_mod, plan.host_gosum or facts.gosum_text, set(), wanted_by)
    plugin_needs: dict[tuple[str, str], ModuleNeed] = {}
    if plan.merged:
        local = {p.module for p in plan.plugins} | {ld.module for ld in plan.local_dirs}
        for key, need in _needs(merged, plan.gosum, local, wanted_by).items():
            known = host_needs.get(key)
            if known is None or (need.zip and not known.zip):
                plugin_needs[key] = need
    if not host_needs and not plugin_needs:
        return _replace(plan, delivery="none")
    delivery = "context" if settings.offline or settings.proxy_has_credentials else "build"
    return _replace(
        plan, delivery=delivery, host_needs=_ordered(host_needs), needs=_ordered(plugin_needs)
    )


def _ordered(needs: dict[tuple[str, str], ModuleNeed]) -> tuple[ModuleNeed, ...]:
    return tuple(sorted(needs.values(), key=lambda n: (n.module, version_key(n.version))))


def _needs(
    mod: ModFile | None, gosum_text: str, local: set[str], wanted_by: dict[str, str]
) -> dict[tuple[str, str], ModuleNeed]:
    """The module versions a build with `mod` and `gosum_text` downloads: the go.mod of every
    version go.sum names (stale ones not required), the files of each module's newest version
    there, and everything `mod` requires. Modules replaced with directories are not needed."""
    needs: dict[tuple[str, str], ModuleNeed] = {}
    if mod is None or not mod.requires:
        return needs

    def need(path: str, version: str, zip_needed: bool, required: bool) -> None:
        rep = mod.replacement(path, version)
        if rep is not None:
            if rep.local:
                return
            path, version = rep.new, rep.new_version
        if path in local or path == mod.module:
            return
        key = (path, version)
        known = needs.get(key)
        if known is not None:
            zip_needed = zip_needed or known.zip
            required = required or known.required
        needs[key] = ModuleNeed(
            path, version, zip_needed, wanted_by.get(path, "the host"), required
        )

    zips: dict[str, list[str]] = {}
    for line in parse_gosum(gosum_text) if gosum_text else []:
        if line.gomod:
            need(line.path, line.version, False, False)
        else:
            zips.setdefault(line.path, []).append(line.version)
    for path, versions in zips.items():
        newest = max_version(versions)
        for version in versions:
            need(path, version, version == newest, version == newest)
    for req in mod.requires:
        need(req.path, req.version, True, True)
    return needs


def _by(use: ModuleUse) -> str:
    return (
        "plugin " + ", ".join(use.plugins)
        if len(use.plugins) == 1
        else ("plugins " + ", ".join(use.plugins))
    )


def _replace(plan: ModulePlan, **changes: object) -> ModulePlan:
    return dataclasses.replace(plan, **changes)  # type: ignore[arg-type]


# -- refusals, in words ---------------------------------------------------------------------


def conflict_table(uses: Iterable[ModuleUse], second: str = "plugin requires") -> str:
    """A text table: module, the host's version, the plugin's, which plugins."""
    rows = [("module", "host has", second, "plugins")]
    rows += [(u.module, u.host_version, u.plugin_version, ", ".join(u.plugins)) for u in uses]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join("    " + line for line in lines)


def conflict_message(plan: ModulePlan, host_ref: str = "") -> str | None:
    """Why the plan cannot be built as it is (plugins need newer modules than the host,
    go.sum files disagree, replacements clash), with what to do; None when nothing stops it."""
    parts: list[str] = []
    if plan.conflicts:
        count = len(plan.conflicts)
        names = " ".join(u.module for u in plan.conflicts)
        parts.append(
            f"{count} module(s) the host uses would change: plugins require newer versions "
            "than the host is built with, and a plugin loads only into the exact host it was "
            "built against:\n" + conflict_table(plan.conflicts) + "\n  What to do (any of):\n"
            "    - lower the plugin's requirement to the host's version (`go get MODULE@VERSION` "
            "in the plugin, then `go mod tidy`);\n"
            f"    - pick a host ref{' than ' + host_ref if host_ref else ''} that already "
            "requires that version;\n"
            "    - let the plugins upgrade the host's dependency: add it to `modules: {upgrade: "
            f"[{', '.join(u.module for u in plan.conflicts)}]}}` in plugwiz.yaml "
            f"(or --upgrade-module {names.split()[0]}); the host is then rebuilt with it."
        )
    for conflict in plan.sum_conflicts:
        kind = " (its go.mod)" if conflict.gomod else ""
        parts.append(
            f"go.sum mismatch for {conflict.path} {conflict.version}{kind}: "
            f"{conflict.first[0]} says {conflict.first[1]}, {conflict.second[0]} says "
            f"{conflict.second[1]}. One of them is wrong (or the module was changed after "
            "release): run `go mod tidy` and compare with the module's real checksum "
            f"(`go mod download -json {conflict.path}@{conflict.version}`)"
        )
    for text in plan.replace_conflicts:
        parts.append(
            f"{text}: Go obeys only one replacement per module; make them agree (or drop the "
            "plugin's)"
        )
    if not parts:
        return None
    return "\n".join(parts)


def plan_warnings(plan: ModulePlan) -> list[str]:
    """What the user should know about a plan that builds: upgrades and older requirements."""
    warnings: list[str] = []
    for use in plan.upgrades:
        warnings.append(
            f"the host is rebuilt with {use.module} {use.plugin_version} instead of its "
            f"{use.host_version} (modules.upgrade; required by {', '.join(use.plugins)})"
        )
    for use in plan.older:
        warnings.append(
            f"{', '.join(use.plugins)} require(s) {use.module} {use.plugin_version}; "
            f"compiled against the host's {use.host_version}"
        )
    return warnings


def rebuild_notes(plan: ModulePlan) -> list[str]:
    """What an edit rebuilds, and where modules come from, for a plan with plugin modules (the
    wizard's Preview shows it); nothing for a plan without."""
    if not plan.merged:
        return []
    names = ", ".join(p.name for p in plan.plugins)
    notes = [
        f"Editing a .go file of {names} rebuilds only that plugin's stage (and the check); "
        "importing a package from outside the plugin also rebuilds the modules stage.",
        "Editing a plugin's go.mod or go.sum rebuilds the modules stage and every custom plugin "
        "(they share one build list), never the host"
        + (" (a module upgrade rebuilds the host too)." if plan.upgrades else "."),
    ]
    settings = plan.settings
    if plan.delivery == "vendor":
        notes.append("Modules: the host's vendor/, and the plugins' added to it by plugwiz.")
    elif plan.delivery == "context" and settings is not None and settings.offline:
        notes.append(f"Modules: from {settings.offline}, sent with the build (no network).")
    elif plan.delivery == "context":
        notes.append("Modules: fetched through the authenticated proxy, sent with the build.")
    elif plan.delivery == "build":
        proxy = settings.proxy if settings and settings.proxy else "Go's default proxy"
        notes.append(f"Modules: the build downloads them from {proxy}.")
    return notes


# -- vendor/ for a vendored host ----------------------------------------------------------------


def go_note(go: str) -> str:
    return f"; go {go}" if go else ""


Fetched = dict[str, tuple[str, tuple[str, ...], str]]  # module -> (version, packages, go)


def host_vendor_entries(plan: ModulePlan, fetched: Fetched) -> list[VendoredModule]:
    """The host stage's vendor/modules.txt entries: the host's, with each upgraded module (and
    what its new version needs, in `fetched`) at the version fetched."""
    explicit_go = _go_at_least(plan.host_go, 17)
    entries: list[VendoredModule] = []
    for entry in plan.modules_txt:
        if entry.path in fetched:
            version, packages, go = fetched[entry.path]
            # The host's go.mod requires an upgraded module explicitly (plugwiz adds it).
            note = "explicit" + (go_note(go) if explicit_go else "")
            entries.append(
                VendoredModule(entry.path, version, entry.replacement, [note], list(packages))
            )
        else:
            entries.append(
                VendoredModule(
                    entry.path,
                    entry.version,
                    entry.replacement,
                    list(entry.notes),
                    list(entry.packages),
                )
            )
    listed = {e.path for e in entries}
    for path in sorted(fetched):
        if path in listed:
            continue
        version, packages, go = fetched[path]
        notes = ["explicit" + (go_note(go) if explicit_go else "")]
        if path not in plan.upgraded_modules:
            notes = [go_note(go).removeprefix("; ")] if explicit_go and go else []
        entries.append(VendoredModule(path, version, "", notes, list(packages)))
    return entries


def vendor_entries(
    plan: ModulePlan, host_fetched: Fetched, fetched: Fetched
) -> list[VendoredModule]:
    """The plugins' vendor/modules.txt entries: the host stage's (see `host_vendor_entries`),
    then the plugin modules, their local modules and the modules they add (in `fetched`)."""
    explicit_go = _go_at_least(plan.host_go, 17)
    entries = host_vendor_entries(plan, host_fetched)
    listed = {e.path for e in entries}

    required = {a.module for a in plan.added}

    def add(path: str, version: str, packages: Iterable[str], go: str, explicit: bool) -> None:
        if path in listed:
            return
        listed.add(path)
        # `## explicit` exactly for what the merged go.mod requires: Go checks both ways.
        notes = ["explicit"] if explicit else []
        if explicit_go and go:
            notes = ["; ".join([*notes, f"go {go}"])]
        entries.append(VendoredModule(path, version, "", notes, list(packages)))

    for plugin in plan.plugins:
        add(
            plugin.module,
            PLUGIN_MODULE_VERSION,
            _import_paths(plugin.module, plugin.packages),
            _go_line(plugin.gomod_text),
            True,
        )
    for ld in plan.local_dirs:
        paths = _import_paths(ld.module, ld.packages)
        add(ld.module, ld.version, paths, _go_line(ld.gomod_text), True)
    for path in sorted(fetched):
        version, packages, go = fetched[path]
        add(path, version, packages, go, path in required)
    return entries


def modules_txt_text(entries: Iterable[VendoredModule]) -> str:
    """vendor/modules.txt for `entries`."""
    return format_modules_txt(entries)


def _import_paths(module: str, packages: Iterable[str]) -> list[str]:
    return sorted(module if not p else f"{module}/{p}" for p in packages)


def _go_line(gomod_text: str) -> str:
    match = re.search(r"(?m)^\s*go\s+(1\.\d+(?:\.\d+)?)\s*$", gomod_text)
    return match.group(1) if match else ""


def package_dirs(files: Iterable[str]) -> tuple[str, ...]:
    """The package directories among module file paths ("" = the root): directories holding a
    non-test .go file, outside testdata and `_`/`.` directories."""
    dirs: set[str] = set()
    for name in files:
        pure = PurePosixPath(name)
        if pure.suffix != ".go" or pure.name.endswith("_test.go"):
            continue
        parts = pure.parts[:-1]
        if any(p == "testdata" or p[:1] in "._" for p in parts):
            continue
        dirs.add("/".join(parts))
    return tuple(sorted(dirs))


def vendored_files(module: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """The files `go mod vendor` keeps of a module: those of its package directories (not
    subdirectories), except tests, go.mod and go.sum; by their path under vendor/."""
    packages = set(package_dirs(files))
    kept: dict[str, bytes] = {}
    for name, data in files.items():
        pure = PurePosixPath(name)
        parent = "/".join(pure.parts[:-1])
        if parent not in packages or pure.name.endswith("_test.go"):
            continue
        if pure.name in ("go.mod", "go.sum"):
            continue
        kept[f"{module}/{name}"] = data
    return kept


__all__ = [
    "CTX_DEPS",
    "CTX_GOPROXY",
    "CTX_MODULES",
    "CTX_VENDOR",
    "GOPROXY_DIR",
    "LOCAL_MODULE_DIR",
    "CTX_WARM",
    "MODULES_STAGE",
    "WARM_DIR",
    "LocalDir",
    "ModuleConflictError",
    "ModuleNeed",
    "ModulePlan",
    "ModuleUse",
    "PluginModulePlan",
    "conflict_message",
    "conflict_table",
    "host_module_versions",
    "modules_txt_text",
    "package_dirs",
    "plan_modules",
    "plan_warnings",
    "rebuild_notes",
    "host_vendor_entries",
    "vendor_entries",
    "vendored_files",
    "warm_source",
]
