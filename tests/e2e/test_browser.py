"""The wizard in a real browser: `plugwiz serve` (textual-serve) driven by headless Chromium
through Playwright, on the demo host, from Host to Result with a real build, a new plugin made
in the browser and the image run live. Saves screenshots (`PLUGWIZ_BROWSER_SHOTS=DIR` keeps
them, e.g. for the README).

Needs Debian's chromium (/usr/bin/chromium) and the playwright package (scripts/setup installs
both; never `playwright install`, which downloads browsers).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ImageTracker

if TYPE_CHECKING:
    from plugwiz.adapters.docker_engine import DockerEngine

pytestmark = pytest.mark.docker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 860
# Records what the server sends the terminal (the app's output, as text) and the terminal's
# size, so the test can wait for what the wizard shows and click on a cell.
HOOK = """
window.__plugwiz = {out: "", cols: 0, rows: 0};
(() => {
  const decoder = new TextDecoder();
  const Original = window.WebSocket;
  function Hooked(url, ...rest) {
    const socket = new Original(url, ...rest);
    const query = new URL(url, window.location.href).searchParams;
    window.__plugwiz.cols = Number(query.get("width"));
    window.__plugwiz.rows = Number(query.get("height"));
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") {
        window.__plugwiz.out += decoder.decode(event.data, {stream: true});
      }
    });
    return socket;
  }
  Hooked.prototype = Original.prototype;
  Object.assign(Hooked, Original);
  window.WebSocket = Hooked;
})();
"""
_ESCAPES = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Browser:
    """A page showing the served wizard, and what it has shown so far."""

    page: Any
    shots: Path
    seen: int = 0  # how much of the output the last `wait_for_text` consumed

    def text(self) -> str:
        out = self.page.evaluate("window.__plugwiz.out")
        return _ESCAPES.sub("", str(out))

    def wait_for_text(self, needle: str, timeout: float = 60.0) -> None:
        """Wait until the wizard writes `needle` (after what earlier waits consumed)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            found = text.find(needle, self.seen)
            if found >= 0:
                self.seen = found + len(needle)
                return
            if time.monotonic() > deadline:
                self.shot("timeout")
                tail = text[-3000:]
                raise AssertionError(f"the wizard never showed {needle!r}; it last showed:{tail}")
            time.sleep(0.1)

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)
            time.sleep(0.15)

    def click_cell(self, column: int, row: int) -> None:
        """Click the terminal cell (column, row), counted from 0."""
        box = self.page.evaluate(
            "(() => { const r = document.querySelector('.xterm-screen')"
            ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
        )
        cols = self.page.evaluate("window.__plugwiz.cols")
        rows = self.page.evaluate("window.__plugwiz.rows")
        x, y, width, height = box
        self.page.mouse.click(x + (column + 0.5) * width / cols, y + (row + 0.5) * height / rows)

    def shot(self, name: str) -> Path:
        time.sleep(0.4)  # the last frame painted
        path = self.shots / f"browser-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """`plugwiz serve` on a free local port, in an empty project directory: (url, its
    directory, the image tag the project builds)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    work = tmp_path / "work"
    work.mkdir()
    port = _free_port()
    tag = f"plugwiz-e2e-{uuid.uuid4().hex[:10]}:latest"
    env = {**os.environ, "PLUGWIZ_CACHE_DIR": str(tmp_path / "cache")}
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "plugwiz.cli", "serve", "--port", str(port), "--tag", tag],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_port(port, server)
        yield url, work, tag
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "plugwiz serve exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise AssertionError("plugwiz serve did not listen")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[[str], Browser]]:
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def open_page(url: str) -> Browser:
            page = chromium.new_page(viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
            page.add_init_script(HOOK)
            page.goto(url)
            return Browser(page, shots)

        try:
            yield open_page
        finally:
            chromium.close()
    keep = os.environ.get("PLUGWIZ_BROWSER_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.glob("browser-*.png"):
            if "timeout" not in shot.name:
                shutil.copy(shot, Path(keep) / shot.name)


def test_the_wizard_in_a_browser_from_host_to_a_live_run(
    docker_engine: DockerEngine,
    served: tuple[str, Path, str],
    browser: Callable[[str], Browser],
) -> None:
    url, work, tag = served
    tracker = ImageTracker(docker_engine.client, "plugwiz-e2e")
    tracker.tags.append(tag)
    try:
        view = browser(url)
        # Host: the embedded demo resolves to its commit.
        view.wait_for_text("1 Host")
        view.wait_for_text("ffe6da1a3e4a")
        view.shot("1-host")

        # A click on a step goes there (F2 is the browser's).
        first_row = view.text().split("1 Host", 1)[0].rsplit("\n", 1)[-1]
        column = len(first_row) + view.text().split("\n", 1)[0].find("2 Plugins") - len(first_row)
        view.click_cell(max(column, 0) + 1, 0)
        view.wait_for_text("Custom plugins (1)")

        # A new plugin, made in the browser from the host's bundled plugin.
        view.press("Escape", "n")
        view.wait_for_text("New plugin")
        view.press("End", "Control+u")  # clear the suggested name
        view.page.keyboard.type("mirror")
        view.press("Enter")
        view.wait_for_text("Created mirror")
        view.shot("2-new-plugin")
        assert (work / "mirror" / "mirror.go").exists()

        # Preview, then Build with ctrl+→ (a browser keeps ctrl+n).
        view.press("Control+ArrowRight")
        view.wait_for_text(" AS host")
        view.shot("3-preview")
        view.press("Control+ArrowRight")
        view.wait_for_text("Ready to build")
        view.press("b")
        view.wait_for_text("Building")
        view.shot("4-build")
        view.wait_for_text("Plugins in the image", timeout=900)
        assert docker_engine.image_exists(tag)
        view.shot("5-result")

        # The image runs live: the new plugin loads, under its name.
        view.press("o")
        view.wait_for_text("loaded plugin mirror", timeout=120)
        view.wait_for_text("exit code 0", timeout=60)
        view.shot("6-run")

        # ctrl+s saves the project, with the new plugin.
        view.press("Control+s")
        deadline = time.monotonic() + 10
        while not (work / "plugwiz.yaml").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "./mirror" in (work / "plugwiz.yaml").read_text()
        view.page.close()
    finally:
        for log in (work.parent / "cache" / "logs").glob("*.log"):
            tracker.from_log(log)
        tracker.cleanup()
    assert not docker_engine.client.api.containers(all=True, filters={"ancestor": tag})
