"""Running an image with its output streamed: the engine port's `run`, on the real daemon."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from plugwiz.core.engine import RunExited, RunOutput, RunSpec, RunStarted

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

pytestmark = pytest.mark.docker
IMAGE = "debian:bookworm-slim"


def test_output_streams_as_it_comes_and_the_exit_code_ends_it(
    docker_engine: DockerEngine,
) -> None:
    script = "echo one; sleep 1; echo two >&2; exit 3"
    seen: list[tuple[float, object]] = []
    started = time.monotonic()
    for event in docker_engine.run(
        RunSpec(IMAGE, command=("sh", "-c", script)), cancel=threading.Event()
    ):
        seen.append((time.monotonic() - started, event))
    events = [e for _, e in seen]
    assert isinstance(events[0], RunStarted)
    assert [e.text for e in events if isinstance(e, RunOutput)] == ["one", "two"]
    assert events[-1] == RunExited(3)
    # "one" arrived before the container slept: streamed, not collected at the end.
    first = next(t for t, e in seen if isinstance(e, RunOutput))
    assert first < seen[-1][0] - 0.5
    assert not docker_engine.client.api.containers(all=True, filters={"id": events[0].container_id})


def test_a_cancel_stops_a_server_and_removes_its_container(docker_engine: DockerEngine) -> None:
    cancel = threading.Event()
    script = "echo listening; exec sleep 600"
    events = []
    for event in docker_engine.run(
        RunSpec(IMAGE, command=("sh", "-c", script), timeout=None), cancel=cancel
    ):
        events.append(event)
        if isinstance(event, RunOutput) and event.text == "listening":
            cancel.set()
    assert events[-1] == RunExited(None, stopped=True)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert not docker_engine.client.api.containers(all=True, filters={"id": started.container_id})


def test_a_time_limit_stops_it_and_says_so(docker_engine: DockerEngine) -> None:
    events = list(
        docker_engine.run(
            RunSpec(IMAGE, command=("sh", "-c", "echo start; sleep 60"), timeout=1.5),
            cancel=threading.Event(),
        )
    )
    assert [e.text for e in events if isinstance(e, RunOutput)] == ["start"]
    assert events[-1] == RunExited(None, timed_out=True)
