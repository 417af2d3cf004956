"""The typed load check's Go file, the smoke run (on the scripted engine and in the session),
the new project-file keys (modules, smoke, loading.symbol_type) and .gitmodules."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from plugwiz.adapters.scripted import ScriptedEngine, report_for, successful_events
from plugwiz.core.engine import RunResult
from plugwiz.core.events import (
    BuildFailed,
    BuildFinished,
    SmokeRunFinished,
    SmokeRunOutput,
    SmokeRunStarted,
)
from plugwiz.core.loadcheck import loadcheck_source, qualified_type
from plugwiz.core.model import (
    GoMod,
    Host,
    HostFacts,
    ModuleSettings,
    PluginLoading,
    PluginSource,
    Project,
    ProjectError,
    SmokeTest,
)
from plugwiz.core.plan import plan_build, symbol_type_problem
from plugwiz.core.project_file import (
    ProjectDocument,
    ProjectFileError,
    dump_project,
    parse_project,
)
from plugwiz.core.report import ImageReport
from plugwiz.core.session import BuildSession, BuildState
from plugwiz.core.smoke import run_smoke
from plugwiz.core.submodules import parse_gitmodules, resolve_submodule_url
from tests.helpers import resolved_for

FACTS = HostFacts(
    gomod=GoMod(module="example.com/demo", go="1.19"),
    main_packages=("cmd/demo-host",),
    plugin_packages=("plugins/upper",),
    packages=("cmd/demo-host", "plugins/upper", "provider", "internal/api", "v2/api"),
)


def project(**changes: object) -> Project:
    base = Project(
        host=Host(repo="/src/demo", commit="0" * 40),
        plugins=(PluginSource("hello.go"),),
        loading=PluginLoading(symbol="New"),
        tag="demo:latest",
        base_dir=Path("/nonexistent"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# -- the typed load check -----------------------------------------------------------------------


def test_symbol_type_is_written_into_the_check_with_its_imports() -> None:
    resolved = resolved_for(
        project(loading=PluginLoading(symbol="New", symbol_type="func() provider.Provider")),
        FACTS,
    )
    source = loadcheck_source(resolved).decode()
    assert '\tplugwiz_t1 "example.com/demo/provider"\n' in source
    assert (
        "var plugwizExpectedType = reflect.TypeOf((*func() plugwiz_t1.Provider)(nil)).Elem()"
        in source
    )
    assert 'const plugwizExpectedText = "func() provider.Provider"' in source
    # Without a type, the template as it is: the default comes from the bundled plugins.
    plain = loadcheck_source(resolved_for(project(), FACTS)).decode()
    assert "var plugwizExpectedType reflect.Type // plugwiz:expected-type" in plain


def test_type_qualifiers_resolve_to_import_paths() -> None:
    text, imports = qualified_type(
        "func([]byte, http.Handler) (interface{}, error)", "example.com/demo", FACTS.packages
    )
    assert text == "func([]byte, plugwiz_t1.Handler) (interface{}, error)"
    assert imports == [("plugwiz_t1", "net/http")]
    text, imports = qualified_type("*example.org/x/api.Plugin", "m", ())
    assert (text, imports) == ("*plugwiz_t1.Plugin", [("plugwiz_t1", "example.org/x/api")])
    with pytest.raises(ProjectError, match="could be any of example.com/demo/internal/api"):
        qualified_type("func() api.Plugin", "example.com/demo", FACTS.packages)


def test_symbol_type_text_cannot_carry_go_code() -> None:
    for bad in (
        'func() int { println("x") }',
        "int)(nil)).Elem(); func init() { os.Exit(0) }; var _ = reflect.TypeOf((*int",
        "func(\nint)",
        "func() (int",
        "`x`",
    ):
        assert symbol_type_problem(bad), bad
    assert symbol_type_problem("map[string][]*api.Plugin") is None
    loading = PluginLoading(symbol="", symbol_type="func()")
    with pytest.raises(ProjectError, match="needs the symbol's name"):
        plan_build(resolved_for(project(loading=loading), FACTS))


# -- the smoke run ------------------------------------------------------------------------------


def smoke_events(
    smoke: SmokeTest, output: str, exit_code: int | None = 0, timed_out: bool = False
) -> tuple[list[object], bool | None]:
    engine = ScriptedEngine(run_result=RunResult(exit_code, output, timed_out))
    engine.reports["sha256:img"] = _report()
    events: list[object] = []
    runner = run_smoke(engine, "sha256:img", smoke, threading.Event(), ("/app/host",), "t:1")
    while True:
        try:
            events.append(next(runner))
        except StopIteration as stop:
            return events, stop.value


def _report() -> ImageReport:
    return report_for(resolved_for(project(), FACTS), "sha256:img")


def test_smoke_passes_on_the_pattern_and_stops_early() -> None:
    events, passed = smoke_events(
        SmokeTest(expect_output=r"^host: \d+ plugins ready$", timeout=5),
        "host: loading\nhost: 3 plugins ready\nnever shown\n",
        exit_code=None,
    )
    assert passed is True
    assert isinstance(events[0], SmokeRunStarted)
    assert events[0].expectation == "print a line matching /^host: \\d+ plugins ready$/ within 5 s"
    outputs = [e.text for e in events if isinstance(e, SmokeRunOutput)]
    assert outputs == ["host: loading", "host: 3 plugins ready"]
    finished = events[-1]
    assert isinstance(finished, SmokeRunFinished) and finished.passed
    assert finished.reason == "its output matched /^host: \\d+ plugins ready$/"


@pytest.mark.parametrize(
    ("smoke", "output", "code", "timed_out", "reason"),
    [
        (SmokeTest(), "boom\n", 3, False, "expected exit status 0, it exited with 3"),
        (
            SmokeTest(expect_output="ready"),
            "refusing x.so\n",
            4,
            False,
            "no line matched /ready/ (it exited with 4)",
        ),
        (
            SmokeTest(expect_exit=2, timeout=1),
            "",
            None,
            True,
            "expected exit status 2, it was still running after 1 s",
        ),
    ],
)
def test_smoke_failures_say_why_and_keep_the_output(
    smoke: SmokeTest, output: str, code: int | None, timed_out: bool, reason: str
) -> None:
    events, passed = smoke_events(smoke, output, code, timed_out)
    assert passed is False
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.message == f"the smoke run failed: {reason}; t:1 was not changed"
    assert failed.last_lines == tuple(output.splitlines())


def test_scripted_build_runs_the_smoke_before_finishing_and_the_session_shows_it(
    tmp_path: Path,
) -> None:
    engine = ScriptedEngine(
        events=successful_events("demo:latest", steps=2, lines=1),
        run_result=RunResult(4, "host: refusing bad.so\n", False),
    )
    resolved = resolved_for(project(smoke=SmokeTest(expect_output="ready")), FACTS)
    session = BuildSession(lambda: engine)
    session.start(resolved, repo=None, tag="demo:latest", log_path=tmp_path / "log")  # type: ignore[arg-type]
    events = session.drain()
    assert session.state is BuildState.FAILED
    assert not any(isinstance(e, BuildFinished) for e in events)
    assert session.smoke_finished is not None and not session.smoke_finished.passed
    assert session.stage == "smoke"
    tail = list(session.tail)
    assert any(line.startswith("── Smoke run (the last stage): ") for line in tail)
    assert "host: refusing bad.so" in tail
    assert session.failure is not None and "no line matched /ready/" in session.failure.message
    # A passing run: the build finishes.
    engine.run_result = RunResult(0, "host: 1 plugins ready\n", False)
    session.start(resolved, repo=None, tag="demo:latest", log_path=tmp_path / "log2")  # type: ignore[arg-type]
    session.drain()
    assert session.smoke_finished is not None and session.smoke_finished.passed
    assert session.failure is None and session.finished is not None


# -- the project file ---------------------------------------------------------------------------

TEXT = """\
version: 1
host: {repo: ../host}
loading:
  symbol: New
  symbol_type: func() provider.Provider   # what the host asserts
modules:
  proxy: https://goproxy.corp.example
  private: corp.example/*
  offline: ./goproxy
  upgrade: [example.org/colors]
smoke:
  args: [--dry-run]
  env: {LOG_LEVEL: debug}
  timeout: 20
  expect_output: "plugins ready"
tag: host:latest
"""


def test_new_keys_parse_and_round_trip(tmp_path: Path) -> None:
    parsed = parse_project(TEXT, base_dir=tmp_path)
    assert parsed.loading.symbol_type == "func() provider.Provider"
    assert parsed.modules == ModuleSettings(
        proxy="https://goproxy.corp.example",
        private="corp.example/*",
        offline="./goproxy",
        upgrade=("example.org/colors",),
    )
    assert parsed.smoke == SmokeTest(
        args=("--dry-run",),
        env=(("LOG_LEVEL", "debug"),),
        timeout=20.0,
        expect_output="plugins ready",
    )
    again = parse_project(dump_project(parsed), base_dir=tmp_path)
    assert again == parsed


def test_new_keys_are_patched_one_line_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "plugwiz.yaml"
    path.write_text(TEXT)
    document = ProjectDocument.load(path)
    changed = replace(
        document.project,
        modules=replace(document.project.modules, upgrade=("example.org/colors", "example.org/x")),
        smoke=replace(document.project.smoke, timeout=45.0),  # type: ignore[type-var]
    )
    saved = document.save(changed)
    text = path.read_text()
    assert "  upgrade: [example.org/colors, example.org/x]\n" in text
    assert "  timeout: 45\n" in text
    assert "  symbol_type: func() provider.Provider   # what the host asserts\n" in text
    assert saved.project == replace(changed, base_dir=saved.project.base_dir)
    dropped = ProjectDocument.load(path).save(replace(saved.project, smoke=None))
    assert "smoke" not in path.read_text() and dropped.project.smoke is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modules: {proxy: 'https://u:p@x.example'}", "must not hold credentials"),
        ("modules: {proxi: x}", "did you mean `proxy`"),
        ("smoke: {timeout: soon}", "`smoke.timeout` must be a number"),
        ("smoke: {expect_exit: maybe}", "`smoke.expect_exit` must be an exit status"),
    ],
)
def test_new_keys_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ProjectFileError, match=message) as error:
        parse_project("version: 1\n" + text + "\n", "p.yaml")
    assert str(error.value).startswith("p.yaml:2:")


def test_smoke_settings_are_checked() -> None:
    for smoke, message in (
        (SmokeTest(timeout=0), "between 0 and 3600"),
        (SmokeTest(expect_output="("), "not a regular expression"),
        (SmokeTest(expect_exit=300), "must be an exit status"),
        (SmokeTest(env=(("1X", "y"),)), "1X"),
    ):
        with pytest.raises(ProjectError, match=message):
            plan_build(resolved_for(project(smoke=smoke), FACTS))


# -- submodules ---------------------------------------------------------------------------------


def test_gitmodules_and_relative_urls() -> None:
    text = (
        '[submodule "lib"]\n\tpath = third_party/lib\n\turl = ../lib.git\n'
        '[submodule "x"]\n\tpath = x\n\turl = "https://example.com/x.git"\n# a comment\n'
        "[core]\n\tpath = not-a-submodule\n"
    )
    assert parse_gitmodules(text) == {
        "third_party/lib": "../lib.git",
        "x": "https://example.com/x.git",
    }
    assert resolve_submodule_url("../lib.git", "https://h.example/org/host.git") == (
        "https://h.example/org/lib.git"
    )
    assert resolve_submodule_url("./sub", "/srv/git/host") == "/srv/git/host/sub"
    assert resolve_submodule_url("../lib", "git@h.example:org/host.git") == "git@h.example:org/lib"
    assert resolve_submodule_url("https://x/y", "/srv/host") == "https://x/y"


def test_the_readme_module_example_parses() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Plugins with their own modules\n", 1)[1]
    text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    parsed = parse_project("version: 1\n" + text, base_dir=Path("/p"))
    assert [p.source for p in parsed.plugins] == ["./greet", "./sibling"]
    assert parsed.loading.symbol_type == "func() api.Plugin"
    assert parsed.modules.offline == "./goproxy" and parsed.smoke is not None


def test_offline_directory_moves_with_the_project_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "deeper").mkdir(parents=True)
    path = tmp_path / "a" / "plugwiz.yaml"
    path.write_text("version: 1\nhost: {repo: ../host}\nmodules: {offline: ./goproxy}\n")
    document = ProjectDocument.load(path)
    moved = document.save(document.project, tmp_path / "b" / "deeper" / "plugwiz.yaml")
    assert (
        "modules: {offline: ../../a/goproxy}"
        in (tmp_path / "b" / "deeper" / "plugwiz.yaml").read_text()
    )
    offline = moved.project.source_path(moved.project.modules.offline)
    assert offline.resolve() == (tmp_path / "a" / "goproxy").resolve()
