"""Starting a plugin from one of the host's bundled plugins (or a skeleton)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static

from plugwiz.core.model import ProjectError, check_name
from plugwiz.core.scaffold import LookedUpSymbol
from plugwiz.ui.dialogs.base import FormDialog
from plugwiz.ui.widgets.message import MessageArea


@dataclass(frozen=True)
class NewPluginChoice:
    """What the person asked for: the new plugin's name and the bundled plugin to copy (its
    name), or `skeleton` when the host has none."""

    name: str
    bundled: str = ""
    skeleton: bool = False


class NewPluginDialog(FormDialog[NewPluginChoice | None]):
    """Asks for the new plugin's name and which bundled plugin to start from; without
    bundled plugins, says so and offers a skeleton of the symbol the host looks up."""

    AUTO_FOCUS = "#new-name"

    def __init__(
        self,
        bundled: list[str],
        looked_up: LookedUpSymbol | None,
        taken: set[str],
        suggestion: str = "",
    ) -> None:
        super().__init__()
        self.bundled = bundled
        self.looked_up = looked_up
        self.taken = taken
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New plugin", classes="dialog-title")
            if self.bundled:
                yield Static(
                    "A copy of one of the host's bundled plugins (its working example of the "
                    "plugin interface), renamed: it compiles and loads as it is.",
                    classes="dialog-body",
                )
                yield Label("Start from")
                yield Select(
                    [(name, name) for name in self.bundled],
                    value=self.bundled[0],
                    allow_blank=False,
                    id="new-from",
                )
            else:
                looked_up = self.looked_up
                what = (
                    f"exports {looked_up.symbol} ({looked_up.type or 'type unknown'})"
                    if looked_up is not None and looked_up.symbol
                    else "exports nothing yet (no symbol is set in the loading settings)"
                )
                yield Static(
                    "The host has no bundled plugin to copy. A minimal skeleton instead: one "
                    f"file that {what}, for you to fill in.",
                    classes="dialog-body",
                )
            yield Label("Name (also its directory, next to the project file)")
            yield Input(self.suggestion, placeholder="my-plugin", id="new-name")
            yield MessageArea(id="dialog-error")
            yield from self.buttons("Create" if self.bundled else "Write skeleton")

    def accept(self) -> None:
        name = self.query_one("#new-name", Input).value.strip()
        error = self.query_one("#dialog-error", MessageArea)
        try:
            check_name(name)
        except ProjectError as exc:
            error.show(str(exc), "error")
            return
        if name in self.taken:
            error.show(f"the project already has a plugin named {name!r}", "error")
            return
        if not self.bundled:
            self.dismiss(NewPluginChoice(name, skeleton=True))
            return
        chosen = self.query_one("#new-from", Select).value
        self.dismiss(NewPluginChoice(name, bundled=str(chosen)))
