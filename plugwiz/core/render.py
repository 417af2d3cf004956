"""The Dockerfile, as a pure function of the project (with its detected host facts).

Stage layout, chosen for the classic builder's layer cache:

1. `host`: module files and downloads, then the host tree at the pinned SHA, and one RUN that
   builds the host, the load-check binary (the host's main package linked again with one extra
   init file) and the bundled plugins, the host side in parallel with the plugins. It
   changes only when the host commit, images or flags change.
2. one `plugin-N` stage per custom plugin, each `FROM host`, so editing one plugin rebuilds
   only that plugin (on top of the Go build cache the host stage left in its layers).
3. `check`: from the last plugin stage, the other plugins copied next to its own, then the
   load-check binary opens every plugin and exits; a plugin that would not load fails here.
4. the runtime stage: the host binary, the checked plugins and the extra files, nothing else.
   Its CMD comes from the same plugin list as its COPY lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from plugwiz.core.images import pick_builder_image, pick_runtime_image
from plugwiz.core.model import (
    APP_DIR,
    PluginKind,
    Project,
    ProjectError,
    check_name,
    dot_path,
    effective_bundled,
    effective_main_package,
    obvious_main_package,
    pick_main_package,
    plugin_clashes,
)
from plugwiz.core.quoting import (
    UnsafeValueError,
    dockerfile_string,
    env_name,
    goflag,
    json_exec_form,
    reject_control_chars,
    safe_path,
    shell_words,
)
from plugwiz.core.redact import redact_url

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


@dataclass(frozen=True)
class PlannedPlugin:
    """One plugin of the image: where it comes from and where it ends up."""

    name: str
    kind: str  # "bundled", or a PluginKind value
    file_name: str  # e.g. upper.so
    build_path: str  # ./plugins/upper, ./plugwiz_plugins/hello, or "" for prebuilt
    index: int  # position among custom plugins (1-based), 0 for bundled

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

    @property
    def runtime_plugin_paths(self) -> list[str]:
        return [f"{self.plugin_dir}/{p.file_name}" for p in self.plugins]

    plugin_dir: str = ""

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


def plan_build(project: Project) -> BuildPlan:
    """Validate the project and derive the build plan; raises ProjectError for a person."""
    try:
        return _plan(project)
    except UnsafeValueError as exc:
        raise ProjectError(str(exc)) from exc


def _plan(project: Project) -> BuildPlan:
    facts = project.facts
    if facts is None:
        raise ProjectError("the host has not been resolved yet (no go.mod facts)")
    host = project.host
    if (
        not host.commit
        or len(host.commit) != 40
        or not all(c in "0123456789abcdef" for c in host.commit)
    ):
        raise ProjectError("the host ref has not been resolved to a commit SHA")
    loading = project.loading
    ext = loading.extension
    if ext and (not ext.startswith(".") or not ext[1:].isalnum()):
        raise ProjectError(f"plugin extension {ext!r} must look like .so or .prov")
    if loading.flag:
        reject_control_chars(loading.flag, "plugin flag")
        if not loading.flag.startswith("-") or " " in loading.flag:
            raise ProjectError(
                f"plugin flag {loading.flag!r} must start with '-' and hold no spaces"
            )
    safe_path(loading.directory, "plugin directory", absolute=True)
    for arg in loading.extra_args:
        reject_control_chars(arg, "extra argument")
    if loading.symbol and not loading.symbol.isidentifier():
        raise ProjectError(f"symbol {loading.symbol!r} is not a Go identifier")

    warnings: list[str] = []
    builder = project.images.builder or pick_builder_image(facts.gomod)
    runtime, image_warning = pick_runtime_image(builder, project.images.runtime)
    if image_warning:
        warnings.append(image_warning)
    for image, what in ((builder, "builder image"), (runtime, "runtime image")):
        reject_control_chars(image, what)
        if not image or any(c in image for c in " \"'$\\`"):
            raise ProjectError(f"{what} {image!r} is not a valid image reference")

    if (
        not host.main_package
        and not host.build_command
        and len(facts.main_packages) > 1
        and obvious_main_package(facts.main_packages, facts.gomod.module) is None
    ):
        listed = ", ".join(dot_path(p) for p in facts.main_packages)
        raise ProjectError(
            f"the host has {len(facts.main_packages)} main packages ({listed}) and none is "
            f"obviously the host: choose one with --main {dot_path(facts.main_packages[0])} "
            "(or host.main in plugwiz.yaml)"
        )
    main_package = effective_main_package(project)
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
    for bundled in effective_bundled(project):
        safe_path(bundled.path, "bundled plugin path", absolute=False)
        name = check_name(bundled.output_name, "bundled plugin name")
        path = "./" + bundled.path.removeprefix("./").strip("/")
        planned.append(PlannedPlugin(name, "bundled", name + ext, path, 0))
    for index, source in enumerate(project.plugins, start=1):
        name = check_name(source.output_name)
        kind = source.kind
        build_path = "" if kind is PluginKind.PREBUILT else f"./{CUSTOM_PLUGIN_DIR}/{name}"
        planned.append(PlannedPlugin(name, kind.value, name + ext, build_path, index))
    clashes = plugin_clashes(project)
    if clashes:
        raise ProjectError(clashes[0].message)

    goflags = ["-trimpath", *(goflag(f) for f in host.build_flags if f != "-trimpath")]
    if facts.vendored and not any(f.startswith("-mod=") for f in goflags):
        # go.mod files older than `go 1.14` ignore vendor/ unless asked.
        goflags.append("-mod=vendor")
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
    )


def extra_file_context_path(index: int, source: str) -> str:
    """Where a local extra file sits in the build context."""
    name = PurePosixPath(source.replace("\\", "/").rstrip("/")).name or "file"
    return f"{CTX_FILES}/{index}/{name}"


def _host_run(project: Project, plan: BuildPlan) -> list[str]:
    """The host stage's one RUN (and its comment): the host, the load-check binary and the
    bundled plugins.

    One RUN, because they change together (with the commit) and each RUN costs a container
    and a commit of the Go build cache. The load-check binary is the host's main package
    linked again with `loadcheck.go` put in for that build only, so it holds exactly the
    host's packages. When there are bundled plugins, the host and the load check build in
    the background while the plugins build: the first plugin compiles the standard library
    again (plugins need position-independent code), so the two share nothing and the links,
    which use one core, overlap with compiling. `wait $!` makes a failed host build fail
    the RUN.
    """
    host = project.host
    if host.build_command:
        build = shell_words(host.build_command, "build command")
        host_steps = [build, f"cp {host.binary} {OUT_DIR}/{plan.host_binary}"]
    else:
        host_steps = [f"go build -o {OUT_DIR}/{plan.host_binary} {plan.main_package}"]
    if plan.check_package:
        check_dir = plan.check_package.removeprefix("./")
        target = LOADCHECK_FILE if check_dir == "." else f"{check_dir}/{LOADCHECK_FILE}"
        host_steps += [
            f"cp {LOADCHECK_SOURCE} {target}",
            f"go build -o {LOADCHECK_BINARY} {plan.check_package}",
            f"rm {target}",
        ]
    bundled = [
        f"go build -buildmode=plugin -o {plugin.out_path} {plugin.build_path}"
        for plugin in plan.plugins
        if plugin.kind == "bundled"
    ]
    joint = " && \\\n    "
    prepare = f"RUN mkdir -p {OUT_DIR}/plugins"
    # A custom build command may build more than the host (plugins too): it runs alone.
    if not bundled or host.build_command:
        return [joint.join([prepare, *host_steps, *bundled])]
    background = " && \\\n        ".join(host_steps)
    rest = joint.join([*bundled, "wait $!"])
    return [
        # Short lines: the wizard's preview shows about 68 columns.
        "# Host and load-check binary build in the background, beside",
        "# the bundled plugins; the final wait fails the RUN if they did.",
        f"{prepare} && {{ \\\n    {{ {background}; }} & \\\n    {rest}; }}",
    ]


def render_dockerfile(project: Project) -> str:
    """The Dockerfile for `project`; byte-for-byte the same for the same project and SHA."""
    plan = plan_build(project)
    facts = project.facts
    assert facts is not None  # plan_build checked
    host = project.host
    lines: list[str] = []
    add = lines.append
    plugin_names = " ".join(p.file_name for p in plan.plugins) or "(none)"
    add("# Generated by plugwiz: edit the project (plugwiz.yaml), not this file.")
    add(f"# Host: {facts.gomod.module} at {host.commit}")
    add(f"# Plugins: {plugin_names}")
    for warning in plan.warnings:
        add(f"# Warning: {warning}")
    add("")
    add("# Toolchain, modules, host and bundled plugins: cached until the host commit changes.")
    add(f"FROM {plan.builder_image} AS host")
    env = [
        ("CGO_ENABLED", "1"),
        ("GOFLAGS", " ".join(plan.goflags)),
        ("GOTOOLCHAIN", "local"),
        ("GOWORK", "off"),
        *host.build_env,
    ]
    add(
        "ENV " + " \\\n    ".join(f"{name}={dockerfile_string(value, name)}" for name, value in env)
    )
    add(f"WORKDIR {SRC_DIR}")
    if facts.vendored or facts.gomod.requires:
        # Dependencies first: their layer survives every host commit that keeps go.mod.
        module_files = [f"{CTX_HOST}/go.mod"] + ([f"{CTX_HOST}/go.sum"] if facts.has_go_sum else [])
        add(f"COPY {' '.join(module_files)} ./")
        if facts.vendored:
            add(f"COPY {CTX_HOST}/vendor/ ./vendor/")
        else:
            add("RUN go mod download")
    add(f"COPY {CTX_HOST}/ ./")
    if plan.check_package:
        add(f"COPY {CTX_LOADCHECK} {LOADCHECK_SOURCE}")
    lines.extend(_host_run(project, plan))

    custom_built = [p for p in plan.plugins if p.kind != "bundled" and p.build_path]
    for plugin in custom_built:
        add("")
        add(
            f"# Custom plugin {plugin.name} ({plugin.kind}): "
            "its own stage, rebuilt alone when it changes."
        )
        add(f"FROM host AS {plugin.stage}")
        add(f"COPY {CTX_PLUGINS}/{plugin.name}/ ./{CUSTOM_PLUGIN_DIR}/{plugin.name}/")
        add(f"RUN go build -buildmode=plugin -o {plugin.out_path} {plugin.build_path}")

    add("")
    # The last plugin stage already holds its own plugin: one COPY fewer.
    base = custom_built[-1].stage if custom_built else "host"
    if plan.check_package:
        add("# Load check: the host's own packages open every plugin.")
    else:
        add("# Collect the plugins (no load check: the host's main package is unknown).")
    add(f"FROM {base} AS check")
    for plugin in plan.plugins:
        if plugin.kind == "bundled" or plugin.stage == base:
            continue
        if plugin.build_path:
            add(f"COPY --from={plugin.stage} {plugin.out_path} {plugin.out_path}")
        else:
            add(f"COPY {CTX_PREBUILT}/{plugin.file_name} {plugin.out_path}")
    if plan.check_package and plan.plugins:
        check_env = [f"{LOADCHECK_ENV}=" + ":".join(p.out_path for p in plan.plugins)]
        if project.loading.symbol:
            check_env.append(f"{LOADCHECK_SYMBOL_ENV}={project.loading.symbol}")
        add(f"RUN {' '.join(check_env)} {LOADCHECK_BINARY}")

    add("")
    add("# Runtime: the host, its plugins and extra files; no toolchain.")
    add(f"FROM {plan.runtime_image}")
    labels = [
        ("org.opencontainers.image.source", redact_url(host.repo)),
        ("org.opencontainers.image.revision", host.commit),
        ("dev.plugwiz.host.module", facts.gomod.module),
        ("dev.plugwiz.plugins", ",".join(plan.runtime_plugin_paths)),
        ("dev.plugwiz.go-version", facts.gomod.toolchain.removeprefix("go") or facts.gomod.go),
        ("dev.plugwiz.builder", plan.builder_image),
    ]
    add("LABEL " + " \\\n      ".join(f"{k}={dockerfile_string(v, k)}" for k, v in labels))
    add(f"WORKDIR {APP_DIR}")
    # Metadata before the files, so a plugin edit does not redo it (the image is the same).
    add(f"CMD {json_exec_form(plan.cmd(project), 'CMD')}")
    bundled = [p for p in plan.plugins if p.kind == "bundled"]
    custom = [p for p in plan.plugins if p.kind != "bundled"]
    # The check stage must feed the image: BuildKit builds only the stages the last one uses.
    first = "host" if custom else "check"
    if plan.plugin_dir == f"{APP_DIR}/plugins":
        # /out holds the host and its bundled plugins laid out as under /app: one layer.
        add(f"COPY --from={first} {OUT_DIR}/ {APP_DIR}/")
    else:
        add(f"COPY --from={first} {OUT_DIR}/{plan.host_binary} {APP_DIR}/{plan.host_binary}")
        if bundled:
            sources = " ".join(p.out_path for p in bundled)
            add(f"COPY --from={first} {sources} {plan.plugin_dir}/")
    # Custom plugins apart from the rest: a plugin edit copies only them again.
    if custom:
        sources = " ".join(p.out_path for p in custom)
        add(f"COPY --from=check {sources} {plan.plugin_dir}/")
    for index, extra in enumerate(project.files, start=1):
        if extra.from_host:
            add(f"COPY --from=host {SRC_DIR}/{extra.host_path} {extra.target}")
        else:
            add(f"COPY {extra_file_context_path(index, extra.source)} {extra.target}")
    return "\n".join(lines) + "\n"
