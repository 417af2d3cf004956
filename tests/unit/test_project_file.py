"""plugwiz.yaml: round trips, and errors that name file, line and key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plugwiz.core.model import (
    BundledPlugin,
    ExtraFile,
    Host,
    Images,
    PluginLoading,
    PluginSource,
    Project,
)
from plugwiz.core.project_file import (
    ProjectFileError,
    dump_project,
    load_project,
    parse_project,
    save_project,
)

FULL = Project(
    host=Host(
        repo="https://example.com/org/host.git",
        ref="v1.2.0",
        commit="0123456789abcdef0123456789abcdef01234567",
        main_package="./cmd/host",
        build_command=("make", "build"),
        binary="bin/host",
        build_flags=("-mod=vendor", "-tags=netgo"),
        build_env=(("GOPRIVATE", "example.com/*"),),
    ),
    bundled=(BundledPlugin("plugins/a"), BundledPlugin("plugins/b", name="bee")),
    plugins=(
        PluginSource("./hello.go"),
        PluginSource("plugins/multi", name="multi"),
        PluginSource("x.so"),
    ),
    images=Images(builder="golang:1.22-bookworm", runtime="debian:bookworm-slim"),
    loading=PluginLoading(
        flag="--plugin", extension=".prov", extra_args=("--config", "/etc/x.toml"), symbol="New"
    ),
    files=(ExtraFile("config.toml", "/etc/x.toml"), ExtraFile("host:static", "/app/static")),
    tag="host:plugins",
)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "plugwiz.yaml"
    project = Project(**{**FULL.__dict__, "base_dir": tmp_path})
    save_project(project, path)
    loaded = load_project(path)
    assert loaded == project
    assert loaded.base_dir == tmp_path.resolve()
    assert dump_project(loaded) == path.read_text()


def test_minimal_file_gets_defaults() -> None:
    project = parse_project("version: 1\nhost: {repo: ../host}\n")
    assert project.host.repo == "../host"
    assert project.bundled is None
    assert project.loading == PluginLoading()
    assert project.tag == Project().tag


def test_credentials_are_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "plugwiz.yaml"
    save_project(Project(host=Host(repo="https://bob:tok_abcdefgh123@example.com/x.git")), path)
    assert "tok_abcdefgh123" not in path.read_text()
    assert "https://example.com/x.git" in path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nhost:\n  repo: x\n  reff: main\n",
            r"plugwiz.yaml:4:3: unknown key `reff` in `host`; did you mean `ref`\?",
        ),
        ("version: 1\npluggins: []\n", r":2:1: unknown key `pluggins`; did you mean `plugins`\?"),
        ("version: 1\nhost: [a, b]\n", r":2:7: `host` must be a mapping"),
        ("version: 1\nplugins: hello.go\n", r":2:10: `plugins` must be a list"),
        ("version: 1\ntag: [x]\n", r":2:6: `tag` must be a string"),
        ("version: 1\nloading: {args: --x}\n", r"`loading.args` must be a list of strings"),
        ("version: 2\n", r":1:10: unsupported `version: 2`"),
        ("host: {repo: x}\n", r"missing `version:`"),
        ("version: 1\nhost: {repo: x\n", r"plugwiz.yaml:3:1: invalid YAML"),
        ("version: 1\n  bad: indent\n", r"plugwiz.yaml:2:6: invalid YAML"),
        ("", r"the file is empty"),
        ("version: 1\nfiles: [{source: a}]\n", r"needs both `source` and `target`"),
        ("version: 1\ntag: a\ntag: b\n", r"`tag` is given twice"),
    ],
)
def test_errors_name_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ProjectFileError, match=message):
        parse_project(text, "plugwiz.yaml")


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = textwrap.dedent(
        """\
        version: 1
        a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        """
    )
    with pytest.raises(ProjectFileError, match="aliases are not supported"):
        parse_project(bomb)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="no such project file"):
        load_project(tmp_path / "nope.yaml")
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectFileError, match="not a text file"):
        load_project(junk)


def test_killed_save_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """A process killed in the middle of many saves never leaves a truncated file."""
    path = tmp_path / "plugwiz.yaml"
    save_project(FULL, path)
    big = Project(
        **{**FULL.__dict__, "plugins": tuple(PluginSource(f"p{i}.go") for i in range(3000))}
    )
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from plugwiz.core.model import PluginSource
        from tests.unit.test_project_file import FULL
        from plugwiz.core.project_file import save_project
        from dataclasses import replace
        big = replace(FULL, plugins=tuple(PluginSource(f"p{{i}}.go") for i in range(3000)))
        print("ready", flush=True)
        while True:
            save_project(big, Path({str(path)!r}))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    import time

    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    loaded = parse_project(path.read_text())
    assert loaded.host == FULL.host
    assert len(loaded.plugins) in (len(FULL.plugins), len(big.plugins))
