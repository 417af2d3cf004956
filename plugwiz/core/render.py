"""The Dockerfile text, emitted from the build plan (`plugwiz.core.plan`): pure.

Stage layout, chosen for the classic builder's layer cache:

1. `host`: module files and downloads, then the host tree at the pinned SHA, and one RUN that
   builds the host, the load-check binary (the host's main package linked again with one extra
   init file) and the bundled plugins, the host side in parallel with the plugins. It
   changes only when the host commit, images or flags change (or an allowed module upgrade).
   `modules` (only when some plugin is a Go module of its own): `FROM host`, the host's go.mod
   merged with the plugins' and the downloads only they need (see plugwiz.core.modules).
2. one `plugin-N` stage per custom plugin, each `FROM host` (or `modules`), so editing one
   plugin rebuilds only that plugin (on top of the Go build cache the host stage left).
3. `check`: from the last plugin stage, the other plugins copied next to its own, then the
   load-check binary opens every plugin and exits; a plugin that would not load fails here.
4. the runtime stage: the host binary, the checked plugins and the extra files, nothing else.
   Its CMD comes from the same plugin list as its COPY lines.
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
from plugwiz.core.plan import (
    CTX_HOST,
    CTX_LOADCHECK,
    CTX_PLUGINS,
    CTX_PREBUILT,
    LABEL_UPGRADED,
    LOADCHECK_BINARY,
    LOADCHECK_ENV,
    LOADCHECK_FILE,
    LOADCHECK_REFERENCE_ENV,
    LOADCHECK_SOURCE,
    LOADCHECK_SYMBOL_ENV,
    OUT_DIR,
    SRC_DIR,
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


def _module_steps(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """The host stage's module steps before the host tree: its module files and downloads (or
    vendor/), so that their layers survive every host commit that keeps them. The plugins'
    modules are not here (see `_modules_stage`): they do not change the host."""
    facts = resolved.facts
    modules = plan.modules
    own = [f"{CTX_HOST}/go.mod"] + ([f"{CTX_HOST}/go.sum"] if facts.has_go_sum else [])
    if modules.vendored:
        return [f"COPY {' '.join(own)} ./", f"COPY {CTX_HOST}/vendor/ ./vendor/"]
    if not (facts.gomod.requires or modules.upgrades):
        return []
    lines = ["# Dependencies first: their layer survives every host commit that keeps go.mod."]
    if modules.upgrades:
        lines.append(f"COPY {CTX_HOST_MODULES}/ ./")
    else:
        lines.append(f"COPY {' '.join(own)} ./")
    if modules.delivery == "context" and modules.host_needs:
        lines.append("# Modules sent with the build (a file-based proxy): no network needed.")
        lines.append(f"COPY {CTX_HOST_GOPROXY}/ {GOPROXY_DIR}/")
    lines.append("RUN go mod download")
    return lines


def _upgraded_module_files(plan: BuildPlan) -> list[str]:
    """After the host tree (which brings the host's own module files back): the host's module
    files with the upgrades the project allows, and for a vendored host the new versions'
    packages in place of the old ones."""
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


def _modules_stage(plan: BuildPlan) -> list[str]:
    """The `modules` stage, when plugins are modules of their own: the host's go.mod merged
    with theirs, and what only they need. Every custom plugin stage starts from it, so a
    plugin's go.mod edit rebuilds this and the plugins, never the host."""
    modules = plan.modules
    if not modules.merged:
        return []
    lines = [
        "",
        "# The plugins' modules: go.mod merged with theirs (one build list, the host's).",
        f"FROM host AS {MODULES_STAGE}",
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
    return lines + _warm_steps(plan)


def _warm_steps(plan: BuildPlan) -> list[str]:
    """Compile what the plugin modules import from outside themselves, as plugin code, once:
    a plugin's rebuild then compiles only its own packages. Only a cache: if it fails, the
    plugin stages compile everything (and report any real error)."""
    if not plan.modules.warm_imports:
        return []
    out = f"/tmp/{WARM_DIR}.so"
    return [
        "# Their imports compiled once, so a plugin edit compiles only that plugin's packages.",
        f"COPY {CTX_WARM}/ ./{WARM_DIR}/",
        f"RUN go build -buildmode=plugin -o {out} ./{WARM_DIR} "
        f'|| echo "plugwiz: warming the build cache failed (the plugin stages compile it all)"; '
        f"rm -rf {out} ./{WARM_DIR}",
    ]


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


def _check_env(resolved: ResolvedProject, plan: BuildPlan) -> list[str]:
    """The load check's environment: every plugin, the symbol, and the bundled plugins whose
    symbol type is the default for the custom ones."""
    loading = resolved.project.loading
    env = [f"{LOADCHECK_ENV}=" + ":".join(p.out_path for p in plan.plugins)]
    if loading.symbol:
        env.append(f"{LOADCHECK_SYMBOL_ENV}={loading.symbol}")
        bundled = [p.out_path for p in plan.plugins if p.kind == "bundled"]
        if not loading.symbol_type and bundled:
            env.append(f"{LOADCHECK_REFERENCE_ENV}=" + ":".join(bundled))
    return env


def render_dockerfile(resolved: ResolvedProject) -> str:
    """The Dockerfile for a resolved project; byte-for-byte the same for the same project and
    SHA. Raises ProjectError (from planning) for a person."""
    return emit_dockerfile(resolved, plan_build(resolved))


def emit_dockerfile(resolved: ResolvedProject, plan: BuildPlan) -> str:
    """The Dockerfile text for `plan` (made by `plan_build(resolved)`)."""
    project = resolved.project
    facts = resolved.facts
    host = project.host
    lines: list[str] = []
    add = lines.append
    plugin_names = " ".join(p.file_name for p in plan.plugins) or "(none)"
    add("# Generated by plugwiz: edit the project (plugwiz.yaml), not this file.")
    add(f"# Host: {facts.gomod.module} at {resolved.sha}")
    add(f"# Plugins: {plugin_names}")
    for warning in plan.warnings:
        add(f"# Warning: {warning}")
    for use in plan.modules.upgrades:
        add(
            f"# Upgraded for the plugins: {use.module} {use.host_version} -> {use.plugin_version}"
            f" (modules.upgrade; {', '.join(use.plugins)})"
        )
    add("")
    add("# Toolchain, modules, host and bundled plugins: cached until the host commit changes.")
    add(f"FROM {plan.builder_image} AS host")
    env = [
        ("CGO_ENABLED", "1"),
        ("GOFLAGS", " ".join(plan.goflags)),
        ("GOTOOLCHAIN", "local"),
        ("GOWORK", "off"),
        # Module settings here only when the host downloads: else the plugins' modules would
        # change the host stage.
        *(plan.module_env if plan.modules.host_needs else ()),
        *host.build_env,
    ]
    add(
        "ENV " + " \\\n    ".join(f"{name}={dockerfile_string(value, name)}" for name, value in env)
    )
    add(f"WORKDIR {SRC_DIR}")
    lines.extend(_module_steps(resolved, plan))
    add(f"COPY {CTX_HOST}/ ./")
    lines.extend(_upgraded_module_files(plan))
    if plan.check_package:
        add(f"COPY {CTX_LOADCHECK} {LOADCHECK_SOURCE}")
    lines.extend(_host_run(resolved, plan))

    custom_built = [p for p in plan.plugins if p.kind != "bundled" and p.build_path]
    lines.extend(_modules_stage(plan))
    plugin_base = MODULES_STAGE if plan.modules.merged else "host"
    for plugin in custom_built:
        add("")
        add(
            f"# Custom plugin {plugin.name} ({plugin.kind}): "
            "its own stage, rebuilt alone when it changes."
        )
        add(f"FROM {plugin_base} AS {plugin.stage}")
        lines.extend(_plugin_copies(plan, plugin))
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
        add(f"RUN {' '.join(_check_env(resolved, plan))} {LOADCHECK_BINARY}")

    add("")
    add("# Runtime: the host, its plugins and extra files; no toolchain.")
    add(f"FROM {plan.runtime_image}")
    labels = [
        ("org.opencontainers.image.source", redact_url(host.repo)),
        ("org.opencontainers.image.revision", resolved.sha),
        ("dev.plugwiz.host.module", facts.gomod.module),
        ("dev.plugwiz.plugins", ",".join(plan.runtime_plugin_paths)),
        ("dev.plugwiz.go-version", facts.gomod.toolchain.removeprefix("go") or facts.gomod.go),
        ("dev.plugwiz.builder", plan.builder_image),
    ]
    if plan.modules.upgrades:
        labels.append((LABEL_UPGRADED, plan.modules.upgrade_label))
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
