"""The stage layouts that make a build fast: the toolchain stage (classic), the dependency
step, `-trimpath` only when needed, and BuildKit's parallel stages with cache mounts."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from plugwiz.core.detect import detect_host, external_imports, go_imports
from plugwiz.core.model import (
    GoMod,
    Host,
    HostFacts,
    PluginKind,
    PluginSource,
    Project,
)
from plugwiz.core.plan import TOOLCHAIN_PACKAGES, needs_trimpath, plan_build
from plugwiz.core.render import render_dockerfile
from tests.helpers import resolved_for

FACTS = HostFacts(
    gomod=GoMod(module="example.com/plugwiz-demo", go="1.19"),
    main_packages=("cmd/demo-host",),
    plugin_packages=("plugins/reverse", "plugins/upper"),
)
OTHER_FACTS = HostFacts(
    gomod=GoMod(module="example.net/relay", go="1.12", requires=("example.net/zlog",)),
    main_packages=("main",),
    plugin_packages=("plugins/webhook",),
    vendored=True,
    imports=("example.net/router", "example.net/zlog"),
)


def project(**changes: object) -> Project:
    base = Project(
        host=Host(repo="/src/demo", ref="main"),
        plugins=(PluginSource("plugins/hello.go"),),
        base_dir=Path("/nonexistent"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def stage(text: str, name: str) -> str:
    """The text of stage `name` (from its FROM line to the next stage)."""
    start = text.index(f" AS {name}\n")
    start = text.rindex("\nFROM ", 0, start) + 1
    end = text.find("\nFROM ", start + 1)
    body = text[start:] if end < 0 else text[start:end]
    return body.rsplit("\n\n#", 1)[0]


def test_the_toolchain_stage_depends_only_on_the_builder_and_the_flags() -> None:
    demo = render_dockerfile(resolved_for(project(), FACTS))
    other = render_dockerfile(
        resolved_for(
            project(host=Host(repo="/src/relay", ref="v2", main_package="./main"), plugins=()),
            OTHER_FACTS,
            sha="f" * 40,
        )
    )
    # Another host, commit, module and plugin set: the same stage, so the same cached layer.
    assert stage(demo, "toolchain") == stage(other, "toolchain")
    toolchain = stage(demo, "toolchain")
    assert toolchain.startswith("FROM golang:1.19-bookworm AS toolchain\n")
    assert "COPY" not in toolchain
    for package in ("net/http", "encoding/json", "plugin", "crypto/tls"):
        assert re.search(rf"\s{re.escape(package)}\s", toolchain)
    # Compiled for executables and for plugins (-dynlink), without linking anything.
    assert "go list -e -export -f '' \"$@\"" in toolchain
    assert "go list -e -export -buildmode=plugin -f '' \"$@\"" in toolchain
    assert "FROM toolchain AS host" in demo
    # Other flags, another toolchain stage (the flags change the compiled code).
    flagged = render_dockerfile(
        resolved_for(project(host=Host(repo="/src/demo", build_flags=("-tags=netgo",))), FACTS)
    )
    assert stage(flagged, "toolchain") != stage(demo, "toolchain")
    assert 'GOFLAGS="-tags=netgo"' in stage(flagged, "toolchain")


def test_the_toolchain_stage_leaves_out_mod_flags_it_cannot_use() -> None:
    # `go list std` outside a module refuses -mod=vendor; it changes no compiled code anyway.
    text = render_dockerfile(
        resolved_for(project(host=Host(repo="/src/relay", main_package="./main")), OTHER_FACTS)
    )
    assert 'GOFLAGS=""' in stage(text, "toolchain")
    assert 'ENV GOFLAGS="-mod=vendor"' in stage(text, "host")
    assert plan_build(resolved_for(project(), OTHER_FACTS)).toolchain_goflags == ()


def test_third_party_packages_are_compiled_before_the_host_tree() -> None:
    text = render_dockerfile(
        resolved_for(project(host=Host(repo="/src/relay", main_package="./main")), OTHER_FACTS)
    )
    host = stage(text, "host")
    deps = host.index("set -- example.net/router example.net/zlog")
    assert host.index("COPY host/vendor/ ./vendor/") < deps < host.index("COPY host/ ./")
    assert "go list -e -export -deps -f ''" in host[deps:]
    # No imports from other modules: no step.
    assert "-deps" not in stage(render_dockerfile(resolved_for(project(), FACTS)), "host")


def test_odd_import_paths_never_reach_the_run_line() -> None:
    facts = replace(OTHER_FACTS, imports=("example.net/ok", "example.net/$(reboot)", "x.y/a b"))
    plan = plan_build(resolved_for(project(host=Host(repo="/r", main_package="./main")), facts))
    assert plan.dependencies == ("example.net/ok",)


def test_trimpath_only_for_a_plugin_built_elsewhere() -> None:
    plain = resolved_for(project(), FACTS)
    assert not needs_trimpath(plain)
    assert "-trimpath" not in plan_build(plain).goflags
    prebuilt = resolved_for(
        project(plugins=(PluginSource("legacy.so"), PluginSource("hello.go"))),
        FACTS,
        kinds=[PluginKind.PREBUILT, PluginKind.FILE],
    )
    assert needs_trimpath(prebuilt)
    assert plan_build(prebuilt).goflags[0] == "-trimpath"
    asked = resolved_for(project(host=Host(repo="/r", build_flags=("-trimpath",))), FACTS)
    assert plan_build(asked).goflags == ("-trimpath",)


def test_buildkit_layout_builds_host_and_plugins_in_parallel_with_cache_mounts() -> None:
    resolved = resolved_for(project(plugins=(PluginSource("a.go"), PluginSource("b.go"))), FACTS)
    text = render_dockerfile(resolved, buildkit=True)
    assert "AS toolchain" not in text  # the cache mount is the toolchain's cache
    # host and bundled both start from the tree: BuildKit runs them at once.
    assert "FROM source AS host" in text and "FROM source AS bundled" in text
    # custom plugins start from the bundled stage, whose compiled packages they reuse...
    assert "FROM bundled AS plugin-1" in text and "FROM bundled AS plugin-2" in text
    # ...and the check gathers them beside the host.
    check = stage(text, "check")
    assert check.startswith("FROM host AS check")
    assert "COPY --from=bundled /out/plugins/ /out/plugins/" in check
    assert "COPY --from=plugin-1 /out/plugins/a.so /out/plugins/a.so" in check
    # Every Go command runs with the Go build cache mounted.
    go_runs = [line for line in text.splitlines() if line.startswith("RUN ") and "go " in line]
    assert go_runs and all(
        line.startswith("RUN --mount=type=cache,id=plugwiz-go-build,target=/root/.cache/go-build ")
        for line in go_runs
    )
    assert 'GOCACHE="/root/.cache/go-build"' in text
    # The final stage needs the check stage, so BuildKit runs the load check.
    assert "COPY --from=check /out/plugins/a.so /out/plugins/b.so /app/plugins/" in text
    named = render_dockerfile(resolved, buildkit=True).replace("plugwiz-go-build", "X")
    assert "id=X," in named


def test_buildkit_without_custom_plugins_still_runs_the_check() -> None:
    text = render_dockerfile(resolved_for(project(plugins=()), FACTS), buildkit=True)
    runtime = text.split("# Runtime:")[1]
    assert "COPY --from=check /out/demo-host /app/" in runtime
    assert "COPY --from=check /out/plugins/reverse.so /out/plugins/upper.so /app/plugins/" in (
        runtime
    )


def test_imports_are_read_from_the_host_tree() -> None:
    source = b"""package main
// import "commented/out"
import "fmt"
import (
    "net/http"
    log "example.com/log/v2"
    _ "github.com/lib/pq" // driver
    . "example.com/dot"
    "example.com/host/api"
)
"""
    found = go_imports(source)
    assert found == [
        "fmt",
        "net/http",
        "example.com/log/v2",
        "github.com/lib/pq",
        "example.com/dot",
        "example.com/host/api",
    ]
    assert external_imports(set(found), "example.com/host") == (
        "example.com/dot",
        "example.com/log/v2",
        "github.com/lib/pq",
    )
    files = {
        "go.mod": b"module example.com/host\n\ngo 1.19\n",
        "cmd/host/main.go": b'package main\nimport "example.org/x"\nfunc main() {}\n',
        "cmd/host/main_test.go": b'package main\nimport "example.org/testonly"\n',
        "vendor/example.org/x/x.go": b'package x\nimport "example.org/deeper"\n',
    }
    facts = detect_host(sorted(files), files.get)
    assert facts.imports == ("example.org/x",)


def test_toolchain_packages_are_standard_ones() -> None:
    assert all("." not in p.split("/")[0] for p in TOOLCHAIN_PACKAGES)
    assert len(set(TOOLCHAIN_PACKAGES)) == len(TOOLCHAIN_PACKAGES)
