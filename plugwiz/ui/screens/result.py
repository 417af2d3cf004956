"""Step 5, Result: what the image holds, how to run it, and one run to prove the plugins load."""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Label, Static

from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.message import MessageArea

RUN_TIMEOUT = 30.0


def human_size(size: int) -> str:
    """`12.3 MB` style sizes (decimal units, as docker prints them)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def docker_run_line(tag: str) -> str:
    """The command that runs the image with its own CMD."""
    return f"docker run --rm {shlex.quote(tag)}"


class ResultScreen(WizardScreen):
    """The image report of the last build, the run line and a "run once" action."""

    STEP = "result"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy_run", "Copy run line"),
        Binding("o", "run_once", "Run once"),
    ]

    class RunFinished(Message):
        """The image ran once (or could not be run)."""

        def __init__(self, result: Any, error: str) -> None:
            super().__init__()
            self.result = result
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.shown_report: Any = None

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
            yield Static("", id="run-output", classes="code")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#result-plugins", DataTable).add_columns(
            "Plugin file", "Size", "SHA-256", "Loaded by CMD"
        )
        self.query_one("#result-plugins", DataTable).border_title = "Plugins in the image"
        self.query_one("#run-output", Static).display = False
        self.show_report(self.wizard.report)

    def on_screen_resume(self) -> None:
        if self.wizard.report is not self.shown_report:
            self.show_report(self.wizard.report)

    def show_report(self, report: Any) -> None:
        """Fill the screen from an ImageReport (None: nothing built yet)."""
        self.shown_report = report
        message = self.query_one("#result-message", MessageArea)
        for widget_id in ("#image-info", "#result-plugins", "#cmd", "#run-line", ".button-row"):
            self.query_one(widget_id).display = report is not None
        self.query_one("#run-output", Static).display = False
        for label in self.query(".field-label"):
            label.display = report is not None
        if report is None:
            message.show("No image built yet. Build it on the Build step (ctrl+p, or F4).", "info")
            return
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("Image", report.tag)
        grid.add_row("Id", report.image_id)
        grid.add_row("Size", human_size(report.size))
        grid.add_row("Host", f"{report.host_repo}  {report.host_module}")
        grid.add_row("Commit", report.host_commit)
        grid.add_row("Go", report.go_version or "unknown")
        self.query_one("#image-info", Static).update(grid)
        table = self.query_one("#result-plugins", DataTable)
        table.clear()
        for plugin in report.plugins:
            loaded = (
                Text("✓", style="bold green")
                if plugin.in_cmd
                else Text("✗ not in CMD", style="bold red")
            )
            table.add_row(plugin.file, human_size(plugin.size), plugin.sha256[:12], loaded)
        for path in report.missing:
            table.add_row(path, "-", "-", Text("✗ missing from the image", style="bold red"))
        self.query_one("#cmd", Static).update(Text(_exec_form(report.cmd)))
        self.query_one("#run-line", Static).update(Text(docker_run_line(report.tag)))
        problems = []
        if report.unloaded:
            problems.append("never loaded (not in CMD): " + ", ".join(report.unloaded))
        if report.missing:
            problems.append("named in CMD but missing: " + ", ".join(report.missing))
        if problems:
            message.show("Plugins do not match the CMD\n" + "\n".join(problems), "error")
        else:
            message.show(f"{len(report.plugins)} plugins, every one loaded by the CMD.", "success")

    def action_copy_run(self) -> None:
        report = self.wizard.report
        if report is None:
            return
        self.app.copy_to_clipboard(docker_run_line(report.tag))
        self.notify("docker run line copied to the clipboard")

    @on(Button.Pressed, "#copy-run")
    def copy_pressed(self) -> None:
        self.action_copy_run()

    @on(Button.Pressed, "#run-once")
    def run_pressed(self) -> None:
        self.action_run_once()

    def action_run_once(self) -> None:
        report = self.wizard.report
        if report is None:
            return
        output = self.query_one("#run-output", Static)
        output.display = True
        output.update(Text(f"Running {report.tag} (up to {RUN_TIMEOUT:.0f} s) ...", style="dim"))
        tag = report.tag
        self.run_worker(
            lambda: self._run(tag), thread=True, exclusive=True, group="run", exit_on_error=False
        )

    def _run(self, tag: str) -> None:
        try:
            result = self.wizard.engine.run_once(tag, timeout=RUN_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - shown in place
            self.post_message(self.RunFinished(None, str(exc)))
            return
        self.post_message(self.RunFinished(result, ""))

    def on_result_screen_run_finished(self, message: RunFinished) -> None:
        output = self.query_one("#run-output", Static)
        output.display = True
        result = message.result
        if result is None:
            output.update(Text(f"Could not run the image: {message.error}", style="red"))
            return
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


def _exec_form(cmd: list[str]) -> str:
    import json

    return json.dumps(cmd)
