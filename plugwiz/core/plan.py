"""The build plan: every rule a project must satisfy, and every value the Dockerfile, the build
context, the event parser and the wizard derive from it. Pure; `render` turns a plan into text.

The rules live here once. The CLI gets the first problem as a `ProjectError`; the wizard asks
for the problem of one field (`loading_problem`, `plugin_problem`, `main_choice_needed`) to
show it where the user can fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from plugwiz.core.images import pick_builder_image, pick_runtime_image
from plugwiz.core.model import (
    APP_DIR,
    PluginKind,
    PluginLoading,
    Project,
    ProjectError,
    ResolvedProject,
    check_name,
    dot_path,
    effective_bundled,
    effective_main_package,
    main_choice_needed,
    pick_main_package,
    plugin_clashes,
)
from plugwiz.core.quoting import (
    UnsafeValueError,
    env_name,
    goflag,
    reject_control_chars,
    safe_path,
)

SRC_DIR = "/src"
OUT_DIR = "/out"
CUSTOM_PLUGIN_DIR = "plugwiz_plugins"  # inside the host module, so plugins share its go.mod
LOADCHECK_FILE = "zz_plugwiz_loadcheck.go"
LOADCHECK_SOURCE = "/plugwiz/loadcheck.go"  # in the builder, out of the host tree
LOADCHECK_BINARY = "/plugwiz/loadcheck"  # not under OUT_DIR: it never reaches the image
LOADCHECK_ENV = "PLUGWIZ_LOADCHECK"
LOADCHECK_SYMBOL_ENV = "PLUGWIZ_LOADCHECK_SYMBOL"

# Context layout (see plugwiz.core.context): what the Dockerfile COPYs from.
CTX_HOST = "host"
CTX_PLUGINS = "plugins"
CTX_PREBUILT = "prebuilt"
CTX_FILES = "files"
CTX_LOADCHECK = "plugwiz/loadcheck.go"

# Stage names (the event parser maps a failing stage to its plugin by them).
TOOLCHAIN_STAGE = "toolchain"
SOURCE_STAGE = "source"  # BuildKit: modules and the host tree
HOST_STAGE = "host"
BUNDLED_STAGE = "bundled"  # BuildKit: the bundled plugins, beside the host
CHECK_STAGE = "check"
# BuildKit's Go build cache mount: its id and where Go finds it (GOCACHE).
DEFAULT_CACHE_ID = "plugwiz-go-build"
GOCACHE_DIR = "/root/.cache/go-build"

# The standard packages the `toolchain` stage compiles (with their dependencies: about 140 of
# the 240 standard packages), for the host (exe) and for plugins (-dynlink), once per builder
# image and flags. What Go services and their plugins link: HTTP and TLS, JSON/XML/CSV,
# templates, SQL, compression, exec and signals, plugin. Not all of `std`: the rest (go/*,
# debug/*, image/*, testing...) would cost a cold build about 40 % more compile time for
# packages hosts rarely link; a host that does import one compiles it in its own stage.
TOOLCHAIN_PACKAGES = (
    "bufio",
    "compress/gzip",
    "context",
    "crypto/hmac",
    "crypto/rand",
    "crypto/sha1",
    "crypto/sha256",
    "crypto/tls",
    "crypto/x509",
    "database/sql",
    "embed",
    "encoding/base64",
    "encoding/csv",
    "encoding/hex",
    "encoding/json",
    "encoding/xml",
    "flag",
    "hash/crc32",
    "html/template",
    "log",
    "math/big",
    "mime/multipart",
    "net/http",
    "net/http/httputil",
    "os/exec",
    "os/signal",
    "path/filepath",
    "plugin",
    "regexp",
    "runtime/debug",
    "sort",
    "text/template",
)
TRIMPATH = "-trimpath"
# An import path that can go into a RUN line unquoted (what Go allows, less a few odd ones;
# a path outside it is simply not compiled ahead: the build compiles it when it needs it).
_IMPORT_PATH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~+/-]*$")


@dataclass(frozen=True)
class PlannedPlugin:
    """One plugin of the image: where it comes from and where it ends up."""

    name: str
    kind: str  # "bundled", or a PluginKind value
    file_name: str  # e.g. upper.so
    build_path: str  # ./plugins/upper, ./plugwiz_plugins/hello, or "" for prebuilt
    index: int  # position among custom plugins (1-based), 0 for bundled
    source: str = ""  # the custom plugin's source as the project gives it; "" for bundled

    @property
    def out_path(self) -> str:
        return f"{OUT_DIR}/plugins/{self.file_name}"

    @property
    def stage(self) -> str:
        return f"plugin-{self.index}"


@dataclass(frozen=True)
class BuildPlan:
    """Every derived value the Dockerfile and the build context share."""

    builder_image: str
    runtime_image: str
    main_package: str  # "./cmd/x" or "" (custom build command)
    check_package: str  # main package the load check builds, "" = no check
    host_binary: str  # file name of the host in the runtime image
    plugins: tuple[PlannedPlugin, ...]
    goflags: tuple[str, ...]
    warnings: tuple[str, ...]
    plugin_dir: str = ""
    # Packages of other modules the host imports: compiled before the host's tree is copied.
    dependencies: tuple[str, ...] = ()

    @property
    def toolchain_goflags(self) -> tuple[str, ...]:
        """The GOFLAGS that change compiled code (all but `-mod=`): the toolchain stage's,
        which runs outside any module (where `go` refuses `-mod=vendor`)."""
        return tuple(f for f in self.goflags if not f.startswith("-mod="))

    @property
    def runtime_plugin_paths(self) -> list[str]:
        return [f"{self.plugin_dir}/{p.file_name}" for p in self.plugins]

    def cmd(self, project: Project) -> list[str]:
        """The runtime CMD in exec form."""
        words = [f"{APP_DIR}/{self.host_binary}", *project.loading.extra_args]
        flag = project.loading.flag
        for path in self.runtime_plugin_paths:
            if not flag:
                continue
            if flag.endswith("="):
                words.append(f"{flag}{path}")
            else:
                words.extend([flag, path])
        return words


def loading_problem(loading: PluginLoading) -> str | None:
    """Why the plugin loading settings cannot be used, or None."""
    ext = loading.extension
    if ext and (not ext.startswith(".") or not ext[1:].isalnum()):
        return f"plugin extension {ext!r} must look like .so or .prov"
    try:
        if loading.flag:
            reject_control_chars(loading.flag, "plugin flag")
            if not loading.flag.startswith("-") or " " in loading.flag:
                return f"plugin flag {loading.flag!r} must start with '-' and hold no spaces"
        safe_path(loading.directory, "plugin directory", absolute=True)
        for arg in loading.extra_args:
            reject_control_chars(arg, "extra argument")
    except UnsafeValueError as exc:
        return str(exc)
    if loading.symbol and not loading.symbol.isidentifier():
        return f"symbol {loading.symbol!r} is not a Go identifier"
    return None


def plugin_problem(resolved: ResolvedProject, index: int) -> str | None:
    """Why custom plugin `index` cannot be built as it is (its source, its name, a clash with
    another plugin's output file), or None when it looks right."""
    project = resolved.project
    plugin = project.plugins[index]
    facts = resolved.plugins[index] if index < len(resolved.plugins) else None
    if facts is None:
        return f"plugin {plugin.output_name!r}: {plugin.source} has not been looked at yet"
    if facts.problem:
        return facts.problem
    try:
        check_name(plugin.output_name)
    except ProjectError as exc:
        return str(exc)
    for clash in plugin_clashes(project, resolved.facts):
        if clash.custom_index == index:
            return clash.message
    return None


def main_package_problem(resolved: ResolvedProject) -> str | None:
    """Why plugwiz cannot tell which of the host's main packages to build, or None."""
    project, facts = resolved.project, resolved.facts
    if not main_choice_needed(project, facts):
        return None
    listed = ", ".join(dot_path(p) for p in facts.main_packages)
    return (
        f"the host has {len(facts.main_packages)} main packages ({listed}) and none is "
        f"obviously the host: choose one with --main {dot_path(facts.main_packages[0])} "
        "(or host.main in plugwiz.yaml)"
    )


def plan_build(resolved: ResolvedProject) -> BuildPlan:
    """Validate the project and derive the build plan; raises ProjectError for a person."""
    try:
        return _plan(resolved)
    except UnsafeValueError as exc:
        raise ProjectError(str(exc)) from exc


def _plan(resolved: ResolvedProject) -> BuildPlan:
    project, facts = resolved.project, resolved.facts
    host = project.host
    sha = resolved.sha
    if len(sha) != 40 or not all(c in "0123456789abcdef" for c in sha):
        raise ProjectError("the host ref has not been resolved to a commit SHA")
    loading = project.loading
    problem = loading_problem(loading)
    if problem:
        raise ProjectError(problem)
    ext = loading.extension

    warnings: list[str] = []
    builder = project.images.builder or pick_builder_image(facts.gomod)
    runtime, image_warning = pick_runtime_image(builder, project.images.runtime)
    if image_warning:
        warnings.append(image_warning)
    for image, what in ((builder, "builder image"), (runtime, "runtime image")):
        reject_control_chars(image, what)
        if not image or any(c in image for c in " \"'$\\`"):
            raise ProjectError(f"{what} {image!r} is not a valid image reference")

    problem = main_package_problem(resolved)
    if problem:
        raise ProjectError(problem)
    main_package = effective_main_package(project, facts)
    if host.build_command:
        if not host.binary:
            raise ProjectError("a custom build command needs `binary`: the file it produces")
        safe_path(host.binary, "host binary", absolute=False)
        check_package = main_package or (
            "./" + pick_main_package(facts.main_packages, facts.gomod.module)
            if facts.main_packages
            else ""
        )
        binary_name = PurePosixPath(host.binary).name
    else:
        if not main_package:
            raise ProjectError(
                "no main package found in the host (no `package main` directory with "
                "`func main()`): give one with --main ./cmd/myhost (host.main in plugwiz.yaml) "
                "or a custom build command (--build-command with --binary)"
            )
        check_package = main_package
        binary_name = (
            PurePosixPath(main_package).name
            if main_package != "."
            else facts.gomod.module.rstrip("/").rsplit("/", 1)[-1]
        )
    if check_package:
        check_package = (
            "./" + check_package.removeprefix("./").strip("/")
            if check_package not in (".", "./")
            else "."
        )
        safe_path(check_package, "main package", absolute=False)
    else:
        warnings.append("no load check: the host's main package is unknown (set host.main)")
    if main_package:
        safe_path(main_package, "main package", absolute=False)
    host_binary = check_name(binary_name.replace("_", "-") or "host", "host binary name")

    planned: list[PlannedPlugin] = []
    for bundled in effective_bundled(project, facts):
        safe_path(bundled.path, "bundled plugin path", absolute=False)
        name = check_name(bundled.output_name, "bundled plugin name")
        path = "./" + bundled.path.removeprefix("./").strip("/")
        planned.append(PlannedPlugin(name, "bundled", name + ext, path, 0))
    for index, source in enumerate(project.plugins):
        problem = plugin_problem(resolved, index)
        if problem:
            raise ProjectError(problem)
        name = source.output_name
        kind = resolved.plugin_kind(index)
        build_path = "" if kind is PluginKind.PREBUILT else f"./{CUSTOM_PLUGIN_DIR}/{name}"
        planned.append(
            PlannedPlugin(name, kind.value, name + ext, build_path, index + 1, source.source)
        )
    clashes = plugin_clashes(project, facts)
    if clashes:
        raise ProjectError(clashes[0].message)

    goflags = plan_goflags(resolved)
    for name, value in host.build_env:
        env_name(name)
        reject_control_chars(value, f"build env {name}")
    for extra in project.files:
        safe_path(extra.target, "extra file target", absolute=True)
        if extra.from_host:
            safe_path(extra.host_path, "host file", absolute=False)
    return BuildPlan(
        builder_image=builder,
        runtime_image=runtime,
        main_package=main_package,
        check_package=check_package,
        host_binary=host_binary,
        plugins=tuple(planned),
        goflags=tuple(goflags),
        warnings=tuple(warnings),
        plugin_dir=loading.directory.rstrip("/") or "/",
        dependencies=tuple(p for p in facts.imports if _IMPORT_PATH_RE.match(p)),
    )


def needs_trimpath(resolved: ResolvedProject) -> bool:
    """Whether the build needs `-trimpath`: only for a plugin built somewhere else.

    Go's hash of a compiled package covers the directory it was compiled in, unless
    `-trimpath` takes it out. Every plugin plugwiz compiles is compiled in the same builder
    and the same directory as the host (`/src`), so they match without it (measured: a plugin
    built from an identical tree in another directory is refused without `-trimpath` on both
    sides, and loads in the host's directory). A prebuilt plugin was compiled elsewhere:
    it can only match a host built with `-trimpath`. Without it, the builder's precompiled
    standard library is used as it is instead of being compiled again in every build.
    """
    if TRIMPATH in resolved.project.host.build_flags:
        return True
    return any(
        resolved.plugin_kind(index) is PluginKind.PREBUILT
        for index in range(len(resolved.project.plugins))
    )


def plan_goflags(resolved: ResolvedProject) -> list[str]:
    """GOFLAGS for host and plugins alike: `-trimpath` when needed (`needs_trimpath`), the
    user's build flags, and `-mod=vendor` for a vendored go.mod older than `go 1.14`."""
    host, facts = resolved.project.host, resolved.facts
    goflags = [TRIMPATH] if needs_trimpath(resolved) else []
    goflags += [goflag(f) for f in host.build_flags if f != TRIMPATH]
    if facts.vendored and not any(f.startswith("-mod=") for f in goflags):
        # go.mod files older than `go 1.14` ignore vendor/ unless asked.
        goflags.append("-mod=vendor")
    return goflags


def extra_file_context_path(index: int, source: str) -> str:
    """Where a local extra file sits in the build context."""
    name = PurePosixPath(source.replace("\\", "/").rstrip("/")).name or "file"
    return f"{CTX_FILES}/{index}/{name}"
