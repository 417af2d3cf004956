"""The run session without Textual: streaming, ports, stop, failures (the scripted engine)."""

from __future__ import annotations

import pytest

from plugwiz.adapters.scripted import ScriptedEngine, report_for
from plugwiz.core.engine import PublishedPort, RunExited, RunResult, RunSpec
from plugwiz.core.model import GoMod, Host, HostFacts, Project, RunSettings
from plugwiz.core.run_session import (
    RunSession,
    RunState,
    run_settings_problem,
    run_spec_for,
)
from tests.helpers import resolved_for

TAG = "plugwiz-test:latest"
FACTS = HostFacts(GoMod("example.com/plugwiz-demo", "1.19"), ("cmd/demo-host",), ("plugins/upper",))


def resolved_demo() -> object:
    return resolved_for(Project(host=Host(repo="demo", ref="main")), FACTS)


def _engine(**kwargs: object) -> ScriptedEngine:
    engine = ScriptedEngine(**kwargs)  # type: ignore[arg-type]
    engine.reports[TAG] = report_for(resolved_demo(), TAG)  # type: ignore[arg-type]
    return engine


def test_a_run_streams_its_lines_and_ends_with_the_exit_code() -> None:
    engine = _engine(run_result=RunResult(3, "one\ntwo\n", False))
    session = RunSession(lambda: engine)
    states: list[RunState] = []
    session.add_listener(lambda s: states.append(s.state))
    session.start(RunSpec(TAG))
    taken = session.drain(timeout=5)
    assert taken.lines == ["one", "two"]
    assert session.state is RunState.EXITED
    assert session.exit == RunExited(3)
    assert list(session.tail) == ["one", "two"]
    assert states == [RunState.STARTING, RunState.RUNNING, RunState.EXITED]
    assert session.first_output_at >= session.started_at


def test_a_server_runs_until_stopped_and_its_ports_are_known() -> None:
    port = PublishedPort(8080, "tcp", "127.0.0.1", 49153)
    engine = _engine(
        run_result=RunResult(None, "listening\nnever\n", False), hold_run=1, run_ports=(port,)
    )
    session = RunSession(lambda: engine)
    session.start(run_spec_for(TAG, ports=(8080,)))
    while not session.tail:
        session.poll()
    assert session.state is RunState.RUNNING
    assert session.ports == (port,)
    assert session.ports[0].address == "127.0.0.1:49153"
    assert session.stop_and_wait(timeout=5)
    assert session.state.value == RunState.STOPPED.value  # (mypy narrowed `state` above)
    assert session.exit == RunExited(None, stopped=True)
    assert list(session.tail) == ["listening"]
    assert not session.stop()  # nothing left to stop
    assert engine.run_specs[0].publish == (8080,)


def test_a_missing_image_fails_with_a_message() -> None:
    session = RunSession(lambda: ScriptedEngine())
    session.start(RunSpec("nothing:here"))
    session.drain(timeout=5)
    assert session.state is RunState.FAILED
    assert "no image 'nothing:here'" in session.message


def test_only_one_run_at_a_time() -> None:
    engine = _engine(run_result=RunResult(None, "a\nb\n", False), hold_run=1)
    session = RunSession(lambda: engine)
    session.start(RunSpec(TAG))
    with pytest.raises(RuntimeError):
        session.start(RunSpec(TAG))
    session.stop_and_wait()
    session.start(RunSpec(TAG))  # a new run once the last one is over
    assert session.generation == 2
    session.stop_and_wait()


def test_the_run_spec_publishes_chosen_ports_else_the_images_expose() -> None:
    assert run_spec_for(TAG).publish is None
    assert run_spec_for(TAG, ports=(80, 443)).publish == (80, 443)
    spec = run_spec_for(TAG, ("--addr", ":9"), (("A", "1"),))
    assert (spec.args, spec.env, spec.timeout) == (("--addr", ":9"), (("A", "1"),), None)


def test_run_settings_problems_are_said() -> None:
    assert run_settings_problem(RunSettings(ports=(8080,))) is None
    assert "not a TCP port" in (run_settings_problem(RunSettings(ports=(70000,))) or "")
    assert "not usable" in (run_settings_problem(RunSettings(env=(("A B", "1"),))) or "")
