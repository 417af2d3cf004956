"""The command line against real git repositories: init, render, context, exit codes."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from plugwiz.cli import main
from tests.helpers import FIXTURES, git, make_git_repo

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def realhost(tmp_path: Path) -> Path:
    """The realistic fixture host as a real git repo, its commit tagged v1.0.0."""
    repo = tmp_path / "realhost"
    make_git_repo(FIXTURES / "hosts" / "realistic", repo)
    git(repo, "tag", "v1.0.0")
    return repo


def test_help_everywhere() -> None:
    for command in ([], ["init"], ["render"], ["context"], ["build"], ["inspect"]):
        result = subprocess.run(
            [sys.executable, "-m", "plugwiz.cli", *command, "--help"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert "usage: plugwiz" in result.stdout


def test_render_demo_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["render"]) == 0
    out = capsys.readouterr().out
    # The tests map the official names to the offline stand-ins, and the Dockerfile says so.
    assert "FROM plugwiz-offline/golang:1.19-bookworm AS " in out
    assert "# Builder image: golang:1.19-bookworm mapped to plugwiz-offline/golang" in out
    monkeypatch.delenv("PLUGWIZ_IMAGE_MAP")
    assert main(["render"]) == 0
    out = capsys.readouterr().out
    assert "FROM golang:1.19-bookworm AS " in out
    assert "./cmd/demo-host" in out
    assert '"--prov", "/app/plugins/hello.so"' in out
    # The layout of the backend a build would use: the classic builder's, or BuildKit's.
    assert main(["render", "--backend", "classic"]) == 0
    classic = capsys.readouterr().out
    assert "FROM golang:1.19-bookworm AS toolchain" in classic
    assert "FROM toolchain AS host" in classic and "--mount=" not in classic
    assert main(["render", "--backend", "buildkit"]) == 0
    buildkit = capsys.readouterr().out
    assert "FROM golang:1.19-bookworm AS source" in buildkit
    assert "RUN --mount=type=cache,id=plugwiz-go-build,target=/root/.cache/go-build " in buildkit
    assert out in (classic, buildkit)


def test_init_then_render_the_realistic_host(
    realhost: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_file = tmp_path / "proj" / "plugwiz.yaml"
    project_file.parent.mkdir()
    code = main(
        [
            "init",
            "--host",
            str(realhost),
            "--ref",
            "v1.0.0",
            "--plugin",
            str(FIXTURES / "plugins" / "multi"),
            "--plugin-flag=--plugin",
            "--arg=--config",
            "--arg",
            "/etc/realhost/config.json",
            "--file",
            f"{FIXTURES / 'realistic-config.json'}:/etc/realhost/config.json",
            "--tag",
            "realhost:test",
            "-o",
            str(project_file),
        ]
    )
    assert code == 0, capsys.readouterr().err
    saved = project_file.read_text()
    # It follows the ref: a pin is only added when asked for (--pin).
    assert "commit: " not in saved and "ref: v1.0.0" in saved
    assert "following v1.0.0" in capsys.readouterr().out
    assert main(["init", "--host", str(realhost), "--pin", "-o", str(tmp_path / "p.yaml")]) == 0
    assert "commit: " in (tmp_path / "p.yaml").read_text()
    capsys.readouterr()
    assert main(["render", str(project_file), "--backend", "classic"]) == 0
    out = capsys.readouterr().out
    # No -trimpath: every plugin of this project is built beside the host.
    assert 'GOFLAGS="-mod=vendor"' in out
    assert "COPY host/vendor/ ./vendor/" in out
    assert "go build -o /out/realhost ./cmd/realhost" in out
    assert (
        'CMD ["/app/realhost", "--config", "/etc/realhost/config.json", "--plugin", '
        '"/app/plugins/audit.so", "--plugin", "/app/plugins/multi.so"]'
    ) in out
    # Options override the file.
    assert main(["render", str(project_file), "--plugin-flag", "", "--no-bundled"]) == 0
    out = capsys.readouterr().out
    assert 'CMD ["/app/realhost", "--config", "/etc/realhost/config.json"]' in out
    assert "audit.so" not in out


def test_context_holds_exactly_the_host_tree_and_plugins(realhost: Path, tmp_path: Path) -> None:
    args = [
        "context",
        "--host",
        str(realhost),
        "--plugin",
        str(FIXTURES / "plugins" / "multi"),
        "--file",
        f"{FIXTURES / 'realistic-config.json'}:/etc/realhost/config.json",
        "-o",
    ]
    out = tmp_path / "ctx.tar"
    assert main([*args, str(out)]) == 0
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=realhost, capture_output=True, text=True, check=True
    )
    host_files = {f"host/{p}" for p in tracked.stdout.split()}
    plugin_files = {f"plugins/multi/{p.name}" for p in (FIXTURES / "plugins" / "multi").iterdir()}
    expected = (
        {"Dockerfile", "plugwiz/loadcheck.go", "files/1/realistic-config.json"}
        | host_files
        | plugin_files
    )
    assert names == expected
    assert not any(".git/" in n for n in names)
    # Deterministic: the same project gives the same bytes.
    again = tmp_path / "again.tar"
    assert main([*args, str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "--host", "/nonexistent/host"], "does not exist"),
        (["render", "--ref", "mian"], "did you mean main"),
        (["render", "--plugin-ext", "so"], "extension"),
        # The same check `context` and `build` make (it printed a Dockerfile before).
        (["render", "--plugin", "a.go"], "plugin 'a': a.go does not exist"),
        (["render", "--plugin", "b/a.go"], "plugin 'a': b/a.go does not exist"),
        (["render", "--build-flag=-ldflags=-s -w"], "GOFLAGS"),
        (["render", "nope.yaml"], "no such project file"),
        (["init", "--host", "/nonexistent/host", "-o", "x.yaml"], "does not exist"),
        (["render", "--file", "nocolon"], "SRC:TARGET"),
        (["inspect"], "the following arguments are required: IMAGE"),
        (["render", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_user_errors_exit_2_without_traceback(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "plugwiz.cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_init_refuses_to_overwrite(
    realhost: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plugwiz.yaml"
    target.write_text("mine\n")
    assert main(["init", "--host", str(realhost), "-o", str(target)]) == 2
    assert target.read_text() == "mine\n"
    assert "--force" in capsys.readouterr().err


def test_render_and_context_refuse_a_missing_plugin_with_one_message(
    realhost: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "MISSING.go"
    errors = []
    for command in (["render"], ["context", "-o", str(tmp_path / "ctx.tar")]):
        assert main([*command, "--host", str(realhost), "--plugin", str(missing)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""  # no Dockerfile printed
        errors.append(captured.err)
    assert errors[0] == errors[1] == f"plugwiz: error: plugin 'MISSING': {missing} does not exist\n"


def _scripted_build(tmp_path: Path, **options: object) -> tuple[int, str]:
    """`plugwiz build` of the demo (scripted engine: no daemon), and what it printed."""
    import io
    from dataclasses import replace

    from plugwiz.adapters.scripted import FakeClock, ScriptedEngine, realistic_build
    from plugwiz.commands import build_command
    from plugwiz.core.model import PluginSource
    from plugwiz.core.resolve import demo_project
    from plugwiz.service import resolve

    broken = FIXTURES / "plugins" / "broken.go"
    plugins = (PluginSource(str(broken)),) if options.pop("broken", False) else ()
    project = demo_project(tmp_path)
    resolved = resolve(replace(project, plugins=project.plugins + plugins))
    engine = ScriptedEngine(
        script=lambda r, t: realistic_build(r, t, lines_per_step=1, **options),  # type: ignore[arg-type]
        clock=FakeClock(),
    )
    out = io.StringIO()
    code = build_command(
        resolved, tag="t:latest", log_path=tmp_path / "log", out=out, engine=engine, timings=True
    )
    return code, out.getvalue()


def test_build_marks_cached_steps_and_prints_timings(tmp_path: Path) -> None:
    code, text = _scripted_build(tmp_path, cached_stages=("toolchain", "host", "plugin-1"))
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].startswith("[ 1/") and not lines[0].endswith("cached")  # a FROM: never
    assert lines[1].startswith("[ 2/") and lines[1].endswith("  cached")
    steps = [line for line in lines if line.startswith("[")]
    cached = [line for line in steps if line.endswith("  cached")]
    # The toolchain's ENV and RUN; the host's WORKDIR, 2 COPY, RUN; the plugin's COPY and RUN.
    assert len(cached) == 8, steps
    summary = text[text.index("timings: ") :].splitlines()
    assert summary[0].endswith("to the end, 8 of 15 steps from the cache")
    assert not summary[0].startswith("timings: 0.0s")
    assert summary[1].split()[:2] == ["host", "cached"]
    assert summary[2].split()[:3] == ["plugin", "hello", "cached"]
    assert summary[2].endswith("demo:hello.go")
    assert summary[3].split()[:3] == ["load", "check", "done"]


def test_a_failed_build_still_prints_its_timings(tmp_path: Path) -> None:
    code, text = _scripted_build(tmp_path, broken=True)
    assert code == 1
    assert "undefinedHelper" in text
    summary = text[text.index("timings: ") :]
    assert "plugin broken  failed" in summary
    assert "load check     not run" in summary
