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
   parallel with the plugins. It changes only when the host commit, images or flags change
   (or an allowed module upgrade).
   `modules` (only when some plugin is a Go module of its own): `FROM host`, the host's go.mod
   merged with the plugins' and the downloads only they need (see plugwiz.core.modules).
3. one `plugin-N` stage per custom plugin, each `FROM host` (or `modules`), so editing one
   plugin rebuilds only that plugin (on top of the Go build cache the host stage left in its
   layers).
4. `check`: from the last plugin stage, the other plugins copied next to its own, then the
   load-check binary opens every plugin and exits; a plugin that would not load fails here.
5. the runtime stage: the host binary, the checked plugins and the extra files, nothing else.
   Its CMD comes from the same plugin list as its COPY lines.

BuildKit (independent stages run in parallel; Go's build cache is a cache mount that every
build on the builder shares, so it plays the toolchain stage's part without a layer):
`source` (module files, the tree) feeds `host` (host + load-check binary) and, in parallel,
`bundled` (the bundled plugins) and the `plugin-N` stages (from `bundled`, whose compiled
packages they reuse, or from `modules`, which starts from `bundled` when plugins are modules
of their own); `check` (from `host`) gathers the plugins and runs the load check.

Both layouts: the builder and runtime FROM lines name the image as built here (a mapped local
stand-in, pinned by digest when the engine knows one); the builder's system packages
(`packages.builder`) are a layer of their own before the modules and the tree (in `host`
right after `toolchain`, which stays shared by every project on the builder; at the top of
`source`), the runtime's right after its FROM; the runtime stage runs as `USER` (non-root
unless the project opts out) with root-owned files, and carries the provenance labels.
"""

from __future__ import annotations

from plugwiz.core.model import APP_DIR, ResolvedProject
from plugwiz.core.modules import (
    CTX_GOPROXY,
    CTX_HOST_GOPROXY,
    CTX_HOST_MODULES,
    CTX_HOST_VENDOR,
    CTX_MODULES,
    CTX_VENDOR,
    CTX_WARM,
    GOPROXY_DIR,
    MODULES_STAGE,
    WARM_DIR,
)
from plugwiz.core.packages import install_command
from plugwiz.core.plan import (
    BUNDLED_STAGE,
    CHECK_STAGE,
    CTX_HOST,
    CTX_LOADCHECK,
    CTX_PLUGINS,
    CTX_PREBUILT,
    DEFAULT_CACHE_ID,
    GOCACHE_DIR,
    HOST_STAGE,
    LABEL_UPGRADED,
    LOADCHECK_BINARY,
    LOADCHECK_ENV,
    LOADCHECK_FILE,
    LOADCHECK_REFERENCE_ENV,
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
from plugwiz.core.runtime_image import CTX_EMPTY_DIR, provenance_labels


def _base_image_notes(plan: BuildPlan) -> list[str]:
    """Comment lines saying which local image stands in for a registry one, and whether each
    base image is pinned by digest (nothing when there is nothing to say)."""
    notes = []
    for base, role in ((plan.builder_base, "Builder image"), (plan.runtime_base, "Runtime image")):
        text = base.describe(role) if base is not None else ""
        if text:
            notes.append(f"# {text}")
    return notes


def _package_layer(manager: str, packages: tuple[str, ...], role: str) -> list[str]:
    """The system packages of one image, in a layer of their own right after its FROM: it
    stays cached across host commits and plugin edits."""
    if not packages:
        return []
    return [
        f"# System packages for the {role} (packages.{role} in plugwiz.yaml).",
        install_command(manager, packages),
    ]


def _runtime_user_lines(plan: BuildPlan) -> list[str]:
    """USER for the runtime stage: the files COPY adds stay root's, so the host can read and
    run them but not change them."""
    if not plan.runtime_user:
        return []
    return [f"USER {plan.runtime_user}"]


def _writable_lines(plan: BuildPlan) -> list[str]:
    """One empty directory per path the host writes, owned by its user."""
    return [f"COPY --chown={plan.runtime_user} {CTX_EMPTY_DIR}/ {path}/" for path in plan.writable]


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
        lines += _modules_stage(plan, _buildkit_modules_base(plan), mount)
        lines += _buildkit_plugin_stages(plan, mount)
        lines += _buildkit_check_stage(resolved, plan)
        lines += _runtime_stage(resolved, plan, buildkit=True)
    else:
        lines += _toolchain_stage(resolved, plan)
        lines += _classic_host_stage(resolved, plan)
        lines += _modules_stage(plan, HOST_STAGE, "")
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
    lines += [
        f"# Upgraded for the plugins: {use.module} {use.host_version} -> {use.plugin_version}"
        f" (modules.upgrade; {', '.join(use.plugins)})"
        for use in plan.modules.upgrades
    ]
    return lines + _base_image_notes(plan)


def _env(pairs: list[tuple[str, str]]) -> str:
    return "ENV " + " \\\n    ".join(f"{k}={dockerfile_string(v, k)}" for k, v in pairs)


def _go_env(
    resolved: ResolvedProject,
    goflags: tuple[str, ...],
    module_env: list[tuple[str, str]] | None = None,
) -> list[tuple[str, str]]:
    return [
        ("CGO_ENABLED", "1"),
        ("GOFLAGS", " ".join(goflags)),
        ("GOTOOLCHAIN", "local"),
        ("GOWORK", "off"),
        *(module_env or []),
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
        f"FROM {plan.builder_ref} AS {TOOLCHAIN_STAGE}",
        _env(_go_env(resolved, plan.toolchain_goflags)),
        f"RUN {_warm(TOOLCHAIN_PACKAGES, deps=False)}",
    ]


def _host_module_env(plan: BuildPlan) -> list[tuple[str, str]]:
    """GOPROXY & co. for the host's stage, only when the host itself downloads: else the
    plugins' modules would change the host's stage (they go in the `modules` stage)."""
    return list(plan.module_env) if plan.modules.host_needs else []


def _has_module_steps(resolved: ResolvedProject, plan: BuildPlan) -> bool:
    facts = resolved.facts
    return bool(facts.vendored or facts.gomod.requires or plan.modules.upgrades)


def _module_lines(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """Module files and downloads (or vendor/) before the host tree: their layer survives
    every commit that keeps go.mod. With upgrades the project allows (modules.upgrade), the
    host's module files as upgraded, so the host's dependencies compile at those versions.
    The plugins' modules are not here (see `_modules_stage`): they do not change the host."""
    facts = resolved.facts
    modules = plan.modules
    if not _has_module_steps(resolved, plan):
        return []
    module_files = [f"{CTX_HOST}/go.mod"] + ([f"{CTX_HOST}/go.sum"] if facts.has_go_sum else [])
    if facts.vendored:
        lines = [f"COPY {' '.join(module_files)} ./", f"COPY {CTX_HOST}/vendor/ ./vendor/"]
        return lines + _upgraded_module_files(plan)
    if modules.upgrades:
        lines = [f"COPY {CTX_HOST_MODULES}/ ./"]
    else:
        lines = [f"COPY {' '.join(module_files)} ./"]
    if modules.delivery == "context" and modules.host_needs:
        lines.append("# Modules sent with the build (a file-based proxy): no network needed.")
        lines.append(f"COPY {CTX_HOST_GOPROXY}/ {GOPROXY_DIR}/")
    lines.append("RUN go mod download")
    return lines


def _upgraded_module_files(plan: BuildPlan) -> list[str]:
    """The host's module files with the upgrades the project allows, and for a vendored host
    the new versions' packages in place of the old ones. Again after the host tree, which
    brings the host's own module files back."""
    modules = plan.modules
    if not modules.upgrades:
        return []
    lines = [f"COPY {CTX_HOST_MODULES}/ ./"]
    if modules.vendored:
        upgraded = modules.upgraded_modules
        stale = [
            f"vendor/{package}"
            for entry in modules.modules_txt
            if entry.path in upgraded
            for package in entry.packages
        ]
        if stale:
            lines.append("# The upgraded modules' old files go (modules.upgrade).")
            lines.append(
                "RUN find "
                + " ".join(shell_words((p,), "vendored package") for p in stale)
                + " -maxdepth 1 -type f -delete"
            )
        lines.append(f"COPY {CTX_HOST_VENDOR}/ ./vendor/")
    return lines


def _modules_stage(plan: BuildPlan, base: str, mount: str) -> list[str]:
    """The `modules` stage, when plugins are modules of their own: the host's go.mod merged
    with theirs, and what only they need. Every custom plugin stage starts from it, so a
    plugin's go.mod edit rebuilds this and the plugins, never the host."""
    modules = plan.modules
    if not modules.merged:
        return []
    lines = [
        "",
        "# The plugins' modules: go.mod merged with theirs (one build list, the host's).",
        f"FROM {base} AS {MODULES_STAGE}",
    ]
    if plan.module_env and not modules.host_needs:
        lines.append(
            "ENV " + " ".join(f"{name}={dockerfile_string(v, name)}" for name, v in plan.module_env)
        )
    lines.append(f"COPY {CTX_MODULES}/ ./")
    if modules.vendored:
        if modules.needs:
            lines.append(f"COPY {CTX_VENDOR}/ ./vendor/")
    else:
        if modules.delivery == "context" and modules.needs:
            lines.append(f"COPY {CTX_GOPROXY}/ {GOPROXY_DIR}/")
        if modules.delivery != "none":
            lines.append("RUN go mod download")
    return lines + _warm_module_imports(plan, mount)


def _warm_module_imports(plan: BuildPlan, mount: str) -> list[str]:
    """Compile what the plugin modules import from outside themselves, as plugin code, once:
    a plugin's rebuild then compiles only its own packages. Only a cache: if it fails, the
    plugin stages compile everything (and report any real error)."""
    if not plan.modules.warm_imports:
        return []
    out = f"/tmp/{WARM_DIR}.so"
    return [
        "# Their imports compiled once, so a plugin edit compiles only that plugin's packages.",
        f"COPY {CTX_WARM}/ ./{WARM_DIR}/",
        f"RUN {mount}go build -buildmode=plugin -o {out} ./{WARM_DIR} "
        f'|| echo "plugwiz: warming the build cache failed (the plugin stages compile it all)"; '
        f"rm -rf {out} ./{WARM_DIR}",
    ]


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
        # After the toolchain (which every project on this builder shares), before the
        # modules and the tree: cached until the package list changes.
        *_package_layer(plan.builder_package_manager, plan.builder_packages, "builder"),
    ]
    env = _host_module_env(plan)
    if env:
        # The user's build env (set in the toolchain stage) still wins, as in `_go_env`.
        names = {name for name, _value in env}
        env += [(k, v) for k, v in resolved.project.host.build_env if k in names]
    if plan.toolchain_goflags != plan.goflags:
        env.insert(0, ("GOFLAGS", " ".join(plan.goflags)))
    if env:
        lines.append(_env(env))
    lines.append(f"WORKDIR {SRC_DIR}")
    lines += _module_lines(resolved, plan)
    if _has_module_steps(resolved, plan):
        lines += _dependency_lines(plan)
    lines.append(f"COPY {CTX_HOST}/ ./")
    lines += _upgraded_module_files(plan)
    if plan.check_package:
        lines.append(f"COPY {CTX_LOADCHECK} {LOADCHECK_SOURCE}")
    lines += _host_run(resolved, plan)
    return lines


def _custom_built(plan: BuildPlan) -> list[PlannedPlugin]:
    return [p for p in plan.plugins if p.kind != "bundled" and p.build_path]


def _plugin_build(plugin: PlannedPlugin) -> str:
    return f"go build -buildmode=plugin -o {plugin.out_path} {plugin.build_path}"


def _plugin_copies(plan: BuildPlan, plugin: PlannedPlugin) -> list[str]:
    """A custom plugin stage's COPY lines: the plugin, and the local modules its go.mod
    replaces (each stage has what its plugin needs, so an edit rebuilds only that stage)."""
    lines = [f"COPY {CTX_PLUGINS}/{plugin.name}/ ./{plugin.source_dir}/"]
    module = plan.modules.plugin(plugin.name)
    if module is not None:
        by_index = {ld.index: ld for ld in plan.modules.local_dirs}
        for index in module.local:
            local = by_index[index]
            lines.append(f"COPY {local.context_dir}/ ./{local.builder_dir}/")
    return lines


def _plugin_stage(plan: BuildPlan, plugin: PlannedPlugin, base: str, run_prefix: str) -> list[str]:
    return [
        "",
        f"# Custom plugin {plugin.name} ({plugin.kind}): its own stage, rebuilt alone when it "
        "changes.",
        f"FROM {base} AS {plugin.stage}",
        *_plugin_copies(plan, plugin),
        f"RUN {run_prefix}{_plugin_build(plugin)}",
    ]


def _classic_plugin_stages(plan: BuildPlan) -> list[str]:
    base = MODULES_STAGE if plan.modules.merged else HOST_STAGE
    lines: list[str] = []
    for plugin in _custom_built(plan):
        lines += _plugin_stage(plan, plugin, base, "")
    return lines


def _loadcheck_run(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    if not (plan.check_package and plan.plugins):
        return []
    return [f"RUN {' '.join(_check_env(resolved, plan))} {LOADCHECK_BINARY}"]


def _check_env(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """The load check's environment: every plugin, the symbol, and the bundled plugins whose
    symbol type is the default for the custom ones."""
    loading = resolved.project.loading
    env = [f"{LOADCHECK_ENV}=" + ":".join(p.out_path for p in plan.plugins)]
    if loading.symbol:
        env.append(f"{LOADCHECK_SYMBOL_ENV}={loading.symbol}")
        bundled = [p.out_path for p in _bundled(plan)]
        if not loading.symbol_type and bundled:
            env.append(f"{LOADCHECK_REFERENCE_ENV}=" + ":".join(bundled))
    return env


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
        f"FROM {plan.builder_ref} AS {SOURCE_STAGE}",
        *_package_layer(plan.builder_package_manager, plan.builder_packages, "builder"),
        _env(
            [
                *_go_env(resolved, plan.goflags, _host_module_env(plan)),
                ("GOCACHE", GOCACHE_DIR),
            ]
        ),
        f"WORKDIR {SRC_DIR}",
    ]
    lines += _module_lines(resolved, plan)
    lines.append(f"COPY {CTX_HOST}/ ./")
    lines += _upgraded_module_files(plan)
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


def _buildkit_modules_base(plan: BuildPlan) -> str:
    # From the bundled plugins' stage: the host packages they compiled for plugins are in
    # the cache mount by then, so custom plugins do not compile them again side by side.
    return BUNDLED_STAGE if _bundled(plan) else SOURCE_STAGE


def _buildkit_plugin_stages(plan: BuildPlan, mount: str) -> list[str]:
    base = MODULES_STAGE if plan.modules.merged else _buildkit_modules_base(plan)
    lines: list[str] = []
    for plugin in _custom_built(plan):
        lines += _plugin_stage(plan, plugin, base, mount)
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
    add(f"FROM {plan.runtime_ref}")
    lines.extend(_package_layer(plan.runtime_package_manager, plan.runtime_packages, "runtime"))
    runtime_digest = plan.runtime_base.digest if plan.runtime_base else None
    labels = [
        ("org.opencontainers.image.source", redact_url(host.repo)),
        ("org.opencontainers.image.revision", resolved.sha),
        ("dev.plugwiz.host.module", facts.gomod.module),
        ("dev.plugwiz.plugins", ",".join(plan.runtime_plugin_paths)),
        ("dev.plugwiz.go-version", facts.gomod.toolchain.removeprefix("go") or facts.gomod.go),
        ("dev.plugwiz.builder", plan.builder_image),
        *provenance_labels(resolved, plan.runtime_image, runtime_digest),
    ]
    if plan.modules.upgrades:
        labels.append((LABEL_UPGRADED, plan.modules.upgrade_label))
    add("LABEL " + " \\\n      ".join(f"{k}={dockerfile_string(v, k)}" for k, v in labels))
    add(f"WORKDIR {APP_DIR}")
    lines.extend(_runtime_user_lines(plan))
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
    lines.extend(_writable_lines(plan))
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
