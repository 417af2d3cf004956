"""Step 4, Build: the build session's output, progress and, on failure, what went wrong.

The build itself belongs to the app's `BuildSession`; this screen shows it. Output reaches it
in batches (the app polls the session every 100 ms); when the screen was not shown while
output arrived, it redraws from the session's tail of the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Label, ProgressBar, Static
from textual.worker import get_current_worker

from plugwiz.core.engine import EngineUnavailableError
from plugwiz.core.events import SMOKE_STAGE, BuildFailed, SmokeRunStarted, StepStarted
from plugwiz.core.explain import format_explanation
from plugwiz.core.session import TAIL_LINES, BuildState, PollResult
from plugwiz.ui.screens.base import WizardScreen, display_path
from plugwiz.ui.widgets.build_log import BuildLog
from plugwiz.ui.widgets.message import MessageArea

MAX_LOG_LINES = TAIL_LINES  # the whole log is on disk; the widget keeps the tail
SHOWN_LAST_LINES = 12
SHOWN_HOST_LINES = 40


class BuildScreen(WizardScreen):
    """Shows the app's build session; b starts a build, c cancels it (after asking)."""

    STEP = "build"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "build", "Build"),
        Binding("c", "cancel_build", "Cancel build"),
        Binding("w", "app.toggle_watch", "Watch"),
    ]
    KEY_NOTES = (
        ("b", "build the project as it is now (the steps before keep everything)"),
        ("c", "cancel the running build (asks first; nothing is tagged)"),
        (
            "w",
            "watch mode on/off: every save of a plugin's source rebuilds, load-checks and runs "
            "the host (a save during a build restarts it); its output shows beside the errors",
        ),
        ("up, down, page up/down", "scroll the log (it follows the end unless you scroll up)"),
    )
    PALETTE = (
        ("Build the image", "b", "action_build"),
        ("Cancel the build", "c", "action_cancel_build"),
    )
    WATCH_LABELS = ("Watch: off", "Watch: on")

    def __init__(self) -> None:
        super().__init__()
        self._shown_generation = -1
        self._clock: Timer | None = None
        self._pinged = False
        self._state = "idle"
        self.engine_error = ""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="build-body", classes="step-body"):
            with Horizontal(id="build-status-row"):
                yield Static("", id="build-state")
                yield Static("", id="watch-toggle")
                yield Static("", id="elapsed")
            yield ProgressBar(total=None, show_eta=False, id="build-progress")
            yield Label("", id="step-title")
            yield MessageArea(id="build-message")
            with Horizontal(id="failure-row"):
                with VerticalScroll(id="failure-panel"):
                    yield Static("", id="failure")
                # Watch mode: what the host printed last, beside the compile errors.
                with VerticalScroll(id="host-output-panel"):
                    yield Static("", id="host-output")
            yield BuildLog(max_lines=MAX_LOG_LINES, id="build-log", auto_scroll=True)

    def on_mount(self) -> None:
        self.query_one("#build-log", BuildLog).border_title = "Build output"
        # Shown from the first build on: an idle indeterminate bar would animate for nothing.
        self.query_one("#build-progress", ProgressBar).display = False
        self._clock = self.set_interval(1.0, self._tick, pause=True)
        super().on_mount()

    def home_widget(self) -> Widget | None:
        return self.query_one("#build-log", BuildLog)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.wizard.take_build_screen_stale():
            self._reload_log()
        if not self._pinged and not self.wizard.session.active:
            self._pinged = True
            self._ping()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        active = self.wizard.session.active
        if action == "cancel_build":
            return active
        if action == "build":
            return not active
        return True

    # -- the engine check --------------------------------------------------------------------

    def _ping(self) -> None:
        self.run_worker(self._ping_worker, thread=True, exclusive=True, group="ping")

    def _ping_worker(self) -> None:
        try:
            self.wizard.engine.ping()
        except EngineUnavailableError as exc:
            error = str(exc)
        else:
            error = ""
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._pinged_result, error)

    def _pinged_result(self, error: str) -> None:
        self.engine_error = error
        self.redraw()

    # -- intents -----------------------------------------------------------------------------

    def action_build(self) -> None:
        """Start a build of the current project."""
        problem = self.wizard.start_build()
        if problem:
            self.query_one("#build-message", MessageArea).show(problem, "error")
            return
        self.engine_error = ""
        self._reload_log()
        self.refresh_bindings()

    def action_cancel_build(self) -> None:
        self.wizard.ask_cancel_build()

    def _show_watch(self) -> None:
        """The watch toggle's label, and (watch mode on) the host's last output beside the
        compile errors."""
        watching = self.wizard.watching
        # Something to click as well as a key (w): in a browser, the mouse is what people try.
        style = "bold $success" if watching else "$text-muted"
        self.query_one("#watch-toggle", Static).update(
            Content.from_markup(
                f"[{style} @click=app.toggle_watch]{self.WATCH_LABELS[watching]} (w)[/]"
            )
        )
        panel = self.query_one("#host-output-panel")
        run = self.wizard.run_session
        panel.display = watching and self.wizard.session.state is BuildState.FAILED
        if not panel.display:
            return
        lines = list(run.tail)[-SHOWN_HOST_LINES:]
        panel.border_title = "The host's last output (before this build)"
        body = Text("\n".join(lines) if lines else "(the host has not run yet)", style="dim")
        self.query_one("#host-output", Static).update(body)

    # -- drawing -----------------------------------------------------------------------------

    def show_poll(self, result: PollResult) -> None:
        """Show what one poll of the session took: new log lines, then the state."""
        session = self.wizard.session
        if session.generation != self._shown_generation:
            self._reload_log()
            return
        log = self.query_one("#build-log", BuildLog)
        if result.lines:
            # Follow the output unless the user scrolled up. Decided here, on a settled
            # layout: Log's own auto-scroll checks before the new lines are laid out.
            follow = log.scroll_y >= log.max_scroll_y - 1
            log.write_lines(result.lines, scroll_end=False)
            if follow:
                log.scroll_end(animate=False, x_axis=False)
        for event in result.events:
            if isinstance(event, SmokeRunStarted):
                self._show_smoke_title()
            elif isinstance(event, StepStarted):
                progress = self.query_one("#build-progress", ProgressBar)
                progress.update(total=event.total, progress=event.number - 1)
                # Fixed size in the CSS, so no layout of the screen for each step.
                self.query_one("#step-title", Label).update(
                    Text.assemble((f"Step {event.number} of {event.total}  ", "bold"), event.title),
                    layout=False,
                )
        if not session.active:
            self.redraw()  # the final state, even if the wizard has moved on meanwhile

    def _show_smoke_title(self) -> None:
        """The smoke run is the build's last stage: every Dockerfile step is done."""
        session = self.wizard.session
        started = session.smoke_started
        finished = session.smoke_finished
        if started is None:
            return
        if session.total:
            self.query_one("#build-progress", ProgressBar).update(
                total=session.total, progress=session.total
            )
        if finished is None:
            head = "Smoke run (last stage)  "
        else:
            head = f"Smoke run {'passed' if finished.passed else 'failed'}  "
        self.query_one("#step-title", Label).update(
            Text.assemble((head, "bold"), " ".join(started.command)), layout=False
        )

    def _reload_log(self) -> None:
        """Show the session's tail from the start (a new build, or output missed)."""
        session = self.wizard.session
        self._shown_generation = session.generation
        log = self.query_one("#build-log", BuildLog)
        log.clear()
        log.write_lines(list(session.tail), scroll_end=False)
        log.scroll_end(animate=False, x_axis=False)
        self.redraw()

    @property
    def lines_shown(self) -> int:
        """Output lines of this build that reached the screen, counting those the cap let go."""
        return self.wizard.session.lines_seen

    def redraw(self) -> None:
        # The base images' digests, as the build will pin them (the Result compares with them).
        self.wizard.request_base_digests()
        session = self.wizard.session
        state = session.state
        message = self.query_one("#build-message", MessageArea)
        progress = self.query_one("#build-progress", ProgressBar)
        title = self.query_one("#step-title", Label)
        tag = self.project.tag
        if state.active:
            self._clock_running(True)
        else:
            self._clock_running(False)
        self._tick()
        progress.display = state is not BuildState.IDLE
        if session.stage == SMOKE_STAGE:
            self._show_smoke_title()
        elif session.total:
            done = session.total if state is BuildState.SUCCEEDED else session.step - 1
            progress.update(total=session.total, progress=max(done, 0))
            title.update(
                Text.assemble(
                    (f"Step {session.step} of {session.total}  ", "bold"), session.step_title
                ),
                layout=False,
            )
        self._show_failure(session.failure if state is BuildState.FAILED else None)
        self._show_watch()
        log = self.query_one("#build-log", BuildLog)
        if session.log_path is not None:
            log.border_title = f"Build output (full log: {_home_short(session.log_path)})"
        if state is BuildState.IDLE:
            if self.engine_error:
                self._unavailable(self.engine_error)
            else:
                self._set_state("idle", f"Ready to build {tag}. Press b to start.")
                message.clear()
        elif state is BuildState.STARTING:
            self._set_state("running", f"Starting the build of {session.tag} …")
            message.clear()
        elif state is BuildState.RUNNING:
            watched = " (watch mode: a save restarts it)" if self.wizard.watching else ""
            self._set_state("running", f"Building {session.tag} …  (c cancels){watched}")
            message.clear()
        elif state is BuildState.CANCELLING:
            self._set_state("running", "Cancelling the build …")
        elif state is BuildState.SUCCEEDED:
            self._set_state("built", f"Built {session.tag}. See the Result step (F5).")
            if session.report is None and session.report_error:
                message.show(
                    f"The image was built but could not be read: {session.report_error}",
                    "warning",
                )
            else:
                message.clear()
        elif state is BuildState.FAILED:
            failed = session.failure
            where = f"at step {failed.step}" if failed is not None and failed.step else ""
            again = "A save builds again" if self.wizard.watching else "Press b to build again"
            self._set_state("failed", f"Build failed {where}. {again}.")
            message.clear()
        elif state is BuildState.CANCELLED:
            self._set_state(
                "cancelled", "Build cancelled; nothing was tagged. Press b to build again."
            )
            message.clear()
        elif state is BuildState.UNAVAILABLE:
            self._unavailable(session.message)
        elif state is BuildState.CRASHED:
            self._set_state("failed", "The build could not run")
            message.show(session.message, "error")
        self.refresh_bindings()

    def _unavailable(self, error: str) -> None:
        self._set_state("unavailable", "Docker is not reachable, so plugwiz cannot build.")
        self.query_one("#build-message", MessageArea).show(
            f"{error}\n\nThe other steps still work: you can edit the project and save the "
            "Dockerfile (Preview, d) to build it elsewhere. Press b to try again.",
            "error",
        )

    def _clock_running(self, running: bool) -> None:
        if self._clock is None:
            return
        if running:
            self._clock.resume()
        else:
            self._clock.pause()

    def _tick(self) -> None:
        seconds = int(self.wizard.session.elapsed())
        self.query_one("#elapsed", Static).update(
            f"{seconds // 60:d}:{seconds % 60:02d} elapsed", layout=False
        )

    @property
    def state(self) -> str:
        """The state word the status line is styled by (idle, running, failed, ...)."""
        return self._state

    def _set_state(self, state: str, text: str) -> None:
        self._state = state
        widget = self.query_one("#build-state", Static)
        widget.update(text)
        for name in ("idle", "unavailable", "running", "failed", "cancelled", "built"):
            widget.set_class(name == state, f"-{name}")

    def _show_failure(self, failed: BuildFailed | None) -> None:
        panel = self.query_one("#failure-panel")
        shown = panel.display
        panel.display = failed is not None
        if failed is None:
            return
        if not shown:
            # The panel takes room from the log: keep the log's end (the failing output) in view.
            log = self.query_one("#build-log", BuildLog)
            self.call_after_refresh(log.scroll_end, animate=False, x_axis=False)
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
                where = display_path(loc.path, self.project.base_dir)
                text.append(f"  {where}:{loc.line}:{loc.column}", style="bold")
                text.append(f"  {loc.message}\n")
        if failed.explanation is not None:
            # What differs between the plugin and the host, and what to do (plugwiz explain).
            text.append("\nWhy it will not load:\n", style="bold")
            text.append(format_explanation(failed.explanation, title=False) + "\n")
        if failed.last_lines:
            text.append("\nLast lines:\n", style="bold")
            for line in failed.last_lines[-SHOWN_LAST_LINES:]:
                text.append(f"  {line}\n", style="dim")
        # No failing instruction (lost daemon, no image): nothing in the project to fix.
        hint = (
            "\nFix it on the Plugins step (F2), then press b here: the project keeps everything."
            if failed.title
            else "\nPress b to build again: the project keeps everything."
        )
        if self.wizard.watching:
            hint = "\nWatch mode: fix it in your editor; the next save builds and runs again."
        text.append(hint, style="italic")
        self.query_one("#failure", Static).update(text)


def _home_short(path: Path) -> str:
    """`path` with the home directory written as `~`, to keep the title short."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)
