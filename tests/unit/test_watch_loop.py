"""Watch mode without Docker or a terminal: which files count, and the loop's rounds (a save
restarts a build, a save stops the host, a success runs it) with the scripted engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from plugwiz.adapters.scripted import ScriptedEngine, successful_events
from plugwiz.core.engine import RunResult, RunSpec
from plugwiz.core.events import BuildFailed
from plugwiz.core.model import GoMod, Host, HostFacts, PluginSource, Project
from plugwiz.core.run_session import RunSession, RunState
from plugwiz.core.session import BuildSession, BuildState
from plugwiz.core.watch import (
    Prepared,
    WatchLoop,
    WatchPhase,
    is_relevant,
    watch_roots,
    watch_targets,
)
from tests.helpers import resolved_for

TAG = "plugwiz-watch-test:latest"
FACTS = HostFacts(GoMod("example.com/plugwiz-demo", "1.19"), ("cmd/demo-host",), ())


def _project(tmp_path: Path) -> Project:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "mine.go").write_text("package main\n")
    (tmp_path / "one.go").write_text("package main\n")
    (tmp_path / "old.so").write_bytes(b"\x7fELF")
    return Project(
        host=Host(repo="demo", ref="main"),
        plugins=(PluginSource("mine"), PluginSource("one.go"), PluginSource("old.so")),
        tag=TAG,
        base_dir=tmp_path,
    )


def test_the_sources_of_go_plugins_are_watched_not_prebuilt_ones(tmp_path: Path) -> None:
    project = _project(tmp_path)
    targets = watch_targets(project)
    assert [(t.name, t.is_dir) for t in targets] == [("mine", True), ("one", False)]
    assert watch_roots(targets) == [tmp_path / "mine", tmp_path]
    assert is_relevant(tmp_path / "mine" / "mine.go", targets) == "mine"
    assert is_relevant(tmp_path / "mine" / "go.mod", targets) == "mine"
    assert is_relevant(tmp_path / "one.go", targets) == "one"
    # Other files beside a file plugin, editors' backups and hidden files do not count.
    assert is_relevant(tmp_path / "notes.txt", targets) is None
    assert is_relevant(tmp_path / "mine" / ".mine.go.swp", targets) is None
    assert is_relevant(tmp_path / "mine" / "mine.go~", targets) is None
    assert is_relevant(tmp_path / "mine" / ".git" / "x", targets) is None


def test_a_plugin_modules_local_replace_directories_are_watched(tmp_path: Path) -> None:
    """A plugin module built with a sibling directory (its go.mod's `replace`): a save there
    rebuilds that plugin too; a replace with a module version or a missing directory does not
    add anything."""
    plugin, lib = tmp_path / "sibling", tmp_path / "siblib"
    plugin.mkdir()
    lib.mkdir()
    (plugin / "go.mod").write_text(
        "module example.com/sibling\n\ngo 1.19\n\nrequire example.com/siblib v0.0.0\n\n"
        "replace example.com/siblib => ../siblib\n"
        "replace example.org/colors => example.org/colours v1.0.0\n"
        "replace example.com/gone => ../gone\n"
    )
    (lib / "siblib.go").write_text("package siblib\n")
    project = Project(plugins=(PluginSource("sibling"),), base_dir=tmp_path)
    targets = watch_targets(project)
    assert [(t.name, t.path) for t in targets] == [("sibling", plugin), ("sibling", lib)]
    assert is_relevant(lib / "siblib.go", targets) == "sibling"
    assert watch_roots(targets) == [plugin, lib]


class _Loop:
    """A WatchLoop on the scripted engine, ticked and polled like the CLI does."""

    def __init__(self, tmp_path: Path, engine: ScriptedEngine) -> None:
        self.project = _project(tmp_path)
        self.engine = engine
        self.build = BuildSession(lambda: engine)
        self.run = RunSession(lambda: engine)
        resolved = resolved_for(self.project, FACTS)
        self.loop = WatchLoop(
            self.build,
            self.run,
            lambda: Prepared(resolved, None, TAG, tmp_path / "log", RunSpec(TAG, timeout=None)),  # type: ignore[arg-type]
        )
        self.messages: list[str] = []

    def step(self) -> None:
        self.build.poll()
        self.run.poll()
        self.messages += self.loop.tick()

    def until(self, condition: object, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            assert time.monotonic() < deadline, (self.messages, self.build.state, self.run.state)
            self.step()
            time.sleep(0.01)


def test_start_builds_then_runs_the_image(tmp_path: Path) -> None:
    engine = ScriptedEngine(
        events=successful_events(TAG), run_result=RunResult(0, "loaded mine\n", False)
    )
    loop = _Loop(tmp_path, engine)
    loop.loop.start()
    assert loop.loop.phase is WatchPhase.BUILDING
    loop.until(lambda: loop.run.state is RunState.EXITED)
    assert list(loop.run.tail) == ["loaded mine"]
    assert loop.messages[:2] == ["building the project", f"built; running {TAG}"]
    assert loop.loop.phase.value == WatchPhase.WAITING.value  # (mypy narrowed `phase` above)
    assert loop.loop.rounds[0].save_to_output is not None


def test_a_save_during_the_build_cancels_it_and_starts_again(tmp_path: Path) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=2)
    loop = _Loop(tmp_path, engine)
    loop.loop.start()
    loop.until(lambda: engine.holding.is_set())
    loop.loop.changed(["mine"])
    loop.until(lambda: loop.build.generation == 2)
    assert loop.loop.restarts == 1
    assert "a save during the build: cancelling it to start again" in loop.messages
    assert loop.messages[-1] == "building mine"
    engine.release.set()
    loop.until(lambda: loop.run.state is RunState.EXITED)
    assert [r.files for r in loop.loop.rounds] == [(), ("mine",)]
    assert len(engine.builds) == 2
    assert len(engine.runs) == 1  # the cancelled build never ran


def test_a_save_while_the_host_runs_stops_it_rebuilds_and_runs_again(tmp_path: Path) -> None:
    engine = ScriptedEngine(
        events=successful_events(TAG), run_result=RunResult(None, "up\nnever\n", False)
    )
    engine.hold_run = 1
    loop = _Loop(tmp_path, engine)
    loop.loop.start()
    loop.until(lambda: list(loop.run.tail) == ["up"])
    assert loop.loop.phase is WatchPhase.RUNNING
    loop.loop.changed(["one"])
    loop.until(lambda: loop.run.generation == 2 and list(loop.run.tail) == ["up"])
    assert "stopping the host to rebuild" in loop.messages
    assert len(engine.builds) == 2
    loop.loop.close()
    assert loop.run.state is RunState.STOPPED


def test_a_failed_build_waits_for_the_next_save(tmp_path: Path) -> None:
    failed = BuildFailed("undefined: x", 1, "RUN go build", (), (), plugin="mine")
    engine = ScriptedEngine(events=[failed])
    loop = _Loop(tmp_path, engine)
    loop.loop.start()
    loop.until(lambda: loop.build.state is BuildState.FAILED)
    loop.step()
    assert loop.loop.phase is WatchPhase.FAILED
    assert engine.runs == []
    engine.events = successful_events(TAG)
    loop.loop.changed(["mine"])
    loop.until(lambda: loop.run.state is RunState.EXITED)
    assert loop.build.state is BuildState.SUCCEEDED


def test_a_project_problem_is_said_and_the_loop_waits(tmp_path: Path) -> None:
    from plugwiz.core.model import ProjectError

    engine = ScriptedEngine(events=successful_events(TAG))
    build, run = BuildSession(lambda: engine), RunSession(lambda: engine)

    def prepare() -> Prepared:
        raise ProjectError("plugin 'mine': mine does not exist")

    loop = WatchLoop(build, run, prepare)
    loop.start()
    assert loop.tick() == ["cannot build: plugin 'mine': mine does not exist"]
    assert loop.problem.endswith("does not exist")
    assert not build.active


class _FakeWatcher:
    """Reports one burst of changes, then waits for stop."""

    def __init__(self, bursts: Sequence[set[Path]]) -> None:
        self.bursts = bursts
        self.roots: list[Path] = []

    def watch(self, roots: Sequence[Path], stop: threading.Event) -> Iterator[set[Path]]:
        self.roots = list(roots)
        yield from self.bursts
        stop.wait(5)


def test_changes_from_the_watcher_reach_the_loop_by_plugin_name(tmp_path: Path) -> None:
    engine = ScriptedEngine(events=successful_events(TAG))
    loop = _Loop(tmp_path, engine)
    watcher = _FakeWatcher(
        [{tmp_path / "notes.txt"}, {tmp_path / "mine" / "mine.go", tmp_path / "one.go"}]
    )
    loop.loop.start()
    loop.loop.watch_files(watcher, loop.project)
    loop.until(lambda: any(m.startswith("saved:") for m in loop.messages))
    assert "saved: mine, one" in loop.messages
    assert watcher.roots == [tmp_path / "mine", tmp_path]
    loop.loop.close()


def test_watch_rounds_are_kept_in_the_history_with_their_run(tmp_path: Path) -> None:
    from plugwiz.core.history import BuildHistory
    from plugwiz.core.timeline import Status

    engine = ScriptedEngine(
        events=successful_events(TAG), run_result=RunResult(0, "loaded mine\n", False)
    )
    history = BuildHistory(tmp_path / "history")
    build = BuildSession(lambda: engine, history=history)
    run = RunSession(lambda: engine)
    resolved = resolved_for(_project(tmp_path), FACTS)
    loop = WatchLoop(
        build,
        run,
        lambda: Prepared(
            resolved,
            None,  # type: ignore[arg-type]
            TAG,
            tmp_path / "log",
            RunSpec(TAG, timeout=None),
            history_key="project.yaml",
        ),
    )
    # As the wizard's app and `plugwiz watch` do when the run's state changes.
    run.add_listener(lambda session: None if build.record_run(session) else None)
    loop.start()
    deadline = time.monotonic() + 5
    while run.state is not RunState.EXITED:
        assert time.monotonic() < deadline, (build.state, run.state)
        build.poll()
        run.poll()
        loop.tick()
        time.sleep(0.01)
    (entry,) = history.entries("project.yaml")
    assert entry.outcome == "succeeded" and entry.tag == TAG
    # The round's run of the image is the build's smoke stage, in the history too.
    smoke = entry.timeline.stage("smoke")
    assert smoke is not None
    status = entry.timeline.stage_status(smoke, 0)
    assert status.status is Status.DONE
    assert entry.timeline.smoke is not None and entry.timeline.smoke.detail == "exit code 0"
