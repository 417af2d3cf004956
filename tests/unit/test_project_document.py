"""ProjectDocument: saving keeps the user's text; only what changed changes; paths follow."""

from __future__ import annotations

import difflib
import os
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugwiz.core import project_file
from plugwiz.core.model import (
    DEMO_REPO,
    BundledPlugin,
    ExtraFile,
    Host,
    Images,
    PluginLoading,
    PluginSource,
    Project,
)
from plugwiz.core.project_file import ProjectDocument, parse_project
from plugwiz.core.yaml_edit import patch_yaml
from tests.yaml_writer import StyledWriter

FLOW = """\
# Built by CI: keep the host pinned.
version: 1
host: {repo: ../host, ref: v1.2.0, commit: 0123456789abcdef0123456789abcdef01234567}
plugins: [hello.go, plugins/multi, {source: x.so, name: ex}]
loading: {flag: --plugin, args: [--config, /etc/x.toml]}
tag: "host:plugins"
"""

BLOCK = """\
version: 1

# The host program.
host:
  repo: ../host        # a checkout next to this project
  ref: main
  build_command: make build   # our Makefile sets the flags
  binary: bin/host

bundled:
  - plugins/a
  - path: plugins/b
    name: bee

plugins:
  # the greeter
  - ./hello.go
  - plugins/multi
  - /opt/shared/plugins/metrics.so   # built elsewhere

images:
  builder: golang:1.22-bookworm

loading:
  flag: --prov            # the default, written out
  extension: .so
  directory: /app/plugins

files:
  - source: config.toml
    target: /etc/x.toml
  - {source: "host:static", target: /app/static}

tag: plugwiz-host:latest
"""

INDENTED_4 = """\
---
version: 1
host:
    repo: "https://example.com/org/host.git"
    ref: 'release-1'
    build_command:
        - go
        - build
        - -o
        - bin/host
    build_env:
        CGO_ENABLED: 0
        GOFLAGS: -mod=mod
plugins:
    - hello.go
...
"""

FILES = {
    "flow": FLOW,
    "block": BLOCK,
    "block-crlf": BLOCK.replace("\n", "\r\n"),
    "block-no-final-newline": BLOCK.rstrip("\n"),
    "indented-4": INDENTED_4,
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def diff(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


def load(tmp_path: Path, name: str) -> ProjectDocument:
    return ProjectDocument.load(write(tmp_path / "proj" / "plugwiz.yaml", FILES[name]))


@pytest.mark.parametrize("name", sorted(FILES))
def test_open_and_save_unchanged_is_byte_identical(tmp_path: Path, name: str) -> None:
    doc = load(tmp_path, name)
    assert doc.path is not None
    inode = doc.path.stat().st_ino
    assert not doc.changed(doc.project)
    saved = doc.save(doc.project)
    assert doc.path.read_bytes() == FILES[name].encode()
    assert doc.path.stat().st_ino == inode  # not even rewritten
    assert saved == doc
    # A project equal to the baseline but built afresh (as the wizard does) changes nothing.
    rebuilt = replace(doc.project, plugins=tuple(replace(p) for p in doc.project.plugins))
    assert doc.render(rebuilt) == FILES[name]


def test_the_readme_example_is_edited_line_by_line(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    text = readme.split("## plugwiz.yaml\n\n```yaml\n", 1)[1].split("```", 1)[0]
    doc = ProjectDocument.load(write(tmp_path / "plugwiz.yaml", text))
    p = doc.project
    assert doc.render(p) == text
    assert p.bundled is not None
    project = replace(
        p,
        host=replace(p.host, commit=""),
        bundled=(p.bundled[1],),
        loading=replace(p.loading, symbol=""),
    )
    commit_line = next(line for line in text.splitlines() if line.startswith("  commit:"))
    assert diff(text, doc.render(project)) == [
        f"-{commit_line}",
        "-bundled: [plugins/a, {path: plugins/b, name: bee}]   # default: detected",
        "+bundled: [{path: plugins/b, name: bee}]   # default: detected",
        "-loading: {flag: --prov, extension: .so, args: [--config, /etc/host/config.toml],"
        " symbol: New}",
        "+loading: {flag: --prov, extension: .so, args: [--config, /etc/host/config.toml]}",
    ]


def test_explicit_defaults_and_the_string_build_command_stay(tmp_path: Path) -> None:
    doc = load(tmp_path, "block")
    assert doc.project.host.build_command == ("make", "build")
    out = doc.render(replace(doc.project, tag="other:tag"))
    assert "  flag: --prov            # the default, written out\n" in out
    assert "  build_command: make build   # our Makefile sets the flags\n" in out


def one_change(doc: ProjectDocument, project: Project) -> list[str]:
    assert doc.text is not None
    out = doc.render(project)
    assert parse_project(out, base_dir=doc.project.base_dir) == project
    return diff(doc.text, out)


@pytest.mark.parametrize("name", ["flow", "block", "block-crlf", "block-no-final-newline"])
def test_one_value_changes_one_line(tmp_path: Path, name: str) -> None:
    doc = load(tmp_path, name)
    p = doc.project
    assert len(one_change(doc, replace(p, host=replace(p.host, ref="v9")))) == 2
    assert len(one_change(doc, replace(p, tag="me/host:dev"))) == 2
    renamed = (replace(p.plugins[0], name="greeter"), *p.plugins[1:])
    assert len(one_change(doc, replace(p, plugins=renamed))) == 2
    changed = one_change(doc, replace(p, loading=replace(p.loading, flag="--load")))
    assert len(changed) == 2


def test_one_line_diffs_in_block_style(tmp_path: Path) -> None:
    doc = load(tmp_path, "block")
    p = doc.project
    assert one_change(doc, replace(p, host=replace(p.host, ref="v2"))) == [
        "-  ref: main",
        "+  ref: v2",
    ]
    assert one_change(
        doc, replace(p, plugins=(p.plugins[0], replace(p.plugins[1], name="m"), p.plugins[2]))
    ) == [
        "-  - plugins/multi",
        "+  - {source: plugins/multi, name: m}",
    ]
    assert one_change(doc, replace(p, tag="1.20")) == [
        "-tag: plugwiz-host:latest",
        "+tag: '1.20'",
    ]
    # Toggling a bundled plugin off and on again: one line each way.
    assert p.bundled is not None
    off = replace(p, bundled=p.bundled[:1])
    assert one_change(doc, off) == ["-  - path: plugins/b", "-    name: bee"]
    off = replace(p, bundled=p.bundled[1:])
    assert one_change(doc, off) == ["-  - plugins/a"]
    off_doc = ProjectDocument(doc.path, doc.render(off), off)
    assert off_doc.text is not None
    back = diff(off_doc.text, off_doc.render(p))
    assert back == ["+  - plugins/a"]


def test_no_pin_is_added(tmp_path: Path) -> None:
    doc = load(tmp_path, "block")
    out = doc.render(replace(doc.project, tag="x"))
    assert "commit" not in out
    new_file = ProjectDocument.new(replace(doc.project, base_dir=tmp_path)).render(doc.project)
    assert "commit" not in new_file


def test_add_remove_reorder_plugins(tmp_path: Path) -> None:
    doc = load(tmp_path, "block")
    assert doc.text is not None
    p = doc.project
    a, b, c = p.plugins
    added = one_change(doc, replace(p, plugins=(a, b, c, PluginSource("new/d.go"))))
    assert added == ["+  - new/d.go"]
    assert one_change(doc, replace(p, plugins=(a, c))) == ["-  - plugins/multi"]
    # Moving an item moves its comment with it.
    out = doc.render(replace(p, plugins=(b, a, c)))
    assert "  - plugins/multi\n  # the greeter\n  - ./hello.go\n" in out
    # Removing every plugin removes the section.
    out = doc.render(replace(p, plugins=()))
    assert "plugins:" not in out and "hello.go" not in out
    assert "images:\n  builder" in out


def test_flow_style_stays_flow(tmp_path: Path) -> None:
    doc = load(tmp_path, "flow")
    p = doc.project
    project = replace(
        p,
        plugins=(*p.plugins, PluginSource("more.go")),
        images=Images(runtime="debian:bookworm-slim"),
        host=replace(p.host, commit=""),
    )
    out = doc.render(project)
    assert "host: {repo: ../host, ref: v1.2.0}\n" in out
    assert "plugins: [hello.go, plugins/multi, {source: x.so, name: ex}, more.go]\n" in out
    assert "images:\n  runtime: debian:bookworm-slim\n" in out
    assert parse_project(out) == project


def make_tree(root: Path) -> None:
    for name in (
        "a/hello.go",
        "a/plugins/multi/main.go",
        "a/x.so",
        "a/config.toml",
        "host/go.mod",
        "shared/common.go",
    ):
        write(root / name, "")


def test_save_as_rebases_relative_paths(tmp_path: Path) -> None:
    make_tree(tmp_path)
    text = (
        "version: 1\n"
        "host: {repo: ../host, ref: main}\n"
        "plugins:\n"
        "  - hello.go\n"
        "  - {source: ./plugins/multi, name: multi}\n"
        "  - ../shared/common.go\n"
        f"  - {tmp_path}/a/x.so   # absolute: stays\n"
        "files:\n"
        "  - {source: config.toml, target: /etc/x.toml}\n"
        "  - {source: 'host:static', target: /app/static}\n"
    )
    doc = ProjectDocument.load(write(tmp_path / "a" / "plugwiz.yaml", text))
    for target, expected in (
        ("b/plugwiz.yaml", ["../a/hello.go", "../a/plugins/multi", "../shared/common.go"]),
        ("b/c/plugwiz.yaml", ["../../a/hello.go", "../../a/plugins/multi"]),
        ("a/sub/plugwiz.yaml", ["../hello.go", "../plugins/multi", "../../shared/common.go"]),
    ):
        path = tmp_path / target
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = doc.save(doc.project, path)
        assert path.read_text() == saved.text
        assert saved.project.base_dir == path.parent.resolve()
        assert saved.project == ProjectDocument.load(path).project
        written = path.read_text()
        for source in expected:
            assert source in written
        assert f"{tmp_path}/a/x.so   # absolute: stays" in written
        assert "'host:static'" in written
        # Every path names the same, existing file from the new place.
        for plugin in saved.project.plugins:
            assert saved.project.source_path(plugin.source).exists(), plugin.source
        for extra in saved.project.files:
            assert extra.from_host or saved.project.source_path(extra.source).exists()
        assert saved.project.source_path(saved.project.host.repo).joinpath("go.mod").exists()
    # Three levels away: absolute.
    far = tmp_path / "x" / "y" / "z" / "plugwiz.yaml"
    far.parent.mkdir(parents=True)
    saved = doc.save(doc.project, far)
    assert f"- {tmp_path}/a/hello.go\n" in far.read_text()


def test_save_as_then_edit_uses_the_new_place(tmp_path: Path) -> None:
    make_tree(tmp_path)
    doc = ProjectDocument.load(
        write(tmp_path / "a" / "plugwiz.yaml", "version: 1\nplugins: [hello.go]\n")
    )
    (tmp_path / "b").mkdir()
    moved = doc.save(doc.project, tmp_path / "b" / "plugwiz.yaml")
    assert moved.project.plugins == (PluginSource("../a/hello.go"),)
    # The wizard keeps working with the returned document's project.
    added = replace(moved.project, plugins=(*moved.project.plugins, PluginSource("../a/x.so")))
    again = moved.save(added)
    assert again.text == "version: 1\nplugins: [../a/hello.go, ../a/x.so]\n"
    # A project still relative to the old place (base_dir a/) is rebased all the same.
    stale = replace(doc.project, plugins=(*doc.project.plugins, PluginSource("x.so")))
    assert moved.render(stale) == again.text


def test_new_and_changed_paths_are_written_relative_when_close(tmp_path: Path) -> None:
    make_tree(tmp_path)
    doc = ProjectDocument.load(write(tmp_path / "a" / "plugwiz.yaml", BLOCK))
    p = doc.project
    project = replace(
        p,
        plugins=(
            *p.plugins,
            PluginSource(str(tmp_path / "a" / "plugins" / "multi")),
            PluginSource(str(tmp_path / "shared" / "common.go")),
            PluginSource("/usr/local/lib/plugwiz/p.so"),
        ),
        files=(*p.files, ExtraFile(str(tmp_path / "a" / "config.toml"), "/etc/y.toml")),
    )
    out = doc.render(project)
    assert "  - ./plugins/multi\n  - ../shared/common.go\n  - /usr/local/lib/plugwiz/p.so\n" in out
    # Like its first sibling, the new file entry is a block mapping.
    assert "  - source: ./config.toml\n    target: /etc/y.toml\n\ntag:" in out
    # An unchanged absolute path is the user's: not normalised.
    assert "/opt/shared/plugins/metrics.so   # built elsewhere" in out


def test_new_file_paths_and_demo(tmp_path: Path) -> None:
    make_tree(tmp_path)
    path = tmp_path / "a" / "plugwiz.yaml"
    project = Project(
        host=Host(repo=str(tmp_path / "host"), ref="main"),
        plugins=(PluginSource(str(tmp_path / "a" / "hello.go")), PluginSource("demo:hello.go")),
        files=(ExtraFile(str(tmp_path / "a" / "config.toml"), "/etc/x.toml"),),
        base_dir=tmp_path / "a",
    )
    text = ProjectDocument.new(project).save(project, path).text or ""
    assert path.read_text() == text
    assert text.startswith("# plugwiz project file")
    assert "  repo: ../host\n" in text
    assert "- ./hello.go\n- demo:hello.go\n" in text
    assert "- source: ./config.toml\n" in text
    demo = Project(
        host=Host(repo=DEMO_REPO, ref="main"),
        plugins=(PluginSource("demo:hello.go"),),
        tag="plugwiz-demo:latest",
        base_dir=tmp_path,
    )
    (tmp_path / "demo").mkdir()
    doc = ProjectDocument.new(demo).save(demo, tmp_path / "demo" / "plugwiz.yaml")
    assert doc.text is not None
    assert "  repo: demo\n" in doc.text and "- demo:hello.go\n" in doc.text
    assert doc.project == demo
    (tmp_path / "x" / "y").mkdir(parents=True)
    elsewhere = doc.save(doc.project, tmp_path / "x" / "y" / "plugwiz.yaml")
    assert elsewhere.text == doc.text


def test_local_directory_named_demo_is_not_the_demo(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    project = Project(host=Host(repo=str(tmp_path / "demo")), base_dir=tmp_path)
    text = ProjectDocument.new(project).render(project, tmp_path / "plugwiz.yaml")
    assert "  repo: ./demo\n" in text


def test_credentials_in_a_changed_url_are_not_written(tmp_path: Path) -> None:
    doc = load(tmp_path, "indented-4")
    secret = "https://bob:tok_abcdefgh123@example.com/org/host.git"
    out = doc.render(replace(doc.project, host=replace(doc.project.host, repo=secret)))
    assert out == doc.text  # the same repository, as far as the file is concerned
    other = "https://bob:tok_abcdefgh123@example.com/org/other.git"
    out = doc.render(replace(doc.project, host=replace(doc.project.host, repo=other)))
    assert "tok_abcdefgh123" not in out
    assert '    repo: "https://example.com/org/other.git"\n' in out


def test_build_env_and_command_edits(tmp_path: Path) -> None:
    doc = load(tmp_path, "indented-4")
    p = doc.project
    host = replace(
        p.host,
        build_env=(("CGO_ENABLED", "0"), ("GOFLAGS", "-mod=vendor"), ("GOPRIVATE", "x/*")),
        build_command=("go", "build", "-o", "bin/host2"),
    )
    out = doc.render(replace(p, host=host))
    assert doc.text is not None
    assert diff(doc.text, out) == [
        "-        - bin/host",
        "+        - bin/host2",
        "-        GOFLAGS: -mod=mod",
        "+        GOFLAGS: -mod=vendor",
        "+        GOPRIVATE: x/*",
    ]
    assert "CGO_ENABLED: 0\n" in out  # as written, though the model holds "0"


def test_changed_tells_whether_the_file_would_change(tmp_path: Path) -> None:
    doc = load(tmp_path, "block")
    assert not doc.changed(doc.project)
    assert doc.changed(replace(doc.project, tag="x"))
    assert ProjectDocument.new(doc.project).changed(doc.project)


def test_save_without_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match="never been saved"):
        ProjectDocument.new(Project()).save(Project())


# ---- the property: random edits of random projects, written in mixed styles -------------------

BASE = Path("/nonexistent/plugwiz-tests/project")
REPOS = (
    "../host",
    "./host",
    "host",
    "/srv/git/host",
    "https://example.com/o/h.git",
    "git@example.com:o/h.git",
    DEMO_REPO,
    "~/src/host",
)
REFS = ("main", "v1.2.0", "1.20", "yes", "feature/x")
SOURCES = (
    "hello.go",
    "./plugins/a.go",
    "plugins/b",
    "../shared/c.go",
    "/opt/plugins/d.so",
    "demo:hello.go",
    "e f.go",
    "#weird.go",
    "- dash.go",
    "yes",
    "x: y.go",
    "null",
)
NAMES = ("", "", "hi", "greeter", "a.b", "null")
TEXT = st.sampled_from(("", "x", "1.20", "no", "a: b", "it's", "#c", "ünï"))


@st.composite
def projects(draw: Any) -> Project:
    def pick(options: Any) -> Any:
        return draw(st.sampled_from(options))

    host = Host(
        repo=pick(("", *REPOS)),
        ref=pick(("", *REFS)),
        commit=pick(("", "0123456789abcdef0123456789abcdef01234567")),
        main_package=pick(("", "./cmd/host", "cmd/host", ".")),
        build_command=pick(((), ("make", "build"), ("sh", "-c", "make && echo 'done'"))),
        binary=pick(("", "bin/host")),
        build_flags=tuple(
            draw(st.lists(st.sampled_from(("-mod=vendor", "-trimpath", "-x")), max_size=2))
        ),
        build_env=tuple(
            draw(
                st.dictionaries(
                    st.sampled_from(("GOPRIVATE", "CGO_ENABLED", "GOFLAGS")),
                    st.sampled_from(("1", "0", "x/*", "")),
                    max_size=2,
                )
            ).items()
        ),
    )
    bundled = draw(
        st.none()
        | st.lists(
            st.builds(
                BundledPlugin,
                st.sampled_from(("plugins/a", "plugins/b", "cmd/x")),
                st.sampled_from(NAMES),
            ),
            max_size=3,
        ).map(tuple)
    )
    return Project(
        host=host,
        bundled=bundled,
        plugins=tuple(draw(st.lists(plugins(), max_size=4))),
        images=Images(builder=pick(("", "golang:1.22")), runtime=pick(("", "debian:slim"))),
        loading=PluginLoading(
            flag=pick(("--prov", "--plugin", "")),
            extension=pick((".so", ".prov")),
            extra_args=tuple(
                draw(st.lists(st.sampled_from(("--config", "/etc/x", "-v")), max_size=2))
            ),
            directory=pick(("/app/plugins", "/plugins")),
            symbol=pick(("", "New")),
        ),
        files=tuple(
            draw(
                st.lists(
                    st.builds(
                        ExtraFile,
                        st.sampled_from(
                            ("config.toml", "./conf/x.toml", "host:static", "/etc/hosts")
                        ),
                        st.sampled_from(("/etc/x.toml", "/app/static")),
                    ),
                    max_size=2,
                )
            )
        ),
        tag=pick(("plugwiz-host:latest", "host:plugins", "x")),
        base_dir=BASE,
    )


def plugins() -> st.SearchStrategy[PluginSource]:
    return st.builds(PluginSource, st.sampled_from(SOURCES), st.sampled_from(NAMES))


def document(draw: Any, project: Project) -> dict[str, Any]:
    """`project` as a YAML document, each field in one of the ways a person may write it."""

    def maybe() -> bool:
        return bool(draw(st.booleans()))

    h = project.host
    host: dict[str, Any] = {}
    for key, value in (
        ("repo", h.repo),
        ("ref", h.ref),
        ("commit", h.commit),
        ("main", h.main_package),
        ("binary", h.binary),
    ):
        if value or maybe():
            host[key] = value if value or maybe() else None
    if h.build_command:
        host["build_command"] = shlex.join(h.build_command) if maybe() else list(h.build_command)
    if h.build_flags:
        host["build_flags"] = list(h.build_flags)
    if h.build_env:
        host["build_env"] = dict(h.build_env)
    doc: dict[str, Any] = {"version": 1}
    if host or maybe():
        doc["host"] = host
    if project.bundled is not None:
        doc["bundled"] = [
            {"path": b.path, "name": b.name}
            if b.name
            else (b.path if maybe() else {"path": b.path})
            for b in project.bundled
        ]
    elif maybe():
        doc["bundled"] = None
    if project.plugins or maybe():
        doc["plugins"] = (
            [
                {"source": p.source, "name": p.name}
                if p.name
                else (p.source if maybe() else {"source": p.source})
                for p in project.plugins
            ]
            if project.plugins or maybe()
            else None
        )
    images = {
        k: v
        for k, v in (("builder", project.images.builder), ("runtime", project.images.runtime))
        if v
    }
    if images or maybe():
        doc["images"] = images
    lo, default = project.loading, PluginLoading()
    loading: dict[str, Any] = {}
    for key, value, dflt in (
        ("flag", lo.flag, default.flag),
        ("extension", lo.extension, default.extension),
        ("directory", lo.directory, default.directory),
        ("symbol", lo.symbol, default.symbol),
    ):
        if value != dflt or maybe():
            loading[key] = value
    if lo.extra_args:
        loading["args"] = list(lo.extra_args)
    if loading or maybe():
        doc["loading"] = loading
    if project.files:
        doc["files"] = [{"source": f.source, "target": f.target} for f in project.files]
    if project.tag != Project().tag or maybe():
        doc["tag"] = project.tag
    order = draw(st.permutations(list(doc)))
    return {key: doc[key] for key in order}


def edit(draw: Any, project: Project) -> Project:
    """One edit a person could make in the wizard."""
    p = project

    def pick(options: Any) -> Any:
        return draw(st.sampled_from(options))

    kind = pick(
        (
            "ref",
            "commit",
            "repo",
            "main",
            "command",
            "flags",
            "env",
            "bundled",
            "add",
            "remove",
            "rename",
            "move",
            "source",
            "images",
            "loading",
            "args",
            "files",
            "tag",
        )
    )
    if kind == "ref":
        return replace(p, host=replace(p.host, ref=pick(("", *REFS))))
    if kind == "commit":
        return replace(p, host=replace(p.host, commit=pick(("", "f" * 40))))
    if kind == "repo":
        return replace(p, host=replace(p.host, repo=pick(("", *REPOS))))
    if kind == "main":
        return replace(p, host=replace(p.host, main_package=pick(("", "./cmd/other"))))
    if kind == "command":
        return replace(
            p, host=replace(p.host, build_command=pick(((), ("make",), ("go", "build", "./x"))))
        )
    if kind == "flags":
        return replace(
            p, host=replace(p.host, build_flags=pick(((), ("-x",), ("-trimpath", "-mod=vendor"))))
        )
    if kind == "env":
        env = dict(p.host.build_env)
        env[pick(("GOPRIVATE", "GOWORK"))] = pick(("off", "1", "yes"))
        if env and draw(st.booleans()):
            del env[pick(tuple(env))]
        return replace(p, host=replace(p.host, build_env=tuple(env.items())))
    if kind == "bundled":
        options: list[tuple[BundledPlugin, ...] | None] = [None, (), (BundledPlugin("plugins/c"),)]
        if p.bundled:
            options.append(p.bundled[1:])
            options.append((*p.bundled, BundledPlugin("plugins/c", "cee")))
            options.append((replace(p.bundled[0], name=pick(NAMES)), *p.bundled[1:]))
        return replace(p, bundled=pick(tuple(options)))
    plugins_ = list(p.plugins)
    if kind == "add":
        plugins_.insert(draw(st.integers(0, len(plugins_))), draw(plugins()))
    elif kind == "remove" and plugins_:
        del plugins_[draw(st.integers(0, len(plugins_) - 1))]
    elif kind == "rename" and plugins_:
        i = draw(st.integers(0, len(plugins_) - 1))
        plugins_[i] = replace(plugins_[i], name=pick(NAMES))
    elif kind == "move" and plugins_:
        item = plugins_.pop(draw(st.integers(0, len(plugins_) - 1)))
        plugins_.insert(draw(st.integers(0, len(plugins_))), item)
    elif kind == "source" and plugins_:
        i = draw(st.integers(0, len(plugins_) - 1))
        plugins_[i] = replace(plugins_[i], source=pick(SOURCES))
    if kind in ("add", "remove", "rename", "move", "source"):
        return replace(p, plugins=tuple(plugins_))
    if kind == "images":
        return replace(
            p, images=Images(builder=pick(("", "golang:1.23")), runtime=p.images.runtime)
        )
    if kind == "loading":
        return replace(
            p,
            loading=replace(p.loading, flag=pick(("--prov", "", "-p")), symbol=pick(("", "Init"))),
        )
    if kind == "args":
        return replace(
            p, loading=replace(p.loading, extra_args=pick(((), ("-v",), ("--config", "/x"))))
        )
    if kind == "files":
        files = list(p.files)
        if files and draw(st.booleans()):
            files[0] = replace(files[0], target=pick(("/etc/y", "/app/z")))
        else:
            files.append(ExtraFile("new.toml", "/etc/new.toml"))
        return replace(p, files=tuple(files))
    return replace(p, tag=pick(("plugwiz-host:latest", "y", "1.20")))


def location(project: Project, source: str, repo: bool = False) -> str:
    """What a path names (other values stand for themselves)."""
    if not project_file._is_local_path(source, repo=repo):
        return source
    return os.path.normpath(project.source_path(source).expanduser())


def located(project: Project) -> Project:
    """`project` with every local path replaced by the absolute path it names."""
    return replace(
        project,
        host=replace(project.host, repo=location(project, project.host.repo, True)),
        plugins=tuple(replace(p, source=location(project, p.source)) for p in project.plugins),
        files=tuple(replace(f, source=location(project, f.source)) for f in project.files),
    )


def careful_patch(text: str, data: Any) -> str:
    return patch_yaml(text, data, fallback=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edits_of_random_projects(data: st.DataObject) -> None:
    """A random valid project written in mixed styles, edited at random, parses back to exactly
    the edited project; the patch never needed its fallback; no edit, no change."""
    project = data.draw(projects())
    text = StyledWriter(data.draw).document(document(data.draw, project))
    assert parse_project(text, base_dir=BASE) == project, text  # the writer itself is right
    doc = ProjectDocument(BASE / "plugwiz.yaml", text, parse_project(text, base_dir=BASE))
    edited = project
    for _ in range(data.draw(st.integers(1, 4))):
        edited = edit(data.draw, edited)
    with mock.patch.object(project_file, "patch_yaml", careful_patch):
        assert doc.render(project) == text
        out = doc.render(edited)
    # Exactly the edited project; a path edited to another spelling of the same file (`host`
    # -> `./host`) keeps the user's spelling, so paths compare by the file they name.
    assert located(parse_project(out, base_dir=BASE)) == located(edited), out
    if "\r\n" in text:
        assert "\n" not in out.replace("\r\n", "")
    if edited == project:
        assert out == text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_projects_saved_elsewhere_name_the_same_files(data: st.DataObject) -> None:
    """Rendered for another directory, every local path still names the same file."""
    project = data.draw(projects())
    text = StyledWriter(data.draw).document(document(data.draw, project))
    doc = ProjectDocument(BASE / "plugwiz.yaml", text, parse_project(text, base_dir=BASE))
    where = data.draw(st.sampled_from(("sub", "../other", "../../x/y", "/elsewhere/far/away")))
    target = Path(os.path.normpath(BASE / where / "plugwiz.yaml"))
    with mock.patch.object(project_file, "patch_yaml", careful_patch):
        out = doc.render(project, target)
    moved = parse_project(out, base_dir=target.parent)
    assert located(moved) == located(project), out
