"""The wizard side of issue 6: bad input and faults are explained in place, nothing leaks.

Docker faults run the real `DockerEngine` against a fake docker client (or a socket that is
not there), so the wizard shows exactly the text the CLI prints for the same case
(docs/errors.md): the engine raises or yields it, both front ends only display it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from docker.errors import ImageNotFound
from textual.widgets import Input, Select

from plugwiz.adapters.docker_engine import DockerEngine
from plugwiz.core.engine import BuildEngine
from plugwiz.core.model import Host, Images, Project
from plugwiz.service import open_repo
from plugwiz.ui.app import PlugwizApp, make_app
from plugwiz.ui.screens.build import BuildScreen
from plugwiz.ui.widgets.message import MessageArea
from tests.gitserver import serve_git

from .conftest import SIZE, git, project_for, settle, wait_for
from .helpers import screen_text, text_of

TOKEN = "s3cr3tTOKEN"
FAKE_SOCKET = "unix:///run/plugwiz-test/docker.sock"


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A git repository with `files` in one commit on `main`."""
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git(path, "init", "--quiet", "--template=")
    git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--no-gpg-sign", "-m", "host")
    return path


MAIN = "package main\n\nfunc main() {}\n"


def wizard(
    project: Project, path: Path | None = None, engine: BuildEngine | None = None
) -> PlugwizApp:
    """The wizard with the real repository adapter and (by default) the real Docker engine."""
    return make_app(
        project,
        path,
        engine_factory=lambda: engine or DockerEngine(),
        repo_opener=open_repo,
    )


def message(app: PlugwizApp, selector: str) -> str:
    return app.screen.query_one(selector, MessageArea).text


def assert_no_traceback(app: PlugwizApp) -> None:
    text = screen_text(app)
    assert "Traceback" not in text and "Unexpected error" not in text, text


# -- several main packages ---------------------------------------------------------------------


async def test_several_main_packages_are_a_choice_and_the_preview_then_renders(
    tmp_path: Path, workdir: Path
) -> None:
    repo = make_repo(
        tmp_path / "multi",
        {
            "go.mod": "module example.com/h\n\ngo 1.19\n",
            "cmd/server/main.go": MAIN,
            "cmd/tool/main.go": MAIN,
        },
    )
    path = workdir / "plugwiz.yaml"
    project = Project(host=Host(repo=str(repo), ref="main"), base_dir=workdir)
    app = wizard(project, path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        choice = app.screen.query_one("#main-package", Select)
        assert choice.display and choice.value is Select.NULL
        assert "(several: choose one below)" in text_of(app.screen.query_one("#commit-info"))
        assert "none is obviously the host: choose the one to build" in message(
            app, "#host-message"
        )
        # Until a choice is made the Preview says what core says, and renders nothing.
        app.action_go("preview")
        await settle(pilot)
        assert (
            "the host has 2 main packages (./cmd/server, ./cmd/tool) and none is obviously "
            "the host" in message(app, "#preview-message")
        )
        assert app.screen.dockerfile is None  # type: ignore[attr-defined]
        # Choose ./cmd/tool with the keyboard.
        app.action_go("host")
        await pilot.pause()
        choice = app.screen.query_one("#main-package", Select)
        choice.focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert choice.value == "./cmd/tool"
        assert app.project.host.main_package == "./cmd/tool"
        assert message(app, "#host-message") == ""
        assert "./cmd/tool" in text_of(app.screen.query_one("#commit-info"))
        app.action_go("preview")
        await settle(pilot)
        assert message(app, "#preview-message") == ""
        assert "go build -o /out/tool ./cmd/tool" in text_of(app.screen.query_one("#dockerfile"))
    assert "main: ./cmd/tool" in path.read_text()


async def test_an_obvious_main_package_is_prefilled_and_can_be_changed(
    tmp_path: Path, workdir: Path
) -> None:
    repo = make_repo(
        tmp_path / "obvious",
        {
            "go.mod": "module example.com/h\n\ngo 1.19\n",
            "cmd/h/main.go": MAIN,
            "cmd/tool/main.go": MAIN,
        },
    )
    app = wizard(Project(host=Host(repo=str(repo), ref="main"), base_dir=workdir), None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        choice = app.screen.query_one("#main-package", Select)
        assert choice.display and choice.value == "./cmd/h"
        assert app.project.host.main_package == ""  # prefilled, not forced into the project
        assert message(app, "#host-message") == ""
        choice.value = "./cmd/tool"
        await settle(pilot)
        assert app.project.host.main_package == "./cmd/tool"


# -- Docker faults: the real engine, a fake daemon ---------------------------------------------


class FakeAPI:
    """The low-level docker API calls DockerEngine.build makes, with scripted answers."""

    def __init__(self, missing: set[str], stream: list[dict[str, Any]] | None) -> None:
        self.missing = missing
        self.stream = stream or []

    def inspect_image(self, image: str) -> dict[str, Any]:
        if image in self.missing:
            raise ImageNotFound(f"No such image: {image}")
        return {"Id": "sha256:" + "1" * 64, "Config": {"Env": []}}

    def _url(self, path: str) -> str:
        return path

    def _post(self, *args: object, **kwargs: object) -> object:
        return object()

    def _stream_helper(self, response: object, decode: bool) -> Iterator[dict[str, Any]]:
        yield from self.stream
        # What requests raises when dockerd dies with the build's response half read.
        raise requests.exceptions.ConnectionError("Connection aborted.")

    def containers(self, all: bool = False) -> list[dict[str, Any]]:  # noqa: A002
        return []

    def remove_image(self, *args: object, **kwargs: object) -> None:
        pass


class FakeClient:
    def __init__(
        self,
        missing: frozenset[str] = frozenset(),
        stream: list[dict[str, Any]] | None = None,
        ping_error: Exception | None = None,
    ) -> None:
        self.api = FakeAPI(set(missing), stream)
        self.ping_error = ping_error

    def ping(self) -> bool:
        if self.ping_error is not None:
            raise self.ping_error
        return True


LOST_STREAM = [
    {"stream": "Step 1/14 : FROM golang:1.19-bookworm AS host\n"},
    {"stream": " ---> 0123456789ab\n"},
    {"stream": "Step 2/14 : ENV CGO_ENABLED=1\n"},
]

CASES: dict[str, tuple[dict[str, Any], str]] = {
    "daemon not running": (
        {},
        f"the Docker daemon is not reachable at {FAKE_SOCKET}: start it (`sudo systemctl start "
        "docker`, or run `dockerd`), or point DOCKER_HOST at a running daemon",
    ),
    "socket permission denied": (
        {
            "client": FakeClient(
                ping_error=requests.exceptions.ConnectionError(
                    "('Connection aborted.', PermissionError(13, 'Permission denied'))"
                )
            )
        },
        f"permission denied talking to the Docker daemon at {FAKE_SOCKET}: add your user to the "
        "`docker` group (`sudo usermod -aG docker $USER`, then log in again) or run as root",
    ),
    "builder image missing": (
        {"client": FakeClient(missing=frozenset({"golang:1.19-bookworm"}))},
        "the builder image golang:1.19-bookworm is not present locally and plugwiz never pulls "
        "during a build: run `docker pull golang:1.19-bookworm` (or, offline, "
        "`scripts/make-go-image`)",
    ),
    "runtime image missing": (
        {"client": FakeClient(missing=frozenset({"debian:bookworm-slim"}))},
        "the runtime image debian:bookworm-slim is not present locally and plugwiz never pulls "
        "during a build: run `docker pull debian:bookworm-slim` (or, offline, "
        "`scripts/make-go-image`)",
    ),
    "go line newer than the builder": (
        {"client": FakeClient(), "go": "1.21"},
        "the host's go.mod says `go 1.21` but the builder image golang:1.19-bookworm has Go "
        "1.19, which cannot build it: use --builder-image golang:1.21-bookworm "
        "(images.builder in plugwiz.yaml), or lower the `go` line",
    ),
    "daemon lost mid-build": (
        {"client": FakeClient(stream=LOST_STREAM)},
        "lost the connection to the Docker daemon at unix:///run/plugwiz-test/docker.sock "
        "during the build; plugwiz-test:latest was not changed. Check the daemon is running "
        "(`docker info`) and build again",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_docker_faults_show_the_cli_message_and_the_other_steps_still_work(
    case: str, tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, expected = CASES[case]
    monkeypatch.setenv("DOCKER_HOST", FAKE_SOCKET)
    go = setup.get("go", "1.19")
    repo = make_repo(
        tmp_path / "host",
        {
            "go.mod": f"module example.com/h\n\ngo {go}\n",
            "cmd/h/main.go": MAIN,
            "plugins/up/up.go": 'package main\n\nfunc New() string { return "up" }\n',
        },
    )
    # The fake client stands in for the classic builder's API (BuildKit goes through the CLI).
    engine = DockerEngine(client=setup.get("client"), backend="classic")
    project = project_for(repo, workdir, images=Images(builder="golang:1.19-bookworm"))
    app = wizard(project, None, engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        if case in ("daemon not running", "socket permission denied"):
            assert screen.state == "unavailable"
            assert "Docker is not reachable" in text_of(screen.query_one("#build-state"))
            assert expected in message(app, "#build-message")
        elif case == "daemon lost mid-build":
            assert screen.state == "failed"
            assert screen.query_one("#failure-panel").border_title == "Step 2 failed"
            panel = " ".join(text_of(screen.query_one("#failure")).split())
            assert expected in panel
            assert "Press b to build again" in panel
        else:
            assert screen.state == "failed"
            assert "The build could not run" in text_of(screen.query_one("#build-state"))
            assert message(app, "#build-message") == expected
        # What a person sees is the message, never a traceback or an exception class name.
        shown = screen_text(app)
        assert_no_traceback(app)
        assert "Error(" not in shown and "Exception" not in shown
        # The other steps keep working: add a plugin, see the Dockerfile follow.
        app.action_go("plugins")
        await pilot.pause()
        app.screen.add_source("plugins/multi")  # type: ignore[attr-defined]
        await settle(pilot)
        app.action_go("preview")
        await settle(pilot)
        assert "/app/plugins/multi.so" in text_of(app.screen.query_one("#dockerfile"))
        assert_no_traceback(app)


# -- a token in the host URL -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["unreachable", "wrong password"])
async def test_a_failing_url_with_a_token_is_explained_without_the_token(
    where: str, host_repo: Path, workdir: Path, cache_dir: Path
) -> None:
    path = workdir / "plugwiz.yaml"
    app = wizard(Project(base_dir=workdir), path)
    server = serve_git(host_repo, "user", "the-right-Pa55word")
    url = "http://127.0.0.1:9/x.git" if where == "unreachable" else server.__enter__()
    try:
        with_token = url.replace("http://", f"http://user:{TOKEN}@")
        async with app.run_test(size=SIZE) as pilot:
            field = app.screen.query_one("#repo", Input)
            field.focus()
            field.value = with_token
            await pilot.press("enter")
            await settle(pilot)
            text = message(app, "#host-message")
            assert text.startswith("Cannot open the host repository")
            if where == "unreachable":
                assert f"cannot reach the host repository {url}" in text
            else:
                assert f"authentication failed for {url}" in text
            # The field keeps the credentials in memory but shows them masked.
            assert field.value == url.replace("http://", "http://user:***@")
            shown = screen_text(app)
            assert "Cannot open the host repository" in shown
            assert TOKEN not in shown
            assert TOKEN not in app.export_screenshot()
            assert TOKEN not in app.save_status
            assert app.project.host.repo == with_token  # still usable for a retry
            # Retrying the masked text retries with the real credentials.
            await pilot.press("enter")
            await settle(pilot)
            assert app.project.host.repo == with_token
            assert TOKEN not in screen_text(app)
            app.action_save()  # what the file holds once the user saves
            await settle(pilot)
    finally:
        if where != "unreachable":
            server.__exit__(None, None, None)
    assert TOKEN not in path.read_text()
    assert url in path.read_text()
    recent = cache_dir / "recent.json"
    if recent.exists():
        assert TOKEN not in recent.read_text()
    for file in cache_dir.rglob("*"):
        if file.is_file():
            assert TOKEN.encode() not in file.read_bytes(), file


async def test_a_url_with_a_token_that_works_is_remembered_without_it(
    host_repo: Path, workdir: Path, cache_dir: Path
) -> None:
    with serve_git(host_repo, "user", TOKEN) as url:
        with_token = url.replace("http://", f"http://user:{TOKEN}@")
        app = wizard(Project(base_dir=workdir), workdir / "plugwiz.yaml")
        async with app.run_test(size=SIZE) as pilot:
            field = app.screen.query_one("#repo", Input)
            field.value = with_token
            await pilot.press("enter")
            await settle(pilot)
            assert "branches and tags" in message(app, "#host-message")
            assert TOKEN not in screen_text(app)
            app.action_save()
            await settle(pilot)
    assert json.loads((cache_dir / "recent.json").read_text()) == [url]
    assert TOKEN not in (workdir / "plugwiz.yaml").read_text()
