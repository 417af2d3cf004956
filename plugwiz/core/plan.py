"""The build plan: every rule a project must satisfy, and every value the Dockerfile, the build
context, the event parser and the wizard derive from it. Pure; `render` turns a plan into text.

The rules live here once. The CLI gets the first problem as a `ProjectError`; the wizard asks
for the problem of one field (`loading_problem`, `plugin_problem`, `main_choice_needed`) to
show it where the user can fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from plugwiz.core.image_refs import BaseImagePlan, plan_base_image
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
from plugwiz.core.modsource import has_userinfo
from plugwiz.core.modules import CUSTOM_PLUGIN_DIR as CUSTOM_PLUGIN_DIR
from plugwiz.core.modules import (
    GOPROXY_DIR,
    ModuleConflictError,
    ModulePlan,
    conflict_message,
    plan_modules,
    plan_warnings,
)
from plugwiz.core.packages import check_packages, needs_manager
from plugwiz.core.quoting import (
    UnsafeValueError,
    env_name,
    goflag,
    reject_control_chars,
    safe_path,
)
from plugwiz.core.runtime_image import protected_paths, runtime_user, writable_paths

SRC_DIR = "/src"
OUT_DIR = "/out"
LOADCHECK_FILE = "zz_plugwiz_loadcheck.go"
LOADCHECK_SOURCE = "/plugwiz/loadcheck.go"  # in the builder, out of the host tree
LOADCHECK_BINARY = "/plugwiz/loadcheck"  # not under OUT_DIR: it never reaches the image
LOADCHECK_ENV = "PLUGWIZ_LOADCHECK"
LOADCHECK_SYMBOL_ENV = "PLUGWIZ_LOADCHECK_SYMBOL"
# The bundled plugins whose symbol type the custom ones must have (when no type is set).
LOADCHECK_REFERENCE_ENV = "PLUGWIZ_LOADCHECK_REFERENCE"
# The image label naming host modules upgraded for the plugins (`module@old=>new,...`).
LABEL_UPGRADED = "dev.plugwiz.host.upgraded"

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
    # ./plugins/upper, ./plugwiz_plugins/hello, a plugin module's import path, "" for prebuilt
    build_path: str
    index: int  # position among custom plugins (1-based), 0 for bundled
    source: str = ""  # the custom plugin's source as the project gives it; "" for bundled
    # Where its source sits in the builder (plugwiz_plugins/NAME, vendor/MODULE); "" for
    # bundled and prebuilt plugins. `module`: its module path when it is a module of its own.
    source_dir: str = ""
    module: str = ""

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
    modules: ModulePlan = field(default_factory=lambda: ModulePlan(vendored=False))
    network: str = ""  # "host" when the build must reach a proxy on this machine's loopback
    module_env: tuple[tuple[str, str], ...] = ()  # GOPROXY & co. for the host stage
    # Packages of other modules the host imports: compiled before the host's tree is copied.
    dependencies: tuple[str, ...] = ()

    # Shipping (see plan_shipping): base images as built here, the runtime user, the
    # directories it may write, and system packages for each image.
    builder_base: BaseImagePlan | None = None
    runtime_base: BaseImagePlan | None = None
    runtime_user: str = ""  # USER of the runtime stage, "" = root
    writable: tuple[str, ...] = ()
    builder_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()
    builder_package_manager: str = ""
    runtime_package_manager: str = ""

    @property
    def toolchain_goflags(self) -> tuple[str, ...]:
        """The GOFLAGS that change compiled code (all but `-mod=`): the toolchain stage's,
        which runs outside any module (where `go` refuses `-mod=vendor`)."""
        return tuple(f for f in self.goflags if not f.startswith("-mod="))

    @property
    def builder_ref(self) -> str:
        """The host stage's FROM: the builder image, pinned by digest when known."""
        return self.builder_base.ref if self.builder_base else self.builder_image

    @property
    def runtime_ref(self) -> str:
        """The runtime stage's FROM: the runtime image, pinned by digest when known."""
        return self.runtime_base.ref if self.runtime_base else self.runtime_image

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
    if loading.symbol_type:
        if not loading.symbol:
            return "a symbol type (loading.symbol_type) needs the symbol's name (loading.symbol)"
        problem = symbol_type_problem(loading.symbol_type)
        if problem:
            return problem
    return None


# A Go type as plugwiz lets it into generated Go source: identifiers, qualified names (a
# package path may have dots, slashes and dashes), brackets, `*`, `...`, commas and spaces.
# No quotes, semicolons or newlines, so the text can only ever be a type expression.
_TYPE_TEXT_RE = re.compile(r"^[A-Za-z0-9_.*/\[\](){}, ~-]+$")


def symbol_type_problem(text: str) -> str | None:
    """Why `text` cannot be a symbol's Go type, or None."""
    if not text.strip():
        return "the symbol type is empty"
    if not _TYPE_TEXT_RE.match(text):
        return (
            f"symbol type {text!r} may only hold Go type syntax: names, package paths, "
            "`*`, `[]`, `()`, `{}`, `,` and spaces (no quotes or semicolons)"
        )
    depth = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            break
    if depth != 0:
        return f"symbol type {text!r} has unbalanced brackets"
    return None


def smoke_problem(project: Project) -> str | None:
    """Why the project's smoke run cannot be used, or None."""
    smoke = project.smoke
    if smoke is None:
        return None
    if not 0 < smoke.timeout <= 3600:
        return f"smoke.timeout {smoke.timeout:g} must be between 0 and 3600 seconds"
    if smoke.expect_output:
        try:
            re.compile(smoke.expect_output)
        except re.error as exc:
            return f"smoke.expect_output {smoke.expect_output!r} is not a regular expression: {exc}"
    if smoke.expect_exit is not None and not 0 <= smoke.expect_exit <= 255:
        return f"smoke.expect_exit {smoke.expect_exit} must be an exit status (0-255)"
    try:
        for arg in smoke.args:
            reject_control_chars(arg, "smoke argument")
        for name, value in smoke.env:
            env_name(name)
            reject_control_chars(value, f"smoke env {name}")
    except UnsafeValueError as exc:
        return str(exc)
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


def module_problem(resolved: ResolvedProject) -> str | None:
    """Why the plugins' modules cannot join the host's build as they are (the conflict
    table and what to do), or None."""
    try:
        modules = plan_modules(resolved)
    except ProjectError as exc:
        return str(exc)
    return conflict_message(modules, resolved.project.host.ref)


def _check_module_settings(project: Project) -> None:
    """The project's module settings hold no credentials (they would reach the Dockerfile)."""
    mine = project.modules
    for value, key in ((mine.proxy, "proxy"), (mine.sumdb, "sumdb")):
        if has_userinfo(value):
            raise ProjectError(
                f"modules.{key} must not hold credentials: put them in GOPROXY in the "
                "environment or in ~/.netrc"
            )


def _module_env(resolved: ResolvedProject, modules: ModulePlan) -> tuple[tuple[str, str], ...]:
    """GOPROXY & co. for the host stage: a file-based proxy in the builder when modules come
    with the context, else the (credential-free) settings the project or environment gives."""
    settings = modules.settings
    if settings is None or modules.delivery in ("none", "vendor"):
        return ()
    if modules.delivery == "context":
        # The sums in go.sum check every module; no checksum database is reachable offline.
        return (("GOPROXY", f"file://{GOPROXY_DIR}"), ("GOSUMDB", "off"))
    env = [
        ("GOPROXY", settings.proxy),
        ("GOPRIVATE", settings.private),
        ("GONOSUMDB", settings.nosumdb),
        ("GOSUMDB", settings.sumdb),
    ]
    return tuple((name, value) for name, value in env if value)


def _network(modules: ModulePlan) -> str:
    """ "host" when the build downloads from a proxy on this machine's loopback interface."""
    settings = modules.settings
    if modules.delivery != "build" or settings is None:
        return ""
    for url in settings.proxy_urls:
        host = urlsplit(url).hostname or ""
        if host in ("localhost", "::1") or host.startswith("127."):
            return "host"
    return ""


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
    wanted_builder = project.images.builder or pick_builder_image(facts.gomod)
    wanted_runtime, image_warning = pick_runtime_image(wanted_builder, project.images.runtime)
    if image_warning:
        warnings.append(image_warning)
    builder_base = plan_base_image(wanted_builder, project, resolved.base)
    runtime_base = plan_base_image(wanted_runtime, project, resolved.base)
    builder, runtime = builder_base.image, runtime_base.image
    for image, what in (
        (wanted_builder, "builder image"),
        (wanted_runtime, "runtime image"),
        (builder, "builder image"),
        (runtime, "runtime image"),
    ):
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
    for index in range(len(project.plugins)):
        problem = plugin_problem(resolved, index)
        if problem:
            raise ProjectError(problem)
    clashes = plugin_clashes(project, facts)
    if clashes:
        raise ProjectError(clashes[0].message)
    _check_module_settings(project)
    modules = plan_modules(resolved)
    refusal = conflict_message(modules, host.ref)
    if refusal:
        raise ModuleConflictError(refusal)
    warnings.extend(plan_warnings(modules))
    for index, source in enumerate(project.plugins):
        name = source.output_name
        kind = resolved.plugin_kind(index)
        module = modules.plugin(name)
        if kind is PluginKind.PREBUILT:
            build_path = source_dir = ""
        elif module is not None:
            build_path, source_dir = module.module, module.builder_dir
        else:
            source_dir = f"{CUSTOM_PLUGIN_DIR}/{name}"
            build_path = f"./{source_dir}"
        planned.append(
            PlannedPlugin(
                name,
                kind.value,
                name + ext,
                build_path,
                index + 1,
                source.source,
                source_dir,
                module.module if module else "",
            )
        )
    problem = smoke_problem(project)
    if problem:
        raise ProjectError(problem)

    goflags = plan_goflags(resolved)
    for name, value in host.build_env:
        env_name(name)
        reject_control_chars(value, f"build env {name}")
    for extra in project.files:
        safe_path(extra.target, "extra file target", absolute=True)
        if extra.from_host:
            safe_path(extra.host_path, "host file", absolute=False)
    plan = BuildPlan(
        builder_image=builder,
        runtime_image=runtime,
        main_package=main_package,
        check_package=check_package,
        host_binary=host_binary,
        plugins=tuple(planned),
        goflags=tuple(goflags),
        warnings=tuple(warnings),
        plugin_dir=loading.directory.rstrip("/") or "/",
        modules=modules,
        network=_network(modules),
        module_env=_module_env(resolved, modules),
        dependencies=tuple(p for p in facts.imports if _IMPORT_PATH_RE.match(p)),
        builder_base=builder_base,
        runtime_base=runtime_base,
    )
    return plan_shipping(project, plan)


def plan_shipping(project: Project, plan: BuildPlan) -> BuildPlan:
    """`plan` with the runtime user, its writable directories and the system packages,
    checked (raises ProjectError)."""
    user = runtime_user(project.runtime)
    protected = protected_paths(
        plan.plugin_dir, plan.host_binary, (extra.target for extra in project.files)
    )
    writable = writable_paths(project.runtime, protected, user)
    builder_packages = check_packages(project.packages.builder, "packages.builder")
    runtime_packages = check_packages(project.packages.runtime, "packages.runtime")
    builder_manager = (
        needs_manager(plan.builder_image, builder_packages, "builder") if builder_packages else ""
    )
    runtime_manager = (
        needs_manager(plan.runtime_image, runtime_packages, "runtime") if runtime_packages else ""
    )
    return replace(
        plan,
        runtime_user=user,
        writable=writable,
        builder_packages=builder_packages,
        runtime_packages=runtime_packages,
        builder_package_manager=builder_manager,
        runtime_package_manager=runtime_manager,
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
