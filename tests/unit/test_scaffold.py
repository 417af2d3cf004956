"""`plugwiz new` without Docker: what it copies, renames and writes, read through the real
repository port (git) at the resolved commit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from plugwiz.core.model import BundledPlugin, Host, PluginLoading, Project
from plugwiz.core.project_file import ProjectDocument
from plugwiz.core.resolve import demo_project
from plugwiz.core.scaffold import (
    LookedUpSymbol,
    NoBundledPluginError,
    ScaffoldError,
    looked_up_symbol,
    new_plugin,
    skeleton_plugin,
    with_new_plugin,
    write_plugin,
)
from plugwiz.service import open_repo, resolve
from tests.helpers import FIXTURES, make_git_repo


@pytest.fixture
def server_host(tmp_path: Path) -> Path:
    """The server-style fixture host (bundled plugin `greeter` in three files) as a repo."""
    host = tmp_path / "serverhost"
    make_git_repo(FIXTURES / "hosts" / "server", host)
    return host


def _server_project(host: Path, base: Path) -> Project:
    return Project(
        host=Host(repo=str(host), ref="main"),
        loading=PluginLoading(flag="--plugin", symbol="Plugin"),
        base_dir=base,
    )


def test_the_demo_hosts_first_bundled_plugin_is_copied_and_renamed(fresh_cache: Path) -> None:
    project = demo_project()
    plugin = new_plugin(resolve(project), open_repo(project), "mirror")
    assert plugin.origin == "plugins/reverse"
    assert [name for name, _ in plugin.files] == ["mirror.go"]
    text = plugin.files[0][1].decode()
    assert text.startswith(
        "// mirror: made by `plugwiz new mirror` from the host's bundled plugin plugins/reverse"
    )
    assert 'func (mirror) Name() string { return "mirror" }' in text
    assert "func New() provider.Provider { return mirror{} }" in text
    # The host's own doc comment stays as it was.
    assert '// Package main is the bundled "reverse" demo plugin' in text
    assert plugin.renamed == (("reverse", "mirror"),)


def test_a_bundled_plugin_is_chosen_by_name_or_path(fresh_cache: Path) -> None:
    project = demo_project()
    resolved, repo = resolve(project), open_repo(project)
    assert new_plugin(resolved, repo, "a", bundled="upper").origin == "plugins/upper"
    assert new_plugin(resolved, repo, "b", bundled="./plugins/upper/").origin == "plugins/upper"
    with pytest.raises(ScaffoldError, match="no bundled plugin 'nope'; it has: reverse, upper"):
        new_plugin(resolved, repo, "c", bundled="nope")
    with pytest.raises(ScaffoldError, match="already has a plugin named 'hello'"):
        new_plugin(resolved, repo, "hello")


def test_a_multi_file_bundled_plugin_is_copied_whole(server_host: Path, tmp_path: Path) -> None:
    project = _server_project(server_host, tmp_path)
    plugin = new_plugin(resolve(project), open_repo(project), "shouter")
    assert plugin.origin == "plugins/greeter"
    files = dict(plugin.files)
    assert sorted(files) == ["format.go", "shouter.go", "words.go"]
    assert b'func (g shouter) ID() string { return "shouter" }' in files["shouter.go"]
    assert b"var Plugin api.Plugin = newShouter()" in files["shouter.go"]
    assert b"greeter string" in files["format.go"]  # a field, not the plugin's name
    assert files["shouter.go"].startswith(b"// shouter: made by `plugwiz new shouter`")
    assert not files["words.go"].startswith(b"// shouter")  # one header, in the main file


def test_no_bundled_plugin_offers_the_looked_up_symbol_as_a_skeleton(
    fresh_cache: Path,
) -> None:
    project = replace(demo_project(), bundled=())
    resolved, repo = resolve(project), open_repo(project)
    with pytest.raises(NoBundledPluginError, match="no bundled plugin to start from"):
        new_plugin(resolved, repo, "mine")
    looked_up = looked_up_symbol(resolved, repo)
    # From the host's code: Lookup(provider.SymbolName), SymbolName = "New", and the type
    # its type switch expects.
    assert looked_up == LookedUpSymbol(
        "New", "func() provider.Provider", (("provider", "example.com/plugwiz-demo/provider"),)
    )
    plugin = new_plugin(resolved, repo, "mine", skeleton=True)
    assert plugin.origin == ""
    assert plugin.files[0][0] == "mine.go"
    text = plugin.files[0][1].decode()
    assert '\t"example.com/plugwiz-demo/provider"\n' in text
    assert "func New() provider.Provider {" in text


def test_a_skeleton_for_a_variable_symbol(server_host: Path, tmp_path: Path) -> None:
    project = replace(_server_project(server_host, tmp_path), bundled=())
    resolved, repo = resolve(project), open_repo(project)
    looked_up = looked_up_symbol(resolved, repo)
    assert looked_up.symbol == "Plugin"
    assert looked_up.type == "*api.Plugin"
    text = skeleton_plugin("mine", looked_up).files[0][1].decode()
    assert "var Plugin api.Plugin\n" in text
    # The settings' type wins over what the code says.
    assert looked_up_symbol(resolved, repo, "func() int").type == "func() int"


def test_writing_refuses_a_directory_with_files(tmp_path: Path, fresh_cache: Path) -> None:
    project = demo_project(tmp_path)
    plugin = new_plugin(resolve(project), open_repo(project), "mirror")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="not empty"):
        write_plugin(plugin, tmp_path / "taken")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    written = write_plugin(plugin, tmp_path / "mirror")
    assert [p.name for p in written] == ["mirror.go"]


def test_the_project_file_is_patched_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "plugwiz.yaml"
    path.write_text(
        "version: 1\n# the demo\nhost: {repo: demo, ref: main}\nplugins: [demo:hello.go]  "
        "# keep\ntag: t:latest\n"
    )
    document = ProjectDocument.load(path)
    updated = with_new_plugin(document.project, tmp_path / "mirror", "mirror")
    named = with_new_plugin(updated, tmp_path / "src" / "x", "mirror2")
    document.save(named)
    assert path.read_text() == (
        "version: 1\n# the demo\nhost: {repo: demo, ref: main}\n"
        "plugins: [demo:hello.go, ./mirror, {source: ./src/x, name: mirror2}]  # keep\n"
        "tag: t:latest\n"
    )


def test_a_bundled_plugin_named_in_the_project_is_renamed_by_both_names(fresh_cache: Path) -> None:
    project = replace(demo_project(), bundled=(BundledPlugin("plugins/upper", "shout"),))
    plugin = new_plugin(resolve(project), open_repo(project), "loud")
    # Named `shout` in the project, `upper` in its code: both are the plugin's name.
    assert plugin.origin == "plugins/upper"
    assert plugin.renamed == (("upper", "loud"),)
    assert 'func (loud) Name() string { return "loud" }' in plugin.files[0][1].decode()
