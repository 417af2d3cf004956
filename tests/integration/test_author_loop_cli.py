"""`plugwiz new`, `watch` and `serve` from the command line, without a Docker daemon: what
they write, and the message and exit code of each mistake."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from plugwiz.adapters.scripted import ScriptedEngine
from plugwiz.cli import main
from plugwiz.commands import is_loopback, watch_command
from plugwiz.core.model import Host, PluginSource, Project
from plugwiz.service import open_repo


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_new_writes_the_plugin_and_a_project_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "mirror"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        "new plugin mirror: copied from the bundled plugin plugins/reverse at "
    )
    assert "  mirror/mirror.go" in out
    assert "wrote plugwiz.yaml" in out
    assert (workdir / "plugwiz.yaml").read_text().splitlines()[5:8] == [
        "plugins:",
        "- demo:hello.go",
        "- ./mirror",
    ]
    # A second one is added to the same file, patched in place.
    assert main(["new", "loud", "--from", "upper", "-o", "src/loud-one"]) == 0
    assert "added it to plugwiz.yaml" in capsys.readouterr().out
    assert "- {source: ./src/loud-one, name: loud}" in (workdir / "plugwiz.yaml").read_text()
    assert (workdir / "src" / "loud-one" / "loud.go").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["new", "bad name"], "plugin name 'bad name' is not allowed"),
        (["new", "hello"], "the project already has a plugin named 'hello'"),
        (["new", "x", "--from", "nope"], "the host has no bundled plugin 'nope'; it has: reverse"),
        (
            ["new", "x", "--no-bundled"],
            "the host has no bundled plugin to start from (no `package main` directory without "
            "`func main()` in its tree); `plugwiz new x --skeleton` writes a minimal plugin "
            "that exports New (func() provider.Provider)",
        ),
        (["new", "x", "missing.yaml"], "missing.yaml: no such project file"),
    ],
)
def test_new_says_what_is_wrong(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("plugwiz: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not (workdir / "plugwiz.yaml").exists()


def test_new_never_writes_into_a_directory_with_files(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "mirror").mkdir()
    (workdir / "mirror" / "notes.txt").write_text("mine")
    assert main(["new", "mirror"]) == 2
    assert "mirror already exists and is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in (workdir / "mirror").iterdir()) == ["notes.txt"]


def test_new_skeleton_when_the_host_has_no_bundled_plugin(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "mine", "--no-bundled", "--skeleton"]) == 0
    assert "a minimal skeleton" in capsys.readouterr().out
    assert "func New() provider.Provider {" in (workdir / "mine" / "mine.go").read_text()


def test_watch_without_a_plugin_source_says_so(workdir: Path) -> None:
    import io

    out = io.StringIO()
    project = Project(host=Host(repo="demo", ref="main"), plugins=(PluginSource("x.so"),))
    code = watch_command(
        project,
        engine=ScriptedEngine(),
        repo_opener=open_repo,
        watcher=None,  # type: ignore[arg-type]
        out=out,
    )
    assert code == 2
    assert "no custom plugin source to watch" in out.getvalue()


def test_serve_refuses_other_interfaces_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--bind", "0.0.0.0"]) == 2
    assert "add --allow-remote" in capsys.readouterr().out
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")


def test_serve_on_a_port_in_use_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "plugwiz.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "plugwiz: error:" in done.stderr
    assert "address already in use" in done.stderr
    assert "Traceback" not in done.stderr
