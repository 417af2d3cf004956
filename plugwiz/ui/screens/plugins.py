"""Step 2, Plugins: the custom plugins to build with the host, and how the host loads them."""

from __future__ import annotations

import os
import shlex
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Static

from plugwiz.core.context import plugin_files
from plugwiz.core.model import (
    PluginSource,
    Project,
    ProjectError,
    check_name,
    effective_bundled,
    name_from_source,
    plugin_clashes,
)
from plugwiz.core.render import plan_build
from plugwiz.ui.dialogs.file_picker import FilePickerDialog
from plugwiz.ui.dialogs.loading_settings import LoadingSettingsDialog
from plugwiz.ui.dialogs.text_input import TextInputDialog
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.message import MessageArea
from plugwiz.ui.widgets.path_suggester import PathSuggester


def plugin_status(project: Project, index: int) -> tuple[bool, str]:
    """(ok, text) for the status column of `project.plugins[index]`: the source check, then
    name clashes, in the words `plan_build` (and so the CLI) uses."""
    plugin = project.plugins[index]
    try:
        check_name(plugin.output_name)
        plugin_files(project, plugin)
    except ProjectError as exc:
        # Paths inside the project directory are shown as the user typed them.
        return False, str(exc).replace(f"{project.base_dir}{os.sep}", "")
    except OSError as exc:
        return False, f"cannot read {plugin.source}: {exc.strerror or exc}"
    for clash in plugin_clashes(project):
        if clash.custom_index == index:
            return False, clash.message
    return True, "✓"


class PluginsScreen(WizardScreen):
    """Add, rename, remove and reorder custom plugins; edit the plugin loading settings."""

    STEP = "plugins"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "focus_source", "Add"),
        Binding("o", "browse", "Browse"),
        Binding("r", "rename", "Rename"),
        Binding("x,delete", "remove", "Remove"),
        Binding("ctrl+up,K", "move(-1)", "Move up"),
        Binding("ctrl+down,J", "move(1)", "Move down"),
        Binding("s", "settings", "Loading"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="plugins-body", classes="step-body"):
            yield Label(
                "Add a plugin: a .go file, a directory of package main files, or a prebuilt .so",
                classes="field-label",
            )
            with Horizontal(id="add-row"):
                yield Input(
                    placeholder="path (→ completes), then enter",
                    suggester=PathSuggester(self.project.base_dir, (".go", ".so")),
                    id="plugin-source",
                )
                yield Button("Browse…", id="browse")
            yield MessageArea(id="plugins-message")
            yield DataTable(id="plugins-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="plugins-footer-row"):
                yield Static("", id="bundled-summary")
                yield Static("", id="loading-summary")
                yield Button("Loading settings", id="settings")

    def on_mount(self) -> None:
        table = self.query_one("#plugins-table", DataTable)
        table.add_columns("#", "Name", "Source", "Kind", "Output", "Status")
        super().on_mount()
        # The path input first: typing a path is what people do here, and with the table
        # focused their letters would fire the single-key bindings (x removes a plugin).
        self.query_one("#plugin-source", Input).focus()

    # -- drawing -----------------------------------------------------------------------------

    def project_changed(self, project: Project) -> None:
        table = self.query_one("#plugins-table", DataTable)
        row = table.cursor_row
        table.clear()
        ext = project.loading.extension
        for index, plugin in enumerate(project.plugins, start=1):
            ok, status = plugin_status(project, index - 1)
            table.add_row(
                str(index),
                plugin.output_name,
                _short_source(project, plugin.source),
                plugin.kind.value,
                plugin.output_name + ext,
                Text(status, style="bold green" if ok else "red"),
                key=str(index - 1),
            )
        if project.plugins:
            table.move_cursor(row=min(row, len(project.plugins) - 1))
        table.border_title = f"Custom plugins ({len(project.plugins)})"
        bundled = [b.output_name for b in effective_bundled(project)]
        self.query_one("#bundled-summary", Static).update(
            "Bundled: " + (", ".join(bundled) if bundled else "none")
            if project.facts is not None
            else "Bundled: host not resolved yet"
        )
        lo = project.loading
        flag = lo.flag or "(no flag)"
        args = shlex.join(lo.extra_args) if lo.extra_args else "none"
        self.query_one("#loading-summary", Static).update(
            f"Loading: {flag} PATH{lo.extension}   extra args: {args}"
        )
        self._show_plan_problem(project)

    def _show_plan_problem(self, project: Project) -> None:
        message = self.query_one("#plugins-message", MessageArea)
        if project.facts is None:
            message.show("The host is not resolved yet: pick a ref on the Host step.", "warning")
            return
        try:
            plan_build(project)
        except ProjectError as exc:
            message.show(str(exc), "error")
            return
        message.clear()

    # -- intents -----------------------------------------------------------------------------

    @on(Input.Submitted, "#plugin-source")
    def source_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.add_source(text)
            event.input.value = ""

    @on(Button.Pressed, "#browse")
    def browse_pressed(self) -> None:
        self.action_browse()

    @on(Button.Pressed, "#settings")
    def settings_pressed(self) -> None:
        self.action_settings()

    def add_source(self, source: str) -> None:
        """Add a custom plugin; its output name is made unique among the custom plugins."""
        project = self.project
        if any(p.source == source for p in project.plugins):
            self.query_one("#plugins-message", MessageArea).show(
                f"{source} is already in the list.", "warning"
            )
            return
        taken = {p.output_name for p in project.plugins}
        name = ""
        base = name_from_source(source)
        if base in taken:
            suffix = 2
            while f"{base}-{suffix}" in taken:
                suffix += 1
            name = f"{base}-{suffix}"
        plugin = PluginSource(source=source, name=name)
        self.wizard.update_project(replace(project, plugins=(*project.plugins, plugin)))
        table = self.query_one("#plugins-table", DataTable)
        table.move_cursor(row=len(self.project.plugins) - 1)
        ok, status = plugin_status(self.project, len(self.project.plugins) - 1)
        if not ok:
            self.notify(status, title="Plugin added with a problem", severity="warning")

    def _selected_index(self) -> int | None:
        table = self.query_one("#plugins-table", DataTable)
        if not self.project.plugins or table.row_count == 0:
            return None
        return min(table.cursor_row, len(self.project.plugins) - 1)

    def action_focus_source(self) -> None:
        self.query_one("#plugin-source", Input).focus()

    def action_browse(self) -> None:
        def picked(path: Path | None) -> None:
            if path is not None:
                self.add_source(_relative_source(self.project, path))

        self.app.push_screen(FilePickerDialog(self.project.base_dir), picked)

    def action_rename(self) -> None:
        index = self._selected_index()
        if index is None:
            return
        plugin = self.project.plugins[index]

        def validate(text: str) -> str | None:
            if not text:
                return None  # empty: back to the name derived from the source
            try:
                check_name(text)
            except ProjectError as exc:
                return str(exc)
            return None

        def renamed(name: str | None) -> None:
            if name is None:
                return
            plugins = list(self.project.plugins)
            plugins[index] = replace(
                plugin, name="" if name == name_from_source(plugin.source) else name
            )
            self.wizard.update_project(replace(self.project, plugins=tuple(plugins)))

        self.app.push_screen(
            TextInputDialog(
                f"Rename plugin {plugin.output_name} (its output file name)",
                plugin.output_name,
                placeholder=name_from_source(plugin.source),
                validate=validate,
            ),
            renamed,
        )

    def action_remove(self) -> None:
        index = self._selected_index()
        if index is None:
            return
        plugins = list(self.project.plugins)
        removed = plugins.pop(index)
        self.wizard.update_project(replace(self.project, plugins=tuple(plugins)))
        self.notify(f"removed {removed.output_name}")

    def action_move(self, delta: int) -> None:
        index = self._selected_index()
        if index is None:
            return
        target = index + delta
        plugins = list(self.project.plugins)
        if not 0 <= target < len(plugins):
            return
        plugins[index], plugins[target] = plugins[target], plugins[index]
        self.wizard.update_project(replace(self.project, plugins=tuple(plugins)))
        self.query_one("#plugins-table", DataTable).move_cursor(row=target)

    def action_settings(self) -> None:
        def saved(loading: object) -> None:
            if loading is not None:
                self.wizard.update_project(replace(self.project, loading=loading))  # type: ignore[arg-type]

        self.app.push_screen(LoadingSettingsDialog(self.project.loading), saved)


def _short_source(project: Project, source: str) -> str:
    """The source as the user gave it, shortened in the middle when very long."""
    return source if len(source) <= 48 else source[:20] + "…" + source[-27:]


def _relative_source(project: Project, path: Path) -> str:
    """`path` relative to the project directory when it is inside it (portable project files)."""
    try:
        return (
            os.path.relpath(path, project.base_dir)
            if path.is_relative_to(project.base_dir)
            else str(path)
        )
    except ValueError:
        return str(path)
