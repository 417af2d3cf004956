"""Why a Go plugin would not load into a host: compare their build facts, explain in plain words.

`explain(plugin, host)` returns findings, most likely cause first, each with a title, detail,
an optional table and a fix. The order follows what stops a plugin first when it is opened:
the dynamic loader (platform, glibc), then Go's own check in `runtime/plugin.go`, which
compares a hash of every package the plugin shares with the host and names the first that
differs ("plugin was built with a different version of package X"). When both files export
their package hashes (every plugin-capable host and every plugin does), the findings are
checked against those hashes: a difference in build info that changes no shared package is
a note, not a blocker; a package that differs for no reason the build info shows still is.

Pure: no I/O. `format_explanation` gives the text the CLI prints; `Explanation.to_json` the
JSON; the wizard reads the same values.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from plugwiz.core.buildinfo import HASH_SETTINGS, BinaryFacts, Module, debian_go_minor
from plugwiz.core.elf import version_key

EXIT_LOADS = 0
EXIT_WOULD_NOT_LOAD = 1

# Finding kinds, in the order they are reported (what stops a plugin first comes first).
KIND_NOT_A_PLUGIN = "not-a-plugin"
KIND_HOST_CANNOT_LOAD = "host-cannot-load-plugins"
KIND_PLATFORM = "platform"
KIND_GLIBC = "glibc"
KIND_GO_VERSION = "go-version"
KIND_BUILD_FLAGS = "build-flags"
KIND_MODULE_VERSION = "module-version"
KIND_BUILD_PATH = "build-path"
KIND_HOST_REVISION = "host-revision"
KIND_PACKAGE_CONTENT = "package-content"
KIND_HOST_GLIBC = "host-glibc"

PLUGWIZ_FIX = "build it with plugwiz against this host"


@dataclass(frozen=True)
class Finding:
    """One reason (or note) about loading; `blocking` ones would stop the plugin loading."""

    kind: str
    title: str
    detail: str
    fix: str
    blocking: bool = True
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    packages: tuple[str, ...] = ()  # the plugin's packages this finding is about

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "blocking": self.blocking,
            "table": {"columns": list(self.columns), "rows": [list(r) for r in self.rows]},
            "packages": list(self.packages),
        }


@dataclass(frozen=True)
class HostContext:
    """What is known about the host besides its binary's facts.

    `revision`/`modified` stand in for vcs build settings a host built without `.git` lacks
    (plugwiz exports the tree, so its hosts have none; the image label has the commit).
    `runtime_glibc` is the glibc release of the image the plugin runs in (`2.36`).
    `predicted` says the host facts were predicted from a project, not read from a binary.
    """

    label: str = "the host"
    revision: str = ""
    modified: bool | None = None
    runtime_glibc: str | None = None
    runtime_label: str = "the runtime image"
    predicted: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """The findings for one plugin against one host."""

    plugin_label: str
    plugin: BinaryFacts
    host: BinaryFacts
    context: HostContext
    findings: tuple[Finding, ...]
    mismatched_packages: tuple[str, ...] = ()  # shared packages whose hashes differ
    shared_packages: int = 0  # how many packages both sides link (0 when unknown)
    hashes_compared: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that would stop the plugin loading."""
        return tuple(f for f in self.findings if f.blocking)

    @property
    def loads(self) -> bool:
        """True when nothing found would stop the plugin loading."""
        return not self.blocking

    @property
    def exit_code(self) -> int:
        """0 when nothing would stop it loading, 1 when something would."""
        return EXIT_LOADS if self.loads else EXIT_WOULD_NOT_LOAD

    @property
    def verdict(self) -> str:
        """One sentence: nothing would stop it loading, or what would first."""
        if self.loads:
            return "Nothing would stop it loading."
        first = self.blocking[0]
        more = len(self.blocking) - 1
        tail = f" (and {more} more reason{'s' if more > 1 else ''})" if more else ""
        return f"It would not load: {first.title[0].lower()}{first.title[1:]}{tail}."

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stable keys)."""
        return {
            "loads": self.loads,
            "verdict": self.verdict,
            "plugin": {"label": self.plugin_label, **self.plugin.to_json()},
            "host": {
                "label": self.context.label,
                "predicted": self.context.predicted,
                "revision": self.context.revision or None,
                **self.host.to_json(),
            },
            "runtime_glibc": self.context.runtime_glibc,
            "hashes_compared": self.hashes_compared,
            "shared_packages": self.shared_packages,
            "mismatched_packages": list(self.mismatched_packages),
            "findings": [f.to_json() for f in self.findings],
            "notes": list(self.notes),
        }


# -- comparing ----------------------------------------------------------------------------


def _is_std(package: str) -> bool:
    first = package.split("/", 1)[0]
    return "." not in first


def _go_label(version: str) -> str:
    return f"Go {version.removeprefix('go')}" if version else "an unknown Go"


def _same_go(a: str, b: str) -> bool:
    """Equal releases; a version without a patch level (`go1.19`, predicted) matches by minor."""
    pa, pb = a.removeprefix("go").split("."), b.removeprefix("go").split(".")
    if len(pa) == 2 or len(pb) == 2:
        return pa[:2] == pb[:2]
    return pa == pb


def _glibc_newer(needed: str, have: str) -> bool:
    return version_key(f"GLIBC_{needed}") > version_key(f"GLIBC_{have}")


def _vcs(facts: BinaryFacts, context: HostContext | None = None) -> tuple[str, str]:
    revision = facts.setting("vcs.revision") or (context.revision if context else "")
    modified = facts.setting("vcs.modified")
    if modified is None and context is not None and context.modified is not None:
        modified = "true" if context.modified else "false"
    return revision or "", modified or ""


def _fmt_bool(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def explain(
    plugin: BinaryFacts,
    host: BinaryFacts,
    context: HostContext | None = None,
    *,
    plugin_label: str = "the plugin",
) -> Explanation:
    """Compare `plugin` with `host` and explain what would stop it loading, most likely first."""
    context = context or HostContext()
    findings: list[Finding] = []
    plugin_hashes, host_hashes = plugin.hashes, host.hashes
    hashes_compared = bool(plugin_hashes) and bool(host_hashes)
    shared = [p for p in plugin_hashes if p in host_hashes]
    mismatched = [p for p in shared if plugin_hashes[p] != host_hashes[p]]
    # The user's packages first: they are what a person recognises.
    mismatched.sort(key=lambda p: (_is_std(p), p))
    explained: set[str] = set()

    if not plugin.is_plugin:
        findings.append(
            Finding(
                KIND_NOT_A_PLUGIN,
                f"{plugin_label} is a Go {plugin.kind}, not a plugin",
                "Only files built with -buildmode=plugin can be opened with plugin.Open.",
                "rebuild it with go build -buildmode=plugin",
            )
        )
    if not context.predicted and not host.can_load_plugins:
        if host.is_plugin:
            reason = "it is itself a plugin, not a program"
        elif host.cgo_enabled is False:
            reason = "it was built with CGO_ENABLED=0, and Go's plugin package needs cgo"
        else:
            reason = "it does not link Go's plugin package (no package hashes exported)"
        findings.append(
            Finding(
                KIND_HOST_CANNOT_LOAD,
                f"{context.label} cannot load any plugin",
                f"{context.label[0].upper()}{context.label[1:]} is a Go program, but {reason}.",
                "load the plugin into the host program that imports plugin and opens it",
            )
        )
    _platform(plugin, host, context, findings)
    _glibc(plugin, host, context, findings)
    _go_version(plugin, host, context, mismatched, shared, hashes_compared, findings, explained)
    _flags(plugin, host, context, mismatched, hashes_compared, findings, explained)
    _modules(plugin, host, context, mismatched, hashes_compared, findings, explained)
    _build_path(plugin, host, context, mismatched, findings, explained)
    _host_revision(plugin, host, context, mismatched, hashes_compared, findings, explained)
    leftover = [p for p in mismatched if p not in explained]
    if leftover:
        findings.append(
            Finding(
                KIND_PACKAGE_CONTENT,
                f"package {leftover[0]} differs between the plugin and {context.label}",
                "Its hash differs, though the Go release, the flags and the module versions "
                "recorded agree: the package's source was different when one of them was "
                "built (another commit, local edits, or a vendored copy).",
                PLUGWIZ_FIX,
                columns=("package", "host hash", "plugin hash"),
                rows=tuple((p, host_hashes[p], plugin_hashes[p]) for p in leftover[:20]),
                packages=tuple(leftover),
            )
        )
    notes = list(context.notes)
    if not hashes_compared and not context.predicted:
        side = "the plugin" if not plugin_hashes else context.label
        notes.append(
            f"{side} exports no package hashes, so the packages Go checks could not be compared "
            "one by one; the findings come from the build info alone"
        )
    if context.predicted:
        notes.append(
            "the host was not built yet: its facts are predicted from the project (see above), "
            "and package hashes cannot be compared"
        )
    return Explanation(
        plugin_label=plugin_label,
        plugin=plugin,
        host=host,
        context=context,
        findings=tuple(findings),
        mismatched_packages=tuple(mismatched),
        shared_packages=len(shared),
        hashes_compared=hashes_compared,
        notes=tuple(notes),
    )


def _platform(
    plugin: BinaryFacts, host: BinaryFacts, context: HostContext, findings: list[Finding]
) -> None:
    plugin_platform = f"{plugin.goos}/{plugin.goarch}"
    host_platform = f"{host.goos}/{host.goarch}"
    if plugin_platform == host_platform and plugin.bits == host.bits:
        return
    findings.append(
        Finding(
            KIND_PLATFORM,
            f"the plugin is built for {plugin_platform}, {context.label} for {host_platform}",
            "The system's loader cannot open a shared object built for another operating "
            "system or processor.",
            f"rebuild the plugin for {host_platform} (GOOS={host.goos} GOARCH={host.goarch})",
            columns=("", "host", "plugin"),
            rows=(
                ("platform", host_platform, plugin_platform),
                ("ELF", f"{host.bits}-bit {host.machine}", f"{plugin.bits}-bit {plugin.machine}"),
            ),
        )
    )


def _glibc(
    plugin: BinaryFacts, host: BinaryFacts, context: HostContext, findings: list[Finding]
) -> None:
    runtime = context.runtime_glibc
    if not runtime:
        return
    needed = plugin.glibc_required
    if needed and _glibc_newer(needed, runtime):
        newer = [v for v in plugin.glibc_needed if _glibc_newer(v.removeprefix("GLIBC_"), runtime)]
        findings.append(
            Finding(
                KIND_GLIBC,
                f"the plugin needs glibc {needed}, {context.runtime_label} has glibc {runtime}",
                f"The plugin was built on a newer system: it needs symbol versions "
                f"{', '.join(newer)}, which the C library of {context.runtime_label} does not "
                "have, so the loader refuses it before Go checks anything ("
                f'"version `GLIBC_{needed}\' not found").',
                f"build the plugin on a system with glibc {runtime} or older (plugwiz's "
                f"builder for this host has it), or use a runtime image with glibc {needed} "
                "or newer",
                columns=("", "needs", "has"),
                rows=(
                    ("plugin", f"glibc {needed}", ""),
                    (context.runtime_label, "", f"glibc {runtime}"),
                ),
            )
        )
    host_needed = host.glibc_required
    if host_needed and _glibc_newer(host_needed, runtime) and not context.predicted:
        findings.append(
            Finding(
                KIND_HOST_GLIBC,
                f"{context.label} needs glibc {host_needed}, {context.runtime_label} has "
                f"glibc {runtime}",
                "The host itself would not start in that image.",
                "use a runtime image from the same release as the builder",
            )
        )


def _go_version(
    plugin: BinaryFacts,
    host: BinaryFacts,
    context: HostContext,
    mismatched: list[str],
    shared: list[str],
    hashes_compared: bool,
    findings: list[Finding],
    explained: set[str],
) -> None:
    host_version = host.go_version
    std_mismatch = [p for p in mismatched if _is_std(p)]
    if plugin.go_version and host_version:
        if _same_go(plugin.go_version, host_version):
            return
        title = (
            f"the plugin was built with {_go_label(plugin.go_version)}, "
            f"{context.label} with {_go_label(host_version)}"
        )
        plugin_version = hint_text = plugin.go_version
    elif (
        hashes_compared
        and std_mismatch
        and len(std_mismatch) == len([p for p in shared if _is_std(p)])
        and plugin.trimpath == host.trimpath
    ):
        # An old plugin records no Go version; every standard package differing says it.
        hint = plugin.go_version_hint or "unknown"
        minor = debian_go_minor(plugin.goroot)
        plugin_version = f"go{minor}" if minor else ""
        title = (
            f"the plugin was not built with {context.label}'s Go release "
            f"({_go_label(host_version)})"
        )
        hint_text = f"go{minor} (from its GOROOT)" if minor else hint
    else:
        return
    rows = [("Go", host_version or "unknown", plugin_version or hint_text)]
    if hashes_compared:
        rows.append(
            ("standard packages that differ", "", f"{len(std_mismatch)}: {_some(std_mismatch)}")
        )
    findings.append(
        Finding(
            KIND_GO_VERSION,
            title,
            "Go checks a hash of every package the plugin shares with the host, and another "
            "Go release compiles every standard package (runtime, errors, sync...) "
            "differently, so none of them match."
            + (
                ""
                if plugin.go_version
                else " The plugin records no Go version (Go 1.19 and older write no build "
                "info into plugins); its standard packages show it."
            ),
            f"rebuild the plugin with {_go_label(host_version)}"
            if host_version
            else "rebuild the plugin with the host's Go release",
            columns=("", "host", "plugin"),
            rows=tuple(rows),
            packages=tuple(std_mismatch),
        )
    )
    # A new Go release changes every package, the user's too.
    explained.update(mismatched)


def _some(packages: list[str], limit: int = 4) -> str:
    shown = ", ".join(packages[:limit])
    return shown + (f" and {len(packages) - limit} more" if len(packages) > limit else "")


def _flags(
    plugin: BinaryFacts,
    host: BinaryFacts,
    context: HostContext,
    mismatched: list[str],
    hashes_compared: bool,
    findings: list[Finding],
    explained: set[str],
) -> None:
    rows: list[tuple[str, str, str]] = []
    fixes: list[str] = []
    trim_plugin, trim_host = plugin.trimpath, host.trimpath
    if trim_plugin is not None and trim_host is not None and trim_plugin != trim_host:
        rows.append(("-trimpath", _fmt_bool(trim_host), _fmt_bool(trim_plugin)))
        fixes.append("add -trimpath" if trim_host else "build it without -trimpath")
    if plugin.has_build_info and (host.has_build_info or context.predicted):
        for key in HASH_SETTINGS:
            if key in ("-trimpath", "GOOS", "GOARCH"):
                continue
            plugin_value, host_value = plugin.setting(key), host.setting(key)
            if (plugin_value or "") == (host_value or ""):
                continue
            if key.startswith("CGO_") and key != "CGO_ENABLED" and not (plugin_value or host_value):
                continue
            rows.append((key, _show(host_value), _show(plugin_value)))
            if key.startswith("-"):
                fixes.append(f"build it with {key}={host_value}" if host_value else f"drop {key}")
            else:
                fixes.append(f"set {key}={host_value or ''} as the host")
    if not rows:
        return
    if hashes_compared and not mismatched:
        # The flags differ, but no shared package changed: Go would not refuse it.
        findings.append(
            Finding(
                KIND_BUILD_FLAGS,
                "the plugin was built with other flags than "
                f"{context.label} ({', '.join(r[0] for r in rows)}), but no shared package "
                "differs",
                "These flags can change package hashes; here they did not.",
                "; ".join(fixes) + " to be safe",
                blocking=False,
                columns=("flag", "host", "plugin"),
                rows=tuple(rows),
            )
        )
        return
    names = ", ".join(r[0] for r in rows)
    if rows[0][0] == "-trimpath" and len(rows) == 1:
        title = (
            f"the plugin was built {'without' if not trim_plugin else 'with'} -trimpath, "
            f"{context.label} {'with' if trim_host else 'without'} it"
        )
        detail = (
            "-trimpath removes the build directory from the compiled code; Go's hash of every "
            "package (the standard library's too) includes those file names, so none of the "
            "plugin's packages match the host's."
        )
    else:
        title = f"the plugin was built with other flags than {context.label} ({names})"
        detail = (
            "These flags change what the compiler writes for each package, and so the package "
            "hashes Go compares when it opens a plugin."
        )
    findings.append(
        Finding(
            KIND_BUILD_FLAGS,
            title,
            detail,
            "; ".join(fixes),
            columns=("flag", "host", "plugin"),
            rows=tuple(rows),
            packages=tuple(mismatched),
        )
    )
    explained.update(mismatched)


def _show(value: str | None) -> str:
    if value is None:
        return "(not set)"
    return value or "(empty)"


def _modules(
    plugin: BinaryFacts,
    host: BinaryFacts,
    context: HostContext,
    mismatched: list[str],
    hashes_compared: bool,
    findings: list[Finding],
    explained: set[str],
) -> None:
    plugin_packages = [p for p, _ in plugin.package_hashes]
    ordered: list[tuple[int, Finding]] = []
    for mod in plugin.deps:
        other = host.dep(mod.path)
        if other is None or other.identity == mod.identity:
            continue
        if host.main is not None and other is host.main:
            continue  # the host's own module: see the revision finding
        if (
            mod.version == other.version
            and mod.replace == other.replace
            and (not mod.sum or not other.sum)
        ):
            continue  # one side simply lacks the checksum (vendored builds record none)
        uses = [p for p in plugin_packages if _in_module(p, mod.path)]
        bad = [p for p in mismatched if _in_module(p, mod.path)]
        blocking = bool(bad) or not hashes_compared
        explained.update(bad)
        fix = _require_fix(other)
        if context.predicted:
            detail_tail = (
                " The host would be built with the version its go.mod requires; if it links a "
                "package of this module, the plugin's copy must be the same."
            )
        elif bad:
            detail_tail = " Go refuses the plugin because the packages differ."
        elif hashes_compared:
            detail_tail = (
                " No package of it is shared with the host, so Go does not check it: it "
                "would load, with its own copy."
            )
        else:
            detail_tail = ""
        uses_text = ", ".join(uses) if uses else "(not recorded)"
        ordered.append(
            (
                0 if bad else 1,
                Finding(
                    KIND_MODULE_VERSION,
                    f"module {mod.path} is {mod.describe()} in the plugin but "
                    f"{other.describe()} in {context.label}",
                    f"The plugin and {context.label} were built against different versions of "
                    f"{mod.path}.{detail_tail}",
                    fix if blocking else fix + " to be safe",
                    blocking=blocking,
                    columns=("module", "host", "plugin", "plugin packages using it"),
                    rows=((mod.path, other.describe(), mod.describe(), uses_text),),
                    packages=tuple(uses),
                ),
            )
        )
    # A plugin without build info (Go 1.19 and older) records no module versions: a package
    # of one of the host's dependency modules that differs, with the same Go and flags,
    # comes from another version of that module (or a replace).
    for package in mismatched:
        if package in explained:
            continue
        host_mod = host.module_of(package)
        if host_mod is None or host_mod is host.main or plugin.dep(host_mod.path) is not None:
            continue
        bad = [p for p in mismatched if _in_module(p, host_mod.path) and p not in explained]
        explained.update(bad)
        uses = [p for p in plugin_packages if _in_module(p, host_mod.path)]
        ordered.append(
            (
                0,
                Finding(
                    KIND_MODULE_VERSION,
                    f"module {host_mod.path} is {host_mod.describe()} in {context.label}, "
                    "another version in the plugin",
                    f"Package {_some(bad)} differs while the Go release and flags agree. The "
                    "plugin records no module versions (Go 1.19 and older write no build info "
                    f"into plugins), so it was most likely built against another version of "
                    f"{host_mod.path}.",
                    _require_fix(host_mod),
                    columns=("module", "host", "plugin", "plugin packages using it"),
                    rows=((host_mod.path, host_mod.describe(), "(not recorded)", ", ".join(uses)),),
                    packages=tuple(uses),
                ),
            )
        )
    ordered.sort(key=lambda pair: pair[0])
    findings.extend(f for _, f in ordered)


def _in_module(package: str, module: str) -> bool:
    return package == module or package.startswith(module + "/")


def _require_fix(host_mod: Module) -> str:
    if host_mod.replace is not None:
        target = f"{host_mod.replace.path} {host_mod.replace.version}".strip()
        return f"replace {host_mod.path} => {target} in the plugin's go.mod, as the host does"
    return f"require {host_mod.path} {host_mod.version} in the plugin's go.mod"


def _host_module(host: BinaryFacts) -> str:
    return host.main.path if host.main else ""


def _build_path(
    plugin: BinaryFacts,
    host: BinaryFacts,
    context: HostContext,
    mismatched: list[str],
    findings: list[Finding],
    explained: set[str],
) -> None:
    if plugin.trimpath is not False or host.trimpath is not False:
        return
    module = _host_module(host)
    plugin_dir, host_dir = _package_dir(plugin, module), _package_dir(host, module)
    if not plugin_dir or not host_dir or plugin_dir == host_dir:
        return
    bad = [p for p in mismatched if module and _in_module(p, module)] or list(mismatched)
    explained.update(bad)
    findings.append(
        Finding(
            KIND_BUILD_PATH,
            f"the plugin was built in {plugin_dir}, {context.label} in {host_dir}",
            "Without -trimpath the build directory is part of every compiled package, so the "
            "host's packages compiled in another directory do not match.",
            "build host and plugin with -trimpath (plugwiz does), or build the plugin in "
            f"{host_dir}",
            columns=("", "host", "plugin"),
            rows=(("build directory", host_dir, plugin_dir),),
            packages=tuple(bad),
        )
    )


def _package_dir(facts: BinaryFacts, module: str) -> str:
    """The directory the main module (or the host's module) was compiled in, if known."""
    if facts.build_dir:
        return facts.build_dir
    if not module:
        return ""
    rels = sorted(
        {p[len(module) + 1 :] for p, _ in facts.package_hashes if p.startswith(module + "/")},
        key=len,
        reverse=True,
    )
    for rel in rels:
        for name in facts.source_files:
            directory = name.rsplit("/", 1)[0]
            if name.startswith("/") and directory.endswith("/" + rel):
                return directory[: -len(rel) - 1]
    return ""


def _host_revision(
    plugin: BinaryFacts,
    host: BinaryFacts,
    context: HostContext,
    mismatched: list[str],
    hashes_compared: bool,
    findings: list[Finding],
    explained: set[str],
) -> None:
    module = _host_module(host)
    if not module:
        return
    bad = [p for p in mismatched if _in_module(p, module) and p not in explained]
    plugin_rev, plugin_mod = _vcs(plugin)
    host_rev, host_mod = _vcs(host, context)
    plugin_has_module = (plugin.main is not None and plugin.main.path == module) or any(
        _in_module(p, module) for p, _ in plugin.package_hashes
    )
    if not bad:
        if hashes_compared or not plugin_has_module:
            return
        differs = (
            plugin_rev and host_rev and not _same_revision(plugin_rev, host_rev)
        ) or plugin_mod == "true"
        if not differs:
            return
    explained.update(bad)
    rows = (
        ("revision", host_rev or "(not recorded)", plugin_rev or "(not recorded)"),
        ("modified", host_mod or "(not recorded)", plugin_mod or "(not recorded)"),
    )
    if plugin_rev and host_rev and not _same_revision(plugin_rev, host_rev):
        why = f"the plugin was built from commit {plugin_rev[:12]}, the host from {host_rev[:12]}"
    elif plugin_mod == "true" or host_mod == "true":
        side = "the plugin's" if plugin_mod == "true" else "the host's"
        why = f"{side} tree had uncommitted changes when it was built"
    elif host_rev and not plugin_rev:
        why = (
            f"the plugin records no revision of {module} (the host is at {host_rev[:12]}), "
            "and its copy differs: it was built from another commit or an edited tree"
        )
    else:
        why = "the two were built from different sources of it (the revisions are not recorded)"
    what = f"package {bad[0]}" if bad else f"the host module {module}"
    findings.append(
        Finding(
            KIND_HOST_REVISION,
            f"{what} differs: the plugin was built against another state of {module}",
            f"The Go release, flags and module versions agree as far as the files record them, "
            f"but {why}. A package of the host's own module that "
            "changed in any exported or inlined detail gets another hash.",
            PLUGWIZ_FIX,
            columns=("", "host", "plugin"),
            rows=rows + ((("packages that differ", "", _some(bad)),) if bad else ()),
            packages=tuple(bad),
        )
    )


def _same_revision(a: str, b: str) -> bool:
    shorter = min(len(a), len(b))
    return shorter >= 7 and a[:shorter] == b[:shorter]


# -- formatting ---------------------------------------------------------------------------


def format_table(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...], indent: str) -> str:
    """A plain-text table: a header row, a rule, aligned columns."""
    width = len(columns)
    cells = [columns] + [tuple(r) + ("",) * (width - len(r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(width)]
    lines = []
    for index, row in enumerate(cells):
        text = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        lines.append(indent + text.rstrip())
        if index == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe_facts(facts: BinaryFacts) -> str:
    """A one-line summary of a binary: kind, Go, main package, trimpath, glibc."""
    go = facts.go_version or (f"Go version not recorded ({facts.go_version_hint})"
                              if facts.go_version_hint else "Go version not recorded")  # fmt: skip
    parts = [f"Go {facts.kind}", go]
    if facts.path:
        parts.append(facts.path)
    trim = facts.trimpath
    if trim is not None:
        parts.append("-trimpath" if trim else "no -trimpath")
    if facts.glibc_required:
        parts.append(f"needs glibc {facts.glibc_required}")
    return ", ".join(parts)


def format_explanation(explanation: Explanation, *, title: bool = True) -> str:
    """The plain-words explanation the CLI prints: a verdict, then each finding with its
    table and fix."""
    lines: list[str] = []
    context = explanation.context
    if title:
        lines.append(f"plugin   {explanation.plugin_label}: {describe_facts(explanation.plugin)}")
        host_desc = describe_facts(explanation.host)
        if context.predicted:
            host_desc = "predicted: " + host_desc
        lines.append(f"host     {context.label}: {host_desc}")
        if context.runtime_glibc:
            lines.append(f"runtime  {context.runtime_label}: glibc {context.runtime_glibc}")
        if explanation.hashes_compared:
            lines.append(
                f"packages {explanation.shared_packages} shared, "
                f"{len(explanation.mismatched_packages)} with a different hash"
            )
        lines.append("")
    lines.append(explanation.verdict)
    for number, finding in enumerate(explanation.findings, start=1):
        marker = "" if finding.blocking else " (note)"
        lines.append("")
        lines.append(f"{number}. {finding.title[0].upper()}{finding.title[1:]}{marker}")
        lines.extend(
            textwrap.wrap(finding.detail, 96, initial_indent="   ", subsequent_indent="   ")
        )
        if finding.rows:
            lines.append(format_table(finding.columns, finding.rows, "   "))
        lines.extend(
            textwrap.wrap(f"Fix: {finding.fix}.", 96, initial_indent="   ", subsequent_indent="   ")
        )
    for note in explanation.notes:
        lines.append("")
        lines.extend(textwrap.wrap(f"Note: {note}.", 96))
    return "\n".join(lines)


__all__ = [
    "EXIT_LOADS",
    "EXIT_WOULD_NOT_LOAD",
    "Explanation",
    "Finding",
    "HostContext",
    "describe_facts",
    "explain",
    "format_explanation",
    "format_table",
]
