"""A run session: one live run of an image, in a worker thread, observed by whoever shows it.

Like `BuildSession`, it is plain Python that the wizard's app (or `plugwiz watch`) owns:
the worker iterates the engine port's `run` and queues what it yields; the consumer calls
`poll()` to take it (output lines, the published ports, the exit) on its own thread, and
listeners hear of every state change. `stop()` asks the engine to stop the container, which
the engine then removes whatever happens; `wait()` lets a caller that is leaving (the user
left the step, or quits) make sure it is gone.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from plugwiz.core.engine import (
    BuildEngine,
    EngineError,
    PublishedPort,
    RunEvent,
    RunExited,
    RunOutput,
    RunSpec,
    RunStarted,
)
from plugwiz.core.model import RunSettings

TAIL_LINES = 5000  # lines kept for a view that shows the run late


class RunState(enum.Enum):
    """Where a run is; `active` states have a worker (and maybe a container)."""

    IDLE = "idle"
    STARTING = "starting"  # creating and starting the container
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop; the container is being killed and removed
    EXITED = "exited"  # it stopped by itself (see `exit_code`) or at its time limit
    STOPPED = "stopped"  # stopped on request
    FAILED = "failed"  # could not start (no engine, no image...): see `message`

    @property
    def active(self) -> bool:
        return self in (RunState.STARTING, RunState.RUNNING, RunState.STOPPING)


@dataclass(frozen=True)
class RunFailed:
    """The run could not start or broke off; the message is for a person."""

    message: str


@dataclass(frozen=True)
class RunDone:
    """The worker has nothing more to say (the container is gone)."""


RunSessionEvent = RunEvent | RunFailed | RunDone


@dataclass
class RunPoll:
    """What one `poll` took: output lines in order, and the other events."""

    lines: list[str] = field(default_factory=list)
    events: list[RunSessionEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lines or self.events)


RunListener = Callable[["RunSession"], None]


class RunSession:
    """One run at a time: start it, poll it, stop it, read how it ended."""

    def __init__(self, engine: Callable[[], BuildEngine]) -> None:
        """`engine` makes (or returns) the engine, in the worker thread."""
        self._engine_factory = engine
        self.state = RunState.IDLE
        self.spec: RunSpec | None = None
        self.container_id = ""
        self.ports: tuple[PublishedPort, ...] = ()
        self.exit: RunExited | None = None
        self.message = ""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.lines_seen = 0
        self.started_at = 0.0
        self.first_output_at = 0.0  # time.monotonic() of the first line polled
        self.finished_at = 0.0
        self.generation = 0
        self._queue: queue.SimpleQueue[RunSessionEvent] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[RunListener] = []

    @property
    def active(self) -> bool:
        """True from `start` until the worker's last event has been polled."""
        return self.state.active

    def add_listener(self, listener: RunListener) -> None:
        """Call `listener(session)` (on the polling thread) whenever the state changes."""
        self._listeners.append(listener)

    def remove_listener(self, listener: RunListener) -> None:
        """Stop calling `listener`."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def start(self, spec: RunSpec) -> None:
        """Run `spec` in a worker thread (RuntimeError if a run is still active)."""
        if self.active:
            raise RuntimeError("a run is already active: stop it first")
        self.generation += 1
        self.spec = spec
        self.container_id = ""
        self.ports = ()
        self.exit = None
        self.message = ""
        self.tail.clear()
        self.lines_seen = 0
        self.started_at = time.monotonic()
        self.first_output_at = 0.0
        self.finished_at = 0.0
        self._queue = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._set_state(RunState.STARTING)
        self._thread = threading.Thread(
            target=self._work,
            args=(spec, self._queue, self._cancel),
            name="plugwiz-run",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> bool:
        """Ask the run to stop (its container is then killed and removed); False if none."""
        if not self.active:
            return False
        self._cancel.set()
        self._set_state(RunState.STOPPING)
        return True

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the worker to end; True when it has (or never ran)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def stop_and_wait(self, timeout: float = 15.0) -> bool:
        """Stop the run, wait for its container to be gone and poll what is left; True when
        nothing is left running (for a caller that is leaving: a step, the app)."""
        self.stop()
        gone = self.wait(timeout)
        self.poll()
        return gone

    def poll(self) -> RunPoll:
        """Take what the worker queued, update the state and the tail. One thread only."""
        result = RunPoll()
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, RunOutput):
                result.lines.append(event.text)
                continue
            result.events.append(event)
            self._handle(event)
        if result.lines:
            if not self.first_output_at:
                self.first_output_at = time.monotonic()
            self.lines_seen += len(result.lines)
            self.tail.extend(result.lines)
        return result

    def drain(self, timeout: float = 30.0) -> RunPoll:
        """Poll until the run is no longer active (for tests and scripts): all it took."""
        deadline = time.monotonic() + timeout
        total = RunPoll()
        while True:
            got = self.poll()
            total.lines += got.lines
            total.events += got.events
            if not self.active:
                return total
            if time.monotonic() > deadline:
                raise TimeoutError(f"the run is still {self.state.value}")
            time.sleep(0.02)

    def _handle(self, event: RunSessionEvent) -> None:
        if isinstance(event, RunStarted):
            self.container_id = event.container_id
            self.ports = event.ports
            if self.state is RunState.STARTING:
                self._set_state(RunState.RUNNING)
        elif isinstance(event, RunExited):
            self.exit = event
        elif isinstance(event, RunFailed):
            self.message = event.message
        elif isinstance(event, RunDone):
            if self.message:
                state = RunState.FAILED
            elif (
                self.exit is not None
                and self.exit.stopped
                or self.exit is None
                and self._cancel.is_set()
            ):
                state = RunState.STOPPED
            else:
                state = RunState.EXITED
            self._set_state(state)

    def _set_state(self, state: RunState) -> None:
        if state is self.state:
            return
        self.state = state
        if not state.active:
            self.finished_at = time.monotonic()
        for listener in list(self._listeners):
            listener(self)

    def _work(
        self, spec: RunSpec, events: queue.SimpleQueue[RunSessionEvent], cancel: threading.Event
    ) -> None:
        put = events.put
        try:
            engine = self._engine_factory()
            stream = engine.run(spec, cancel=cancel)
            try:
                for event in stream:
                    put(event)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # a generator left early still stops and removes its container
        except EngineError as exc:
            put(RunFailed(str(exc)))
        except OSError as exc:
            put(RunFailed(f"{exc.strerror or exc}"))
        except Exception as exc:  # noqa: BLE001 - a bug; said in place, not a dead wizard
            put(RunFailed(f"unexpected error ({type(exc).__name__}): {exc}"))
        finally:
            put(RunDone())


def run_settings_problem(settings: RunSettings) -> str | None:
    """Why the run settings cannot be used (a port out of range, a bad variable name), or
    None."""
    for port in settings.ports:
        if not 0 < port < 65536:
            return f"port {port} is not a TCP port (1-65535)"
    for name, value in settings.env:
        if not name or "=" in name or any(c.isspace() or not c.isprintable() for c in name):
            return f"environment variable name {name!r} is not usable"
        if "\0" in value:
            return f"the value of {name} holds a NUL character"
    return None


def run_spec_for(
    tag: str,
    args: tuple[str, ...] = (),
    env: tuple[tuple[str, str], ...] = (),
    ports: tuple[int, ...] = (),
    timeout: float | None = None,
) -> RunSpec:
    """The RunSpec of a live run: chosen `ports` published, else every port the image
    EXPOSEs; no time limit unless one is given (a server runs until it is stopped)."""
    return RunSpec(image=tag, args=args, env=env, publish=ports if ports else None, timeout=timeout)


__all__ = [
    "RunDone",
    "RunFailed",
    "RunPoll",
    "RunSession",
    "RunSessionEvent",
    "RunState",
    "run_settings_problem",
    "run_spec_for",
]
