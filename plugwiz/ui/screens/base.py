"""What every wizard step shares: the step indicator, the footer and project updates."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from plugwiz.core.model import Project
from plugwiz.ui.widgets.steps import StepIndicator

if TYPE_CHECKING:
    from plugwiz.ui.app import PlugwizApp


class WizardScreen(Screen[None]):
    """A wizard step. Subclasses set STEP, yield their body from `compose_body`, and redraw
    from `project_changed`, which runs on mount and after every project change."""

    STEP: ClassVar[str] = ""

    @property
    def wizard(self) -> PlugwizApp:
        return cast("PlugwizApp", self.app)

    @property
    def project(self) -> Project:
        return self.wizard.project

    def compose(self) -> ComposeResult:
        yield StepIndicator(self.STEP)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "project", self.project_changed, init=True)

    def project_changed(self, project: Project) -> None:
        """Redraw from `project`."""
