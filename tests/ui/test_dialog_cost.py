"""Opening a dialog over a step costs little: its background is the screen below tinted
without Textual's round trip through Rich, and the step's footer hides and shows keys instead
of composing them again. The picture is the same (the snapshots); these check the parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.segment import Segment
from textual._context import visible_screen_stack  # Textual private: the screens shown
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import Screen
from textual.visual import RichVisual, Visual
from textual.widgets._footer import FooterKey  # Textual private: the footer's key widget

from plugwiz.adapters.scripted import ScriptedEngine, successful_events
from plugwiz.ui.dialogs.base import Dialog, DimmedScreen
from plugwiz.ui.dialogs.choice import ChoiceDialog
from plugwiz.ui.widgets.footer import StepFooter

from .conftest import SIZE, TAG, AppMaker, project_for, settle, wait_for
from .test_real_use import start_held_build


def lines(strips: list[Any]) -> list[list[Segment]]:
    return [list(strip) for strip in strips]


def textual_background(dialog: Dialog[Any], below: Screen[Any], width: int) -> list[Any]:
    renderable = BackgroundScreen(below, dialog.styles.background)
    visual = RichVisual(dialog, renderable)
    return Visual.to_strips(dialog, visual, width, dialog.size.height, dialog.visual_style)


def shown_keys(footer: StepFooter) -> list[tuple[str, str]]:
    return [(key.key, key.description) for key in footer.query_children(FooterKey) if key.display]


async def test_a_dialog_background_is_textuals_tinted_screen_below(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await start_held_build(pilot, engine)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        below = app.screen_stack[-2]
        token = visible_screen_stack.set([below])
        try:
            background = dialog.render()
        finally:
            visible_screen_stack.reset(token)
        assert isinstance(background, DimmedScreen)
        width, height = dialog.size
        for _ in range(2):  # styles worked out, then remembered
            ours = Visual.to_strips(dialog, background, width, height, dialog.visual_style)
            assert lines(ours) == lines(textual_background(dialog, below, width))
        # Another width than the screen below's (a resize under way): Textual's path whole.
        narrower = Visual.to_strips(dialog, background, width - 7, height, dialog.visual_style)
        assert lines(narrower) == lines(textual_background(dialog, below, width - 7))
        await pilot.press("escape")
        app.session.cancel()
        await wait_for(pilot, lambda: not app.session.active)


async def test_the_footer_hides_step_keys_under_a_dialog_without_composing_again(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    engine = ScriptedEngine(events=successful_events(TAG), hold_at=5)
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await start_held_build(pilot, engine)
        footer = app.screen.query_one(StepFooter)
        keys = list(footer.children)
        before = shown_keys(footer)
        assert ("ctrl+n", "Next") in before and ("question_mark", "Help") in before

        await pilot.press("c")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        under = shown_keys(footer)
        assert under == [key for key in before if key[1] not in ("Next", "Help")]
        assert [(key[0], key[2]) for key in footer.keys_to_show() or []] == under

        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceDialog)
        assert list(footer.children) == keys  # the same widgets: not composed again
        assert shown_keys(footer) == before

        # Keys it does not have (the build's end brings "Build"): composed again, as Textual.
        app.session.cancel()
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        after = shown_keys(footer)
        assert ("b", "Build") in after and ("c", "Cancel build") not in after
        assert [(key[0], key[2]) for key in footer.keys_to_show() or []] == after
