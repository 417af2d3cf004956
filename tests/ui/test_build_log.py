"""BuildLog: the same widths as Textual's Log, measured in place, without worker threads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.widgets import Log

from plugwiz.ui.widgets.build_log import BuildLog

# Characters whose width is not 1, or that rich measures in context, mixed with plain ones.
_TRICKY = list("ab -_~\t\x00\x07\x14\x15\x1b\x7f\x85—é中😀ｱ\u200d\ufe0f\u0301\u2028")


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(_TRICKY) | st.characters(), max_size=60))
def test_cell_width_is_logs_width(line: str) -> None:
    for part in line.splitlines() or [""]:
        assert BuildLog.cell_width(part) == cell_len(Log._process_line(part)), repr(part)


class _LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield BuildLog(max_lines=100)


async def test_write_measures_in_place_without_workers() -> None:
    app = _LogApp()
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.query_one(BuildLog)
        log.write_lines(["short", "x" * 300, "中文" * 100, "tab\there"], scroll_end=False)
        # The width is known at once, with no worker started to measure it.
        assert log.virtual_size.width == 400
        assert not [worker for worker in app.workers if worker.node is log]
        log.write_lines([f"line {n}" for n in range(500)], scroll_end=False)
        await pilot.pause()
        assert log.line_count == 100
        assert log.lines[-1] == "line 499"
        assert log.virtual_size.width == 400
