"""Step 5, Result: what the image holds, whether it still matches the project, and the image
running live.

The image shown is the project's tag: the one the last build made, or (after reopening the
project) the one the engine already has. Its labels say what it was built from, so the step
says when the project has changed since ("out of date").

The live run belongs to the app's `RunSession`: this step starts it (o), stops it (s), shows
its output as it comes and the ports it published as addresses; leaving the step stops it
(unless watch mode runs it) and its container is removed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, DataTable, Label, Static
from textual.worker import get_current_worker

from plugwiz.core.context import context_digest
from plugwiz.core.engine import EngineError, ImageNotFoundError, RunExited
from plugwiz.core.model import DEMO_REPO, ProjectError, ResolvedProject, RunSettings
from plugwiz.core.plan import plan_build
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.core.report import (
    LABEL_CONTEXT,
    LABEL_PLUGINS,
    LABEL_REVISION,
    ImageReport,
    human_size,
    load_order,
)
from plugwiz.core.run_session import RunPoll, RunState
from plugwiz.core.session import BuildState
from plugwiz.core.watch import WatchPhase
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.build_log import BuildLog
from plugwiz.ui.widgets.message import MessageArea

MAX_RUN_LINES = 5000


def docker_run_line(tag: str, run: RunSettings | None = None) -> str:
    """The command that runs the image as the live run does: its CMD, with the project's
    run arguments, environment and published ports."""
    words = ["docker", "run", "--rm"]
    if run is not None:
        for port in run.ports:
            words += ["-p", f"127.0.0.1::{port}"]
        for name, value in run.env:
            words += ["-e", f"{name}={value}"]
    words.append(tag)
    if run is not None:
        words += list(run.args)
    return shlex.join(words)


def staleness(report: ImageReport, resolved: ResolvedProject, digest: str) -> list[str]:
    """Why the image no longer matches the project (empty: it matches), in words."""
    labels = report.labels
    reasons: list[str] = []
    revision = labels.get(LABEL_REVISION, "")
    if revision and revision != resolved.sha:
        reasons.append(f"the host is now at {resolved.sha[:12]}, the image has {revision[:12]}")
    try:
        plan = plan_build(resolved)
    except ProjectError:
        plan = None
    if plan is not None and LABEL_PLUGINS in labels:
        built = [p for p in labels[LABEL_PLUGINS].split(",") if p]
        wanted = plan.runtime_plugin_paths
        added = [p.rsplit("/", 1)[-1] for p in wanted if p not in built]
        removed = [p.rsplit("/", 1)[-1] for p in built if p not in wanted]
        if added:
            reasons.append("plugins added since: " + ", ".join(added))
        if removed:
            reasons.append("plugins removed since: " + ", ".join(removed))
        if not added and not removed and built != wanted:
            reasons.append("the plugins' load order changed")
    image_digest = labels.get(LABEL_CONTEXT, "")
    if not reasons and image_digest and digest and image_digest != digest:
        reasons.append("plugin sources or build settings changed")
    return reasons


@dataclass(frozen=True)
class ShownImage:
    """The image the step shows, and whether it still matches the project."""

    report: ImageReport
    reasons: tuple[str, ...] = ()
    checked: bool = False  # the comparison with the project is done


class ResultScreen(WizardScreen):
    """The image report of the project's tag, the run line, and the image running live."""

    STEP = "result"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "run", "Run"),
        Binding("s", "stop_run", "Stop"),
        Binding("e", "run_settings", "Run settings"),
        Binding("y", "copy_run", "Copy"),
        Binding("p", "prune", "Prune"),
    ]
    KEY_NOTES = (
        ("o", "run the image: its output streams below, published ports show as addresses"),
        ("s", "stop it (the container is removed; leaving this step or quitting does too)"),
        ("e", "arguments, environment and ports for the run (saved in the project)"),
        ("y", "copy the docker run line to the clipboard"),
        ("p", "remove images earlier builds left behind, and say how much that freed"),
    )
    PALETTE = (
        ("Run the image (live)", "o", "action_run"),
        ("Stop the running image", "s", "action_stop_run"),
        ("Run settings: arguments, environment, ports", "e", "action_run_settings"),
        ("Copy the docker run line", "y", "action_copy_run"),
        ("Prune images earlier builds left behind", "p", "action_prune"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.shown: ShownImage | None = None
        self._looked_up: tuple[str, int] | None = None  # (tag, build generation)
        self._compared_for: tuple[int, ResolvedProject] | None = None
        self._run_shown = -1  # the run generation the log shows

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="result-body", classes="step-body"):
            yield MessageArea(id="result-message")
            yield Static("", id="image-info")
            yield DataTable(id="result-plugins", cursor_type="row", zebra_stripes=True)
            yield Label("CMD (exec form)", classes="field-label")
            yield Static("", id="cmd", classes="code")
            yield Label("Run it", classes="field-label")
            yield Static("", id="run-line", classes="code")
            with Horizontal(classes="button-row"):
                yield Button("Run", id="run", variant="primary")
                yield Button("Stop", id="stop-run", variant="error")
                yield Button("Run settings…", id="run-settings")
                yield Button("Copy run line", id="copy-run")
                yield Button("Prune", id="prune")
            yield Static("", id="run-status")
            yield BuildLog(max_lines=MAX_RUN_LINES, id="run-output", auto_scroll=True)

    def on_mount(self) -> None:
        table = self.query_one("#result-plugins", DataTable)
        table.add_columns("#", "Plugin file", "Size", "SHA-256", "Loaded by CMD")
        table.border_title = "Plugins in the image, in load order"
        self.query_one("#run-output", BuildLog).border_title = "What the host prints"
        super().on_mount()

    def on_screen_suspend(self) -> None:
        # Leaving the step stops the live run (its container is removed); a dialog on top of
        # the step does not leave it. In watch mode the run is the watch's, until the next
        # save or watch mode is turned off.
        if self.app.current_mode != self.STEP and not self.wizard.watching:
            self.wizard.stop_run()

    def home_widget(self) -> Widget | None:
        return self.query_one("#result-plugins", DataTable)

    # -- which image -------------------------------------------------------------------------

    def redraw(self) -> None:
        session = self.wizard.session
        tag = self.project.tag
        key = (tag, session.generation)
        if (
            session.state is BuildState.SUCCEEDED
            and session.report is not None
            and session.tag == tag
        ):
            if self.shown is None or self.shown.report is not session.report:
                self.shown = ShownImage(session.report)
        elif self._looked_up != key and not session.active:
            self._looked_up = key
            self._lookup(tag)
        self._show()
        self._compare()
        self._show_run()

    @work(thread=True, exclusive=True, group="lookup", exit_on_error=False)
    def _lookup(self, tag: str) -> None:
        """Is there an image under the project's tag already? (Docker, off the UI thread.)"""
        try:
            report: ImageReport | None = self.wizard.engine.inspect(tag)
        except ImageNotFoundError:
            report = None
        except EngineError:
            report = None  # no engine: the Build step says so; nothing to show here
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._looked, tag, report)

    def _looked(self, tag: str, report: ImageReport | None) -> None:
        if tag != self.project.tag:
            return
        self.shown = ShownImage(report) if report is not None else None
        self._show()
        self._compare()

    def _compare(self) -> None:
        shown = self.shown
        resolved = self.wizard.resolved
        repo = self.wizard.host.repo
        if shown is None or resolved is None or repo is None:
            return
        key = (id(shown.report), resolved)
        if key == self._compared_for:
            return
        self._compared_for = key
        self._compare_worker(shown.report, resolved, repo)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _compare_worker(
        self, report: ImageReport, resolved: ResolvedProject, repo: HostRepository
    ) -> None:
        """Compare the image's labels with the project (reads the sources: off the UI thread)."""
        try:
            digest = context_digest(resolved, repo)
        except (ProjectError, HostRepoError, OSError):
            digest = ""
        reasons = tuple(staleness(report, resolved, digest))
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._compared, report, reasons)

    def _compared(self, report: ImageReport, reasons: tuple[str, ...]) -> None:
        if self.shown is None or self.shown.report is not report:
            return
        self.shown = ShownImage(report, reasons, checked=True)
        self._show()

    # -- drawing -----------------------------------------------------------------------------

    def _show(self) -> None:
        shown = self.shown
        report = shown.report if shown is not None else None
        message = self.query_one("#result-message", MessageArea)
        for widget_id in ("#image-info", "#result-plugins", "#cmd", "#run-line", ".button-row"):
            self.query_one(widget_id).display = report is not None
        for label in self.query(".field-label"):
            label.display = report is not None
        if report is None or shown is None:
            if self.wizard.session.active:
                message.show("A build is running: see the Build step (F4).", "info")
            else:
                message.show(
                    f"No image {self.project.tag} yet. Build it on the Build step (F4).", "info"
                )
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("Image", report.tag)
        grid.add_row("Id", report.image_id.removeprefix("sha256:")[:12])
        grid.add_row("Size", human_size(report.size))
        repo = "embedded demo host" if report.host_repo == DEMO_REPO else report.host_repo
        grid.add_row("Host", f"{report.host_module}  ({repo})" if repo else report.host_module)
        grid.add_row("Commit", report.host_commit[:12] or "unknown")
        grid.add_row("Go", report.go_version or "unknown")
        self.query_one("#image-info", Static).update(grid)
        table = self.query_one("#result-plugins", DataTable)
        table.clear()
        for index, plugin in enumerate(load_order(report), start=1):
            loaded = (
                Text("✓", style="bold green")
                if plugin.in_cmd
                else Text("✗ not in CMD", style="bold red")
            )
            table.add_row(
                str(index) if plugin.in_cmd else "-",
                plugin.file,
                human_size(plugin.size),
                plugin.sha256[:12],
                loaded,
            )
        for path in report.missing:
            table.add_row("-", path, "-", "-", Text("✗ missing", style="bold red"))
        self.query_one("#cmd", Static).update(Text(json.dumps(report.cmd)))
        self.query_one("#run-line", Static).update(
            Text(docker_run_line(report.tag, self.project.run))
        )
        problems = []
        if report.unloaded:
            problems.append("never loaded (not in CMD): " + ", ".join(report.unloaded))
        if report.missing:
            problems.append("named in CMD but missing: " + ", ".join(report.missing))
        if problems:
            message.show("Plugins do not match the CMD\n" + "\n".join(problems), "error")
        elif shown.reasons:
            message.show(
                "Out of date: the project changed since this image was built\n"
                + "\n".join(f"- {r}" for r in shown.reasons)
                + "\nBuild again (F4, then b) to bring it up to date.",
                "warning",
            )
        else:
            checked = "" if shown.checked else " (comparing with the project …)"
            message.show(
                f"{len(report.plugins)} plugins, every one loaded by the CMD{checked}.",
                "success",
            )

    # -- actions -----------------------------------------------------------------------------

    def action_copy_run(self) -> None:
        if self.shown is None:
            return
        self.app.copy_to_clipboard(docker_run_line(self.shown.report.tag, self.project.run))
        self.notify("docker run line copied to the clipboard")

    @on(Button.Pressed, "#copy-run")
    def copy_pressed(self) -> None:
        self.action_copy_run()

    @on(Button.Pressed, "#run")
    def run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#stop-run")
    def stop_pressed(self) -> None:
        self.action_stop_run()

    @on(Button.Pressed, "#run-settings")
    def settings_pressed(self) -> None:
        self.action_run_settings()

    @on(Button.Pressed, "#prune")
    def prune_pressed(self) -> None:
        self.action_prune()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.wizard.run_session.active
        if action == "run":
            return self.shown is not None and not running
        if action == "stop_run":
            return running
        return True

    def action_run(self) -> None:
        """Run the image live (its CMD with the project's run settings)."""
        if self.shown is None:
            return
        problem = self.wizard.start_run()
        if problem:
            self.notify(problem, severity="warning")

    def action_stop_run(self) -> None:
        """Stop the running image; its container is removed."""
        self.wizard.stop_run()

    def action_run_settings(self) -> None:
        """Edit the run's arguments, environment and ports (saved in the project)."""
        from plugwiz.ui.dialogs.run_settings import RunSettingsDialog

        def saved(settings: RunSettings | None) -> None:
            if settings is not None and settings != self.project.run:
                self.wizard.update_project(replace(self.project, run=settings))
                if self.wizard.run_session.active:
                    self.notify("Saved: the next run uses them (s stops this one).")

        self.app.push_screen(RunSettingsDialog(self.project.run), saved)

    # -- the live run ------------------------------------------------------------------------

    def show_run_poll(self, result: RunPoll) -> None:
        """Show what one poll of the run session took (the app polls it every 100 ms)."""
        session = self.wizard.run_session
        if session.generation != self._run_shown:
            self._show_run()
            return
        if result.lines:
            log = self.query_one("#run-output", BuildLog)
            follow = log.scroll_y >= log.max_scroll_y - 1
            log.write_lines(result.lines, scroll_end=False)
            if follow:
                log.scroll_end(animate=False, x_axis=False)
        if result.events:
            self._show_run_status()

    def _show_run(self) -> None:
        """Draw the run from the session (a new run, or one that went on while hidden)."""
        session = self.wizard.run_session
        log = self.query_one("#run-output", BuildLog)
        shown = session.state is not RunState.IDLE or self.wizard.watching
        log.display = shown
        self.query_one("#run-status", Static).display = shown
        if session.generation != self._run_shown:
            self._run_shown = session.generation
            log.clear()
            log.write_lines(list(session.tail), scroll_end=False)
            log.scroll_end(animate=False, x_axis=False)
            if shown:
                # A new run: its output below the image's details comes into view.
                self.call_after_refresh(log.scroll_visible, animate=False)
        self._show_run_status()

    def _show_run_status(self) -> None:
        session = self.wizard.run_session
        state = session.state
        text = Text()
        watch = self.wizard.watch_phase
        if watch is not WatchPhase.OFF:
            text.append("watch mode: ", style="bold")
            text.append(f"{watch.value}\n", style="bold cyan")
        spec = session.spec
        image = spec.image if spec is not None else self.project.tag
        if state is RunState.STARTING:
            text.append(f"Starting {image} …", style="bold")
        elif state in (RunState.RUNNING, RunState.STOPPING):
            verb = "Stopping" if state is RunState.STOPPING else "Running"
            text.append(f"{verb} {image}", style="bold green")
            if session.container_id:
                text.append(f"  (container {session.container_id[:12]})", style="dim")
            text.append("  s stops it\n" if state is RunState.RUNNING else "\n", style="dim")
        elif state is RunState.FAILED:
            text.append(f"Could not run the image: {session.message}\n", style="bold red")
        elif state in (RunState.EXITED, RunState.STOPPED):
            text.append(_ended(session.exit, state) + "\n", style=_ended_style(session.exit))
        if session.ports and state in (RunState.RUNNING, RunState.STOPPING):
            text.append("Published: ", style="bold")
            text.append(
                ", ".join(
                    f"http://{p.address} (port {p.container_port}/{p.protocol})"
                    for p in session.ports
                )
            )
        elif state is RunState.RUNNING:
            text.append("No port published (e: run settings)", style="dim")
        self.query_one("#run-status", Static).update(text)
        self.refresh_bindings()
        for button_id, enabled in (
            ("#run", self.shown is not None and not session.active),
            ("#stop-run", session.active),
        ):
            self.query_one(button_id, Button).disabled = not enabled

    def action_prune(self) -> None:
        self.notify("Looking for images earlier builds left behind …")
        self._prune()

    @work(thread=True, exclusive=True, group="prune", exit_on_error=False)
    def _prune(self) -> None:
        try:
            result = self.wizard.engine.prune()
        except EngineError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        if result.images:
            text = (
                f"Removed {result.images} image(s) earlier builds left behind, "
                f"freed {human_size(result.freed_bytes)}."
            )
        else:
            text = "Nothing to remove: no image left behind by earlier builds."
        self.app.call_from_thread(self.notify, text, title="Prune")


def _ended(exited: RunExited | None, state: RunState) -> str:
    if state is RunState.STOPPED:
        return "Stopped; the container was removed."
    if exited is None:
        return "The run ended."
    if exited.timed_out:
        return "Stopped at the time limit; the container was removed."
    if exited.exit_code is None:
        return "The host stopped (no exit code); the container was removed."
    return f"The host exited: exit code {exited.exit_code}."


def _ended_style(exited: RunExited | None) -> str:
    if exited is None or exited.stopped or exited.timed_out or exited.exit_code is None:
        return "bold yellow"
    return "bold green" if exited.exit_code == 0 else "bold red"
