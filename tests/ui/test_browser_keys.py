"""Every wizard action works in a browser (`plugwiz serve`): a key the browser passes on to
the page, and something to click (the steps at the top, the footer, the command palette)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding

from plugwiz.ui.app import BROWSER_KEPT_KEYS, PlugwizApp
from plugwiz.ui.screens.build import BuildScreen
from plugwiz.ui.screens.host import HostScreen
from plugwiz.ui.screens.plugins import PluginsScreen
from plugwiz.ui.screens.preview import PreviewScreen
from plugwiz.ui.screens.result import ResultScreen

from .conftest import SIZE, AppMaker, project_for, settle

SCREENS: list[Any] = [HostScreen, PluginsScreen, PreviewScreen, BuildScreen, ResultScreen]
# Palette methods standing for parametrised actions.
PARAMETRISED = {"move(-1)": "move_up", "move(1)": "move_down"}


def _bindings(owner: Any) -> list[Binding]:
    return [b for b in owner.BINDINGS if isinstance(b, Binding) and b.action != "leave_field"]


@pytest.mark.parametrize("owner", [PlugwizApp, *SCREENS], ids=lambda o: o.__name__)
def test_every_action_has_a_key_the_browser_passes_on(owner: Any) -> None:
    keys: dict[str, list[str]] = {}
    for binding in _bindings(owner):
        keys.setdefault(binding.action, []).extend(binding.key.split(","))
    for action, action_keys in keys.items():
        if action.startswith("go("):
            # F1-F5 are the browser's: ctrl+left/right reach every step, and a click.
            continue
        passed = [key for key in action_keys if key not in BROWSER_KEPT_KEYS]
        assert passed, f"{owner.__name__}: {action} has only {action_keys}"


def test_the_keys_a_browser_keeps_are_the_ones_with_alternatives() -> None:
    kept = sorted(
        key
        for binding in _bindings(PlugwizApp)
        for key in binding.key.split(",")
        if key in BROWSER_KEPT_KEYS
    )
    assert kept == ["ctrl+n", "ctrl+q", "f1", "f10", "f2", "f3", "f4", "f5"]


@pytest.mark.parametrize("screen", SCREENS, ids=lambda o: o.__name__)
def test_every_step_action_can_be_clicked_in_the_command_palette(screen: Any) -> None:
    palette = {method.removeprefix("action_") for _title, _help, method in screen.PALETTE}
    for binding in _bindings(screen):
        action = PARAMETRISED.get(binding.action, binding.action)
        if action.startswith("app."):
            continue  # the app's own palette entries (watch mode)
        assert action in palette, f"{screen.__name__}: {action} is not in the palette"


async def test_a_click_on_a_step_goes_there_and_on_the_save_status_saves(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = str(app.screen.query_one("#steps").render())
        await pilot.click("#steps", offset=(text.index("4 Build") + 1, 0))
        await settle(pilot)
        assert app.current_mode == "build"
        await pilot.click("#save-status")
        await settle(pilot)
        assert (workdir / "plugwiz.yaml").exists()


async def test_in_a_browser_the_footer_shows_the_keys_that_reach_the_page(
    app_for: AppMaker, host_repo: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_for(project_for(host_repo, workdir))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        next_step = Binding("ctrl+n", "next_step", "Next")
        assert app.get_key_display(next_step) == "^n"
        monkeypatch.setattr(PlugwizApp, "is_web", property(lambda self: True))
        assert app.get_key_display(next_step) == "^→"
        palette = [c.title for c in app.get_system_commands(app.screen)]
        assert "Next step" in palette
        assert any(t.startswith("Watch mode") for t in palette)
