"""Step 5, Result: what the image holds, whether it still matches the project, how to run it.

The image shown is the project's tag: the one the last build made, or (after reopening the
project) the one the engine already has. Its labels say what it was built from, so the step
says when the project has changed since ("out of date").
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
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
from plugwiz.core.engine import EngineError, ImageNotFoundError, RunResult
from plugwiz.core.model import DEMO_REPO, ProjectError, ResolvedProject
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
from plugwiz.core.session import BuildState
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.message import MessageArea

RUN_TIMEOUT = 30.0


def docker_run_line(tag: str) -> str:
    """The command that runs the image with its own CMD."""
    return f"docker run --rm {shlex.quote(tag)}"


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
    """The image report of the project's tag, the run line and a "run once" action."""

    STEP = "result"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy_run", "Copy"),
        Binding("o", "run_once", "Run once"),
        Binding("p", "prune", "Prune"),
    ]
    KEY_NOTES = (
        ("y", "copy the docker run line to the clipboard"),
        ("o", f"run the image once (up to {RUN_TIMEOUT:.0f} s) and show what the host printed"),
        ("p", "remove images earlier builds left behind, and say how much that freed"),
    )
    PALETTE = (
        ("Run the image once", "o", "action_run_once"),
        ("Copy the docker run line", "y", "action_copy_run"),
        ("Prune images earlier builds left behind", "p", "action_prune"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.shown: ShownImage | None = None
        self._looked_up: tuple[str, int] | None = None  # (tag, build generation)
        self._compared_for: tuple[int, ResolvedProject] | None = None

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
                yield Button("Copy run line", id="copy-run")
                yield Button("Run once", id="run-once", variant="primary")
                yield Button("Prune", id="prune")
            yield Static("", id="run-output", classes="code")

    def on_mount(self) -> None:
        table = self.query_one("#result-plugins", DataTable)
        table.add_columns("#", "Plugin file", "Size", "SHA-256", "Loaded by CMD")
        table.border_title = "Plugins in the image, in load order"
        self.query_one("#run-output", Static).display = False
        super().on_mount()

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
            self.query_one("#run-output", Static).display = False
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
        self.query_one("#run-line", Static).update(Text(docker_run_line(report.tag)))
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
        self.app.copy_to_clipboard(docker_run_line(self.shown.report.tag))
        self.notify("docker run line copied to the clipboard")

    @on(Button.Pressed, "#copy-run")
    def copy_pressed(self) -> None:
        self.action_copy_run()

    @on(Button.Pressed, "#run-once")
    def run_pressed(self) -> None:
        self.action_run_once()

    @on(Button.Pressed, "#prune")
    def prune_pressed(self) -> None:
        self.action_prune()

    def action_run_once(self) -> None:
        if self.shown is None:
            return
        output = self.query_one("#run-output", Static)
        output.display = True
        tag = self.shown.report.tag
        output.update(Text(f"Running {tag} (up to {RUN_TIMEOUT:.0f} s) ...", style="dim"))
        self._run(tag)

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def _run(self, tag: str) -> None:
        started = self.wizard.session.clock()
        try:
            result: RunResult | None = self.wizard.engine.run_once(tag, timeout=RUN_TIMEOUT)
            error = ""
        except EngineError as exc:
            result, error = None, str(exc)
        self.app.call_from_thread(self._ran, result, error, tag, started)

    def _ran(self, result: RunResult | None, error: str, tag: str = "", started: float = 0) -> None:
        output = self.query_one("#run-output", Static)
        output.display = True
        if result is None:
            output.update(Text(f"Could not run the image: {error}", style="red"))
            return
        session = self.wizard.session
        if session.state is BuildState.SUCCEEDED and session.tag == tag and started:
            # The smoke run of the build just made: its stage in the explorer and history.
            ok = result.exit_code == 0 and not result.timed_out
            detail = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            session.record_smoke(started, session.clock(), ok, detail)
            self.wizard.build_revision += 1  # the Build step shows it as a stage
        text = Text()
        if result.timed_out:
            text.append(f"stopped after {RUN_TIMEOUT:.0f} s (timed out)\n", style="bold yellow")
        style = "bold green" if result.exit_code == 0 else "bold red"
        code = "no exit code" if result.exit_code is None else f"exit code {result.exit_code}"
        text.append(code + "\n", style=style)
        text.append(result.output.rstrip("\n") or "(no output)")
        output.border_title = "What the host printed"
        output.update(text)
        self.call_after_refresh(output.scroll_visible, animate=False)

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
