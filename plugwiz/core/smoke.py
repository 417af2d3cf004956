"""The smoke run: the built image runs once, and must pass before its tag moves. Backend-neutral
(it runs through the engine port's `run`), so every engine gives the same events:
SmokeRunStarted, SmokeRunOutput..., SmokeRunFinished, and a BuildFailed when it did not pass.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator
from typing import Protocol

from plugwiz.core.engine import RunEvent, RunExited, RunOutput, RunSpec
from plugwiz.core.events import (
    LAST_LINES,
    BuildEvent,
    BuildFailed,
    SmokeRunFinished,
    SmokeRunOutput,
    SmokeRunStarted,
)
from plugwiz.core.model import SmokeTest


class RunsImages(Protocol):
    """The part of the engine port a smoke run needs."""

    def run(self, spec: RunSpec, *, cancel: threading.Event) -> Iterator[RunEvent]:
        """Run an image, streaming its output (see BuildEngine.run)."""
        ...


def expectation(smoke: SmokeTest) -> str:
    """What the smoke run must do to pass, in words."""
    parts = []
    if smoke.expect_output:
        parts.append(f"print a line matching /{smoke.expect_output}/")
    if smoke.expect_exit is not None:
        parts.append(f"exit with {smoke.expect_exit}")
    if not parts:
        parts.append("exit with 0")
    return " and ".join(parts) + f" within {smoke.timeout:g} s"


def run_smoke(
    engine: RunsImages,
    image: str,
    smoke: SmokeTest,
    cancel: threading.Event,
    command: tuple[str, ...] = (),
    tag: str = "",
) -> Generator[BuildEvent, None, bool | None]:
    """Run `image` (by ID: the tag has not moved yet) as `smoke` says, yielding its events;
    returns True (passed), False (failed: a BuildFailed was yielded) or None (cancelled).
    `command` is the image's CMD, for display."""
    pattern = re.compile(smoke.expect_output, re.MULTILINE) if smoke.expect_output else None
    shown = (*command, *smoke.args)
    yield SmokeRunStarted(shown, smoke.timeout, expectation(smoke))
    started = time.monotonic()
    stop = threading.Event()
    matched = False
    exited = RunExited(None)
    tail: deque[str] = deque(maxlen=LAST_LINES)
    spec = RunSpec(image, args=smoke.args, env=smoke.env, publish=(), timeout=smoke.timeout)

    # The run stops on the build's cancel, or once the expected output is seen (a server never
    # exits by itself) and no exit status is expected.
    def watch() -> None:
        while not (cancel.is_set() or stop.is_set()):
            cancel.wait(0.05)
        stop.set()

    watcher = threading.Thread(target=watch, name="plugwiz-smoke-cancel", daemon=True)
    watcher.start()
    try:
        for event in engine.run(spec, cancel=stop):
            if isinstance(event, RunOutput):
                tail.append(event.text)
                yield SmokeRunOutput(event.text)
                if pattern is not None and not matched and pattern.search(event.text):
                    matched = True
                    if smoke.expect_exit is None:
                        stop.set()
            elif isinstance(event, RunExited):
                exited = event
    finally:
        stop.set()
        watcher.join(timeout=1)
    seconds = time.monotonic() - started
    if cancel.is_set():
        return None
    passed, reason = _verdict(smoke, matched, exited)
    yield SmokeRunFinished(passed, reason, exited.exit_code, exited.timed_out, seconds)
    if passed:
        return True
    where = f"; {tag} was not changed" if tag else ""
    yield BuildFailed(
        message=f"the smoke run failed: {reason}{where}",
        step=0,
        title="smoke run: " + " ".join(shown),
        last_lines=tuple(tail),
        locations=(),
        plugin=None,
    )
    return False


def _verdict(smoke: SmokeTest, matched: bool, exited: RunExited) -> tuple[bool, str]:
    """(passed, why) for a finished run."""
    code = exited.exit_code
    if exited.timed_out:
        ended = f"it was still running after {smoke.timeout:g} s"
    elif exited.stopped:
        ended = "it was stopped"
    else:
        ended = f"it exited with {code}"
    problems = []
    if smoke.expect_output and not matched:
        problems.append(f"no line matched /{smoke.expect_output}/ ({ended})")
    if smoke.expect_exit is not None and (exited.timed_out or code != smoke.expect_exit):
        problems.append(f"expected exit status {smoke.expect_exit}, {ended}")
    if not smoke.expect_output and smoke.expect_exit is None and code != 0:
        problems.append(f"expected exit status 0, {ended}")
    if problems:
        return False, "; ".join(problems)
    if smoke.expect_output and smoke.expect_exit is None:
        return True, f"its output matched /{smoke.expect_output}/"
    if smoke.expect_output:
        return True, f"its output matched /{smoke.expect_output}/ and it exited with {code}"
    return True, f"it exited with {code}"


__all__ = ["RunsImages", "expectation", "run_smoke"]
