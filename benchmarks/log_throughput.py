"""Log throughput: a flood of build output through the real Build screen, headless, no daemon.

A fake engine yields N realistic build lines (Go compiler chatter, module downloads, long
paths) as fast as it can, in chunks of 1 to 128 lines (a daemon's are bigger: see CHUNKS),
through the real `BuildScreen` of the real app (`App.run_test`).
Measured:

- time from pressing `b` until every line has reached the Log (the screen's `lines_shown`:
  lines written, counting those the 5000-line cap drops at once; the Log's own writes are
  counted too);
- memory growth of the process (RSS, and tracemalloc's peak of Python allocations in --trace
  mode) from before the build to when all lines are shown;
- a key pressed mid-stream (`c`, which opens the cancel dialog; once per run, at 10, 30, 50,
  20 or 40 % of the stream): time until its action runs, and until the dialog is on screen;
- once every line is shown, the stage filter: selecting the host stage in the tree beside the
  log (half the lines) until the log shows exactly its lines, read back from the display log.

The Build screen shows the stage tree beside the log throughout (120 columns).

Usage: python benchmarks/log_throughput.py [--lines N] [--runs N] [--quick] [--trace] [--tree DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import median, say  # noqa: E402

TARGET_SHOWN_S = 2.0
TARGET_MEMORY_MB = 50.0
TARGET_KEY_MS = 100.0
TARGET_FILTER_MS = 200.0
# The flood's ten steps, in the stages of the demo project's build (the toolchain's are the
# host stage's in the tree).
STAGES = ("toolchain",) * 2 + ("host",) * 3 + ("plugin-1",) * 2 + ("check",) + ("",) * 2
SIZE = (120, 40)
# One key per run, as a user would press it, at a different point of the stream in each run.
PRESS_AT = (0.1, 0.3, 0.5, 0.2, 0.4)

_TEMPLATES = (
    "go: downloading github.com/example/module{n} v1.{m}.{k}",
    "example.com/heavyhost/internal/pkg{n}",
    "# example.com/heavyhost/plugwiz_plugins/stamp{n}",
    "/src/internal/render/render_{n}.go:{m}:{k}: warning: result of fmt.Sprintf call not used",
    "net/http/internal/chunked{n}",
    "crypto/tls: compiling handshake_client_tls13.go ({n}/{m}) — {k} objects",
    "vendor/golang.org/x/net/http2/hpack{n}",
    "   ---> Running in 3f1c{n:08x}",
    "text/template/parse{n} [cached {m} kB, {k} deps]",
    "encoding/json: decode.go:{m}:{k}: inlining call to (*decodeState).value{n}",
)


def realistic_lines(count: int) -> Iterator[str]:
    """`count` build-output-like lines of 20 to 100 characters, all different."""
    for index in range(count):
        template = _TEMPLATES[index % len(_TEMPLATES)]
        yield template.format(n=index, m=index % 977, k=index % 31)


# How many lines each chunk of the flood holds, in turn (mean 22). A daemon sends a flood in
# far bigger chunks: measured here, the classic builder sent 100,000 lines of a RUN in 227
# chunks (195 of them of 200 lines or more, up to 1,260), so this flood has about 40 times as
# many events as a real one. (BuildKit's CLI hands over 1 to 3 lines per read, but clips a
# step's output at its log limit: of those 100,000 lines it printed 8,409.)
CHUNKS = (1, 2, 5, 1, 64, 3, 17, 128, 1, 8, 33, 1, 90, 4, 40, 2, 1, 12)


class Flood:
    """A build script for the shared scripted engine: `lines` output lines in 10 steps, in
    chunks of CHUNKS lines, as fast as they can be made, then a finished build; it notes when
    the last line was made. (For an older plugwiz, --tree, one event per line.)"""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.last_line = ""
        self.produced_at = 0.0

    def __call__(self, resolved: Any, tag: str) -> Iterator[Any]:
        from plugwiz.core import events

        steps = 10
        per_step = max(1, self.lines // steps)
        texts = realistic_lines(self.lines)
        done = 0
        for step in range(1, steps + 1):
            yield events.StepStarted(step, steps, f"RUN go build step {step}", STAGES[step - 1])
            end = self.lines if step == steps else min(self.lines, done + per_step)
            chunk = 0
            while done < end:
                size = min(CHUNKS[chunk % len(CHUNKS)], end - done)
                chunk += 1
                lines = tuple(next(texts) for _ in range(size))
                done += size
                self.last_line = lines[-1]
                if hasattr(events, "OutputLines"):
                    yield events.OutputLines(lines, step)
                else:  # an older plugwiz (--tree): a line per event
                    yield from (events.OutputLine(text, step) for text in lines)  # type: ignore[attr-defined]
        self.produced_at = time.perf_counter()
        yield events.BuildFinished("sha256:" + "ab" * 32, tag)


def send_key(app: Any, key: str) -> None:
    """Send a key as the terminal would, without waiting for the app to be idle (Pilot.press
    waits, and during a flood the app is never idle)."""
    from textual import events

    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


def rss_bytes() -> int:
    """The process's resident set size now."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    import resource

    return pages * resource.getpagesize()


async def run(lines: int, trace: bool, press_at: float) -> dict[str, float]:
    """Drive the app, pressing one key when `press_at` of the lines are shown; return the
    figures."""
    from textual.widgets import Log

    from plugwiz.adapters.scripted import ScriptedEngine
    from plugwiz.core.resolve import demo_project
    from plugwiz.service import open_repo
    from plugwiz.ui.app import make_app
    from plugwiz.ui.screens.build import BuildScreen

    flood = Flood(lines)
    engine = ScriptedEngine(script=flood)
    project = demo_project()
    app = make_app(project, None, engine_factory=lambda: engine, repo_opener=open_repo)
    figures: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(4):
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.action_go("build")
        for _ in range(4):
            await app.workers.wait_for_complete()
            await pilot.pause()
        current = app.screen
        assert isinstance(current, BuildScreen), current
        screen: BuildScreen = current
        log = screen.query_one("#build-log", Log)
        written = 0
        real_write_lines = log.write_lines

        def counting_write_lines(batch: Any, scroll_end: bool | None = None) -> Log:
            nonlocal written
            batch = list(batch)
            written += len(batch)
            return real_write_lines(batch, scroll_end=scroll_end)

        log.write_lines = counting_write_lines  # type: ignore[method-assign,assignment]
        action_at: list[float] = []
        real_cancel = screen.action_cancel_build

        def timed_cancel() -> None:
            action_at.append(time.perf_counter())
            real_cancel()

        screen.action_cancel_build = timed_cancel  # type: ignore[method-assign]
        # The moment the last line reaches the Log, taken where it happens: the loop below
        # wakes only when the UI thread lets it, and when the build ends that thread goes on
        # to open the Result step first (an older BuildScreen without lines_shown: the loop).
        all_shown_at: list[float] = []
        real_show_poll = screen.show_poll

        def stamped_show_poll(result: Any) -> None:
            real_show_poll(result)
            if not all_shown_at and getattr(screen, "lines_shown", 0) >= lines:
                all_shown_at.append(time.perf_counter())

        screen.show_poll = stamped_show_poll  # type: ignore[method-assign]
        gc.collect()
        if trace:
            tracemalloc.start()
        rss_before = rss_bytes()
        rss_peak = rss_before
        started = time.perf_counter()
        send_key(app, "b")
        presses = [press_at]  # the fraction of the stream at which the key is pressed
        key_lines: list[int] = []
        key_ms: list[float] = []
        action_ms: list[float] = []

        def shown_count() -> int:
            # An older BuildScreen (--tree) has no lines_shown: it wrote every line.
            return int(getattr(screen, "lines_shown", written))

        while shown_count() < lines:
            await asyncio.sleep(0.005)
            rss_peak = max(rss_peak, rss_bytes())
            if presses and app.session.active and shown_count() >= presses[0] * lines:
                # Press `c`: its action runs (handled), then the cancel dialog is up; close it
                # with escape (keep building). A press the build outlived opens no dialog.
                presses.pop(0)
                key_lines.append(shown_count())
                seen = len(action_at)
                pressed = time.perf_counter()
                send_key(app, "c")
                while (
                    len(action_at) == seen
                    and (app.session.active or time.perf_counter() - pressed < 0.5)
                    and time.perf_counter() - pressed < 10
                ):
                    await asyncio.sleep(0.001)
                if len(action_at) == seen:
                    continue  # the build ended first, so `c` was no longer bound: no measure
                action_ms.append((action_at[-1] - pressed) * 1000)
                if not app.session.active:
                    continue
                while app.screen is screen and time.perf_counter() - pressed < 10:
                    await asyncio.sleep(0.001)
                key_ms.append((time.perf_counter() - pressed) * 1000)
                # Escape once the dialog has its focus (it is mounted): a key sent to a screen
                # still being composed is lost, and the dialog would wait for the build's end.
                while app.screen.focused is None and time.perf_counter() - pressed < 10:
                    await asyncio.sleep(0.001)
                send_key(app, "escape")
                closing = time.perf_counter()
                # Closed (or the build ended meanwhile and the wizard went on to the Result).
                while app.screen.is_modal and time.perf_counter() - closing < 10:
                    await asyncio.sleep(0.001)
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"only {shown_count()} of {lines} lines after 120 s")
        shown = (all_shown_at[0] if all_shown_at else time.perf_counter()) - started
        await pilot.pause()
        rss_peak = max(rss_peak, rss_bytes())
        figures["shown_s"] = shown
        figures["produced_s"] = flood.produced_at - started
        figures["written"] = written
        figures["shown"] = shown_count()
        figures["kept"] = log.line_count
        figures["last_ok"] = float(log.lines[-1] == flood.last_line)
        figures["rss_growth_mb"] = (rss_peak - rss_before) / 1024 / 1024
        figures["key_ms"] = max(key_ms, default=0.0)
        figures["action_ms"] = max(action_ms, default=0.0)
        figures["key_presses"] = len(action_ms)
        if trace:
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            figures["traced_peak_mb"] = peak / 1024 / 1024
        # Last: it replaces what the log shows.
        figures["filter_ms"], figures["filtered"], figures["refilter_ms"] = await filter_stages(
            app, screen, pilot
        )
        for _ in range(4):
            await app.workers.wait_for_complete()
            await pilot.pause()
    return figures


async def filter_stages(app: Any, screen: Any, pilot: Any) -> tuple[float, float, float]:
    """Select the host stage in the tree: (ms until the log shows its lines, lines shown);
    then the plugin's stage, the log already read: (ms). -1 for a tree without stages (an
    older plugwiz, --tree)."""
    tree = screen.query("#stage-tree")
    if not tree or not hasattr(screen, "explorer"):
        return -1.0, 0.0, -1.0
    while app.session.active:
        await asyncio.sleep(0.01)
    await pilot.pause()
    stage_tree = tree.first()
    explorer = screen.explorer

    async def select(key: str) -> float:
        node = next(n for n in stage_tree.root.children if n.data and n.data.key == key)
        started = time.perf_counter()
        stage_tree.select_node(node)
        while (
            explorer.searching
            or explorer.filter_steps != node.data.steps
            or explorer._slice is None
        ):
            await asyncio.sleep(0.001)
        took = (time.perf_counter() - started) * 1000
        await pilot.pause()
        return took

    first = await select("host")
    shown = float(len(screen.query_one("#build-log").lines))
    again = await select("plugin:hello")
    return first, shown, again


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5, help="fresh apps; medians are reported")
    parser.add_argument("--quick", action="store_true", help="CI smoke: 1 run of 20,000 lines")
    parser.add_argument("--trace", action="store_true", help="also tracemalloc (slower)")
    parser.add_argument("--tree", type=Path, help="measure this plugwiz tree instead")
    args = parser.parse_args(argv)
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))
    lines = 20_000 if args.quick else args.lines
    runs = 1 if args.quick else max(1, args.runs)
    import os
    import tempfile

    # The demo repository and build logs go to a throwaway cache, not the user's.
    with tempfile.TemporaryDirectory(prefix="plugwiz-bench-cache-") as cache:
        os.environ.setdefault("PLUGWIZ_CACHE_DIR", cache)
        all_runs = [
            asyncio.run(run(lines, args.trace, PRESS_AT[index % len(PRESS_AT)]))
            for index in range(runs)
        ]

    def med(key: str) -> float:
        return median(figures[key] for figures in all_runs)

    shown_s, growth = med("shown_s"), med("rss_growth_mb")
    pressed = [f for f in all_runs if f["key_presses"]]  # a run the build outlived has none
    action_med = median(f["action_ms"] for f in pressed) if pressed else 0.0
    action_worst = max((f["action_ms"] for f in pressed), default=0.0)
    dialog_worst = max((f["key_ms"] for f in pressed), default=0.0)
    ok_shown = shown_s <= TARGET_SHOWN_S
    ok_memory = growth <= TARGET_MEMORY_MB
    presses = len(pressed)
    ok_key = 0 <= action_med <= TARGET_KEY_MS or not presses
    last_ok = all(f["last_ok"] for f in all_runs)
    filter_ms = med("filter_ms")
    ok_filter = filter_ms <= TARGET_FILTER_MS

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    say(
        f"log throughput: {lines:,} lines through the Build screen, headless {SIZE[0]}x{SIZE[1]}, "
        f"median of {runs} run(s)"
    )
    say(
        f"  all shown after        {shown_s:.2f} s (engine done producing after "
        f"{med('produced_s'):.2f} s)  target <= {TARGET_SHOWN_S} s: {met(ok_shown)}"
    )
    say(
        f"  lines shown            {int(med('shown')):,} ({int(med('written')):,} written to the "
        f"Log, {int(med('kept')):,} kept; last line {'correct' if last_ok else 'WRONG'})"
    )
    say(
        f"  memory growth (RSS)    {growth:.1f} MB  target <= {TARGET_MEMORY_MB:.0f} MB: "
        f"{met(ok_memory)}"
    )
    if args.trace:
        say(f"  tracemalloc peak       {med('traced_peak_mb'):.1f} MB")
    if presses:
        say(
            f"  key mid-stream ({presses} presses of `c`): handled after {action_med:.0f} ms "
            f"median, {action_worst:.0f} ms worst; dialog up after {dialog_worst:.0f} ms worst  "
            f"target <= {TARGET_KEY_MS:.0f} ms: {met(ok_key)}"
        )
    else:
        say("  key mid-stream         no press landed before the build ended (too few lines)")
    if filter_ms >= 0:
        say(
            f"  stage filter           {filter_ms:.0f} ms median, "
            f"{max(f['filter_ms'] for f in all_runs):.0f} ms worst to show the host stage's "
            f"{int(med('filtered')):,} of {lines:,} lines  target <= {TARGET_FILTER_MS:.0f} ms: "
            f"{met(ok_filter)}"
        )
        say(
            f"                         then another stage, the log already read: "
            f"{med('refilter_ms'):.0f} ms median"
        )
    else:
        ok_filter = True  # an older tree has no stage filter to measure
    return 0 if ok_shown and ok_memory and ok_key and last_ok and ok_filter else 1


if __name__ == "__main__":
    sys.exit(main())
