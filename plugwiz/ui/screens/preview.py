"""Step 3, Preview: the Dockerfile, the build context and the images, before building."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static
from textual.worker import get_current_worker

from plugwiz.core.atomic import atomic_write
from plugwiz.core.context import ContextEntry, context_listing
from plugwiz.core.model import Images, Project, ProjectError
from plugwiz.core.ports import HostRepoError
from plugwiz.core.render import plan_build, render_dockerfile
from plugwiz.ui.screens.base import WizardScreen
from plugwiz.ui.widgets.message import MessageArea

DOCKERFILE_NAME = "Dockerfile"
_MAX_LISTED = 400  # a big host has thousands of files; the count says the rest


class PreviewScreen(WizardScreen):
    """The rendered Dockerfile, updated on every project change, and where to save it."""

    STEP = "preview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "save_dockerfile", "Save Dockerfile"),
    ]

    class ContextListed(Message):
        """The build context listing for a project arrived."""

        def __init__(
            self, project: Project, entries: list[ContextEntry] | None, error: str
        ) -> None:
            super().__init__()
            self.project = project
            self.entries = entries
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.dockerfile: str | None = None
        self._image_timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="preview-body", classes="step-body"):
            with ScrollableContainer(id="dockerfile-scroll"):
                yield Static("", id="dockerfile")
            with Vertical(id="preview-side", classes="column"):
                yield MessageArea(id="preview-message")
                yield Label("Builder image (empty: from go.mod)", classes="field-label")
                yield Input(id="builder-image")
                yield Label("Runtime image (empty: matches the builder)", classes="field-label")
                yield Input(id="runtime-image")
                yield MessageArea(id="image-warning")
                with VerticalScroll(id="context-scroll"):
                    yield Static("", id="context-list")
                with Horizontal(classes="button-row"):
                    yield Button("Save project", id="save-project")
                    yield Button("Save Dockerfile", id="save-dockerfile", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#dockerfile-scroll").border_title = DOCKERFILE_NAME
        self.query_one("#context-scroll").border_title = "Build context"
        images = self.project.images
        self.query_one("#builder-image", Input).value = images.builder
        self.query_one("#runtime-image", Input).value = images.runtime

    # -- drawing -----------------------------------------------------------------------------

    def project_changed(self, project: Project) -> None:
        view = self.query_one("#dockerfile", Static)
        message = self.query_one("#preview-message", MessageArea)
        warning = self.query_one("#image-warning", MessageArea)
        try:
            plan = plan_build(project)
            text = render_dockerfile(project)
        except ProjectError as exc:
            self.dockerfile = None
            view.update(Text("No Dockerfile yet: fix the problem on the right.", style="dim"))
            message.show(f"Cannot render the Dockerfile\n{exc}", "error")
            warning.clear()
            self.query_one("#context-list", Static).update("")
            return
        self.dockerfile = text
        view.update(
            Syntax(text, "docker", theme="ansi_dark", word_wrap=False, background_color="default")
        )
        message.clear()
        self.query_one("#builder-image", Input).placeholder = plan.builder_image
        self.query_one("#runtime-image", Input).placeholder = plan.runtime_image
        if plan.warnings:
            warning.show("\n".join(f"Warning: {w}" for w in plan.warnings), "warning")
        else:
            warning.show(f"Builds with {plan.builder_image}, runs on {plan.runtime_image}.", "info")
        self.list_context(project)

    @work(thread=True, exclusive=True, group="context", exit_on_error=False)
    def list_context(self, project: Project) -> None:
        """List the build context (reads the host tree through git, so off the UI thread)."""
        repo = self.wizard.repo
        if repo is None:
            self.post_message(self.ContextListed(project, None, "host repository not open yet"))
            return
        try:
            entries = context_listing(project, repo)
        except (ProjectError, HostRepoError) as exc:
            self.post_message(self.ContextListed(project, None, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.ContextListed(project, entries, ""))

    def on_preview_screen_context_listed(self, message: ContextListed) -> None:
        view = self.query_one("#context-list", Static)
        if message.entries is None:
            view.update(Text(message.error, style="red"))
            return
        entries = message.entries
        lines = Text()
        host_files = sum(1 for e in entries if e.path.startswith("host/"))
        lines.append(
            f"{len(entries)} files ({host_files} from the host at its commit)\n", style="bold"
        )
        for entry in entries[:_MAX_LISTED]:
            size = f"{entry.size:>7,}" if entry.size >= 0 else "      ·"
            lines.append(f"{size}  ", style="dim")
            lines.append(entry.path + "\n")
        if len(entries) > _MAX_LISTED:
            lines.append(f"... and {len(entries) - _MAX_LISTED} more\n", style="dim")
        view.update(lines)

    # -- intents -----------------------------------------------------------------------------

    @on(Input.Changed, "#builder-image")
    @on(Input.Changed, "#runtime-image")
    def image_changed(self) -> None:
        # Wait for a pause in typing: every change re-renders and saves the project.
        if self._image_timer is not None:
            self._image_timer.stop()
        self._image_timer = self.set_timer(0.3, self._apply_images)

    @on(Input.Submitted, "#builder-image")
    @on(Input.Submitted, "#runtime-image")
    def image_submitted(self) -> None:
        self._apply_images()

    def _apply_images(self) -> None:
        images = Images(
            builder=self.query_one("#builder-image", Input).value.strip(),
            runtime=self.query_one("#runtime-image", Input).value.strip(),
        )
        if images != self.project.images:
            self.wizard.update_project(replace(self.project, images=images))

    @on(Button.Pressed, "#save-project")
    def save_project_pressed(self) -> None:
        self.wizard.action_save()

    @on(Button.Pressed, "#save-dockerfile")
    def save_dockerfile_pressed(self) -> None:
        self.action_save_dockerfile()

    def dockerfile_path(self) -> Path:
        """Next to the project file, or in the current directory."""
        base = self.wizard.project_path.parent if self.wizard.project_path else Path.cwd()
        return base / DOCKERFILE_NAME

    def action_save_dockerfile(self) -> None:
        if self.dockerfile is None:
            self.notify("There is no Dockerfile to save yet.", severity="error")
            return
        path = self.dockerfile_path()
        try:
            atomic_write(path, self.dockerfile)
        except OSError as exc:
            self.notify(f"could not save {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved {path}", title="Dockerfile saved")
