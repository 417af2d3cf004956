"""The project model: plugin kinds, output names, effective values."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugwiz.core.model import (
    BundledPlugin,
    GoMod,
    Host,
    HostFacts,
    PluginKind,
    PluginSource,
    Project,
    ProjectError,
    check_name,
    effective_bundled,
    effective_main_package,
    guess_plugin_kind,
    plugin_clashes,
)


@pytest.mark.parametrize(
    ("source", "kind", "name"),
    [
        ("plugins/hello.go", PluginKind.FILE, "hello"),
        ("/abs/My Plugin.GO", PluginKind.FILE, "My-Plugin"),
        ("plugins/multi/", PluginKind.DIRECTORY, "multi"),
        ("build/legacy.so", PluginKind.PREBUILT, "legacy"),
        ("weird/$(rm -rf)`x`.go", PluginKind.FILE, "rm-rf-x"),
        ("../..", PluginKind.DIRECTORY, "plugin"),
        ("ünïcode.go", PluginKind.FILE, "n-code"),
        ("drift.prov", PluginKind.DIRECTORY, "drift"),
        ("plugins/v1.2", PluginKind.DIRECTORY, "v1.2"),
        ("demo:hello.go", PluginKind.FILE, "hello"),
    ],
)
def test_kind_and_default_name(source: str, kind: PluginKind, name: str) -> None:
    plugin = PluginSource(source)
    assert guess_plugin_kind(source) is kind
    assert plugin.output_name == name
    assert check_name(plugin.output_name) == name


def test_explicit_name_wins_and_is_checked() -> None:
    assert PluginSource("a.go", name="b").output_name == "b"
    with pytest.raises(ProjectError, match="not allowed"):
        check_name("../etc")


FACTS = HostFacts(
    gomod=GoMod(module="example.com/h"),
    main_packages=("cmd/h", "cmd/tool"),
    plugin_packages=("plugins/a",),
)


def test_effective_values_follow_detection_unless_overridden() -> None:
    project = Project()
    assert effective_main_package(project, FACTS) == "./cmd/h"
    assert effective_bundled(project, FACTS) == (BundledPlugin("plugins/a"),)
    assert effective_bundled(project, None) == ()
    project = Project(host=Host(main_package="cmd/tool"), bundled=())
    assert effective_main_package(project, FACTS) == "./cmd/tool"
    assert effective_bundled(project, FACTS) == ()
    assert effective_main_package(Project(host=Host(build_command=("make",))), FACTS) == ""


def test_relative_sources_are_relative_to_the_project_file() -> None:
    project = Project(base_dir=Path("/work/p"))
    assert project.source_path("plugins/x.go") == Path("/work/p/plugins/x.go")
    assert project.source_path("/abs/x.go") == Path("/abs/x.go")


def test_plugin_clashes_name_the_later_plugin_in_one_wording() -> None:
    project = Project(
        plugins=(
            PluginSource("x/a.go"),
            PluginSource("b/hello.go"),
            PluginSource("c/hello.go"),
            PluginSource("d/ok.go"),
        ),
    )
    clashes = plugin_clashes(project, FACTS)
    assert [(c.custom_index, c.message) for c in clashes] == [
        (
            0,
            "two plugins would be written to a.so: 'a' collides with a bundled plugin; "
            "rename one (plugins: name: ...)",
        ),
        (
            2,
            "two plugins would be written to hello.so: 'hello' collides with another plugin; "
            "rename one (plugins: name: ...)",
        ),
    ]
    # Leaving the bundled plugin out, or renaming, removes the clash.
    assert plugin_clashes(Project(plugins=(PluginSource("x/a.go"),), bundled=()), FACTS) == ()
