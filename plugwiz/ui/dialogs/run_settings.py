"""How the image is run live (Result step, watch mode): arguments, environment, ports."""

from __future__ import annotations

import shlex

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from plugwiz.core.model import RunSettings
from plugwiz.core.run_session import run_settings_problem
from plugwiz.ui.dialogs.base import FormDialog
from plugwiz.ui.widgets.message import MessageArea


def parse_run_settings(args: str, env: str, ports: str) -> RunSettings:
    """The dialog's three fields as RunSettings; ValueError with a message for a person.
    `env` is shell words NAME=VALUE, `ports` numbers separated by commas or spaces."""
    try:
        arg_words = tuple(shlex.split(args))
    except ValueError as exc:
        raise ValueError(f"arguments: {exc}") from None
    try:
        env_words = shlex.split(env)
    except ValueError as exc:
        raise ValueError(f"environment: {exc}") from None
    pairs: list[tuple[str, str]] = []
    for word in env_words:
        name, found, value = word.partition("=")
        if not found or not name:
            raise ValueError(f"environment: {word!r} is not NAME=VALUE")
        pairs.append((name, value))
    numbers: list[int] = []
    for item in ports.replace(",", " ").split():
        if not item.isdigit():
            raise ValueError(f"ports: {item!r} is not a port number")
        numbers.append(int(item))
    settings = RunSettings(arg_words, tuple(pairs), tuple(numbers))
    problem = run_settings_problem(settings)
    if problem:
        raise ValueError(problem)
    return settings


class RunSettingsDialog(FormDialog[RunSettings | None]):
    """Edits `RunSettings`; dismisses with the new value or None."""

    AUTO_FOCUS = "#run-args"

    def __init__(self, settings: RunSettings) -> None:
        super().__init__()
        self.initial = settings

    def compose(self) -> ComposeResult:
        run = self.initial
        with Vertical(classes="dialog"):
            yield Label("Run settings (saved in the project)", classes="dialog-title")
            yield Label("Arguments after the image's CMD (shell words)")
            yield Input(shlex.join(run.args), id="run-args", placeholder="--addr :8080")
            yield Label("Environment (NAME=VALUE, shell words)")
            yield Input(
                " ".join(shlex.quote(f"{k}={v}") for k, v in run.env),
                id="run-env",
                placeholder="LOG_LEVEL=debug",
            )
            yield Label("Ports to publish on 127.0.0.1 (empty: the image's EXPOSE)")
            yield Input(", ".join(str(p) for p in run.ports), id="run-ports", placeholder="8080")
            yield MessageArea(id="dialog-error")
            yield from self.buttons("Save")

    def accept(self) -> None:
        try:
            settings = parse_run_settings(
                self.query_one("#run-args", Input).value,
                self.query_one("#run-env", Input).value,
                self.query_one("#run-ports", Input).value,
            )
        except ValueError as exc:
            self.query_one("#dialog-error", MessageArea).show(str(exc), "error")
            return
        self.dismiss(settings)
