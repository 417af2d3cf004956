"""A build session: one build of a project, run in a worker thread, observed by whoever shows it.

The wizard's app owns one `BuildSession`; the Build screen, the dialogs about a build (cancel,
quit), the Result step and the Plugins table observe it. It is plain Python (no Textual), so
its flood and cancel logic are unit-tested without a terminal:

- the worker thread pings the engine, runs the build and inspects the image; everything it
  learns goes through one queue, so the consumer sees it in order;
- the consumer (the app's timer, or a test) calls `poll()`, which takes what is queued within a
  time budget, updates the state, keeps the tail of the log and tells listeners when the state
  changes. State therefore changes on the consumer's thread only.

It also keeps what the build explorer shows: the timeline of stages and steps (`timeline`, fed
by the events, which carry their times), the display log on disk (`view_path`: every line
shown, so searches and stage filters cover the whole build), and, with a `history`, an entry
for each build of the project once it ends.
"""

from __future__ import annotations

import contextlib
import enum
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from plugwiz.core.engine import BuildEngine, EngineError, EngineUnavailableError
from plugwiz.core.events import (
    SMOKE_STAGE,
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildFinished,
    BuildWarning,
    OutputLines,
    SmokeRunFinished,
    SmokeRunOutput,
    SmokeRunStarted,
    StepFinished,
    StepStarted,
    stamped,
)
from plugwiz.core.history import BuildHistory, HistoryEntry, entry_id
from plugwiz.core.logindex import STEP_MARK, WARNING_MARK, step_header
from plugwiz.core.model import ProjectError, ResolvedProject
from plugwiz.core.plan import plan_build
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.core.run_session import RunSession, RunState
from plugwiz.core.timeline import BuildTimeline, SmokeRun, plan_stages

if TYPE_CHECKING:
    # The image report's type only: the wizard makes a session before its first paint, and
    # the report's ELF reading (like the explainer) is needed only once a build has ended.
    from plugwiz.core.report import ImageReport

# How many lines of the log the session keeps for a screen that shows it late (the whole log
# is in the log file).
TAIL_LINES = 5000
# The worker shares the GIL with the consumer (the UI thread). A worker that never blocks (a
# flood of output) would hold it while the UI thread waits up to the interpreter's switch
# interval (5 ms) each time it comes back from waiting for input, dozens of times per key;
# handing the GIL over at least this often keeps keys at a few ms.
YIELD_EVERY_S = 0.004
# One poll takes what is queued but stops after about this long, so the consumer's other work
# (keys, repaints) waits at most about this.
POLL_BUDGET_S = 0.02
# The display log is written in chunks of about this many lines (and whenever a reader asks,
# `flush_view`): each write lets the GIL go, and in a flood the worker keeps it ~5 ms each time.
VIEW_CHUNK_LINES = 32768


class BuildState(enum.Enum):
    """Where a session is. `active` states have a worker running."""

    IDLE = "idle"
    STARTING = "starting"  # pinging the engine, writing the build context
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"  # built, tagged and inspected
    FAILED = "failed"  # the build failed (compile error, load check, lost daemon)
    CANCELLED = "cancelled"
    UNAVAILABLE = "unavailable"  # the engine cannot be reached
    CRASHED = "crashed"  # could not start (a project problem, a missing image...)

    @property
    def active(self) -> bool:
        return self in (BuildState.STARTING, BuildState.RUNNING, BuildState.CANCELLING)


@dataclass(frozen=True)
class EngineUnavailable:
    """The engine could not be reached; `message` says how to fix it."""

    message: str


@dataclass(frozen=True)
class BuildCrashed:
    """The build could not start or broke off with an error for a person."""

    message: str


@dataclass(frozen=True)
class ImageInspected:
    """The built image's report (None, with `error`, when it could not be read)."""

    report: ImageReport | None
    error: str = ""


@dataclass(frozen=True)
class BackendChosen:
    """The engine builds this project with BuildKit (its layout, its step numbers, steps that
    run at once) or not; said before the build's first event."""

    buildkit: bool


@dataclass(frozen=True)
class WorkerDone:
    """The worker has nothing more to say."""


SessionEvent = (
    BuildEvent | BackendChosen | EngineUnavailable | BuildCrashed | ImageInspected | WorkerDone
)


class PluginOutcome(enum.Enum):
    """What the last build did with one custom plugin."""

    BUILT = "built"  # compiled; the load check did not get to it
    FAILED = "failed"  # did not compile
    LOADS = "loads"  # passed the load check (the build succeeded)
    NOT_LOADED = "does not load"  # compiled, refused by the load check


@dataclass(frozen=True)
class PluginResult:
    """The outcome for one custom plugin, with the source it was built from (`source`, `name`)
    and its files' signature then, so a later edit makes the result stale."""

    outcome: PluginOutcome
    source: str
    name: str
    signature: tuple[tuple[str, int, int], ...]
    line: int = 0  # the first error's line in the user's file, for FAILED
    detail: str = ""

    def describe(self) -> str:
        """A short status: `built`, `loads`, `failed at line 9`, `does not load`."""
        if self.outcome is PluginOutcome.FAILED and self.line:
            return f"failed at line {self.line}"
        return self.outcome.value


def source_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of a plugin source's files: changes when the user edits one."""
    paths = [path]
    if path.is_dir():
        paths = sorted(p for p in path.rglob("*") if p.is_file())
    found: list[tuple[str, int, int]] = []
    for item in paths:
        try:
            stat = item.stat()
        except OSError:
            continue
        found.append((str(item), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


@dataclass
class PollResult:
    """What one `poll` took from the queue: display lines (in order, step headers included)
    and the other events, in order."""

    lines: list[str] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)
    dropped: int = 0  # lines not in `lines` because a single batch exceeded the tail size
    first_line: int = 0  # the display log's line number of lines[0]
    step_before: int = 0  # the step of the lines before the first mark
    marks: list[tuple[int, int]] = field(default_factory=list)  # (index in lines, step) headers

    def steps_of_lines(self) -> Iterator[tuple[int, int, int]]:
        """(start, end, step): the runs of `lines` that belong to one step each."""
        step, start = self.step_before, 0
        for index, number in self.marks:
            if index > start:
                yield start, index, step
            step, start = number, index
        if start < len(self.lines):
            yield start, len(self.lines), step

    def __bool__(self) -> bool:
        return bool(self.lines or self.events)


Listener = Callable[["BuildSession"], None]


class BuildSession:
    """One build at a time: start it, poll it, cancel it, read its outcome."""

    def __init__(
        self, engine: Callable[[], BuildEngine], history: BuildHistory | None = None
    ) -> None:
        """`engine` makes (or returns) the engine on first use, in the worker thread; with a
        `history`, each build started with a history key is kept in it once it ends."""
        self._engine_factory = engine
        self.history = history
        # Stamps events the engine sent without a time, and is "now" for a running stage.
        self.clock: Callable[[], float] = time.time
        self.timeline = BuildTimeline()
        self.view_path: Path | None = None  # the display log (every line shown)
        self.view_lines = 0  # lines written to it
        self.history_key = ""
        self.history_entry: HistoryEntry | None = None  # this build's, once it ended
        self._view: TextIO | None = None
        self._view_pending: list[str] = []  # lines for the display log, not written yet
        self._view_step = 0  # the step of the last line written to the display log
        self.state = BuildState.IDLE
        self.resolved: ResolvedProject | None = None  # what the current/last build is of
        self.tag = ""
        self.log_path: Path | None = None
        self.started_at = 0.0  # time.monotonic()
        self.finished_at = 0.0
        self.step = 0
        self.total = 0
        self.step_title = ""
        self.failure: BuildFailed | None = None
        self.message = ""  # why the session is UNAVAILABLE or CRASHED
        self.finished: BuildFinished | None = None
        self.report: ImageReport | None = None
        self.report_error = ""
        self.warnings: list[str] = []
        self.lines_seen = 0  # output lines of this build, counting those the tail let go
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.plugin_results: dict[str, PluginResult] = {}
        # The smoke run (the last stage, when the project has one): how it went.
        self.smoke_started: SmokeRunStarted | None = None
        self.smoke_finished: SmokeRunFinished | None = None
        self.generation = 0  # bumped at every start: observers tell builds apart
        self._queue: queue.SimpleQueue[SessionEvent] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self._stages_done: set[str] = set()
        self._stage = ""
        self._signatures: dict[str, tuple[tuple[str, int, int], ...]] = {}
        # Set by the worker before it queues EngineUnavailable; read after that is polled.
        self._unavailable = False

    # -- observing ---------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True from `start` until the worker's last event has been polled."""
        return self.state.active

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(session)` (on the polling thread) whenever the state changes."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def stage(self) -> str:
        """The stage the build is in (its `AS` name; SMOKE_STAGE during the smoke run)."""
        return self._stage

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the start (until the end, once it ended)."""
        if not self.started_at:
            return 0.0
        end = self.finished_at or (now if now is not None else time.monotonic())
        return max(0.0, end - self.started_at)

    # -- control -----------------------------------------------------------------------------

    def start(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        *,
        tag: str,
        log_path: Path,
        history_key: str = "",
    ) -> None:
        """Start a build of `resolved` tagged `tag` in a worker thread; the builder's log goes
        to `log_path`, the display log beside it. With a `history_key` (the project file's
        path, or the tag), the build is kept in the history once it ends."""
        if self.active:
            raise RuntimeError("a build is already running")
        self.generation += 1
        self.resolved = resolved
        self.tag = tag
        self.log_path = log_path
        self.started_at = time.monotonic()
        self.finished_at = 0.0
        self.step = self.total = 0
        self.step_title = ""
        self.failure = None
        self.message = ""
        self.finished = None
        self.report = None
        self.report_error = ""
        self.warnings = []
        self.lines_seen = 0
        self.tail.clear()
        self.plugin_results = {}
        self.smoke_started = None
        self.smoke_finished = None
        self._stages_done = set()
        self._stage = ""
        self._signatures = {}
        self._unavailable = False
        self.timeline = BuildTimeline(plan_stages(resolved))
        self.timeline.begin(self.clock())
        self.history_key = history_key
        self.history_entry = None
        self._open_view(log_path.with_name(log_path.stem + ".view.log"))
        self._queue = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._set_state(BuildState.STARTING)
        self._thread = threading.Thread(
            target=self._work,
            args=(resolved, repo, tag, log_path, self._queue, self._cancel, self.clock),
            name="plugwiz-build",
            daemon=True,
        )
        self._thread.start()

    def cancel(self) -> bool:
        """Ask the running build to stop; False when there is none. The state says
        CANCELLING until the worker has stopped (then CANCELLED, or the outcome that beat
        the cancel)."""
        if not self.active:
            return False
        self._cancel.set()
        if self.state is not BuildState.CANCELLING:
            self._set_state(BuildState.CANCELLING)
        return True

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the worker to stop; True if it has (or never ran)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- the consumer side -------------------------------------------------------------------

    def poll(self, budget_s: float = POLL_BUDGET_S) -> PollResult:
        """Take what the worker queued (for at most about `budget_s`), update the state and
        the tail, and return it for display. Call it from one thread only."""
        result = PollResult(first_line=self.view_lines, step_before=self._view_step)
        lines = result.lines
        deadline = time.perf_counter() + budget_s
        get = self._queue.get_nowait
        output = 0
        clock = time.perf_counter
        while True:
            try:
                event = get()
            except queue.Empty:
                break
            if type(event) is OutputLines:
                lines.extend(event.lines)
                output += len(event.lines)
                if clock() > deadline:
                    break  # the rest waits for the next poll; keys and repaints go first
                continue
            self._handle(event, result)
            result.events.append(event)
        self.lines_seen += output
        self._write_view(result)
        if len(lines) > TAIL_LINES:
            # Lines the tail would drop at once are not kept or shown: measuring and storing
            # them was most of the cost of a flood. They are in the log files.
            dropped = result.dropped = len(lines) - TAIL_LINES
            del lines[:dropped]
            result.first_line += dropped
            kept: list[tuple[int, int]] = []
            for index, number in result.marks:
                if index <= dropped:
                    result.step_before = number
                if index >= dropped:
                    kept.append((index - dropped, number))
            result.marks = kept
        self.tail.extend(lines)
        return result

    def drain(self, timeout: float = 30.0) -> list[SessionEvent]:
        """Poll until the session is no longer active (for tests and scripts); every event."""
        deadline = time.monotonic() + timeout
        events: list[SessionEvent] = []
        while True:
            events.extend(self.poll(budget_s=1.0).events)
            if not self.active:
                return events
            if time.monotonic() > deadline:
                raise TimeoutError(f"the build session is still {self.state.value}")
            time.sleep(0.01)

    # -- internals ---------------------------------------------------------------------------

    def _set_state(self, state: BuildState) -> None:
        if state is self.state:
            return
        self.state = state
        if not state.active and self.started_at:
            self.finished_at = time.monotonic()
        for listener in list(self._listeners):
            listener(self)

    def _handle(self, event: SessionEvent, result: PollResult) -> None:
        lines = result.lines
        if isinstance(event, StepStarted):
            self.step, self.total, self.step_title = event.number, event.total, event.title
            if event.stage != self._stage:
                if self._stage:
                    self._stage_done(self._stage)
                self._stage = event.stage
            result.marks.append((len(lines), event.number))
            lines.append(step_header(event.number, event.total, event.title))
            self.timeline.apply(event)
            if self.state is BuildState.STARTING:
                self._set_state(BuildState.RUNNING)
        elif isinstance(event, StepFinished | BuildCancelled):
            self.timeline.apply(event)
        elif isinstance(event, BackendChosen):
            if not self.timeline.records and self.resolved is not None:
                self.timeline.use_stages(
                    plan_stages(self.resolved, buildkit=event.buildkit), overlapping=event.buildkit
                )
        elif isinstance(event, BuildWarning):
            self.warnings.append(event.text)
            lines.append(f"{WARNING_MARK} {event.text}")
        elif isinstance(event, SmokeRunOutput):
            lines.append(event.text)
            self.lines_seen += 1
        elif isinstance(event, SmokeRunStarted):
            if self._stage and self._stage != SMOKE_STAGE:
                self._stage_done(self._stage)
            self._stage = SMOKE_STAGE
            self.smoke_started = event
            self.step_title = "Smoke run: " + " ".join(event.command)
            lines.append(
                f"{STEP_MARK} Smoke run (the last stage): {' '.join(event.command)} "
                f"(must {event.expectation})"
            )
        elif isinstance(event, SmokeRunFinished):
            self.smoke_finished = event
            verdict = "passed" if event.passed else "failed"
            lines.append(
                f"{STEP_MARK} Smoke run {verdict} in {event.seconds:.1f} s: {event.reason}"
            )
        elif isinstance(event, BuildFailed):
            self.failure = event
            self.timeline.apply(event)
            self._record_failure(event)
        elif isinstance(event, BuildFinished):
            self.finished = event
            self.timeline.apply(event)
            self._record_success()
        elif isinstance(event, EngineUnavailable | BuildCrashed):
            self.message = event.message
        elif isinstance(event, ImageInspected):
            self.report, self.report_error = event.report, event.error
        elif isinstance(event, WorkerDone):
            # Observers of the end read the display log: it must hold every line first.
            self._write_view(result)
            final = self._final_state()
            self.timeline.end(final.value, self.clock())
            self._close_view()
            self._keep_in_history(final)
            self._set_state(final)

    # -- the display log and the history -----------------------------------------------------

    def _open_view(self, path: Path) -> None:
        self._close_view()
        self.view_path = path
        self.view_lines = 0
        self._view_step = 0
        self._view_pending = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._view = path.open("w", encoding="utf-8")
        except OSError:
            self._view = None  # no search over the whole log; the build itself goes on

    def _close_view(self) -> None:
        if self._view is not None:
            self.flush_view()
            with contextlib.suppress(OSError):
                self._view.close()
            self._view = None

    def _write_view(self, result: PollResult) -> None:
        """Queue the poll's lines not yet in the display log; write them in chunks."""
        lines = result.lines
        start = self.view_lines - result.first_line
        if start >= len(lines):
            return
        if result.marks:
            self._view_step = result.marks[-1][1]
        pending = self._view_pending
        pending.extend(lines[start:] if start else lines)
        self.view_lines += len(lines) - start
        if len(pending) >= VIEW_CHUNK_LINES:
            self.flush_view()

    def flush_view(self) -> None:
        """Write what the display log is owed, so a reader (a search, a stage filter) sees
        every line shown so far. Call it on the polling thread."""
        pending = self._view_pending
        if not pending:
            return
        self._view_pending = []
        if self._view is None:
            return
        try:
            self._view.write("\n".join(pending) + "\n")
            self._view.flush()
        except OSError:
            self._view = None  # no search over the whole log; the build itself goes on

    def _keep_in_history(self, final: BuildState) -> None:
        if self.history is None or not self.history_key:
            return
        if final not in (BuildState.SUCCEEDED, BuildState.FAILED, BuildState.CANCELLED) and not (
            self.timeline.records
        ):
            return  # it never built anything (no engine, a project problem): not a build
        failure = self.failure
        explanation = ""
        if failure is not None and failure.explanation is not None:
            from plugwiz.core.explain import format_explanation

            explanation = format_explanation(failure.explanation)
        self.history_entry = HistoryEntry(
            id=entry_id(self.timeline.started or self.clock()),
            key=self.history_key,
            tag=self.tag,
            outcome=final.value,
            timeline=self.timeline,
            image_id=self.finished.image_id if self.finished is not None else "",
            message=failure.message if failure is not None else self.message,
            raw_log=str(self.log_path or ""),
            view_log=str(self.view_path or ""),
            failure=failure,
            explanation=explanation,
        )
        self.history.record(self.history_entry)

    def record_smoke(self, started: float, finished: float, ok: bool, detail: str = "") -> None:
        """The image of the last build was run (the smoke run; `finished` 0 while it runs):
        add it to the timeline and the history. The state does not change, so listeners are
        not called."""
        if self.active:
            return
        self.timeline.record_smoke(SmokeRun(started, finished, ok, detail))
        if self.history is not None and self.history_entry is not None:
            self.history.record(self.history_entry)

    def record_run(self, run: RunSession) -> bool:
        """`run` (the Result step's live run, or watch mode's) started or ended: when it runs
        the image this session's last build made, it is that build's smoke run. Call it on
        the polling thread when the run's state changes; True when it was recorded."""
        spec = run.spec
        if (
            self.state is not BuildState.SUCCEEDED
            or spec is None
            or spec.image != self.tag
            or run.state is RunState.IDLE
            or not run.started_at
        ):
            return False
        # The run session keeps monotonic times; the timeline, this session's clock's.
        offset = self.clock() - time.monotonic()
        started = run.started_at + offset
        state = run.state
        if state.active:
            self.record_smoke(started, 0.0, True, "running")
            return True
        finished = (run.finished_at or time.monotonic()) + offset
        exit = run.exit
        if state is RunState.FAILED:
            ok, detail = False, run.message or "could not run"
        elif state is RunState.STOPPED or (exit is not None and exit.stopped):
            ok, detail = True, "stopped"
        elif exit is not None and exit.timed_out:
            ok, detail = False, "timed out"
        elif exit is not None:
            code = exit.exit_code
            ok, detail = code == 0, "no exit code" if code is None else f"exit code {code}"
        else:
            ok, detail = False, "ended"
        self.record_smoke(started, max(finished, started), ok, detail)
        return True

    def _final_state(self) -> BuildState:
        if self.finished is not None:
            return BuildState.SUCCEEDED
        if self.failure is not None:
            return BuildState.FAILED
        if self.message and self._unavailable:
            return BuildState.UNAVAILABLE
        if self.message:
            return BuildState.CRASHED
        if self._cancel.is_set():
            return BuildState.CANCELLED
        self.message = "the build stopped without a result; see the log"
        return BuildState.CRASHED

    # -- per-plugin outcomes -----------------------------------------------------------------

    def _custom_plugins(self) -> Iterator[tuple[int, str, str, str]]:
        """(index, stage, name, source) of each custom plugin that is built in a stage."""
        if self.resolved is None:
            return
        try:
            plan = plan_build(self.resolved)
        except ProjectError:
            return
        for planned in plan.plugins:
            if planned.index:
                yield planned.index - 1, planned.stage, planned.name, planned.source

    def _result(self, name: str, source: str, outcome: PluginOutcome, **extra: object) -> None:
        self.plugin_results[name] = PluginResult(
            outcome,
            source,
            name,
            self._signatures.get(name, ()),
            **extra,  # type: ignore[arg-type]
        )

    def _stage_done(self, stage: str) -> None:
        self._stages_done.add(stage)
        for _index, planned_stage, name, source in self._custom_plugins():
            if planned_stage == stage:
                self._result(name, source, PluginOutcome.BUILT)

    def _record_failure(self, failed: BuildFailed) -> None:
        for _index, _stage, name, source in self._custom_plugins():
            if name != failed.plugin:
                continue
            if self._stage == "check":
                self._result(name, source, PluginOutcome.NOT_LOADED, detail=failed.message)
            else:
                line = failed.locations[0].line if failed.locations else 0
                self._result(name, source, PluginOutcome.FAILED, line=line, detail=failed.message)

    def _record_success(self) -> None:
        for _index, _stage, name, source in self._custom_plugins():
            self._result(name, source, PluginOutcome.LOADS)

    # -- the worker --------------------------------------------------------------------------

    def _work(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        tag: str,
        log_path: Path,
        events: queue.SimpleQueue[SessionEvent],
        cancel: threading.Event,
        clock: Callable[[], float],
    ) -> None:
        """Ping, build, inspect; every result goes through `events`, WorkerDone last."""
        put = events.put
        try:
            project = resolved.project
            for plugin in project.plugins:
                self._signatures[plugin.output_name] = source_signature(
                    project.source_path(plugin.source)
                )
            engine = self._engine_factory()
            try:
                engine.ping()
            except EngineUnavailableError as exc:
                self._unavailable = True
                put(EngineUnavailable(str(exc)))
                return
            buildkit = engine.uses_buildkit(resolved)
            if buildkit:
                put(BackendChosen(True))  # the timeline was planned for the classic builder
            log_path.parent.mkdir(parents=True, exist_ok=True)
            finished: BuildFinished | None = None
            next_yield = 0.0
            stream = engine.build(resolved, repo, tag=tag, log_path=log_path, cancel=cancel)
            for event in stream:
                if type(event) is not OutputLines:
                    event = stamped(event, clock())  # an engine that sends no times
                put(event)
                if isinstance(event, BuildFinished):
                    finished = event
                now = time.perf_counter()
                if now >= next_yield:
                    time.sleep(0)  # hand the GIL to the UI thread if it is waiting for it
                    next_yield = now + YIELD_EVERY_S
            if finished is not None:
                try:
                    put(ImageInspected(engine.inspect(finished.tag)))
                except EngineError as exc:
                    put(ImageInspected(None, str(exc)))
        except EngineUnavailableError as exc:
            self._unavailable = True
            put(EngineUnavailable(str(exc)))
        except (EngineError, ProjectError, HostRepoError) as exc:
            put(BuildCrashed(str(exc)))
        except OSError as exc:
            put(BuildCrashed(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")))
        except Exception as exc:  # noqa: BLE001 - a bug; said in place, not a dead wizard
            put(BuildCrashed(f"unexpected error ({type(exc).__name__}): {exc}"))
        finally:
            put(WorkerDone())


__all__ = [
    "BackendChosen",
    "BuildCrashed",
    "BuildSession",
    "BuildState",
    "EngineUnavailable",
    "ImageInspected",
    "PluginOutcome",
    "PluginResult",
    "PollResult",
    "SessionEvent",
    "WorkerDone",
    "source_signature",
]
