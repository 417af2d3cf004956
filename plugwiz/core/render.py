"""The Dockerfile text, emitted from the build plan (`plugwiz.core.plan`): pure.

Two layouts of the same build, one per backend (`buildkit=False|True`).

Classic builder (stages run one after another; Go's build cache lives in the layers):

1. `toolchain`: the standard library (`TOOLCHAIN_PACKAGES`) compiled for executables and for
   plugins. It depends only on the builder image and the flags, so every host, commit and
   plugin set on that builder reuses it.
2. `host` (from `toolchain`): module files, the host's third-party packages compiled before
   the tree is copied (cached while go.mod and the imports stay), then the host tree at the
   pinned SHA and one RUN that builds the host, the load-check binary (the host's main
   package linked again with one extra init file) and the bundled plugins, the host side in
   parallel with the plugins. It changes only when the host commit, images or flags change.
3. one `plugin-N` stage per custom plugin, each `FROM host`, so editing one plugin rebuilds
   only that plugin (on top of the Go build cache the host stage left in its layers).
4. `check`: from the last plugin stage, the other plugins copied next to its own, then the
   load-check binary opens every plugin and exits; a plugin that would not load fails here.
5. the runtime stage: the host binary, the checked plugins and the extra files, nothing else.
   Its CMD comes from the same plugin list as its COPY lines.

BuildKit (independent stages run in parallel; Go's build cache is a cache mount that every
build on the builder shares, so it plays the toolchain stage's part without a layer):
`source` (module files, the tree) feeds `host` (host + load-check binary) and, in parallel,
`bundled` (the bundled plugins) and the `plugin-N` stages (from `bundled`, whose compiled
packages they reuse); `check` (from `host`) gathers the plugins and runs the load check.
"""

from __future__ import annotations

from plugwiz.core.model import APP_DIR, ResolvedProject
from plugwiz.core.plan import (
    BUNDLED_STAGE,
    CHECK_STAGE,
    CTX_HOST,
    CTX_LOADCHECK,
    CTX_PLUGINS,
    CTX_PREBUILT,
    CUSTOM_PLUGIN_DIR,
    DEFAULT_CACHE_ID,
    GOCACHE_DIR,
    HOST_STAGE,
    LOADCHECK_BINARY,
    LOADCHECK_ENV,
    LOADCHECK_FILE,
    LOADCHECK_SOURCE,
    LOADCHECK_SYMBOL_ENV,
    OUT_DIR,
    SOURCE_STAGE,
    SRC_DIR,
    TOOLCHAIN_PACKAGES,
    TOOLCHAIN_STAGE,
    BuildPlan,
    PlannedPlugin,
    extra_file_context_path,
    plan_build,
)
from plugwiz.core.quoting import dockerfile_string, json_exec_form, shell_words
from plugwiz.core.redact import redact_url


def _host_run(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
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
    host = resolved.project.host
    host_steps = _host_steps(resolved, plan)
    bundled = [_plugin_build(plugin) for plugin in _bundled(plan)]
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


def render_dockerfile(resolved: ResolvedProject, *, buildkit: bool = False) -> str:
    """The Dockerfile for a resolved project (for BuildKit when `buildkit`); byte-for-byte
    the same for the same project and SHA. Raises ProjectError (from planning) for a person."""
    return emit_dockerfile(resolved, plan_build(resolved), buildkit=buildkit)


def emit_dockerfile(
    resolved: ResolvedProject,
    plan: BuildPlan,
    *,
    buildkit: bool = False,
    cache_id: str = DEFAULT_CACHE_ID,
) -> str:
    """The Dockerfile text for `plan` (made by `plan_build(resolved)`). With `buildkit`, the
    BuildKit layout; `cache_id` names its Go build cache mount (one per builder is right:
    Go's cache is keyed by content, toolchain and flags)."""
    lines = _preamble(resolved, plan)
    if buildkit:
        mount = _cache_mount(cache_id)
        lines += _source_stage(resolved, plan)
        lines += _buildkit_host_stage(resolved, plan, mount)
        lines += _buildkit_bundled_stage(plan, mount)
        lines += _buildkit_plugin_stages(plan, mount)
        lines += _buildkit_check_stage(resolved, plan)
        lines += _runtime_stage(resolved, plan, buildkit=True)
    else:
        lines += _toolchain_stage(resolved, plan)
        lines += _classic_host_stage(resolved, plan)
        lines += _classic_plugin_stages(plan)
        lines += _classic_check_stage(resolved, plan)
        lines += _runtime_stage(resolved, plan, buildkit=False)
    return "\n".join(lines) + "\n"


def _preamble(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    plugin_names = " ".join(p.file_name for p in plan.plugins) or "(none)"
    lines = [
        "# Generated by plugwiz: edit the project (plugwiz.yaml), not this file.",
        f"# Host: {resolved.facts.gomod.module} at {resolved.sha}",
        f"# Plugins: {plugin_names}",
    ]
    lines += [f"# Warning: {warning}" for warning in plan.warnings]
    return lines


def _env(pairs: list[tuple[str, str]]) -> str:
    return "ENV " + " \\\n    ".join(f"{k}={dockerfile_string(v, k)}" for k, v in pairs)


def _go_env(resolved: ResolvedProject, goflags: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        ("CGO_ENABLED", "1"),
        ("GOFLAGS", " ".join(goflags)),
        ("GOTOOLCHAIN", "local"),
        ("GOWORK", "off"),
        *resolved.project.host.build_env,
    ]


def _warm(packages: tuple[str, ...], *, deps: bool) -> str:
    """A RUN command that compiles `packages` (and what they import) into Go's build cache,
    for executables and for plugins (`-dynlink`: the two share nothing), without linking."""
    listed = " \\\n    ".join(_wrapped(packages))
    flags = "-e -export -deps" if deps else "-e -export"
    # -e: a package this builder cannot compile is left to the build that needs it (which
    # reports it); `-f ''` prints nothing per package.
    return (
        f"set -- {listed} && \\\n"
        f"    go list {flags} -f '' \"$@\" >/dev/null && \\\n"
        f"    go list {flags} -buildmode=plugin -f '' \"$@\" >/dev/null"
    )


def _wrapped(words: tuple[str, ...], width: int = 60) -> tuple[str, ...]:
    """`words` grouped so that the RUN line wraps (the wizard's preview is ~68 columns)."""
    groups: list[str] = []
    for word in words:
        if groups and len(groups[-1]) + 1 + len(word) <= width:
            groups[-1] += " " + word
        else:
            groups.append(word)
    return tuple(groups)


def _toolchain_stage(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """Classic: the standard library compiled once per builder image and flags."""
    return [
        "",
        "# Toolchain: the standard library compiled for the host and for plugins,",
        "# once per builder image and flags (every host and commit reuses it).",
        f"FROM {plan.builder_image} AS {TOOLCHAIN_STAGE}",
        _env(_go_env(resolved, plan.toolchain_goflags)),
        f"RUN {_warm(TOOLCHAIN_PACKAGES, deps=False)}",
    ]


def _module_lines(resolved: ResolvedProject) -> list[str]:
    """Module files and downloads: their layer survives every commit that keeps go.mod."""
    facts = resolved.facts
    if not (facts.vendored or facts.gomod.requires):
        return []
    module_files = [f"{CTX_HOST}/go.mod"] + ([f"{CTX_HOST}/go.sum"] if facts.has_go_sum else [])
    lines = [f"COPY {' '.join(module_files)} ./"]
    if facts.vendored:
        lines.append(f"COPY {CTX_HOST}/vendor/ ./vendor/")
    else:
        lines.append("RUN go mod download")
    return lines


def _dependency_lines(plan: BuildPlan) -> list[str]:
    """Classic: the host's third-party packages compiled before its tree is copied in, so
    a new host commit compiles only the host's own packages."""
    if not plan.dependencies:
        return []
    return [f"RUN {_warm(plan.dependencies, deps=True)}"]


def _classic_host_stage(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    lines = [
        "",
        "# Modules, host and bundled plugins: cached until the host commit changes.",
        f"FROM {TOOLCHAIN_STAGE} AS {HOST_STAGE}",
    ]
    if plan.toolchain_goflags != plan.goflags:
        lines.append(_env([("GOFLAGS", " ".join(plan.goflags))]))
    lines.append(f"WORKDIR {SRC_DIR}")
    lines += _module_lines(resolved)
    if resolved.facts.vendored or resolved.facts.gomod.requires:
        lines += _dependency_lines(plan)
    lines.append(f"COPY {CTX_HOST}/ ./")
    if plan.check_package:
        lines.append(f"COPY {CTX_LOADCHECK} {LOADCHECK_SOURCE}")
    lines += _host_run(resolved, plan)
    return lines


def _custom_built(plan: BuildPlan) -> list[PlannedPlugin]:
    return [p for p in plan.plugins if p.kind != "bundled" and p.build_path]


def _plugin_build(plugin: PlannedPlugin) -> str:
    return f"go build -buildmode=plugin -o {plugin.out_path} {plugin.build_path}"


def _plugin_stage(plugin: PlannedPlugin, base: str, run_prefix: str) -> list[str]:
    return [
        "",
        f"# Custom plugin {plugin.name} ({plugin.kind}): its own stage, rebuilt alone when it "
        "changes.",
        f"FROM {base} AS {plugin.stage}",
        f"COPY {CTX_PLUGINS}/{plugin.name}/ ./{CUSTOM_PLUGIN_DIR}/{plugin.name}/",
        f"RUN {run_prefix}{_plugin_build(plugin)}",
    ]


def _classic_plugin_stages(plan: BuildPlan) -> list[str]:
    lines: list[str] = []
    for plugin in _custom_built(plan):
        lines += _plugin_stage(plugin, HOST_STAGE, "")
    return lines


def _loadcheck_run(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    if not (plan.check_package and plan.plugins):
        return []
    check_env = [f"{LOADCHECK_ENV}=" + ":".join(p.out_path for p in plan.plugins)]
    if resolved.project.loading.symbol:
        check_env.append(f"{LOADCHECK_SYMBOL_ENV}={resolved.project.loading.symbol}")
    return [f"RUN {' '.join(check_env)} {LOADCHECK_BINARY}"]


def _check_comment(plan: BuildPlan) -> str:
    if plan.check_package:
        return "# Load check: the host's own packages open every plugin."
    return "# Collect the plugins (no load check: the host's main package is unknown)."


def _classic_check_stage(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    custom_built = _custom_built(plan)
    # The last plugin stage already holds its own plugin: one COPY fewer.
    base = custom_built[-1].stage if custom_built else HOST_STAGE
    lines = ["", _check_comment(plan), f"FROM {base} AS {CHECK_STAGE}"]
    for plugin in plan.plugins:
        if plugin.kind == "bundled" or plugin.stage == base:
            continue
        if plugin.build_path:
            lines.append(f"COPY --from={plugin.stage} {plugin.out_path} {plugin.out_path}")
        else:
            lines.append(f"COPY {CTX_PREBUILT}/{plugin.file_name} {plugin.out_path}")
    return lines + _loadcheck_run(resolved, plan)


def _cache_mount(cache_id: str) -> str:
    return f"--mount=type=cache,id={cache_id},target={GOCACHE_DIR} "


def _source_stage(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """BuildKit: modules and the host tree, which the host and plugin stages start from."""
    lines = [
        "",
        "# Modules and the host tree at the pinned commit.",
        f"FROM {plan.builder_image} AS {SOURCE_STAGE}",
        _env([*_go_env(resolved, plan.goflags), ("GOCACHE", GOCACHE_DIR)]),
        f"WORKDIR {SRC_DIR}",
    ]
    lines += _module_lines(resolved)
    lines.append(f"COPY {CTX_HOST}/ ./")
    if plan.check_package:
        lines.append(f"COPY {CTX_LOADCHECK} {LOADCHECK_SOURCE}")
    return lines


def _host_steps(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """The host binary and the load-check binary (the host's main package with
    `loadcheck.go` put in for that build only, so it holds exactly the host's packages)."""
    host = resolved.project.host
    if host.build_command:
        build = shell_words(host.build_command, "build command")
        steps = [build, f"cp {host.binary} {OUT_DIR}/{plan.host_binary}"]
    else:
        steps = [f"go build -o {OUT_DIR}/{plan.host_binary} {plan.main_package}"]
    if plan.check_package:
        check_dir = plan.check_package.removeprefix("./")
        target = LOADCHECK_FILE if check_dir == "." else f"{check_dir}/{LOADCHECK_FILE}"
        steps += [
            f"cp {LOADCHECK_SOURCE} {target}",
            f"go build -o {LOADCHECK_BINARY} {plan.check_package}",
            f"rm {target}",
        ]
    return steps


def _buildkit_host_stage(resolved: ResolvedProject, plan: BuildPlan, mount: str) -> list[str]:
    steps = [f"mkdir -p {OUT_DIR}/plugins", *_host_steps(resolved, plan)]
    return [
        "",
        "# The host and the load-check binary (in parallel with the plugin stages).",
        f"FROM {SOURCE_STAGE} AS {HOST_STAGE}",
        f"RUN {mount}" + " && \\\n    ".join(steps),
    ]


def _bundled(plan: BuildPlan) -> list[PlannedPlugin]:
    return [p for p in plan.plugins if p.kind == "bundled"]


def _buildkit_bundled_stage(plan: BuildPlan, mount: str) -> list[str]:
    bundled = _bundled(plan)
    if not bundled:
        return []
    steps = [f"mkdir -p {OUT_DIR}/plugins", *(_plugin_build(p) for p in bundled)]
    return [
        "",
        "# The bundled plugins (in parallel with the host).",
        f"FROM {SOURCE_STAGE} AS {BUNDLED_STAGE}",
        f"RUN {mount}" + " && \\\n    ".join(steps),
    ]


def _buildkit_plugin_stages(plan: BuildPlan, mount: str) -> list[str]:
    # From the bundled plugins' stage: the host packages they compiled for plugins are in
    # the cache mount by then, so custom plugins do not compile them again side by side.
    base = BUNDLED_STAGE if _bundled(plan) else SOURCE_STAGE
    lines: list[str] = []
    for plugin in _custom_built(plan):
        lines += _plugin_stage(plugin, base, mount)
    return lines


def _buildkit_check_stage(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    lines = ["", _check_comment(plan), f"FROM {HOST_STAGE} AS {CHECK_STAGE}"]
    if _bundled(plan):
        lines.append(f"COPY --from={BUNDLED_STAGE} {OUT_DIR}/plugins/ {OUT_DIR}/plugins/")
    for plugin in plan.plugins:
        if plugin.kind == "bundled":
            continue
        if plugin.build_path:
            lines.append(f"COPY --from={plugin.stage} {plugin.out_path} {plugin.out_path}")
        else:
            lines.append(f"COPY {CTX_PREBUILT}/{plugin.file_name} {plugin.out_path}")
    return lines + _loadcheck_run(resolved, plan)


def _runtime_stage(resolved: ResolvedProject, plan: BuildPlan, *, buildkit: bool) -> list[str]:
    project = resolved.project
    facts = resolved.facts
    host = project.host
    lines = ["", "# Runtime: the host, its plugins and extra files; no toolchain."]
    add = lines.append
    add(f"FROM {plan.runtime_image}")
    labels = [
        ("org.opencontainers.image.source", redact_url(host.repo)),
        ("org.opencontainers.image.revision", resolved.sha),
        ("dev.plugwiz.host.module", facts.gomod.module),
        ("dev.plugwiz.plugins", ",".join(plan.runtime_plugin_paths)),
        ("dev.plugwiz.go-version", facts.gomod.toolchain.removeprefix("go") or facts.gomod.go),
        ("dev.plugwiz.builder", plan.builder_image),
    ]
    add("LABEL " + " \\\n      ".join(f"{k}={dockerfile_string(v, k)}" for k, v in labels))
    add(f"WORKDIR {APP_DIR}")
    # Metadata before the files, so a plugin edit does not redo it (the image is the same).
    add(f"CMD {json_exec_form(plan.cmd(project), 'CMD')}")
    bundled = _bundled(plan)
    custom = [p for p in plan.plugins if p.kind != "bundled"]
    # The check stage must feed the image: BuildKit builds only the stages the last one uses.
    if buildkit:
        lines += _buildkit_runtime_copies(plan, bundled, custom)
    else:
        lines += _classic_runtime_copies(plan, bundled, custom)
    # Custom plugins apart from the rest: a plugin edit copies only them again.
    if custom:
        sources = " ".join(p.out_path for p in custom)
        add(f"COPY --from={CHECK_STAGE} {sources} {plan.plugin_dir}/")
    tree_stage = SOURCE_STAGE if buildkit else HOST_STAGE
    for index, extra in enumerate(project.files, start=1):
        if extra.from_host:
            add(f"COPY --from={tree_stage} {SRC_DIR}/{extra.host_path} {extra.target}")
        else:
            add(f"COPY {extra_file_context_path(index, extra.source)} {extra.target}")
    return lines


def _classic_runtime_copies(
    plan: BuildPlan, bundled: list[PlannedPlugin], custom: list[PlannedPlugin]
) -> list[str]:
    first = HOST_STAGE if custom else CHECK_STAGE
    if plan.plugin_dir == f"{APP_DIR}/plugins":
        # /out holds the host and its bundled plugins laid out as under /app: one layer.
        return [f"COPY --from={first} {OUT_DIR}/ {APP_DIR}/"]
    lines = [f"COPY --from={first} {OUT_DIR}/{plan.host_binary} {APP_DIR}/{plan.host_binary}"]
    if bundled:
        sources = " ".join(p.out_path for p in bundled)
        lines.append(f"COPY --from={first} {sources} {plan.plugin_dir}/")
    return lines


def _buildkit_runtime_copies(
    plan: BuildPlan, bundled: list[PlannedPlugin], custom: list[PlannedPlugin]
) -> list[str]:
    binary = f"{OUT_DIR}/{plan.host_binary}"
    lines = [f"COPY --from={HOST_STAGE if custom else CHECK_STAGE} {binary} {APP_DIR}/"]
    if bundled:
        sources = " ".join(p.out_path for p in bundled)
        lines.append(
            f"COPY --from={BUNDLED_STAGE if custom else CHECK_STAGE} {sources} {plan.plugin_dir}/"
        )
    return lines
