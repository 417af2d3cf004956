"""How the host is told about its plugins: flag, extension, extra arguments."""

from __future__ import annotations

import shlex
from dataclasses import replace

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from plugwiz.core.model import PluginLoading
from plugwiz.core.plan import loading_problem
from plugwiz.ui.dialogs.base import FormDialog
from plugwiz.ui.widgets.message import MessageArea


class LoadingSettingsDialog(FormDialog[PluginLoading | None]):
    """Edits `PluginLoading`; dismisses with the new value or None."""

    AUTO_FOCUS = "#flag"

    def __init__(self, loading: PluginLoading) -> None:
        super().__init__()
        self.initial = loading

    def compose(self) -> ComposeResult:
        lo = self.initial
        with Vertical(classes="dialog"):
            yield Label("Plugin loading", classes="dialog-title")
            yield Label("Flag before each plugin path (empty: the host opens fixed paths)")
            yield Input(lo.flag, id="flag", placeholder="--prov")
            yield Label("Plugin file extension")
            yield Input(lo.extension, id="extension", placeholder=".so")
            yield Label("Extra arguments for the host (shell words)")
            yield Input(shlex.join(lo.extra_args), id="args", placeholder="--text 'hi there'")
            yield Label("Symbol every plugin must export (empty: none checked)")
            yield Input(lo.symbol, id="symbol", placeholder="New")
            yield MessageArea(id="dialog-error")
            yield from self.buttons("Save")

    def accept(self) -> None:
        error = self.query_one("#dialog-error", MessageArea)
        try:
            args = tuple(shlex.split(self.query_one("#args", Input).value))
        except ValueError as exc:
            error.show(f"extra arguments: {exc}", "error")
            return
        loading = replace(
            self.initial,
            flag=self.query_one("#flag", Input).value.strip(),
            extension=self.query_one("#extension", Input).value.strip(),
            extra_args=args,
            symbol=self.query_one("#symbol", Input).value.strip(),
        )
        # The rules the build plan applies, said before the dialog closes.
        problem = loading_problem(loading)
        if problem:
            error.show(problem, "error")
            return
        self.dismiss(loading)
