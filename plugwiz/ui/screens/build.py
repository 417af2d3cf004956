"""Step 4, Build: run the build in a thread, stream its output, explain a failure."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Label, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from plugwiz.core.events import (
    BuildCancelled,
    BuildFailed,
    BuildFinished,
    BuildWarning,
    OutputLine,
    StepStarted,
)
from plugwiz.core.model import Project, ProjectError
from plugwiz.core.paths import cache_dir
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.ui.dialogs.choice import confirm_dialog
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.build_log import BuildLog
from plugwiz.ui.widgets.message import MessageArea

MAX_LOG_LINES = 5000  # the whole log is on disk; the widget keeps the tail
DRAIN_INTERVAL = 0.1  # seconds between batches of output reaching the screen
# One drain takes what is queued (lines beyond the Log's cap are counted, not written) but
# stops after this long, so a key pressed during a flood of output waits at most about this.
DRAIN_BUDGET_S = 0.02
# The build worker shares the GIL with the UI thread. A worker that never blocks (a flood of
# output) would hold it while the UI thread waits up to the interpreter's switch interval
# (5 ms) every time it comes back from waiting for input, dozens of times per key; handing
# the GIL over at least this often keeps keys at a few ms. It checks (cancel, time) once
# every CHECK_EVERY output lines, to keep the common case cheap.
YIELD_EVERY_S = 0.004
CHECK_EVERY = 64
SHOWN_LAST_LINES = 12


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
    """The built image's report (or why it could not be read)."""

    report: Any
    error: str = ""


@dataclass(frozen=True)
class WorkerDone:
    """The build worker has nothing more to say."""


def new_log_path() -> Path:
    """A fresh log file path under the cache directory."""
    return cache_dir() / "logs" / f"build-{datetime.now():%Y%m%d-%H%M%S-%f}.log"


class BuildScreen(WizardScreen):
    """Builds the image; output is batched from a queue every 50 ms into a capped Log."""

    STEP = "build"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "build", "Build"),
        Binding("c,escape", "cancel_build", "Cancel build"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.cancel_event = threading.Event()
        self.log_path: Path | None = None
        self.started_at = 0.0
        self.failure: BuildFailed | None = None
        self.state = "idle"  # idle, unavailable, running, failed, cancelled, built
        self._drain_timer: Timer | None = None
        self._clock: Timer | None = None
        self._worker: Worker[None] | None = None
        self._pinged = False
        # Output lines of this build that reached the screen, counting those the cap let go.
        self.lines_shown = 0

    def compose_body(self) -> ComposeResult:
        with Vertical(id="build-body", classes="step-body"):
            with Horizontal(id="build-status-row"):
                yield Static("", id="build-state")
                yield Static("", id="elapsed")
            yield ProgressBar(total=None, show_eta=False, id="build-progress")
            yield Label("", id="step-title")
            yield MessageArea(id="build-message")
            with VerticalScroll(id="failure-panel"):
                yield Static("", id="failure")
            yield BuildLog(max_lines=MAX_LOG_LINES, id="build-log", auto_scroll=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.wizard.build_screen = self
        self.query_one("#build-log", BuildLog).border_title = "Build output"
        # Shown from the first build on: an idle indeterminate bar would animate for nothing.
        self.query_one("#build-progress", ProgressBar).display = False
        self._set_state("idle", f"Ready to build {self.project.tag}. Press b to start.")

    def on_screen_resume(self) -> None:
        if not self._pinged and not self.running:
            self._pinged = True
            self.check_engine()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_build":
            return self.running
        if action == "build":
            return not self.running
        return True

    # -- engine check ------------------------------------------------------------------------

    def check_engine(self) -> None:
        """Ask the engine whether it is reachable, off the UI thread."""
        self.run_worker(self._ping, thread=True, exclusive=True, group="ping", exit_on_error=False)

    def _ping(self) -> None:
        try:
            self.wizard.engine.ping()
        except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means the same to the user
            self.app.call_from_thread(self._engine_unavailable, str(exc))

    def _engine_unavailable(self, message: str, *, from_build: bool = False) -> None:
        if self.running and not from_build:
            return  # a stale answer to the first check; the build's own ping decides
        self._set_state("unavailable", "Docker is not reachable, so plugwiz cannot build.")
        self.query_one("#build-message", MessageArea).show(
            f"{message}\n\nThe other steps still work: you can edit the project and save the "
            "Dockerfile (Preview, d) to build it elsewhere. Press b to try again.",
            "error",
        )

    # -- build -------------------------------------------------------------------------------

    def action_build(self) -> None:
        """Start a build of the current project."""
        if self.running:
            return
        repo = self.wizard.repo
        project = self.project
        message = self.query_one("#build-message", MessageArea)
        if repo is None or project.facts is None:
            message.show(
                "The host is not resolved yet: pick a ref on the Host step first.", "error"
            )
            return
        message.clear()
        self._show_failure(None)
        log = self.query_one("#build-log", BuildLog)
        log.clear()
        self.lines_shown = 0
        self.events = queue.SimpleQueue()
        self.cancel_event = threading.Event()
        self.log_path = new_log_path()
        self.started_at = time.monotonic()
        self.running = True
        self.refresh_bindings()
        progress = self.query_one("#build-progress", ProgressBar)
        progress.update(total=None, progress=0)
        progress.display = True
        self.query_one("#step-title", Label).update("", layout=False)
        self._set_state("running", f"Building {project.tag} ...")
        log.border_title = f"Build output (full log: {_home_short(self.log_path)})"
        self._drain_timer = self.set_interval(DRAIN_INTERVAL, self._drain)
        self._clock = self.set_interval(1.0, self._tick)
        self._tick()
        self._worker = self.run_worker(
            lambda: self._run_build(project, repo, self.events, self.cancel_event, self.log_path),
            thread=True,
            exclusive=True,
            group="build",
            exit_on_error=False,
        )

    def _run_build(
        self,
        project: Project,
        repo: HostRepository,
        events: queue.SimpleQueue[object],
        cancel: threading.Event,
        log_path: Path | None,
    ) -> None:
        """The worker: ping, build, inspect; every result goes through `events`."""
        assert log_path is not None
        worker = get_current_worker()
        try:
            engine = self.wizard.engine
            try:
                engine.ping()
            except Exception as exc:  # noqa: BLE001 - see _ping
                events.put(EngineUnavailable(str(exc)))
                return
            log_path.parent.mkdir(parents=True, exist_ok=True)
            finished: BuildFinished | None = None
            put = events.put
            next_yield = 0.0
            stream = engine.build(project, repo, tag=project.tag, log_path=log_path, cancel=cancel)
            for count, event in enumerate(stream):
                put(event)
                if type(event) is OutputLine and count % CHECK_EVERY:
                    continue  # the common case, kept cheap: this thread shares the GIL
                if worker.is_cancelled:
                    cancel.set()
                if isinstance(event, BuildFinished):
                    finished = event
                now = time.perf_counter()
                if now >= next_yield:
                    time.sleep(0)  # hand the GIL to the UI thread if it is waiting for it
                    next_yield = now + YIELD_EVERY_S
            if finished is not None:
                try:
                    events.put(ImageInspected(engine.inspect(finished.tag)))
                except Exception as exc:  # noqa: BLE001 - shown in place; the image exists anyway
                    events.put(ImageInspected(None, str(exc)))
        except (ProjectError, HostRepoError, OSError) as exc:
            events.put(BuildCrashed(str(exc)))
        except Exception as exc:  # noqa: BLE001 - docker errors of every kind end here
            if type(exc).__name__ == "DockerUnavailableError":
                events.put(EngineUnavailable(str(exc)))
            elif type(exc).__module__.startswith("plugwiz."):
                events.put(BuildCrashed(str(exc)))  # typed, with a message for a person
            else:
                events.put(BuildCrashed(f"{type(exc).__name__}: {exc}"))
        finally:
            events.put(WorkerDone())

    def _drain(self) -> None:
        """Move what the worker queued onto the screen: one Log write per batch."""
        lines: list[str] = []
        log = self.query_one("#build-log", BuildLog)
        # Follow the output unless the user scrolled up. Decided here, on a settled layout:
        # Log's own auto-scroll checks before the new lines are laid out and stops following
        # when batches arrive faster than the screen refreshes.
        follow = log.scroll_y >= log.max_scroll_y - 1
        wrote = False
        deadline = time.perf_counter() + DRAIN_BUDGET_S
        get = self.events.get_nowait
        for count in itertools.count(1):
            try:
                event = get()
            except queue.Empty:
                break
            if type(event) is OutputLine:
                lines.append(event.text)
                if count % 1024 == 0 and time.perf_counter() > deadline:
                    break  # the rest waits for the next tick; keys and repaints go first
                continue
            if lines:
                self._write_lines(log, lines)
                lines = []
            wrote = True
            self._handle(event)
        if lines:
            self._write_lines(log, lines)
            wrote = True
        if wrote and follow:
            log.scroll_end(animate=False, x_axis=False)

    def _write_lines(self, log: BuildLog, lines: list[str]) -> None:
        # Lines the cap would drop at once are not written: measuring and storing them was
        # most of the cost of a flood. They are in the log file like every other line.
        self.lines_shown += len(lines)
        log.write_lines(lines[-MAX_LOG_LINES:], scroll_end=False)

    def _handle(self, event: object) -> None:
        progress = self.query_one("#build-progress", ProgressBar)
        title = self.query_one("#step-title", Label)
        log = self.query_one("#build-log", BuildLog)
        message = self.query_one("#build-message", MessageArea)
        if isinstance(event, StepStarted):
            progress.update(total=event.total, progress=event.number - 1)
            # Fixed size in the CSS, so no layout of the screen for each step (20 ms in a flood).
            title.update(
                Text.assemble((f"Step {event.number} of {event.total}  ", "bold"), event.title),
                layout=False,
            )
            log.write_line(f"── Step {event.number}/{event.total}: {event.title}", scroll_end=False)
        elif isinstance(event, BuildWarning):
            log.write_line(f"warning: {event.text}", scroll_end=False)
            self.notify(event.text, title="Build warning", severity="warning")
        elif isinstance(event, BuildFailed):
            self.failure = event
            self._set_state("failed", f"Build failed at step {event.step}")
            self._show_failure(event)
        elif isinstance(event, BuildFinished):
            if progress.total is not None:
                progress.update(progress=progress.total)
            self._set_state(
                "built", f"Built {event.tag} ({event.image_id[:19]}); reading the image ..."
            )
        elif isinstance(event, BuildCancelled):
            self._set_state(
                "cancelled", "Build cancelled; nothing was tagged. Press b to build again."
            )
        elif isinstance(event, EngineUnavailable):
            self._engine_unavailable(event.message, from_build=True)
        elif isinstance(event, BuildCrashed):
            self._set_state("failed", "The build could not run")
            message.show(event.message, "error")
        elif isinstance(event, ImageInspected):
            if event.report is None:
                message.show(f"The image was built but could not be read: {event.error}", "warning")
            else:
                self.wizard.report = event.report
                self._set_state("built", f"Built {event.report.tag}. See the Result step.")
                self.app.switch_mode("result")
        elif isinstance(event, WorkerDone):
            self._finish()

    def _finish(self) -> None:
        self.running = False
        for timer in (self._drain_timer, self._clock):
            if timer is not None:
                timer.stop()
        self._tick()
        self.refresh_bindings()
        if self.state == "running":
            self._set_state("idle", "The build stopped without a result. Press b to try again.")

    def _tick(self) -> None:
        seconds = int(time.monotonic() - self.started_at) if self.started_at else 0
        self.query_one("#elapsed", Static).update(
            f"{seconds // 60:d}:{seconds % 60:02d} elapsed", layout=False
        )

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        widget = self.query_one("#build-state", Static)
        widget.update(text)
        for name in ("idle", "unavailable", "running", "failed", "cancelled", "built"):
            widget.set_class(name == state, f"-{name}")

    def _show_failure(self, failed: BuildFailed | None) -> None:
        panel = self.query_one("#failure-panel")
        panel.display = failed is not None
        if failed is None:
            return
        panel.border_title = f"Step {failed.step} failed" if failed.step else "The build failed"
        text = Text()
        if failed.title:
            text.append(failed.title + "\n", style="bold")
        if failed.plugin:
            text.append("Plugin: ", style="bold")
            text.append(f"{failed.plugin}\n")
        if failed.message:
            text.append(failed.message.strip() + "\n")
        if failed.locations:
            text.append("\nWhere:\n", style="bold")
            for loc in failed.locations:
                text.append(f"  {loc.path}:{loc.line}:{loc.column}", style="bold")
                text.append(f"  {loc.message}\n")
        if failed.last_lines:
            text.append("\nLast lines:\n", style="bold")
            for line in failed.last_lines[-SHOWN_LAST_LINES:]:
                text.append(f"  {line}\n", style="dim")
        # No failing instruction (lost daemon, no image): nothing in the project to fix.
        hint = (
            "\nFix it on the Plugins step (ctrl+p twice, or F2), then come back and press b: "
            "the project keeps everything."
            if failed.title
            else "\nPress b to build again: the project keeps everything."
        )
        text.append(hint, style="italic")
        self.query_one("#failure", Static).update(text)

    # -- cancel ------------------------------------------------------------------------------

    def action_cancel_build(self) -> None:
        if not self.running:
            return

        def answered(answer: str | None) -> None:
            if answer == "yes" and self.running:
                self.cancel_event.set()
                self._set_state("running", "Cancelling the build ...")

        self.app.push_screen(
            confirm_dialog(
                "Cancel the build?",
                "The build stops and nothing is tagged.",
                yes="Cancel build",
                no="Keep building",
            ),
            answered,
        )

    async def cancel_and_wait(self, timeout: float) -> None:
        """Cancel a running build and wait (up to `timeout` s) for the worker to stop."""
        self.cancel_event.set()
        worker = self._worker
        if worker is None or worker.state not in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        # Quitting either way: a worker that does not stop in time, or fails, must not block it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.wait(), timeout)


def _home_short(path: Path) -> str:
    """`path` with the home directory written as `~`, to keep the title short."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)
