"""Step 2, Plugins: the custom plugins to build with the host, and how the host loads them."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Label, Static

from plugwiz.core.context import inspect_plugin
from plugwiz.core.model import (
    PluginFacts,
    PluginKind,
    PluginLoading,
    PluginSource,
    Project,
    ProjectError,
    ResolvedProject,
    check_name,
    effective_bundled,
    guess_plugin_kind,
    name_from_source,
)
from plugwiz.core.plan import plan_build, plugin_problem
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.core.scaffold import (
    LookedUpSymbol,
    NewPlugin,
    looked_up_symbol,
    new_plugin,
    with_new_plugin,
    write_plugin,
)
from plugwiz.core.session import BuildState, PluginResult
from plugwiz.ui.app import PrebuiltVerdict
from plugwiz.ui.dialogs.file_picker import FilePickerDialog
from plugwiz.ui.dialogs.loading_settings import LoadingSettingsDialog
from plugwiz.ui.dialogs.new_plugin import NewPluginChoice, NewPluginDialog
from plugwiz.ui.dialogs.text_input import TextInputDialog
from plugwiz.ui.screens.base import WizardScreen, display_path
from plugwiz.ui.widgets.message import MessageArea
from plugwiz.ui.widgets.path_suggester import PathSuggester

LOOKS_RIGHT = "looks right"


@dataclass(frozen=True)
class PluginStatus:
    """What the Plugins table says of one plugin: a short status and the full text."""

    ok: bool
    short: str
    detail: str


def plugin_status(
    project: Project,
    index: int,
    facts: PluginFacts | None,
    resolved: ResolvedProject | None,
    result: PluginResult | None,
    signature: tuple[tuple[str, int, int], ...] | None,
    verdict: PrebuiltVerdict | None = None,
) -> PluginStatus:
    """The status of `project.plugins[index]`: its problem (in the words `plugwiz render`
    uses), else what the last build did with it if it is still about the same files, else
    (a prebuilt plugin) whether it can load into this host, else "looks right"."""
    plugin = project.plugins[index]
    if facts is None:
        return PluginStatus(True, "checking…", "checking the source")
    problem = facts.problem
    if not problem and resolved is not None:
        problem = plugin_problem(resolved, index) or ""
    if not problem:
        try:
            check_name(plugin.output_name)
        except ProjectError as exc:
            problem = str(exc)
    if problem:
        return PluginStatus(False, _short_problem(problem), problem)
    if (
        result is not None
        and result.source == plugin.source
        and result.name == plugin.output_name
        and result.signature == signature
    ):
        ok = result.describe() in ("built", "loads")
        detail = f"the last build: {result.describe()}"
        if result.detail:
            detail += f": {result.detail}"
        return PluginStatus(ok, result.describe(), detail)
    if verdict is not None and verdict.signature == signature:
        explanation = verdict.explanation
        if explanation is None:
            return PluginStatus(True, "not examined", verdict.error)
        if explanation.loads:
            return PluginStatus(True, "should load", "examined: " + explanation.verdict)
        first = explanation.blocking[0]
        detail = f"{explanation.verdict} Fix: {first.fix}."
        if first.detail:
            detail = f"{explanation.verdict}\n{first.detail}\nFix: {first.fix}."
        return PluginStatus(False, "would not load", detail)
    return PluginStatus(True, LOOKS_RIGHT, "the source looks right; build to check it loads")


def _short_problem(problem: str) -> str:
    # The problem without the "plugin 'x': " the Name column already says.
    text = problem.split(": ", 1)[1] if problem.startswith("plugin '") else problem
    return text


class PluginsScreen(WizardScreen):
    """Add, rename, remove and reorder custom plugins; edit the plugin loading settings."""

    STEP = "plugins"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "focus_source", "Add", show=False),  # the field says so
        Binding("n", "new_plugin", "New"),
        Binding("o", "browse", "Browse"),
        Binding("r", "rename", "Rename"),
        Binding("x,delete", "remove", "Remove"),
        Binding("u", "undo", "Undo", show=False),
        Binding("ctrl+up,K", "move(-1)", "Move up", show=False),
        Binding("ctrl+down,J", "move(1)", "Move down", show=False),
        Binding("s", "settings", "Loading"),
    ]
    KEY_NOTES = (
        ("n", "start a new plugin: a renamed copy of a bundled plugin, added to the list"),
        ("enter (in the path field)", "add the plugin (refused when the path is not one)"),
        ("right (in the path field)", "complete the path"),
        ("u", "undo the last removal"),
        ("ctrl+up / K, ctrl+down / J", "move the plugin up or down (the load order)"),
        ("escape", "leave the path field, so single-letter keys work"),
    )
    PALETTE = (
        ("New plugin from a bundled plugin", "n", "action_new_plugin"),
        ("Add a plugin by its path", "a", "action_focus_source"),
        ("Add a plugin from a file picker", "o", "action_browse"),
        ("Rename the selected plugin", "r", "action_rename"),
        ("Remove the selected plugin", "x", "action_remove"),
        ("Move the selected plugin up (load order)", "ctrl+up or K", "action_move_up"),
        ("Move the selected plugin down (load order)", "ctrl+down or J", "action_move_down"),
        ("Plugin loading settings", "s", "action_settings"),
        ("Undo the last plugin removal", "u", "action_undo"),
    )

    def compose_body(self) -> ComposeResult:
        with Vertical(id="plugins-body", classes="step-body"):
            yield Label(
                "Add a plugin: a .go file, a directory, or a prebuilt plugin",
                classes="field-label",
            )
            with Horizontal(id="add-row"):
                yield Input(
                    placeholder="path (→ completes), then enter",
                    suggester=PathSuggester(self.project.base_dir, (".go", ".so")),
                    id="plugin-source",
                )
                yield Button("Browse…", id="browse")
                yield Button("New…", id="new-plugin")
            yield MessageArea(id="plugins-message")
            yield DataTable(id="plugins-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="plugin-detail")
            with Horizontal(id="plugins-footer-row"):
                yield Static("", id="loading-summary")
                yield Button("Loading…", id="settings")

    def on_mount(self) -> None:
        self._removed: tuple[int, PluginSource] | None = None
        table = self.query_one("#plugins-table", DataTable)
        table.add_columns("#", "Name", "Source", "Kind", "Status")
        super().on_mount()
        # The path input first: typing a path is what people do here, and with the table
        # focused their letters would fire the single-key bindings (x removes a plugin).
        self.query_one("#plugin-source", Input).focus()

    def home_widget(self) -> Widget | None:
        return self.query_one("#plugins-table", DataTable)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        # Files may have been edited elsewhere meanwhile (an editor, a git pull): look again.
        self.wizard.check_plugins()

    # -- drawing -----------------------------------------------------------------------------

    def _statuses(self) -> list[PluginStatus]:
        project = self.project
        checks = self.wizard.plugin_checks
        current = checks is not None and checks.matches(project)
        resolved = self.wizard.resolved
        results = self.wizard.session.plugin_results
        verdicts = self.wizard.prebuilt_verdicts
        statuses = []
        for index, plugin in enumerate(project.plugins):
            facts = checks.facts[index] if current and checks is not None else None
            signature = checks.signatures[index] if current and checks is not None else None
            statuses.append(
                plugin_status(
                    project,
                    index,
                    facts,
                    resolved,
                    results.get(plugin.output_name),
                    signature,
                    verdicts.get(plugin.source),
                )
            )
        return statuses

    def _kind(self, index: int) -> str:
        checks = self.wizard.plugin_checks
        plugin = self.project.plugins[index]
        if checks is not None and checks.matches(self.project):
            kind = checks.facts[index].kind
            return kind.value if kind is not None else "?"
        return guess_plugin_kind(plugin.source).value

    def redraw(self) -> None:
        project = self.project
        table = self.query_one("#plugins-table", DataTable)
        row = table.cursor_row
        table.clear()
        statuses = self._statuses()
        for index, plugin in enumerate(project.plugins):
            status = statuses[index]
            style = "red" if not status.ok else "green" if status.short == "loads" else ""
            table.add_row(
                str(index + 1),
                plugin.output_name,
                _short_source(plugin.source),
                self._kind(index),
                Text(status.short, style=style, overflow="ellipsis", no_wrap=True),
                key=str(index),
            )
        if project.plugins:
            table.move_cursor(row=min(max(row, 0), len(project.plugins) - 1))
        resolved_host = self.wizard.host.resolved
        bundled = [
            b.output_name
            for b in effective_bundled(project, resolved_host.facts if resolved_host else None)
        ]
        ext = project.loading.extension
        table.border_title = f"Custom plugins ({len(project.plugins)}), loaded after " + (
            ", ".join(f"{b}{ext}" for b in bundled) if bundled else "no bundled plugin"
        )
        lo = project.loading
        flag = lo.flag or "(no flag)"
        args = shlex.join(lo.extra_args) if lo.extra_args else "none"
        self.query_one("#loading-summary", Static).update(
            f"Loading: {flag} PATH{lo.extension}  args: {args}"
        )
        self._show_detail()
        self._show_plan_problem()

    def _show_detail(self) -> None:
        """The full status of the selected plugin (the column shows only its start)."""
        detail = self.query_one("#plugin-detail", Static)
        index = self._selected_index()
        if index is None:
            detail.update(Text("No custom plugin yet: type a path above.", style="dim"))
            return
        plugin = self.project.plugins[index]
        status = self._statuses()[index]
        text = Text()
        text.append(f"{plugin.output_name}", style="bold")
        source = display_path(self.project.source_path(plugin.source), self.project.base_dir)
        if source != plugin.source:
            text.append(f" ({source})", style="dim")
        text.append(": ")
        text.append(status.detail, style="red" if not status.ok else "")
        detail.update(text)

    def _show_plan_problem(self) -> None:
        message = self.query_one("#plugins-message", MessageArea)
        resolved = self.wizard.resolved
        if self.wizard.host.resolved is None:
            message.show("The host is not resolved yet: pick a ref on the Host step.", "warning")
            return
        if resolved is None:
            message.clear()  # the sources are being looked at
            return
        try:
            plan_build(resolved)
        except ProjectError as exc:
            message.show(str(exc), "error")
            return
        state = self.wizard.session.state
        if state is BuildState.FAILED and self.wizard.session.failure is not None:
            failure = self.wizard.session.failure
            if failure.plugin:
                message.show(
                    f"The last build failed at plugin {failure.plugin}: {failure.message}",
                    "warning",
                )
                return
        message.clear()

    @on(DataTable.RowHighlighted, "#plugins-table")
    def row_highlighted(self) -> None:
        self._show_detail()

    # -- intents -----------------------------------------------------------------------------

    @on(Input.Submitted, "#plugin-source")
    def source_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.add_source(text)

    @on(Button.Pressed, "#browse")
    def browse_pressed(self) -> None:
        self.action_browse()

    @on(Button.Pressed, "#settings")
    def settings_pressed(self) -> None:
        self.action_settings()

    @on(Button.Pressed, "#new-plugin")
    def new_plugin_pressed(self) -> None:
        self.action_new_plugin()

    # -- a new plugin ------------------------------------------------------------------------

    def action_new_plugin(self) -> None:
        """Start a plugin from a bundled plugin of the host (or a skeleton): ask its name."""
        resolved = self.wizard.resolved
        repo = self.wizard.host.repo
        if resolved is None or repo is None:
            self._message("The host is not resolved yet: pick a ref on the Host step.", "warning")
            return
        self._offer_new_plugin(resolved, repo)

    @work(thread=True, exclusive=True, group="new-plugin", exit_on_error=False)
    def _offer_new_plugin(self, resolved: ResolvedProject, repo: HostRepository) -> None:
        bundled = [b.output_name for b in effective_bundled(resolved.project, resolved.facts)]
        looked_up = None
        if not bundled:
            try:
                looked_up = looked_up_symbol(resolved, repo)
            except HostRepoError:
                looked_up = None
        self.app.call_from_thread(self._ask_new_plugin, resolved, repo, bundled, looked_up)

    def _ask_new_plugin(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        bundled: list[str],
        looked_up: LookedUpSymbol | None,
    ) -> None:
        taken = {p.output_name for p in self.project.plugins} | set(bundled)
        suggestion = next(
            f"my-plugin{n or ''}" for n in range(100) if f"my-plugin{n or ''}" not in taken
        )

        def chosen(choice: NewPluginChoice | None) -> None:
            if choice is not None:
                self._message(f"Making {choice.name} …", "info")
                self._make_new_plugin(resolved, repo, choice)

        self.app.push_screen(NewPluginDialog(bundled, looked_up, taken, suggestion), chosen)

    @work(thread=True, exclusive=True, group="new-plugin", exit_on_error=False)
    def _make_new_plugin(
        self, resolved: ResolvedProject, repo: HostRepository, choice: NewPluginChoice
    ) -> None:
        directory = resolved.project.base_dir / choice.name
        try:
            plugin = new_plugin(
                resolved,
                repo,
                choice.name,
                bundled=choice.bundled or None,
                skeleton=choice.skeleton,
            )
            write_plugin(plugin, directory)
        except (ProjectError, HostRepoError) as exc:
            self.app.call_from_thread(self._message, str(exc), "error")
            return
        except OSError as exc:
            self.app.call_from_thread(
                self._message, f"cannot write {directory}: {exc.strerror or exc}", "error"
            )
            return
        self.app.call_from_thread(self._new_plugin_made, plugin, directory)

    def _new_plugin_made(self, plugin: NewPlugin, directory: Path) -> None:
        self.wizard.update_project(with_new_plugin(self.project, directory, plugin.name))
        self.query_one("#plugins-table", DataTable).move_cursor(row=len(self.project.plugins) - 1)
        where = display_path(directory, self.project.base_dir)
        origin = (
            f"a copy of the bundled plugin {plugin.origin}, renamed"
            if plugin.origin
            else "a minimal skeleton"
        )
        notes = "".join(f"\n{note}" for note in plugin.notes)
        # A notification: the message area is redrawn (cleared) when the new source has been
        # looked at, a moment later.
        self.notify(
            f"Created {plugin.name} in {where}/: {origin}. Edit it, then build (F4), or turn "
            f"on watch mode (w on the Build step) to see it run at every save.{notes}",
            title="New plugin",
            timeout=12,
        )

    def add_source(self, source: str) -> None:
        """Look at `source` (off the UI thread), then add it or say why not."""
        project = self.project
        if any(p.source == source for p in project.plugins):
            self._message(f"{source} is already in the list.", "warning")
            return
        self._message(f"Looking at {source} …", "info")
        self._check_new_source(project, source)

    @work(thread=True, exclusive=True, group="add-plugin", exit_on_error=False)
    def _check_new_source(self, project: Project, source: str) -> None:
        facts = inspect_plugin(project, PluginSource(source))
        self.app.call_from_thread(self._add_checked, source, facts)

    def _add_checked(self, source: str, facts: PluginFacts) -> None:
        if facts.kind is None:
            # Missing, or not a plugin at all: refused, the path stays in the field to fix.
            self._message(facts.problem.split(": ", 1)[-1], "error")
            return
        project = self.project
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
        self.query_one("#plugin-source", Input).value = ""
        table = self.query_one("#plugins-table", DataTable)
        table.move_cursor(row=len(self.project.plugins) - 1)
        kind = "prebuilt plugin" if facts.kind is PluginKind.PREBUILT else facts.kind.value
        if facts.problem:
            self.notify(
                facts.problem, title=f"Added {plugin.output_name}: fix it", severity="warning"
            )
        else:
            self.notify(f"Added {plugin.output_name} ({kind}).", title="Plugin added")

    def _message(self, text: str, severity: str) -> None:
        self.query_one("#plugins-message", MessageArea).show(text, severity)

    def _selected_index(self) -> int | None:
        table = self.query_one("#plugins-table", DataTable)
        if not self.project.plugins or table.row_count == 0:
            return None
        return min(max(table.cursor_row, 0), len(self.project.plugins) - 1)

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
        self._removed = (index, removed)
        self.wizard.update_project(replace(self.project, plugins=tuple(plugins)))
        self.notify(f"Removed {removed.output_name}: u puts it back.", title="Plugin removed")

    def action_undo(self) -> None:
        if self._removed is None:
            self.notify("Nothing to undo.")
            return
        index, plugin = self._removed
        self._removed = None
        plugins = list(self.project.plugins)
        index = min(index, len(plugins))
        plugins.insert(index, plugin)
        self.wizard.update_project(replace(self.project, plugins=tuple(plugins)))
        self.query_one("#plugins-table", DataTable).move_cursor(row=index)
        self.notify(f"Put {plugin.output_name} back.")

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

    def action_move_up(self) -> None:
        self.action_move(-1)

    def action_move_down(self) -> None:
        self.action_move(1)

    def action_settings(self) -> None:
        def saved(loading: PluginLoading | None) -> None:
            if loading is not None:
                self.wizard.update_project(replace(self.project, loading=loading))

        self.app.push_screen(LoadingSettingsDialog(self.project.loading), saved)


def _short_source(source: str) -> str:
    """The source as the user gave it, shortened in the middle when long."""
    return source if len(source) <= 32 else source[:12] + "…" + source[-19:]


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
