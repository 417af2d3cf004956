"""The exact Dockerfile for representative projects, and the rules behind it."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from plugwiz.core.model import (
    BundledPlugin,
    ExtraFile,
    GoMod,
    Host,
    HostFacts,
    Images,
    PluginLoading,
    PluginSource,
    Project,
    ProjectError,
    ResolvedProject,
)
from plugwiz.core.plan import plan_build
from plugwiz.core.render import render_dockerfile
from tests.helpers import TEST_SHA as SHA
from tests.helpers import resolved_for

GOLDEN = Path(__file__).parent / "golden"

DEMO_FACTS = HostFacts(
    gomod=GoMod(module="example.com/plugwiz-demo", go="1.19"),
    main_packages=("cmd/demo-host",),
    plugin_packages=("plugins/reverse", "plugins/upper"),
)
VENDORED_FACTS = HostFacts(
    gomod=GoMod(module="example.com/realhost", go="1.12", requires=("example.org/colors",)),
    main_packages=("cmd/realhost",),
    plugin_packages=("plugins/audit",),
    has_go_sum=False,
    vendored=True,
    imports=("example.org/colors", "example.org/colors/names"),
)


def demo(facts: HostFacts = DEMO_FACTS, sha: str = SHA, **changes: object) -> ResolvedProject:
    base = Project(
        host=Host(repo="https://example.com/demo.git", ref="main", commit=SHA),
        plugins=(PluginSource("plugins/hello.go"),),
        tag="demo:latest",
        base_dir=Path("/nonexistent"),
    )
    return resolved_for(replace(base, **changes), facts, sha=sha)  # type: ignore[arg-type]


PROJECTS: dict[str, ResolvedProject] = {
    "single-file": demo(),
    "directory": demo(plugins=(PluginSource("plugins/multi", name="multi"),)),
    "prebuilt": demo(plugins=(PluginSource("build/legacy.so"), PluginSource("plugins/hello.go"))),
    "no-flag": demo(
        loading=PluginLoading(flag="", directory="/usr/lib/demo/plugins", extension=".prov"),
        bundled=(BundledPlugin("plugins/upper", name="caps"),),
    ),
    "build-command": demo(
        host=Host(
            repo="/src/demo",
            ref="v1.0.0",
            commit=SHA,
            build_command=("make", "build", "VERSION=1.0 $(x)"),
            binary="bin/demo-host",
        ),
        loading=PluginLoading(extra_args=("--config", "/etc/demo/config.toml"), symbol="New"),
        files=(
            ExtraFile("config/demo.toml", "/etc/demo/config.toml"),
            ExtraFile("host:static", "/app/static"),
        ),
    ),
    "vendored": resolved_for(
        Project(
            host=Host(
                repo="file:///repos/realhost.git",
                ref="main",
                commit=SHA,
                build_flags=("-tags=netgo",),
            ),
            plugins=(PluginSource("plugins/multi"),),
            loading=PluginLoading(
                flag="--plugin", extra_args=("--config", "/etc/realhost/config.json")
            ),
            images=Images(builder="golang:1.19-bookworm", runtime="debian:bookworm-slim"),
            tag="realhost:plugins",
        ),
        VENDORED_FACTS,
    ),
}


@pytest.mark.parametrize("buildkit", [False, True], ids=["classic", "buildkit"])
@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_dockerfile_matches_golden(name: str, buildkit: bool) -> None:
    text = render_dockerfile(PROJECTS[name], buildkit=buildkit)
    golden = GOLDEN / f"{name}{'.buildkit' if buildkit else ''}.Dockerfile"
    if os.environ.get("PLUGWIZ_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("buildkit", [False, True], ids=["classic", "buildkit"])
@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_cmd_and_copy_come_from_one_plugin_list(name: str, buildkit: bool) -> None:
    project = PROJECTS[name]
    text = render_dockerfile(project, buildkit=buildkit)
    plan = plan_build(project)
    runtime = text.split("# Runtime:")[1]
    # Bundled and custom plugins are copied by separate lines (the cache), in plan order.
    copy_lines = [line for line in runtime.splitlines() if "/out/plugins/" in line]
    copied = [name for line in copy_lines for name in re.findall(r"/out/plugins/(\S+)", line)]
    if re.search(r"^COPY --from=\S+ /out/ /app/$", runtime, re.MULTILINE):
        # The host stage's whole /out: what its RUN built into /out/plugins comes first.
        host_stage = text.split(" AS host\n")[1].split("\nFROM ")[0]
        copied = re.findall(r"-buildmode=plugin -o /out/plugins/(\S+)", host_stage) + copied
    assert copied == [p.file_name for p in plan.plugins]
    cmd = plan.cmd(project.project)
    if project.project.loading.flag:
        assert [arg for arg in cmd if arg.startswith(plan.plugin_dir)] == plan.runtime_plugin_paths
    else:
        assert not any(arg.startswith(plan.plugin_dir) for arg in cmd)
    # Every plugin is opened by the load check.
    check = re.search(r"PLUGWIZ_LOADCHECK=(\S+)", text)
    assert check is not None
    assert check.group(1).split(":") == [p.out_path for p in plan.plugins]


def test_render_is_deterministic() -> None:
    assert render_dockerfile(PROJECTS["build-command"]) == render_dockerfile(
        PROJECTS["build-command"]
    )


def test_layers_are_ordered_for_the_cache() -> None:
    text = render_dockerfile(PROJECTS["vendored"])
    order = [
        text.index("COPY host/go.mod ./"),
        text.index("COPY host/vendor/ ./vendor/"),
        # Third-party packages, compiled before the tree: a new commit reuses them.
        text.index("go list -e -export -deps -f ''"),
        text.index("COPY host/ ./"),
        text.index("go build -o /out/realhost ./cmd/realhost"),
        text.index("./plugins/audit"),
        text.index("FROM host AS plugin-1"),
        text.index(" AS check"),
    ]
    assert order == sorted(order)
    # No -trimpath: every plugin is built here, in the host's directory.
    assert 'GOFLAGS="-tags=netgo -mod=vendor"' in text
    assert "set -- example.org/colors example.org/colors/names &&" in text


def test_host_and_load_check_build_beside_the_first_bundled_plugin() -> None:
    text = render_dockerfile(PROJECTS["vendored"])
    run = text[text.index("RUN mkdir -p /out/plugins") :].split("\n\n")[0]
    background = run.index("} &")
    # The host, then the load check from the host's own main package, in the background...
    assert run.index("go build -o /out/realhost ./cmd/realhost") < background
    assert run.index("go build -o /plugwiz/loadcheck ./cmd/realhost") < background
    # ...while the bundled plugins build; a failed host build fails the RUN.
    assert background < run.index("./plugins/audit") < run.index("wait $!")
    assert run.rstrip().endswith("wait $!; }")
    # The check file is only in the tree for the check's build, never in the host's.
    assert run.index("go build -o /out/realhost") < run.index("cp /plugwiz/loadcheck.go")
    assert run.index("go build -o /plugwiz/loadcheck") < run.index("rm cmd/realhost/zz_plugwiz")


def test_load_check_stage_starts_from_the_last_plugin_stage() -> None:
    project = demo(plugins=(PluginSource("a.go"), PluginSource("b.go")))
    text = render_dockerfile(project)
    check = text[text.index(" AS check") :].split("\n\n")[0]
    assert "FROM plugin-2 AS check" in text
    assert "COPY --from=plugin-1 /out/plugins/a.so /out/plugins/a.so" in check
    assert "--from=plugin-2" not in check
    assert "/plugwiz/loadcheck" in check.splitlines()[-1]


def test_each_custom_plugin_has_its_own_stage_from_host() -> None:
    project = demo(plugins=(PluginSource("a.go"), PluginSource("b.go"), PluginSource("c")))
    text = render_dockerfile(project)
    assert text.count("FROM host AS plugin-") == 3
    assert "COPY plugins/b/ ./plugwiz_plugins/b/" in text


def test_credentials_never_reach_the_dockerfile() -> None:
    project = demo(host=Host(repo="https://alice:ghp_SECRET123456@example.com/x.git", commit=SHA))
    text = render_dockerfile(project)
    assert "ghp_SECRET123456" not in text
    assert "alice" not in text
    assert 'org.opencontainers.image.source="https://example.com/x.git"' in text


def test_builder_follows_go_mod_and_runtime_follows_builder() -> None:
    facts = replace(DEMO_FACTS, gomod=GoMod(module="m", go="1.22.3"))
    assert plan_build(demo(facts=facts)).builder_image == "golang:1.22-bookworm"
    facts = replace(DEMO_FACTS, gomod=GoMod(module="m", go="1.22", toolchain="go1.22.5"))
    plan = plan_build(demo(facts=facts))
    assert (plan.builder_image, plan.runtime_image) == (
        "golang:1.22.5-bookworm",
        "debian:bookworm-slim",
    )
    plan = plan_build(demo(images=Images(builder="golang:1.22-alpine3.19")))
    assert plan.runtime_image == "alpine:3.19"
    assert plan.warnings == ()


def test_libc_mismatch_is_warned_about() -> None:
    plan = plan_build(demo(images=Images(builder="golang:1.22-bookworm", runtime="alpine:3.19")))
    assert any("glibc" in w and "musl" in w for w in plan.warnings)
    assert "# Warning: the builder image golang:1.22-bookworm uses glibc" in render_dockerfile(
        demo(images=Images(builder="golang:1.22-bookworm", runtime="alpine:3.19"))
    )


@pytest.mark.parametrize(
    ("project", "message"),
    [
        (demo(plugins=(PluginSource("x/upper.go"),)), "upper.so"),
        (demo(plugins=(PluginSource("a/x.go"), PluginSource("b/x.go"))), "another plugin"),
        (demo(plugins=(PluginSource("a.go", name="bad name"),)), "is not allowed"),
        (demo(loading=PluginLoading(extension="so")), "extension"),
        (demo(sha="abc"), "resolved"),
        (demo(host=Host(repo="r", commit=SHA, build_command=("make",))), "binary"),
        (demo(host=Host(repo="r", commit=SHA, build_flags=("-ldflags=-s -w",))), "GOFLAGS"),
        (demo(files=(ExtraFile("a", "relative/path"),)), "absolute"),
        (demo(files=(ExtraFile("a", "/etc/../x"),)), "'..'"),
        (demo(host=Host(repo="r", commit=SHA, main_package="./cmd/$(reboot)")), "not allowed"),
        (demo(facts=replace(DEMO_FACTS, main_packages=())), "no main package"),
    ],
)
def test_unbuildable_projects_are_refused_with_a_reason(
    project: ResolvedProject, message: str
) -> None:
    with pytest.raises(ProjectError, match=re.escape(message)):
        render_dockerfile(project)


def test_a_plugin_edit_changes_only_the_layers_after_its_own() -> None:
    # The classic builder's cache: everything before the first changed layer is reused.
    text = render_dockerfile(PROJECTS["single-file"])
    host_stage = text.split("FROM toolchain AS host")[1].split("FROM host AS plugin-1")[0]
    assert host_stage.count("\nRUN ") == 1  # host and bundled plugins: one container, one commit
    runtime = text.split("# Runtime:")[1].splitlines()
    first_copy = next(i for i, line in enumerate(runtime) if line.startswith("COPY "))
    assert any(line.startswith("CMD ") for line in runtime[:first_copy])
    copies = [line for line in runtime if line.startswith("COPY --from=")]
    assert copies == [
        "COPY --from=host /out/ /app/",  # the host and its bundled plugins
        "COPY --from=check /out/plugins/hello.so /app/plugins/",
    ]


def test_runtime_copies_for_another_plugin_dir_or_no_custom_plugin() -> None:
    project = PROJECTS["single-file"].project
    elsewhere = replace(project, loading=replace(project.loading, directory="/opt/plugins"))
    text = render_dockerfile(resolved_for(elsewhere, DEMO_FACTS))
    runtime = text.split("# Runtime:")[1].splitlines()
    assert [line for line in runtime if line.startswith("COPY --from=")] == [
        "COPY --from=host /out/demo-host /app/demo-host",
        "COPY --from=host /out/plugins/reverse.so /out/plugins/upper.so /opt/plugins/",
        "COPY --from=check /out/plugins/hello.so /opt/plugins/",
    ]
    # Without custom plugins the files come from the check stage, so that BuildKit, which
    # builds only the stages the image uses, still runs the load check.
    text = render_dockerfile(resolved_for(replace(project, plugins=()), DEMO_FACTS))
    assert "COPY --from=check /out/ /app/" in text.split("# Runtime:")[1]
    assert "--from=host" not in text.split("# Runtime:")[1]
