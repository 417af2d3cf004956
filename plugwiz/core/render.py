"""The Dockerfile text, emitted from the build plan (`plugwiz.core.plan`): pure.

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

from plugwiz.core.model import APP_DIR, ResolvedProject
from plugwiz.core.packages import install_command
from plugwiz.core.plan import (
    CTX_HOST,
    CTX_LOADCHECK,
    CTX_PLUGINS,
    CTX_PREBUILT,
    CUSTOM_PLUGIN_DIR,
    LOADCHECK_BINARY,
    LOADCHECK_ENV,
    LOADCHECK_FILE,
    LOADCHECK_SOURCE,
    LOADCHECK_SYMBOL_ENV,
    OUT_DIR,
    SRC_DIR,
    BuildPlan,
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
    lines.extend(_base_image_notes(plan))
    add("")
    add("# Toolchain, modules, host and bundled plugins: cached until the host commit changes.")
    add(f"FROM {plan.builder_ref} AS host")
    lines.extend(_package_layer(plan.builder_package_manager, plan.builder_packages, "builder"))
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
    lines.extend(_host_run(resolved, plan))

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
    add("LABEL " + " \\\n      ".join(f"{k}={dockerfile_string(v, k)}" for k, v in labels))
    add(f"WORKDIR {APP_DIR}")
    lines.extend(_runtime_user_lines(plan))
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
    lines.extend(_writable_lines(plan))
    return "\n".join(lines) + "\n"
