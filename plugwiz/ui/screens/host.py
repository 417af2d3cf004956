"""Step 1, Host: pick the host repository and ref; see what plugwiz detected in it."""

from __future__ import annotations

from dataclasses import replace

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList, Select, SelectionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from plugwiz.core.detect import DetectError
from plugwiz.core.model import (
    BundledPlugin,
    Project,
    dot_path,
    effective_bundled,
    effective_main_package,
    obvious_main_package,
)
from plugwiz.core.ports import CommitInfo, GitRef, HostRepoError, HostRepository, RefNotFoundError
from plugwiz.core.redact import REDACTED, url_secrets
from plugwiz.service import resolve_project, with_host_ref
from plugwiz.ui.recent import load_recent, remember_recent
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.message import MessageArea


class HostScreen(WizardScreen):
    """Host repository, ref, commit details and the bundled plugins checklist."""

    STEP = "host"

    class RefsLoaded(Message):
        """The refs of a newly opened repository arrived."""

        def __init__(self, repo_text: str, repo: HostRepository, refs: list[GitRef]) -> None:
            super().__init__()
            self.repo_text = repo_text
            self.repo = repo
            self.refs = refs

    class HostResolved(Message):
        """A ref was resolved and the host tree inspected."""

        def __init__(self, project: Project, commit: CommitInfo) -> None:
            super().__init__()
            self.project = project
            self.commit = commit

    class HostFailed(Message):
        """Opening the repository or resolving a ref failed; `text` is for a person."""

        def __init__(self, title: str, text: str) -> None:
            super().__init__()
            self.title = title
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[GitRef] = []
        self._bundled_signature: object = None
        self._main_signature: object = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="host-body", classes="step-body"):
            with Vertical(id="host-left", classes="column"):
                yield Label("Host repository: a local path or a git URL", classes="field-label")
                yield Input(
                    placeholder="~/src/myhost or https://github.com/me/myhost.git",
                    suggester=SuggestFromList(load_recent(), case_sensitive=True),
                    id="repo",
                )
                yield Label("Branches and tags", classes="field-label")
                yield Input(
                    placeholder="filter, or type a ref or SHA and press enter", id="ref-filter"
                )
                yield OptionList(id="refs")
            with VerticalScroll(id="host-right", classes="column"):
                yield MessageArea(id="host-message")
                yield Static("", id="commit-info")
                yield Label("", classes="field-label", id="main-label")
                yield Select[str]([], prompt="Choose the host's main package", id="main-package")
                yield Label(
                    "Bundled plugins (uncheck to leave one out)",
                    classes="field-label",
                    id="bundled-label",
                )
                yield SelectionList[str](id="bundled")

    def on_mount(self) -> None:
        super().on_mount()
        repo_input = self.query_one("#repo", Input)
        repo_input.value = masked_repo(self.project.host.repo)
        self.query_one("#refs", OptionList).border_title = "refs"
        if self.project.host.repo:
            self.load_refs(self.project.host.repo, resolve_after=True)
        else:
            repo_input.focus()
            self._message("Type the host repository and press enter.", "info")

    # -- intents -----------------------------------------------------------------------------

    @on(Input.Submitted, "#repo")
    def repo_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self._message("Type a local path or a git URL first.", "error")
            return
        project = self.project
        if text == masked_repo(project.host.repo):
            text = project.host.repo  # the same URL, credentials kept in memory only
        # From here on the screen shows the URL without its password or token.
        event.input.value = masked_repo(text)
        if text != project.host.repo:
            host = replace(project.host, repo=text, ref="", commit="", main_package="")
            self.wizard.repo = None
            self.wizard.commit = None
            self.wizard.update_project(replace(project, host=host, bundled=None, facts=None))
        self.load_refs(text, resolve_after=bool(self.project.host.ref))

    @on(Input.Changed, "#ref-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self._fill_refs()

    @on(Input.Submitted, "#ref-filter")
    def ref_typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        refs = self.query_one("#refs", OptionList)
        if not text and refs.highlighted is not None:
            option = refs.get_option_at_index(refs.highlighted)
            text = option.id or ""
        if text:
            self.pick_ref(text)

    @on(OptionList.OptionSelected, "#refs")
    def ref_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.pick_ref(event.option.id)

    @on(SelectionList.SelectedChanged, "#bundled")
    def bundled_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        project = self.project
        if project.facts is None:
            return
        chosen = set(event.selection_list.selected)
        current = effective_bundled(project)
        if chosen == {b.path for b in current}:
            return
        names = {b.path: b.name for b in current}
        detected = project.facts.plugin_packages
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
        facts = project.facts
        if not isinstance(value, str) or facts is None:
            return
        if project.host.main_package and dot_path(project.host.main_package) == value:
            return
        obvious = obvious_main_package(facts.main_packages, facts.gomod.module)
        if not project.host.main_package and obvious is not None and dot_path(obvious) == value:
            return  # the prefilled choice: the project already builds this one
        self.wizard.update_project(replace(project, host=replace(project.host, main_package=value)))
        self._message("", "info")

    def pick_ref(self, ref: str) -> None:
        """Resolve `ref` in the open repository and inspect the host tree there."""
        if self.wizard.repo is None:
            self._message(
                "Open the host repository first (type it above and press enter).", "error"
            )
            return
        self._message(f"Resolving {ref} ...", "info")
        self.resolve(with_host_ref(self.project, ref))

    # -- workers -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="host", exit_on_error=False)
    def load_refs(self, repo_text: str, resolve_after: bool = False) -> None:
        """Open the repository and list its refs (git runs here, off the UI thread)."""
        self.app.call_from_thread(self._message, f"Opening {masked_repo(repo_text)} ...", "info")
        worker = get_current_worker()
        try:
            repo = self.wizard.repo_opener(
                replace(self.project, host=replace(self.project.host, repo=repo_text))
            )
            refs = repo.list_refs()
        except HostRepoError as exc:
            if not worker.is_cancelled:
                self.post_message(self.HostFailed("Cannot open the host repository", str(exc)))
            return
        if worker.is_cancelled:
            return
        self.post_message(self.RefsLoaded(repo_text, repo, refs))
        if resolve_after:
            self._resolve_now(self.project, repo)

    @work(thread=True, exclusive=True, group="host", exit_on_error=False)
    def resolve(self, project: Project) -> None:
        """Resolve the project's ref (or pinned commit) and detect the host facts."""
        repo = self.wizard.repo
        assert repo is not None
        self._resolve_now(project, repo)

    def _resolve_now(self, project: Project, repo: HostRepository) -> None:
        worker = get_current_worker()
        try:
            resolved, commit = resolve_project(project, repo)
        except RefNotFoundError as exc:
            message = f"The ref {exc.ref!r} does not exist in this repository."
            if exc.suggestions:
                message += "\nClose matches: " + ", ".join(exc.suggestions)
            failure = self.HostFailed("Ref not found", message)
        except DetectError as exc:
            failure = self.HostFailed("Not a Go module plugwiz can build", str(exc))
        except HostRepoError as exc:
            failure = self.HostFailed("Cannot read the host repository", str(exc))
        else:
            if not worker.is_cancelled:
                self.post_message(self.HostResolved(resolved, commit))
            return
        if not worker.is_cancelled:
            self.post_message(failure)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            # A bug, not a user error; still shown in place rather than killing the wizard.
            self._message(f"Unexpected error: {event.worker.error!r}", "error")

    # -- results -----------------------------------------------------------------------------

    def on_host_screen_refs_loaded(self, message: RefsLoaded) -> None:
        self.wizard.repo = message.repo
        self.refs = message.refs
        recent = remember_recent(message.repo_text)
        self.query_one("#repo", Input).suggester = SuggestFromList(recent, case_sensitive=True)
        self._fill_refs()
        count = len(message.refs)
        self._message(f"{count} branches and tags. Pick the one to build.", "info")
        if not self.project.host.ref:
            self.query_one("#refs", OptionList).focus()

    def on_host_screen_host_resolved(self, message: HostResolved) -> None:
        self.wizard.commit = message.commit
        self.wizard.update_project(message.project)
        if _main_choice_needed(self.project):
            facts = self.project.facts
            assert facts is not None
            self._message(
                f"The host has {len(facts.main_packages)} main packages and none is obviously "
                "the host: choose the one to build under Main package.",
                "warning",
            )
        else:
            self._message("", "info")
        self._fill_refs()

    def on_host_screen_host_failed(self, message: HostFailed) -> None:
        self._message(f"{message.title}\n{message.text}", "error")

    # -- drawing -----------------------------------------------------------------------------

    def _message(self, text: str, severity: str) -> None:
        self.query_one("#host-message", MessageArea).show(text, severity)

    def _fill_refs(self) -> None:
        option_list = self.query_one("#refs", OptionList)
        needle = self.query_one("#ref-filter", Input).value.strip().lower()
        current = self.project.host.ref
        shown = [r for r in self.refs if needle in r.name.lower()]
        option_list.clear_options()
        options = []
        for ref in shown:
            prompt = Text.assemble(
                (f"{ref.name:<28}", "bold" if ref.name == current else ""),
                (f" {ref.kind:<6} ", "dim"),
                (ref.sha[:7], "dim"),
            )
            options.append(Option(prompt, id=ref.name))
        option_list.add_options(options)
        for index, ref in enumerate(shown):
            if ref.name == current:
                option_list.highlighted = index
        option_list.border_title = (
            f"{len(shown)} of {len(self.refs)} refs" if needle else f"{len(self.refs)} refs"
        )

    def project_changed(self, project: Project) -> None:
        info = self.query_one("#commit-info", Static)
        facts = project.facts
        commit = self.wizard.commit
        if facts is None or commit is None:
            info.update(Text("No ref resolved yet.", style="dim"))
        else:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", no_wrap=True)
            grid.add_column()
            grid.add_row("Ref", project.host.ref or "(pinned commit)")
            grid.add_row("Commit", Text(commit.short_sha, style="bold"))
            grid.add_row("Subject", commit.subject)
            grid.add_row("Date", commit.date)
            grid.add_row("Author", commit.author)
            grid.add_row("Module", facts.gomod.module)
            go = facts.gomod.go or "(not set)"
            if facts.gomod.toolchain:
                go += f" (toolchain {facts.gomod.toolchain})"
            grid.add_row("Go", go)
            if _main_choice_needed(project):
                main = Text("(several: choose one below)", style="bold")
            else:
                main = Text(effective_main_package(project) or "(none found)")
            grid.add_row("Main package", main)
            info.update(grid)
        self._fill_main_choice(project)
        self._fill_bundled(project)

    def _fill_main_choice(self, project: Project) -> None:
        """The main-package choice, shown when the host has several (core refuses to guess
        when none is obviously the host; see `plan_build`)."""
        facts = project.facts
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
        if value:
            label.update(f"Main package ({len(candidates)} found)")
        else:
            label.update(f"Main package ({len(candidates)} found, none obvious): choose one")
        label.set_class(not value, "-needs-choice")

    def _fill_bundled(self, project: Project) -> None:
        facts = project.facts
        detected = facts.plugin_packages if facts else ()
        chosen = {b.path for b in effective_bundled(project)}
        signature = (facts is None, detected, frozenset(chosen))
        if signature == self._bundled_signature:
            return
        self._bundled_signature = signature
        selection = self.query_one("#bundled", SelectionList)
        selection.clear_options()
        extra = sorted(chosen - set(detected))
        selection.add_options([(path, path, path in chosen) for path in (*detected, *extra)])
        label = self.query_one("#bundled-label", Label)
        if facts is None:
            label.update("Bundled plugins (uncheck to leave one out)")
        elif not detected and not extra:
            label.update("Bundled plugins: none found in the host tree")
        else:
            total = len(detected) + len(extra)
            label.update(f"Bundled plugins: {len(chosen)} of {total} built (uncheck to leave out)")


def masked_repo(repo: str) -> str:
    """`repo` as the screen shows it: a URL's password or token replaced by `***`, so the
    user still sees that credentials are in use (they stay in memory, never on screen)."""
    for secret in url_secrets(repo):
        repo = repo.replace(secret, REDACTED)
    return repo


def _main_choice_needed(project: Project) -> bool:
    """True when the host has several main packages, none obvious, and none chosen yet."""
    facts = project.facts
    return (
        facts is not None
        and not project.host.main_package
        and not project.host.build_command
        and len(facts.main_packages) > 1
        and obvious_main_package(facts.main_packages, facts.gomod.module) is None
    )
