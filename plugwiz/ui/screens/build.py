"""Step 4, Build: the build explorer.

The build itself belongs to the app's `BuildSession`; this screen shows it, or a build from
the history, as an explorer:

- the stages and steps beside the log (a tree; a one-line bar in a narrow terminal, `t`
  shows the tree), each with its state and duration, for a plugin the user's file;
- the log, filtered by the stage chosen in the tree, searched as a whole (`/`, `n`, `N`),
  its errors and warnings one by one (`e`, `E`);
- on a compile error, the user's own file at the failing line (`s`), edited and saved there
  (or in `$EDITOR`), then built again with one key (`ctrl+r`); on a load-check failure,
  why the plugin would not load (`x`, opened by itself);
- the history of the project's builds (`h`): open one here, compare two.

Output reaches the screen in batches (the app polls the session every 100 ms); when the
screen was not shown while output arrived, it redraws from the session's tail of the log.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Input, Label, ProgressBar, Static, TextArea, Tree
from textual.worker import get_current_worker

from plugwiz.core.engine import EngineUnavailableError
from plugwiz.core.events import SMOKE_STAGE, BuildFailed, SmokeRunStarted, StepStarted
from plugwiz.core.explain import format_explanation
from plugwiz.core.history import HistoryEntry
from plugwiz.core.logindex import LogText
from plugwiz.core.model import ResolvedProject
from plugwiz.core.session import TAIL_LINES, BuildState, PollResult
from plugwiz.core.timeline import BuildTimeline, format_seconds, plan_stages
from plugwiz.ui.screens.base import WizardScreen, display_path
from plugwiz.ui.widgets.build_log import BuildLog
from plugwiz.ui.widgets.log_explorer import LogExplorer, Mode
from plugwiz.ui.widgets.message import MessageArea
from plugwiz.ui.widgets.source_view import SourceView
from plugwiz.ui.widgets.stage_tree import StageBar, StageRef, StageTree

MAX_LOG_LINES = TAIL_LINES  # the whole log is on disk; the widget keeps the tail
SHOWN_LAST_LINES = 12
# Below this width the stage tree gives way to a one-line bar (`t` shows the tree).
TREE_MIN_WIDTH = 100
LOG, SOURCE, EXPLAIN = "log-explorer", "source-view", "explain-view"
SHOWN_HOST_LINES = 40


class BuildScreen(WizardScreen):
    """Shows the app's build session (or a build from the history) as an explorer."""

    STEP = "build"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "build", "Build"),
        Binding("c", "cancel_build", "Cancel build"),
        # ctrl+g too: a browser keeps ctrl+r (reload) for itself (`plugwiz serve`).
        Binding("ctrl+r,ctrl+g", "rebuild", "Save+build"),
        Binding("s", "source", "Source"),
        Binding("x", "explain", "Why"),
        Binding("slash", "search", "Search", key_display="/", show=False),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("e", "next_problem", "Error"),
        Binding("E", "previous_problem", "Previous error", show=False),
        Binding("t", "stages", "Stages", show=False),  # the stage bar says so
        Binding("h", "history", "History"),
        Binding("w", "app.toggle_watch", "Watch"),
    ]
    KEY_NOTES = (
        ("b", "build the project as it is now (the steps before keep everything)"),
        ("c", "cancel the running build (asks first; nothing is tagged)"),
        ("enter in the stages", "show only that stage's (or step's) lines; the root: all"),
        ("/, n, N", "search the whole log (not only the lines shown); next, previous match"),
        ("e, E", "next, previous error or warning"),
        ("s", "open your file at the compile error: edit it there, ctrl+s saves"),
        ("ctrl+r, ctrl+g", "save your file and build again (in watch mode: save it)"),
        ("ctrl+o", "(in your file) open it in $EDITOR at that line"),
        ("x", "why the plugin would not load (after a load-check failure)"),
        ("h", "the last builds of this project: open one, compare two"),
        ("t", "the stages: move to them (in a narrow terminal: show or hide them)"),
        (
            "escape",
            "back: from your file or the explanation to the log, from a filter or "
            "an older build to the current one",
        ),
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
        ("Search the build log", "/", "action_search"),
        ("Next search match", "n", "action_next_match"),
        ("Previous search match", "N", "action_previous_match"),
        ("Next error or warning in the log", "e", "action_next_problem"),
        ("Previous error or warning in the log", "E", "action_previous_problem"),
        ("The stages of the build", "t", "action_stages"),
        ("Open the failing line in your file", "s", "action_source"),
        ("Save your file and build again", "ctrl+g", "action_rebuild"),
        ("Why the plugin would not load", "x", "action_explain"),
        ("Builds of this project (history)", "h", "action_history"),
    )
    WATCH_LABELS = ("Watch: off", "Watch: on")

    def __init__(self) -> None:
        super().__init__()
        self._shown_generation = -1
        self._clock: Timer | None = None
        self._pinged = False
        self._state = "idle"
        self.engine_error = ""
        self.viewing: HistoryEntry | None = None  # a build from the history, or the session's
        self._panel = LOG
        self._footer_key: tuple[object, ...] = ()
        self._planned: tuple[ResolvedProject, BuildTimeline] | None = None
        self._explained_generation = -1
        self._live_stale = False  # the session's output arrived while an old build was shown
        self._filter_key = ""  # the stage the log is filtered to (the bar shows it)

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
            yield StageBar(id="stage-bar")
            with Horizontal(id="explorer"):
                yield StageTree(id="stage-tree")
                with ContentSwitcher(initial=LOG, id="explorer-right"):
                    yield LogExplorer(max_lines=MAX_LOG_LINES, id=LOG)
                    yield SourceView(id=SOURCE)
                    with ScrollableContainer(id=EXPLAIN):
                        yield Static("", id="explanation")

    def on_mount(self) -> None:
        log = self.query_one("#build-log", BuildLog)
        log.border_title = "Build output"
        tree = self.query_one("#stage-tree", StageTree)
        tree.border_title = "Stages"
        tree.auto_expand = False  # enter filters the log; space opens a stage
        self.query_one(f"#{EXPLAIN}").border_title = "Why the plugin would not load"
        self.explorer.set_tail_reader(self._live_tail)
        self.explorer.before_read = self.wizard.session.flush_view
        # Shown from the first build on: an idle indeterminate bar would animate for nothing.
        self.query_one("#build-progress", ProgressBar).display = False
        self._clock = self.set_interval(1.0, self._tick, pause=True)
        super().on_mount()

    @property
    def explorer(self) -> LogExplorer:
        """The log pane."""
        return self.query_one(f"#{LOG}", LogExplorer)

    @property
    def source_view(self) -> SourceView:
        """The source pane."""
        return self.query_one(f"#{SOURCE}", SourceView)

    def home_widget(self) -> Widget | None:
        return self.query_one("#build-log", BuildLog)

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        self.set_class(event.size.width < TREE_MIN_WIDTH, "-narrow")

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if isinstance(self.focused, TextArea):
            # Back from another step, a letter is a key (b builds), not an edit of the file.
            self.set_focus(None)
        if self.wizard.take_build_screen_stale() and self.viewing is None:
            self._reload_log()
        if not self._pinged and not self.wizard.session.active:
            self._pinged = True
            self._ping()

    def _refresh_footer(self) -> None:
        """Show the keys `check_action` allows now, when that can have changed: each refresh
        rebuilds the footer, and a build's start or end would otherwise rebuild it 3 times."""
        key = (
            self.wizard.session.active,
            self._panel,
            self._source_location() is not None,
            bool(self._explanation()),
        )
        if key != self._footer_key:
            self._footer_key = key
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        active = self.wizard.session.active
        if action == "cancel_build":
            return active
        if action == "build":
            return not active
        if action == "rebuild":
            return not active and self._panel == SOURCE
        if action == "source":
            return self._source_location() is not None
        if action == "explain":
            return bool(self._explanation())
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

    # -- what is shown: the session's build, or one from the history -------------------------

    def _live_tail(self) -> tuple[list[str], int]:
        session = self.wizard.session
        return list(session.tail), session.view_lines

    def _timeline(self) -> BuildTimeline:
        if self.viewing is not None:
            return self.viewing.timeline
        session = self.wizard.session
        if session.generation:
            return session.timeline
        # Before the first build: the stages it will have, all waiting.
        resolved = self.wizard.resolved
        if resolved is None:
            return BuildTimeline()
        if self._planned is None or self._planned[0] != resolved:
            # The layout the build will use (as the Preview step shows it).
            buildkit = self.wizard.engine.uses_buildkit(resolved)
            stages = plan_stages(resolved, buildkit=buildkit)
            self._planned = (resolved, BuildTimeline(stages, overlapping=buildkit))
        return self._planned[1]

    def _now(self) -> float:
        if self.viewing is not None:
            timeline = self.viewing.timeline
            return timeline.ended or timeline.started
        return self.wizard.session.clock()

    def _failure(self) -> BuildFailed | None:
        if self.viewing is not None:
            return self.viewing.failure
        session = self.wizard.session
        return session.failure if session.state is BuildState.FAILED else None

    def _explanation(self) -> str:
        if self.viewing is not None:
            return self.viewing.explanation
        failure = self._failure()
        if failure is None or failure.explanation is None:
            return ""
        return format_explanation(failure.explanation)

    def view_entry(self, entry: HistoryEntry | None) -> None:
        """Show a build from the history (None: the session's own again)."""
        self.viewing = entry
        self._show_panel(LOG)
        self.source_view.source = None
        if entry is None:
            self.explorer.set_tail_reader(self._live_tail)
            self._reload_log()
            return
        path = Path(entry.view_log) if entry.view_log else None
        self.explorer.set_tail_reader(lambda: ([], 0))
        self.explorer.reset(path, [], 0)
        self.redraw()
        if path is not None:
            self.run_worker(
                lambda: self._read_entry_log(entry, path),
                thread=True,
                exclusive=True,
                group="entry-log",
            )

    def _read_entry_log(self, entry: HistoryEntry, path: Path) -> None:
        text = LogText.read(path)
        tail = text.lines[-MAX_LOG_LINES:]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._entry_log_read, entry, path, tail, len(text))

    def _entry_log_read(self, entry: HistoryEntry, path: Path, tail: list[str], total: int) -> None:
        if self.viewing is not entry:
            return
        self.explorer.set_tail_reader(lambda: (tail, total))
        self.explorer.reset(path, tail, total)

    # -- intents -----------------------------------------------------------------------------

    def action_build(self) -> None:
        """Start a build of the current project (saving the file open here first)."""
        if self._panel == SOURCE and self.source_view.modified and not self.source_view.save():
            return
        self.viewing = None
        self.explorer.set_tail_reader(self._live_tail)
        problem = self.wizard.start_build()
        if problem:
            self.query_one("#build-message", MessageArea).show(problem, "error")
            return
        self.engine_error = ""
        self._show_panel(LOG)
        self._reload_log()
        self._refresh_footer()

    def action_rebuild(self) -> None:
        """Save the file open in the source view (if changed), then build again (in watch
        mode the save is enough: the watcher starts the build, and runs the host after)."""
        changed = self._panel == SOURCE and self.source_view.modified
        if self._panel == SOURCE and not self.source_view.save():
            return
        if self.wizard.watching:
            self.notify(
                "Watch mode builds it now." if changed else "Watch mode builds at your next save."
            )
            return
        self.action_build()

    def action_cancel_build(self) -> None:
        self.wizard.ask_cancel_build()

    def action_source(self) -> None:
        """Open the user's file at the (first) compile error."""
        found = self._source_location()
        if found is None:
            return
        path, line = found
        failure = self._failure()
        locations = [x for x in failure.locations if x.path == str(path)] if failure else []
        shown = display_path(path, self.project.base_dir)
        try:
            self._show_panel(SOURCE)
            self.source_view.open(path, shown, line, locations)
        except OSError as exc:
            self._show_panel(LOG)
            self.notify(f"could not open {shown}: {exc.strerror or exc}", severity="error")

    def _source_location(self) -> tuple[Path, int] | None:
        """The user's file and line of the first compile error that is in one of their files."""
        failure = self._failure()
        if failure is None:
            return None
        for location in failure.locations:
            path = Path(location.path)
            if path.is_absolute() and path.is_file():
                return path, location.line
        return None

    def action_explain(self) -> None:
        """Show why the plugin would not load (a load-check failure's explanation)."""
        text = self._explanation()
        if not text:
            return
        self.query_one("#explanation", Static).update(Text(text))
        self._show_panel(EXPLAIN)

    def action_search(self) -> None:
        self._show_panel(LOG)
        self.explorer.open_search()

    def action_next_match(self) -> None:
        self._show_panel(LOG)
        self.explorer.next_match()

    def action_previous_match(self) -> None:
        self._show_panel(LOG)
        self.explorer.next_match(backwards=True)

    def action_next_problem(self) -> None:
        self._show_panel(LOG)
        self.explorer.next_problem()

    def action_previous_problem(self) -> None:
        self._show_panel(LOG)
        self.explorer.next_problem(backwards=True)

    def action_stages(self) -> None:
        """Show (narrow terminal) or move to the stages."""
        tree = self.query_one("#stage-tree", StageTree)
        if self.has_class("-narrow"):
            opening = not self.has_class("-tree-open")
            self.set_class(opening, "-tree-open")
            if opening:
                tree.focus()
            else:
                self.query_one("#build-log").focus()
        else:
            if self._panel != LOG:
                self._show_panel(LOG)
            tree.focus()

    def action_history(self) -> None:
        """The project's last builds: open one here, compare two."""
        from plugwiz.ui.dialogs.history import HistoryDialog

        history = self.wizard.session.history
        entries = history.entries(self.wizard.history_key) if history is not None else []
        name = display_path(self.wizard.history_key, self.project.base_dir)

        def chosen(entry: HistoryEntry | None) -> None:
            if entry is not None:
                self.view_entry(entry)

        self.app.push_screen(HistoryDialog(entries, name), chosen)

    def action_leave_field(self) -> None:
        """Escape: leave a field; else go back one level (file or explanation to the log,
        a window or filter to the whole log, an older build to the current one)."""
        if isinstance(self.focused, Input | TextArea):
            if isinstance(self.focused, TextArea):
                self.query_one("#build-log").focus()
            else:
                super().action_leave_field()
            return
        explorer = self.explorer
        if self.has_class("-tree-open"):
            self.action_stages()
        elif self._panel != LOG:
            self._show_panel(LOG)
        elif explorer.mode is Mode.WINDOW:
            explorer.follow()
        elif explorer.filter_steps is not None:
            self._set_filter(None, "")
        elif self.viewing is not None:
            self.view_entry(None)

    @on(Tree.NodeSelected, "#stage-tree")
    def _stage_selected(self, event: Tree.NodeSelected[StageRef]) -> None:
        event.stop()
        ref = event.node.data
        if ref is None:
            return
        self._set_filter(ref.steps, ref.label, ref.key)
        if self.has_class("-tree-open"):
            self.action_stages()

    def _set_filter(self, steps: frozenset[int] | None, label: str, key: str = "") -> None:
        self._show_panel(LOG)
        self._filter_key = key if steps is not None else ""
        self.explorer.set_filter(steps, label)
        self._draw_stages()

    @on(SourceView.Saved)
    def _source_saved(self, event: SourceView.Saved) -> None:
        # The plugin's build result is about the old file now (the Plugins step says so).
        self.wizard.check_plugins()

    def _show_panel(self, panel: str) -> None:
        self._panel = panel
        self.query_one("#explorer-right", ContentSwitcher).current = panel
        # Your file and the explanation take the whole width (the stage bar stays).
        self.set_class(panel != LOG, "-wide-panel")
        # The failure panel says what the file and the explanation say: room for them.
        self._show_failure(self._failure())
        self._refresh_footer()

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
        if self.viewing is not None:
            self._live_stale = True
            if not session.active:
                self.redraw()
            return
        if session.generation != self._shown_generation:
            self._reload_log()
            return
        self.explorer.append(result)
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
        if result.events:
            self._draw_stages()
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
        self._live_stale = False
        self.explorer.reset(session.view_path, list(session.tail), session.view_lines)
        self.redraw()

    @property
    def lines_shown(self) -> int:
        """Output lines of this build that reached the screen, counting those the cap let go."""
        return self.wizard.session.lines_seen

    def _draw_stages(self) -> None:
        timeline = self._timeline()
        now = self._now()
        self.query_one("#stage-tree", StageTree).show(timeline, now)
        self.query_one("#stage-bar", StageBar).show(timeline, now, self._filter_key)

    def redraw(self) -> None:
        if self.viewing is not None:
            self._redraw_entry(self.viewing)
            return
        # The base images' digests, as the build will pin them (the Result compares with them).
        self.wizard.request_base_digests()
        session = self.wizard.session
        state = session.state
        message = self.query_one("#build-message", MessageArea)
        progress = self.query_one("#build-progress", ProgressBar)
        title = self.query_one("#step-title", Label)
        tag = self.project.tag
        self._clock_running(state.active)
        self._tick()
        progress.display = state is not BuildState.IDLE
        self.remove_class("-viewing")
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
            if (
                self._explanation()
                and self._explained_generation != session.generation
                and self.app.screen is self
            ):
                # A load check refused a plugin and plugwiz can say why: say it at once.
                self._explained_generation = session.generation
                self.action_explain()
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
        self._draw_stages()
        self._refresh_footer()

    def _redraw_entry(self, entry: HistoryEntry) -> None:
        self._clock_running(False)
        self.query_one("#build-progress", ProgressBar).display = False
        self.add_class("-viewing")
        self.query_one("#build-message", MessageArea).clear()
        from plugwiz.ui.dialogs.history import when

        took = format_seconds(entry.seconds)
        state = {"succeeded": "built", "cancelled": "cancelled"}.get(entry.outcome, "failed")
        self._set_state(
            state,
            f"The build of {when(entry)}: {entry.outcome} after {took}. "
            "Escape: back to the current build.",
        )
        self.query_one("#elapsed", Static).update(took, layout=False)
        log = self.query_one("#build-log", BuildLog)
        log.border_title = f"Build output (full log: {_home_short(Path(entry.raw_log))})"
        self._show_failure(entry.failure)
        self._draw_stages()
        self._refresh_footer()

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
        if self.viewing is not None:
            return
        # The timeline's clock (the events' times), like every duration beside it.
        seconds = int(self._timeline().seconds(self._now()))
        self.query_one("#elapsed", Static).update(
            f"{seconds // 60:d}:{seconds % 60:02d} elapsed", layout=False
        )
        if self.wizard.session.active:
            self._draw_stages()  # the running stage's time

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
        panel.display = failed is not None and self._panel == LOG
        if failed is None:
            return
        if not shown:
            # The panel takes room from the log: keep the log's end (the failing output) in view.
            log = self.query_one("#build-log", BuildLog)
            self.call_after_refresh(log.scroll_end, animate=False, x_axis=False)
        panel.border_title = f"Step {failed.step} failed" if failed.step else "The build failed"
        # What a person acts on first: which plugin, where in their file, what to press.
        text = Text()
        if failed.plugin:
            text.append("Plugin: ", style="bold")
            text.append(f"{failed.plugin}\n")
        for loc in failed.locations:
            where = display_path(loc.path, self.project.base_dir)
            text.append(f"{where}:{loc.line}:{loc.column}", style="bold")
            text.append(f"  {loc.message}\n")
        found = self._source_location()
        if found is not None:
            where = display_path(found[0], self.project.base_dir)
            hint = f"s opens {where} at line {found[1]}: fix it there, then ctrl+r builds again."
        elif self._explanation():
            hint = "x says why it would not load. Fix it, then press b here."
        elif failed.title:
            hint = (
                "Fix it on the Plugins step (F2), then press b here: the project keeps everything."
            )
        else:
            # No failing instruction (lost daemon, no image): nothing in the project to fix.
            hint = "Press b to build again: the project keeps everything."
        if self.wizard.watching:
            # The watcher builds at the next save: no key to press.
            hint = "Watch mode: fix it in your editor; the next save builds and runs again."
            if found is not None:
                where = display_path(found[0], self.project.base_dir)
                hint = (
                    f"Watch mode: s opens {where} at line {found[1]}; the next save (ctrl+s "
                    "there, or in your editor) builds and runs again."
                )
        text.append(hint + "\n", style="italic")
        if failed.message:
            text.append("\n" + failed.message.strip() + "\n")
        if failed.title:
            text.append(failed.title + "\n", style="dim")
        if failed.last_lines and not failed.locations:
            text.append("Last lines:\n", style="bold")
            for line in failed.last_lines[-SHOWN_LAST_LINES:]:
                text.append(f"  {line}\n", style="dim")
        text.rstrip()
        self.query_one("#failure", Static).update(text)


def _home_short(path: Path) -> str:
    """`path` with the home directory written as `~`, to keep the title short."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)
