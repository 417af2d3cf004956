"""Step 1, Host: pick the host repository and ref; see what plugwiz detected in it."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Select, SelectionList, Static
from textual.widgets.option_list import Option

from plugwiz.core.model import (
    DEMO_REPO,
    BundledPlugin,
    Project,
    dot_path,
    effective_bundled,
    effective_main_package,
    main_choice_needed,
    obvious_main_package,
)
from plugwiz.core.ports import GitRef
from plugwiz.core.redact import REDACTED, url_secrets
from plugwiz.core.resolve import with_host_ref
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.message import MessageArea

DEMO_LABEL = "embedded demo host"


class HighlightOnFocus:
    """A list that highlights a row when it gets the focus, so space and enter act at once."""

    highlighted: int | None
    option_count: int

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)  # type: ignore[misc]
        if self.highlighted is None and self.option_count:
            self.highlighted = 0


class RefList(HighlightOnFocus, OptionList):
    """The refs, highlighting the current one (or the first) on focus."""


class BundledList(HighlightOnFocus, SelectionList[str]):
    """The bundled-plugins checklist, highlighting a row on focus."""


class QuietScroll(VerticalScroll, can_focus=False):
    """A scrolling column that is not a tab stop of its own (its children are)."""


class HostScreen(WizardScreen):
    """Host repository, ref, commit details and the bundled plugins checklist."""

    STEP = "host"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pin", "Pin commit"),
    ]
    KEY_NOTES = (
        ("enter (in Host)", "open the repository and list its branches and tags"),
        ("type in the filter", "narrow the refs by name or SHA; enter picks the only match"),
        ("down (in the filter)", "move into the list of refs"),
        ("enter (in the list)", "use this ref (it is resolved and its commit shown)"),
        ("space (in Bundled)", "include or leave out a bundled plugin"),
        ("escape", "leave a text field, so single-letter keys work"),
    )
    PALETTE = (("Pin or unpin the host commit", "p", "action_toggle_pin"),)

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="host-body", classes="step-body"):
            with Vertical(id="host-left", classes="column"):
                yield Label("Host: a local path or a git URL", classes="field-label")
                yield Input(
                    placeholder="~/src/myhost or https://…/myhost.git",
                    suggester=SuggestFromList(self.wizard.recent, case_sensitive=True),
                    id="repo",
                )
                yield Label("Branches and tags", classes="field-label")
                yield Input(placeholder="filter, or a ref or SHA + enter", id="ref-filter")
                yield RefList(id="refs")
            with QuietScroll(id="host-right", classes="column"):
                yield MessageArea(id="host-message")
                yield Static("", id="commit-info")
                yield Label("", classes="field-label", id="main-label")
                yield Select[str]([], prompt="Choose the host's main package", id="main-package")
                yield Label("Bundled plugins", classes="field-label", id="bundled-label")
                yield BundledList(id="bundled")

    def on_mount(self) -> None:
        self._shown_repo: str | None = None
        self._shown_recent: tuple[str, ...] | None = None
        self._refs_shown: object = None
        self._bundled_shown: object = None
        self._main_signature: object = None
        super().on_mount()
        if not self.project.host.repo:
            self.query_one("#repo", Input).focus()
        else:
            self.query_one("#refs", OptionList).focus()

    def home_widget(self) -> Widget | None:
        return self.query_one("#refs", OptionList)

    # -- intents -----------------------------------------------------------------------------

    @on(Input.Submitted, "#repo")
    def repo_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self._message("Type a local path or a git URL first.", "error")
            return
        project = self.project
        if text in (DEMO_LABEL, DEMO_REPO):
            text = DEMO_REPO
        elif text == masked_repo(project.host.repo):
            text = project.host.repo  # the same URL, credentials kept in memory only
        event.input.value = shown_repo(text)
        if text != project.host.repo:
            host = replace(project.host, repo=text, ref="", commit="", main_package="")
            self.wizard.update_project(replace(project, host=host, bundled=None))
        # The same repository again keeps the chosen ref: it is listed and resolved anew.
        self.wizard.open_host(text, resolve_after=bool(self.project.host.ref))
        self.query_one("#ref-filter", Input).focus()

    @on(Input.Changed, "#ref-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self._fill_refs(force=True)

    @on(Input.Submitted, "#ref-filter")
    def ref_typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        shown = self._shown_refs()
        if len(shown) == 1:
            text = shown[0].name  # one match: that is the one
        elif not text:
            refs = self.query_one("#refs", OptionList)
            if refs.highlighted is not None:
                text = refs.get_option_at_index(refs.highlighted).id or ""
        if text:
            self.pick_ref(text)

    def on_key(self, event: events.Key) -> None:
        # From the filter, the arrow keys go on into the list.
        if event.key in ("down", "up") and self.focused is self.query_one("#ref-filter"):
            refs = self.query_one("#refs", OptionList)
            if refs.option_count:
                event.stop()
                refs.focus()
                refs.highlighted = 0 if event.key == "down" else refs.option_count - 1

    @on(OptionList.OptionSelected, "#refs")
    def ref_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.pick_ref(event.option.id)

    @on(SelectionList.SelectedChanged, "#bundled")
    def bundled_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        resolved = self.wizard.host.resolved
        project = self.project
        if resolved is None:
            return
        facts = resolved.facts
        chosen = set(event.selection_list.selected)
        current = effective_bundled(project, facts)
        if chosen == {b.path for b in current}:
            return
        names = {b.path: b.name for b in current}
        detected = facts.plugin_packages
        extra = [b.path for b in current if b.path not in detected]
        bundled = tuple(
            BundledPlugin(path, names.get(path, ""))
            for path in (*detected, *extra)
            if path in chosen
        )
        self.wizard.update_project(replace(project, bundled=bundled))

    @on(Select.Changed, "#main-package")
    def main_package_changed(self, event: Select.Changed) -> None:
        value = event.value
        project = self.project
        resolved = self.wizard.host.resolved
        if not isinstance(value, str) or resolved is None:
            return
        facts = resolved.facts
        if project.host.main_package and dot_path(project.host.main_package) == value:
            return
        obvious = obvious_main_package(facts.main_packages, facts.gomod.module)
        if not project.host.main_package and obvious is not None and dot_path(obvious) == value:
            return  # the prefilled choice: the project already builds this one
        self.wizard.update_project(replace(project, host=replace(project.host, main_package=value)))

    def pick_ref(self, ref: str) -> None:
        """Make `ref` the project's ref and resolve it."""
        if self.wizard.host.repo is None:
            self._message(
                "Open the host repository first (type it above and press enter).", "error"
            )
            return
        self.wizard.update_project(with_host_ref(self.project, ref))
        self.wizard.resolve_ref()

    def action_toggle_pin(self) -> None:
        """Pin the resolved commit (the project stops following its ref), or unpin it."""
        project = self.project
        resolved = self.wizard.host.resolved
        if project.host.commit:
            self.wizard.update_project(replace(project, host=replace(project.host, commit="")))
            self.notify(f"Unpinned: the project follows {project.host.ref or 'HEAD'} again.")
            self.wizard.resolve_ref()
            return
        if resolved is None:
            self.notify("Resolve a ref first, then pin its commit.", severity="warning")
            return
        sha = resolved.commit.sha
        self.wizard.update_project(replace(project, host=replace(project.host, commit=sha)))
        # The pinned commit is what was resolved: the facts still hold.
        self.wizard.host = replace(self.wizard.host, resolved=replace(resolved, ref=sha))
        self.notify(f"Pinned {sha[:12]}: builds use it even if {project.host.ref} moves.")

    # -- drawing -----------------------------------------------------------------------------

    def _message(self, text: str, severity: str) -> None:
        self.query_one("#host-message", MessageArea).show(text, severity)

    def redraw(self) -> None:
        state = self.wizard.host
        project = self.project
        repo_input = self.query_one("#repo", Input)
        if self._shown_repo != project.host.repo:
            self._shown_repo = project.host.repo
            repo_input.value = shown_repo(project.host.repo)
        if self._shown_recent != self.wizard.recent:
            self._shown_recent = self.wizard.recent
            repo_input.suggester = SuggestFromList(self.wizard.recent, case_sensitive=True)
        if state.error:
            self._message(f"{state.error_title}\n{state.error}", "error")
        elif state.busy:
            self._message(state.busy, "info")
        elif not project.host.repo:
            self._message("Type the host repository and press enter.", "info")
        elif state.resolved is not None and main_choice_needed(project, state.resolved.facts):
            count = len(state.resolved.facts.main_packages)
            self._message(
                f"The host has {count} main packages and none is obviously the host: "
                "choose the one to build under Main package.",
                "warning",
            )
        elif state.repo is not None and state.resolved is None and not project.host.ref:
            self._message(f"{len(state.refs)} branches and tags. Pick the one to build.", "info")
        else:
            self._message("", "info")
        self._fill_refs()
        self._fill_info(project)
        self._fill_main_choice(project)
        self._fill_bundled(project)

    def _shown_refs(self) -> list[GitRef]:
        needle = self.query_one("#ref-filter", Input).value.strip().lower()
        refs = self.wizard.host.refs
        if not needle:
            return list(refs)
        return [r for r in refs if needle in r.name.lower() or r.sha.startswith(needle)]

    def _fill_refs(self, *, force: bool = False) -> None:
        option_list = self.query_one("#refs", OptionList)
        current = self.project.host.ref
        shown = self._shown_refs()
        signature = (tuple(shown), current)
        if signature == self._refs_shown and not force:
            return
        self._refs_shown = signature
        option_list.clear_options()
        width = max((len(r.name) for r in shown), default=10)
        option_list.add_options(
            [
                Option(
                    Text.assemble(
                        (f"{ref.name:<{width}}", "bold" if ref.name == current else ""),
                        (f" {ref.kind:<6} ", "dim"),
                        (ref.sha[:7], "dim"),
                    ),
                    id=ref.name,
                )
                for ref in shown
            ]
        )
        for index, ref in enumerate(shown):
            if ref.name == current:
                option_list.highlighted = index
        total = len(self.wizard.host.refs)
        needle = self.query_one("#ref-filter", Input).value.strip()
        option_list.border_title = f"{len(shown)} of {total} refs" if needle else f"{total} refs"

    def _fill_info(self, project: Project) -> None:
        info = self.query_one("#commit-info", Static)
        resolved = self.wizard.host.resolved
        if resolved is None or not resolved.matches(project.host):
            info.update(Text("No ref resolved yet.", style="dim"))
            return
        facts, commit = resolved.facts, resolved.commit
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("Ref", project.host.ref or "HEAD")
        pin = (
            Text(" pinned (p unpins)", style="bold")
            if project.host.commit
            else Text(" (p pins it)", style="dim")
        )
        grid.add_row("Commit", Text.assemble((commit.short_sha, "bold"), pin))
        grid.add_row("Subject", commit.subject)
        grid.add_row("Date", commit.date[:19].replace("T", " "))
        grid.add_row("Author", commit.author)
        grid.add_row("Module", facts.gomod.module)
        go = facts.gomod.go or "(not set)"
        if facts.gomod.toolchain:
            go += f" (toolchain {facts.gomod.toolchain})"
        grid.add_row("Go", go)
        if main_choice_needed(project, facts):
            main = Text("(several: choose one below)", style="bold")
        else:
            main = Text(effective_main_package(project, facts) or "(none found)")
        grid.add_row("Main", main)
        info.update(grid)

    def _fill_main_choice(self, project: Project) -> None:
        """The main-package choice, shown when the host has several (core refuses to guess
        when none is obviously the host; see `main_choice_needed`)."""
        resolved = self.wizard.host.resolved
        facts = resolved.facts if resolved is not None else None
        candidates = facts.main_packages if facts and not project.host.build_command else ()
        label = self.query_one("#main-label", Label)
        select = self.query_one("#main-package", Select)
        shown = len(candidates) > 1
        label.display = select.display = shown
        if not shown or facts is None:
            self._main_signature = None
            return
        obvious = obvious_main_package(candidates, facts.gomod.module)
        chosen = project.host.main_package or obvious or ""
        value = dot_path(chosen) if chosen else ""
        signature = (candidates, value)
        if signature == self._main_signature:
            return
        self._main_signature = signature
        options = [(dot_path(c), dot_path(c)) for c in candidates]
        if chosen and value not in {v for _, v in options}:
            options.append((value, value))  # set in plugwiz.yaml but not detected at this ref
        select.set_options(options)
        if value:
            select.value = value
            label.update(f"Main package ({len(candidates)} found)")
        else:
            label.update(f"Main package ({len(candidates)} found): choose one")
        label.set_class(not value, "-needs-choice")

    def _fill_bundled(self, project: Project) -> None:
        resolved = self.wizard.host.resolved
        facts = resolved.facts if resolved is not None else None
        detected = facts.plugin_packages if facts else ()
        chosen = {b.path for b in effective_bundled(project, facts)}
        extra = tuple(sorted(chosen - set(detected)))
        selection = self.query_one("#bundled", SelectionList)
        paths = (*detected, *extra)
        if self._bundled_shown != paths:
            # Rebuilt only when the list itself changes: a toggle keeps the highlight.
            self._bundled_shown = paths
            selection.clear_options()
            selection.add_options([(path, path, path in chosen) for path in paths])
        else:
            for path in paths:
                if (path in chosen) != (path in selection.selected):
                    if path in chosen:
                        selection.select(path)
                    else:
                        selection.deselect(path)
        label = self.query_one("#bundled-label", Label)
        if facts is None:
            label.update("Bundled plugins")
        elif not paths:
            label.update("Bundled plugins: none in the host tree")
        else:
            label.update(f"Bundled plugins: {len(chosen)} of {len(paths)} (space toggles)")


def masked_repo(repo: str) -> str:
    """`repo` as the screen shows it: a URL's password or token replaced by `***`, so the
    user still sees that credentials are in use (they stay in memory, never on screen)."""
    for secret in url_secrets(repo):
        repo = repo.replace(secret, REDACTED)
    return repo


def shown_repo(repo: str) -> str:
    """What the Host field shows for `repo`: the demo by name, URLs without secrets."""
    return DEMO_LABEL if repo == DEMO_REPO else masked_repo(repo)
