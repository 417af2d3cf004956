"""The plugwiz wizard: Host > Plugins > Preview > Build > Result.

The app holds the state every step shares and is the only place it changes:

- `project`: what the user chose (a `Project`); screens send intents (`update_project`), and
  only a user's change makes it differ from the file (`dirty`);
- `host`: the open repository, its refs and the resolved commit with its facts
  (`HostState`), kept apart from the project so that resolving never edits it;
- `plugin_checks`: what each custom plugin source is on disk, looked at in a worker;
- `session`: the one `BuildSession`; the Build screen, the dialogs about a build, the Result
  step and the Plugins table observe it, so a dialog about a build closes when it ends;
- `run_session`: the one `RunSession` (the image running live in the Result step, or in
  watch mode); its container is stopped and removed when the user leaves the Result step
  (watch mode off) or quits, and dialogs about it close when it ends;
- `watch_loop`: watch mode (a save of a plugin's source rebuilds and reruns), on the two
  sessions above.

Screens redraw only while they are shown (`WizardScreen`); blocking work (git, disk, Docker)
runs in thread workers.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.worker import get_current_worker

from plugwiz.core.context import inspect_plugins
from plugwiz.core.detect import DetectError
from plugwiz.core.engine import BuildEngine, EngineError
from plugwiz.core.history import BuildHistory
from plugwiz.core.model import (
    BaseImages,
    PluginFacts,
    PluginKind,
    Project,
    ProjectError,
    ResolvedHost,
    ResolvedProject,
    host_revision,
)
from plugwiz.core.modsource import module_environment
from plugwiz.core.paths import cache_dir
from plugwiz.core.ports import GitRef, HostRepoError, HostRepository, RefNotFoundError
from plugwiz.core.resolve import resolve_host
from plugwiz.core.run_session import RunSession, RunState, run_spec_for
from plugwiz.core.session import POLL_BUDGET_S, BuildSession, BuildState, source_signature
from plugwiz.ui.dialogs.choice import Answer, ChoiceDialog, confirm_dialog
from plugwiz.ui.screens.host import HostScreen
from plugwiz.ui.widgets.steps import STEP_NAMES, STEPS

if TYPE_CHECKING:
    from textual.screen import Screen

    # Needed only on later steps (watch mode, a prebuilt plugin's verdict): imported where
    # they are used, so that the first paint does not wait for them.
    from plugwiz.core.explain import Explanation
    from plugwiz.core.project_file import ProjectDocument
    from plugwiz.core.watch import FileWatcher, Prepared, WatchLoop, WatchPhase

DEFAULT_PROJECT_FILE = "plugwiz.yaml"
# Keys a browser keeps for itself (a page never sees them) or that are unsafe there (F5
# reloads, F11 goes full screen, alt+digits switch tabs, ctrl+q quits Firefox), and what
# the footer shows instead when the wizard runs in a browser (`plugwiz serve`).
BROWSER_KEPT_KEYS = frozenset(
    {"ctrl+n", "ctrl+t", "ctrl+w", "ctrl+shift+n", "ctrl+shift+t", "ctrl+shift+w", "ctrl+tab"}
    | {"ctrl+shift+tab", "ctrl+q", "ctrl+r", "ctrl+l", "alt+left", "alt+right"}
    | {f"f{n}" for n in range(1, 13)}
    | {f"alt+{n}" for n in range(10)}
    | {f"ctrl+{n}" for n in range(10)}
)
WEB_KEY_DISPLAY = {"ctrl+n": "^→", "ctrl+b": "^←", "question_mark": "?"}
DRAIN_INTERVAL = 0.1  # seconds between batches of build output reaching the screen
# ... while output comes faster than the screen keeps (a poll drops lines): every repaint of
# a flood takes the GIL from the build's worker thread.
FLOOD_DRAIN_INTERVAL = 0.25
FLOOD_POLL_BUDGET_S = 0.05  # and takes more of it each time

EngineFactory = Callable[[], BuildEngine]
RepoOpener = Callable[[Project], HostRepository]
WatcherFactory = Callable[[], "FileWatcher"]
# How long quitting waits for a running container to be stopped and removed.
RUN_STOP_TIMEOUT = 15.0


def _later(module: str, name: str) -> Callable[[], Screen[Any]]:
    """A mode's screen, imported when the step is first shown: the first paint waits only
    for the Host step's code (the others, and yaml, are a tenth of a second)."""

    def make() -> Screen[Any]:
        screen: Screen[Any] = getattr(importlib.import_module(module), name)()
        return screen

    return make


@dataclass(frozen=True)
class HostState:
    """The host repository as the wizard knows it right now."""

    repo_text: str = ""  # the Host.repo the repository and refs below belong to
    repo: HostRepository | None = None
    refs: tuple[GitRef, ...] = ()
    resolved: ResolvedHost | None = None
    busy: str = ""  # what is being done ("Opening ...", "Resolving main ...")
    error_title: str = ""
    error: str = ""


@dataclass(frozen=True)
class PluginChecks:
    """What the custom plugin sources of `plugins` (relative to `base_dir`) are on disk, and
    their files' signatures (to tell whether a build result is still about them)."""

    plugins: tuple[Any, ...]
    base_dir: Path
    extension: str
    facts: tuple[PluginFacts, ...]
    signatures: tuple[tuple[tuple[str, int, int], ...], ...] = field(default=())

    def matches(self, project: Project) -> bool:
        return (
            self.plugins == project.plugins
            and self.base_dir == project.base_dir
            and self.extension == project.loading.extension
        )


@dataclass(frozen=True)
class PrebuiltVerdict:
    """Whether a prebuilt plugin can load into this host, examined before any build: the
    explanation (as `plugwiz explain` gives it), or why it could not be examined."""

    signature: tuple[tuple[str, int, int], ...]
    sha: str
    explanation: Explanation | None
    error: str = ""


class PlugwizApp(App[int]):
    """The wizard. Create it with `make_app`."""

    CSS_PATH = "plugwiz.tcss"
    TITLE = "plugwiz"
    MODES: ClassVar[dict[str, Any]] = {
        "host": HostScreen,
        "plugins": _later("plugwiz.ui.screens.plugins", "PluginsScreen"),
        "preview": _later("plugwiz.ui.screens.preview", "PreviewScreen"),
        "build": _later("plugwiz.ui.screens.build", "BuildScreen"),
        "result": _later("plugwiz.ui.screens.result", "ResultScreen"),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows the step's own keys first; of the wizard's, those a newcomer needs
        # (the rest are in the help, the command palette and the header's "^s").
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Firefox keeps ctrl+q for itself: ctrl+c quits too (a text field copies with it first).
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("ctrl+s", "save", "Save", show=False),
        # Two keys each: ctrl+n/ctrl+b where the terminal passes them, ctrl+arrows where a
        # browser keeps ctrl+n for itself (text fields keep ctrl+arrows for word moves).
        Binding("ctrl+b,ctrl+left", "previous_step", "Back", show=False),
        Binding("ctrl+n,ctrl+right", "next_step", "Next"),
        Binding("question_mark,f10", "help", "Help", key_display="?"),
        *(
            Binding(f"f{i + 1}", f"go('{name}')", title, show=False)
            for i, (name, title) in enumerate(STEPS)
        ),
    ]

    project: reactive[Project] = reactive(Project, always_update=True)
    host: reactive[HostState] = reactive(HostState, always_update=True)
    plugin_checks: reactive[PluginChecks | None] = reactive(None, always_update=True)
    # By plugin source: the verdict on each prebuilt plugin (see `PrebuiltVerdict`).
    prebuilt_verdicts: reactive[dict[str, PrebuiltVerdict]] = reactive(dict, always_update=True)
    # Host repositories used before, newest first (suggested on the Host step).
    recent: reactive[tuple[str, ...]] = reactive(tuple, always_update=True)
    # Bumped whenever the build session changes state (observers redraw from the session).
    build_revision: reactive[int] = reactive(0)
    # The same for the run session and watch mode.
    run_revision: reactive[int] = reactive(0)
    watch_revision: reactive[int] = reactive(0)
    save_status: reactive[str] = reactive("")
    # This machine's image map and the digests the engine knows for the base images.
    base_images: reactive[BaseImages] = reactive(BaseImages, always_update=True)

    def __init__(
        self,
        document: ProjectDocument,
        project: Project | None = None,
        *,
        engine_factory: EngineFactory,
        repo_opener: RepoOpener,
        base_images: BaseImages | None = None,
        engine_label: str = "",
        watcher_factory: WatcherFactory | None = None,
    ) -> None:
        """`document` is the project file as opened (or a new one); `project` what to start
        from when it differs (options given on the command line). `base_images` is this
        machine's image map (PLUGWIZ_IMAGE_MAP); `engine_label` says which engine the
        wizard talks to, for its header ("" for the local one); `watcher_factory` makes the
        file watcher of watch mode (None: watch mode is not available)."""
        super().__init__()
        self.document = document
        self.set_reactive(PlugwizApp.project, project or document.project)
        self.set_reactive(PlugwizApp.base_images, base_images or BaseImages())
        self.engine_factory = engine_factory
        self.repo_opener = repo_opener
        self.engine_label = engine_label
        self._engine: BuildEngine | None = None
        self._engine_lock = threading.Lock()
        self._digests_for: tuple[str, str] | None = None
        self.session = BuildSession(
            lambda: self.engine, history=BuildHistory(cache_dir() / "history")
        )
        self.session.add_listener(self._session_changed)
        self._drain_timer: Timer | None = None
        self._next_drain = 0.0  # in a flood: no poll before this (time.monotonic())
        self._build_dialogs: list[ModalScreen[Any]] = []
        # Output arrived while the Build screen was not shown: it redraws from the tail.
        self._build_screen_stale = False
        self._gc_frozen = False  # gc.freeze() during a build
        # GOPROXY & co. of the environment the wizard runs in (never their credentials).
        self._module_environment = module_environment(os.environ)
        self._checked_host_module = ""  # the host module the plugin checks knew
        self.run_session = RunSession(lambda: self.engine)
        self.run_session.add_listener(self._run_changed)
        self._run_timer: Timer | None = None
        self._run_dialogs: list[ModalScreen[Any]] = []
        self.watcher_factory = watcher_factory
        self.watch_loop: WatchLoop | None = None
        self._watch_timer: Timer | None = None
        self.watch_messages: list[str] = []  # what watch mode said last (newest last)

    # -- start-up ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self._show_save_status()
        self._load_recent()
        self.check_plugins()
        if self.project.host.repo:
            self.open_host(self.project.host.repo, resolve_after=True)
        self.switch_mode("host")

    @property
    def engine(self) -> BuildEngine:
        """The build engine, made on first use (the docker SDK is imported only then)."""
        with self._engine_lock:  # workers may ask for it at the same time
            if self._engine is None:
                self._engine = self.engine_factory()
            return self._engine

    # -- the project and its file ------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """True when the user changed something since the file was opened or saved (a project
        with no file yet: since the wizard opened it)."""
        if self.document.text is None:
            return self.project != self.document.project
        return self.document.changed(self.project)

    @property
    def project_path(self) -> Path | None:
        return self.document.path

    def update_project(self, project: Project) -> None:
        """Replace the project with the user's change; saved at once when the project has a
        file (opened, given with -o, or saved once), else shown as unsaved."""
        if project == self.project and project.base_dir == self.project.base_dir:
            return
        previous = self.project
        self.project = project
        if (
            project.plugins != previous.plugins
            or project.base_dir != previous.base_dir
            or project.loading.extension != previous.loading.extension
        ):
            self.check_plugins()
            if self.watching and self.watch_loop is not None and self.watcher_factory:
                # Other sources to watch: the watcher follows the list.
                self.watch_loop.watch_files(self.watcher_factory(), project)
        if self.document.path is not None and self.dirty:
            # A project with a file: the user's change is saved as they make it.
            self._save(self.document.path, quiet=True)
        else:
            self._show_save_status()

    def _save(self, path: Path, *, quiet: bool) -> bool:
        try:
            self.document = self.document.save(self.project, path)
        except OSError as exc:
            self.notify(f"could not save {path}: {exc.strerror or exc}", severity="error")
            return False
        if self.document.project.base_dir != self.project.base_dir:
            # Saved to another directory: relative paths were rebased to still name the same
            # files; the project follows them.
            self.project = self.document.project
        self._show_save_status()
        if not quiet:
            self.notify(f"saved {_display_path(path)}", title="Project saved")
        return True

    def _show_save_status(self) -> None:
        path = self.document.path
        target = _display_path(path) if path else f"./{DEFAULT_PROJECT_FILE}"
        if path is not None and (self.document.text is not None or self.dirty):
            self.save_status = (
                f"unsaved: ctrl+s saves {target}" if self.dirty else f"saved to {target}"
            )
        elif path is not None:
            self.save_status = f"saves to {target} when you change something"
        elif self.dirty:
            self.save_status = f"not saved: ctrl+s saves {target}"
        else:
            self.save_status = f"ctrl+s saves {target}"

    def save_to(self, path: Path) -> bool:
        """Save the project to `path` (Save as); relative paths are rebased."""
        return self._save(path, quiet=False)

    # -- the host ----------------------------------------------------------------------------

    @property
    def resolved(self) -> ResolvedProject | None:
        """The project with everything found for it, when that is known and current."""
        project = self.project
        resolved_host = self.host.resolved
        checks = self.plugin_checks
        if resolved_host is None or not resolved_host.matches(project.host):
            return None
        if checks is None or not checks.matches(project):
            return None
        return ResolvedProject(
            project, resolved_host, checks.facts, self._module_environment, base=self.base_images
        )

    def request_base_digests(self) -> None:
        """Ask the engine (off the UI thread) for the registry digests of the base images
        the project builds from, unless already asked for these images: the Dockerfile pins
        them, as a build will."""
        from plugwiz.core.pinning import base_images_of

        resolved = self.resolved
        if resolved is None:
            return
        try:
            images = base_images_of(resolved)
        except ProjectError:
            return
        if images == self._digests_for:
            return
        self._digests_for = images
        self._digest_worker(resolved, images)

    @work(thread=True, exclusive=True, group="digests", exit_on_error=False)
    def _digest_worker(self, resolved: ResolvedProject, images: tuple[str, str]) -> None:
        from plugwiz.core.pinning import pin_base_images

        try:
            pinned = pin_base_images(resolved, self.engine.registry_digest)
        except (EngineError, ProjectError):
            return  # no engine: nothing is pinned; the Build step says why
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._digests_found, pinned.base.digests, images)

    def _digests_found(self, digests: tuple[tuple[str, str], ...], images: tuple[str, str]) -> None:
        if images != self._digests_for or digests == self.base_images.digests:
            return
        self.base_images = replace(self.base_images, digests=digests)

    def open_host(self, repo_text: str, *, resolve_after: bool = False) -> None:
        """Open a host repository and list its refs; then resolve the project's ref."""
        same = repo_text == self.host.repo_text and self.host.repo is not None
        self.host = HostState(
            repo_text=repo_text,
            repo=self.host.repo if same else None,
            refs=self.host.refs if same else (),
            resolved=self.host.resolved if same else None,
            busy=f"Opening {repo_text} ...",
        )
        self._open_host_worker(repo_text, resolve_after)

    @work(thread=True, group="recent", exit_on_error=False)
    def _load_recent(self) -> None:
        from plugwiz.ui.recent import load_recent

        recent = tuple(load_recent())
        self.call_from_thread(setattr, self, "recent", recent)

    @work(thread=True, exclusive=True, group="host", exit_on_error=False)
    def _open_host_worker(self, repo_text: str, resolve_after: bool) -> None:
        worker = get_current_worker()
        project = self.project
        try:
            repo = self.repo_opener(replace(project, host=replace(project.host, repo=repo_text)))
            refs = tuple(repo.list_refs())
        except HostRepoError as exc:
            if not worker.is_cancelled:
                self.call_from_thread(
                    self._host_failed, repo_text, "Cannot open the host repository", str(exc), True
                )
            return
        if worker.is_cancelled:
            return
        from plugwiz.ui.recent import remember_recent

        recent = tuple(remember_recent(repo_text))  # a small file: written here, not on the UI
        self.call_from_thread(self._host_opened, repo_text, repo, refs, recent)
        if resolve_after:
            self._resolve_now(repo, repo_text)

    def resolve_ref(self) -> None:
        """Resolve the project's ref (or pin) in the open repository."""
        repo = self.host.repo
        if repo is None:
            return
        revision = host_revision(self.project.host)
        self.host = replace(self.host, busy=f"Resolving {revision} ...", error="", error_title="")
        self._resolve_worker(repo, self.host.repo_text)

    @work(thread=True, exclusive=True, group="host", exit_on_error=False)
    def _resolve_worker(self, repo: HostRepository, repo_text: str) -> None:
        self._resolve_now(repo, repo_text)

    def _resolve_now(self, repo: HostRepository, repo_text: str) -> None:
        worker = get_current_worker()
        host = self.project.host
        try:
            resolved = resolve_host(replace(host, repo=repo_text), repo)
        except RefNotFoundError as exc:
            message = f"The ref {exc.ref!r} does not exist in this repository."
            if exc.suggestions:
                message += "\nClose matches: " + ", ".join(exc.suggestions)
            failure = ("Ref not found", message)
        except DetectError as exc:
            failure = ("Not a Go module plugwiz can build", str(exc))
        except HostRepoError as exc:
            failure = ("Cannot read the host repository", str(exc))
        else:
            if not worker.is_cancelled:
                self.call_from_thread(self._host_resolved, resolved)
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._host_failed, repo_text, *failure, False)

    def _host_opened(
        self,
        repo_text: str,
        repo: HostRepository,
        refs: tuple[GitRef, ...],
        recent: tuple[str, ...],
    ) -> None:
        self.recent = recent
        if repo_text != self.project.host.repo:
            return  # the user moved on to another repository meanwhile
        self.host = replace(
            self.host, repo_text=repo_text, repo=repo, refs=refs, busy="", error="", error_title=""
        )

    def _host_resolved(self, resolved: ResolvedHost) -> None:
        if resolved.repo != self.project.host.repo:
            return
        module_before = self._checked_host_module
        self.host = replace(self.host, resolved=resolved, busy="", error="", error_title="")
        if resolved.facts.gomod.module != module_before:
            # A plugin's go.mod may name a checkout of this host: look at them again.
            self.check_plugins()
        self._examine_prebuilt()

    def _host_failed(self, repo_text: str, title: str, text: str, opening: bool) -> None:
        if repo_text != self.project.host.repo:
            return
        if opening:
            # Nothing of an earlier repository may stay on screen as if it were this one's.
            self.host = HostState(repo_text=repo_text, error_title=title, error=text)
        else:
            self.host = replace(self.host, resolved=None, busy="", error_title=title, error=text)

    # -- plugin sources ----------------------------------------------------------------------

    def check_plugins(self) -> None:
        """Look at every custom plugin source on disk (off the UI thread)."""
        resolved_host = self.host.resolved
        self._checked_host_module = resolved_host.facts.gomod.module if resolved_host else ""
        self._check_plugins_worker(self.project, self._checked_host_module)

    @work(thread=True, exclusive=True, group="plugins", exit_on_error=False)
    def _check_plugins_worker(self, project: Project, host_module: str = "") -> None:
        facts = inspect_plugins(project, host_module)
        signatures = tuple(source_signature(project.source_path(p.source)) for p in project.plugins)
        checks = PluginChecks(
            project.plugins, project.base_dir, project.loading.extension, facts, signatures
        )
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._plugins_checked, checks)

    def _plugins_checked(self, checks: PluginChecks) -> None:
        if checks.matches(self.project):
            self.plugin_checks = checks
            self._examine_prebuilt()

    def _examine_prebuilt(self) -> None:
        """Examine every prebuilt plugin against this host (off the UI thread) unless its
        verdict is still about the same file and commit."""
        resolved = self.resolved
        checks = self.plugin_checks
        repo = self.host.repo
        if resolved is None or checks is None or repo is None:
            return
        wanted: dict[str, tuple[Path, tuple[tuple[str, int, int], ...]]] = {}
        for index, plugin in enumerate(resolved.project.plugins):
            if checks.facts[index].kind is not PluginKind.PREBUILT:
                continue
            known = self.prebuilt_verdicts.get(plugin.source)
            signature = checks.signatures[index]
            if known is None or known.signature != signature or known.sha != resolved.sha:
                wanted[plugin.source] = (resolved.project.source_path(plugin.source), signature)
        if wanted:
            self._examine_worker(resolved, repo, wanted)

    @work(thread=True, exclusive=True, group="prebuilt", exit_on_error=False)
    def _examine_worker(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        wanted: dict[str, tuple[Path, tuple[tuple[str, int, int], ...]]],
    ) -> None:
        from plugwiz.core.buildinfo import NotAGoBinaryError
        from plugwiz.core.hosts import explain_plugin, host_for_project, read_plugin

        verdicts: dict[str, PrebuiltVerdict] = {}
        try:
            host = host_for_project(self.engine, resolved, repo)
        except (EngineError, ProjectError, HostRepoError, NotAGoBinaryError, OSError) as exc:
            for source, (_path, signature) in wanted.items():
                verdicts[source] = PrebuiltVerdict(
                    signature, resolved.sha, None, f"cannot examine it against the host: {exc}"
                )
        else:
            for source, (path, signature) in wanted.items():
                try:
                    facts = read_plugin(path)
                except (NotAGoBinaryError, OSError) as exc:
                    verdicts[source] = PrebuiltVerdict(signature, resolved.sha, None, str(exc))
                    continue
                explanation = explain_plugin(facts, host, path.name)
                verdicts[source] = PrebuiltVerdict(signature, resolved.sha, explanation)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._examined, verdicts)

    def _examined(self, verdicts: dict[str, PrebuiltVerdict]) -> None:
        self.prebuilt_verdicts = {**self.prebuilt_verdicts, **verdicts}

    # -- the build session -------------------------------------------------------------------

    def start_build(self) -> str | None:
        """Start a build of the current project; the reason it cannot start, or None."""
        if self.session.active:
            return "a build is already running"
        resolved = self.resolved
        repo = self.host.repo
        if resolved is None or repo is None:
            if self.host.resolved is None:
                return "The host is not resolved yet: pick a ref on the Host step first."
            return "The plugin sources are still being checked: try again in a moment."
        self.session.start(
            resolved,
            repo,
            tag=resolved.project.tag,
            log_path=new_log_path(),
            history_key=self.history_key,
        )
        self._ensure_drain_timer()
        return None

    def _drain(self) -> None:
        """Move what the build queued onto the Build screen (or keep it for later)."""
        from plugwiz.ui.screens.build import BuildScreen

        # The screen shown before the poll gets its lines, even if the poll ends the build
        # and the wizard moves on to the Result step.
        screen = self.screen
        now = time.monotonic()
        if now < self._next_drain:
            return  # a flood: the screen takes it in bigger, fewer batches
        flood = self._next_drain > 0
        result = self.session.poll(FLOOD_POLL_BUDGET_S if flood else POLL_BUDGET_S)
        self._next_drain = 0.0
        if result.dropped:
            self._next_drain = now + FLOOD_DRAIN_INTERVAL
        if isinstance(screen, BuildScreen) and self._screen_ready(screen):
            screen.show_poll(result)
        elif result:
            self._build_screen_stale = True
        if not self.session.active and self._drain_timer is not None:
            self._drain_timer.pause()

    def _screen_ready(self, screen: Screen[Any]) -> bool:
        """True when `screen` has its widgets: not when a step shown for the first time is
        still being composed (a key can start a build before that), nor while the app is
        shutting down (its screens lose their widgets while the timers still run)."""
        return self.is_running and screen.is_mounted

    @property
    def history_key(self) -> str:
        """Which builds are this project's in the history: its file's path, or its tag."""
        path = self.document.path
        return str(path.resolve()) if path is not None else self.project.tag

    def take_build_screen_stale(self) -> bool:
        """True once after output arrived while the Build screen was not shown."""
        stale, self._build_screen_stale = self._build_screen_stale, False
        return stale

    def ask_cancel_build(self) -> None:
        """Ask before cancelling the running build."""
        if not self.session.active:
            return
        self.push_build_dialog(
            confirm_dialog(
                "Cancel the build?",
                "The build stops and nothing is tagged.",
                yes="Cancel build",
                no="Keep building",
            ),
            self._cancel_answered,
        )

    def _cancel_answered(self, answer: Answer | None) -> None:
        if answer is Answer.YES:
            self.session.cancel()

    def push_build_dialog(
        self, dialog: ModalScreen[Any], callback: Callable[[Any], object]
    ) -> None:
        """Show a dialog about the running build; it closes by itself when the build ends."""

        async def answered(value: Any) -> None:
            if dialog in self._build_dialogs:
                self._build_dialogs.remove(dialog)
            result = callback(value)
            if inspect.isawaitable(result):
                await result

        self._build_dialogs.append(dialog)
        self.push_screen(dialog, answered)

    def _session_changed(self, session: BuildSession) -> None:
        self.build_revision += 1
        if session.active:
            if not self._gc_frozen:
                # While a build runs, Python's cycle collector leaves alone what existed before
                # it (the steps' widgets, styles, modules): a flood's full collection took
                # 130-180 ms of the UI thread, 31-38 ms so. Unfrozen when the build ends.
                gc.freeze()
                self._gc_frozen = True
            return
        self._unfreeze_gc()
        if not self.is_running:
            return  # shutting down: no step to move to (a new mode breaks Textual's close)
        # The sources may have changed since they were last looked at (an edit before the
        # build): look again, so a plugin's status is about the files as they are.
        self.check_plugins()
        closed = self._close_build_dialogs()
        outcome = {
            BuildState.SUCCEEDED: "The build succeeded",
            BuildState.FAILED: "The build failed",
            BuildState.CANCELLED: "The build was cancelled",
        }.get(session.state, "The build stopped")
        if closed:
            self.notify(
                f"{outcome} before you answered, so there is nothing left to cancel.",
                title="Build ended",
            )
        if session.state is BuildState.SUCCEEDED:
            if self.current_mode == "build":
                # Once the poll that ended the build has put its last lines on the Build
                # screen (opening the Result step the first time takes a few frames).
                self.call_later(self._show_result_of, session.generation)
            else:
                self.notify(f"Built {session.tag}: see the Result step (F5).", title="Built")
        elif session.state is BuildState.FAILED and self.current_mode != "build":
            if self.watching and self.current_mode == "result":
                # Watch mode: the compile errors, beside the host's last output.
                self.switch_mode("build")
            else:
                self.notify("The build failed: see the Build step (F4).", severity="error")

    def _unfreeze_gc(self) -> None:
        """Undo the build's gc.freeze(): what existed before it is collected again."""
        if self._gc_frozen:
            gc.unfreeze()
            self._gc_frozen = False

    def _show_result_of(self, generation: int) -> None:
        """Move on to the Result step if the build that succeeded is still the last one and
        the user is still on the Build step."""
        session = self.session
        if (
            session.generation == generation
            and session.state is BuildState.SUCCEEDED
            and self.current_mode == "build"
            and self.is_running
        ):
            self.switch_mode("result")

    # -- the live run -------------------------------------------------------------------------

    def start_run(self) -> str | None:
        """Run the project's image live with its run settings; the reason it cannot start,
        or None."""
        if self.run_session.active:
            return "the image is already running: stop it first (s)"
        project = self.project
        settings = project.run
        self.run_session.start(
            run_spec_for(project.tag, settings.args, settings.env, settings.ports)
        )
        self._ensure_run_timer()
        return None

    def stop_run(self) -> bool:
        """Stop the live run (its container is then removed); False when none runs."""
        return self.run_session.stop()

    def _ensure_run_timer(self) -> None:
        if self._run_timer is None:
            self._run_timer = self.set_interval(DRAIN_INTERVAL, self._drain_run)
        else:
            self._run_timer.resume()

    def _drain_run(self) -> None:
        """Move what the run printed onto the Result screen (it redraws from the tail when
        shown later)."""
        from plugwiz.ui.screens.result import ResultScreen

        screen = self.screen
        result = self.run_session.poll()
        if isinstance(screen, ResultScreen) and self._screen_ready(screen):
            screen.show_run_poll(result)  # (one not ready yet draws the run when it mounts)
        if not self.run_session.active and self._run_timer is not None:
            self._run_timer.pause()

    def push_run_dialog(self, dialog: ModalScreen[Any], callback: Callable[[Any], object]) -> None:
        """Show a dialog about the live run; it closes by itself when the run ends."""

        def answered(value: Any) -> None:
            if dialog in self._run_dialogs:
                self._run_dialogs.remove(dialog)
            callback(value)

        self._run_dialogs.append(dialog)
        self.push_screen(dialog, answered)

    def _run_changed(self, session: RunSession) -> None:
        self.run_revision += 1
        if self.session.record_run(session):
            # The run of the image just built is its build's smoke stage in the explorer.
            self.build_revision += 1
        if session.active:
            return
        while self._run_dialogs and self.screen is self._run_dialogs[-1]:
            self._run_dialogs.pop().dismiss(None)
        self._run_dialogs = [d for d in self._run_dialogs if d.is_attached]

    def stop_everything(self, timeout: float = RUN_STOP_TIMEOUT) -> bool:
        """Stop watch mode, the build and the live run, and wait until the container is gone
        (blocking: for quitting). True when nothing is left running."""
        if self.watch_loop is not None:
            self.watch_loop.stop()
        if self.session.active:
            self.session.cancel()
            self.session.wait(timeout)
        return self.run_session.stop_and_wait(timeout)

    def on_unmount(self) -> None:
        # The app is closing (quit, a closed browser tab, the end of a test): no container
        # of ours may outlive it.
        self.stop_everything()
        self._unfreeze_gc()  # (a build was still running)

    # -- watch mode --------------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        """True while watch mode is on."""
        return self.watch_loop is not None and self.watch_loop.active

    @property
    def watch_phase(self) -> WatchPhase:
        """What watch mode is doing (OFF when it is off)."""
        from plugwiz.core.watch import WatchPhase

        return self.watch_loop.phase if self.watch_loop is not None else WatchPhase.OFF

    def toggle_watch(self) -> str | None:
        """Turn watch mode on (a build and a run now, then again at every save of a plugin
        source) or off (the build is cancelled, the host stopped). The reason it cannot be
        turned on, or None."""
        if self.watching and self.watch_loop is not None:
            self.watch_loop.stop()
            if self._watch_timer is not None:
                self._watch_timer.pause()
            self.watch_messages = ["watch mode off"]
            self.watch_revision += 1
            self.notify("Watch mode off: the host was stopped.", title="Watch")
            return None
        if self.watcher_factory is None:
            return "watch mode is not available here (no file watcher)"
        from plugwiz.core.watch import WatchLoop, watch_targets

        if not watch_targets(self.project):
            return "no plugin source to watch: add a .go file or a directory on the Plugins step"
        if self.session.active:
            return "a build is running: wait for it (or cancel it) first"
        self.run_session.stop()
        loop = WatchLoop(self.session, self.run_session, self._prepare_watch_round)
        self.watch_loop = loop
        loop.start()
        loop.watch_files(self.watcher_factory(), self.project)
        self.watch_messages = ["watch mode on"]
        if self._watch_timer is None:
            self._watch_timer = self.set_interval(DRAIN_INTERVAL, self._watch_tick)
        else:
            self._watch_timer.resume()
        self.watch_revision += 1
        self.notify(
            "Watch mode on: every save of a plugin's source rebuilds and reruns the host.",
            title="Watch",
        )
        return None

    def _prepare_watch_round(self) -> Prepared:
        from plugwiz.core.watch import Prepared

        resolved = self.resolved
        repo = self.host.repo
        if resolved is None or repo is None:
            raise ProjectError("the host is not resolved yet (Host step) or a plugin is unchecked")
        project = resolved.project
        settings = project.run
        spec = run_spec_for(project.tag, settings.args, settings.env, settings.ports)
        return Prepared(resolved, repo, project.tag, new_log_path(), spec, self.history_key)

    def _watch_tick(self) -> None:
        loop = self.watch_loop
        if loop is None:
            return
        before = loop.phase
        messages = loop.tick()
        if self.session.active:
            self._ensure_drain_timer()
        if self.run_session.active:
            self._ensure_run_timer()
        if messages:
            self.watch_messages = (self.watch_messages + messages)[-20:]
            if any(m.startswith("saved:") for m in messages):
                # Sources changed on disk: their checks and signatures are looked at again.
                self.check_plugins()
        if messages or loop.phase is not before:
            self.watch_revision += 1
        if not loop.active and self._watch_timer is not None:
            self._watch_timer.pause()

    def _ensure_drain_timer(self) -> None:
        if self._drain_timer is None:
            self._drain_timer = self.set_interval(DRAIN_INTERVAL, self._drain)
        else:
            self._drain_timer.resume()

    def _close_build_dialogs(self) -> bool:
        """Close the dialogs about the build that has just ended (they are on top: steps
        cannot change while a dialog is open)."""
        closed = False
        while self._build_dialogs and self.screen is self._build_dialogs[-1]:
            dialog = self._build_dialogs.pop()
            dialog.dismiss(None)
            closed = True
        self._build_dialogs = [d for d in self._build_dialogs if d.is_attached]
        return closed

    # -- steps and keys ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A dialog wants an answer: the steps do not change behind it.
        blocked = action in ("go", "previous_step", "next_step", "save", "help")
        return not (blocked and isinstance(self.screen, ModalScreen))

    def action_go(self, step: str) -> None:
        if step in STEP_NAMES and self.current_mode != step:
            self.switch_mode(step)

    def action_previous_step(self) -> None:
        index = STEP_NAMES.index(self.current_mode)
        if index > 0:
            self.switch_mode(STEP_NAMES[index - 1])

    def action_next_step(self) -> None:
        index = STEP_NAMES.index(self.current_mode)
        if index < len(STEP_NAMES) - 1:
            self.switch_mode(STEP_NAMES[index + 1])

    def action_save(self) -> None:
        """Save the project to its file, or ./plugwiz.yaml."""
        self._save(self.document.path or Path.cwd() / DEFAULT_PROJECT_FILE, quiet=False)

    def action_save_as(self) -> None:
        """Ask where to save the project, then save it there."""
        from plugwiz.ui.dialogs.save_path import SavePathDialog

        current = self.document.path or Path.cwd() / DEFAULT_PROJECT_FILE

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.save_to(path)

        self.push_screen(
            SavePathDialog("Save the project as", current, what="project file"), chosen
        )

    def action_toggle_watch(self) -> None:
        """Turn watch mode on or off (says why not, when it cannot)."""
        problem = self.toggle_watch()
        if problem:
            self.notify(problem, severity="warning", title="Watch")

    def action_help(self) -> None:
        """Show every key of the current step."""
        from plugwiz.ui.dialogs.help import HelpDialog

        self.push_screen(HelpDialog(self.screen))

    async def action_quit(self) -> None:
        """Quit; asks first while a build runs (and cancels it) or when changes are unsaved."""
        if self.session.active:
            self.push_build_dialog(
                confirm_dialog(
                    "Quit during the build?",
                    "The build is still running. Cancel it and quit?",
                    yes="Cancel build and quit",
                ),
                self._quit_after_build_dialog,
            )
            return
        if self.run_session.state is RunState.RUNNING and not self.watching:
            # Closes by itself if the host stops meanwhile: then nothing is left to ask about.
            self.push_run_dialog(
                confirm_dialog(
                    "Quit while the image runs?",
                    "The host is still running. Stop it (its container is removed) and quit?",
                    yes="Stop it and quit",
                ),
                self._quit_after_run_dialog,
            )
            return
        self._quit_unless_unsaved()

    def _quit_after_run_dialog(self, answer: Answer | None) -> None:
        if answer is Answer.YES:
            self.run_session.stop()  # on_unmount waits for the container to be gone
            self._quit_unless_unsaved()

    def _quit_unless_unsaved(self) -> None:
        if not self.dirty:
            self.exit(0)
            return
        target = self.document.path or Path.cwd() / DEFAULT_PROJECT_FILE
        dialog = ChoiceDialog(
            "Save before quitting?",
            f"You changed the project since it was last saved. Save it to {_display_path(target)}?",
            [
                (Answer.BACK, "Back", "default"),
                (Answer.DISCARD, "Quit without saving", "error"),
                (Answer.SAVE, "Save and quit", "primary"),
            ],
        )
        self.push_screen(dialog, self._quit_after_save_dialog)

    async def _quit_after_build_dialog(self, answer: Answer | None) -> None:
        if answer is not Answer.YES:
            return
        if self.session.cancel():
            # Quitting either way: a worker that does not stop in time must not block it.
            await self._wait_for_session(10.0)
        self._quit_unless_unsaved()

    async def _wait_for_session(self, timeout: float) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.session.wait, timeout)
        self.session.poll(budget_s=1.0)

    def _quit_after_save_dialog(self, answer: Answer | None) -> None:
        target = self.document.path or Path.cwd() / DEFAULT_PROJECT_FILE
        saved = answer is Answer.SAVE and self._save(target, quiet=True)
        if saved or answer is Answer.DISCARD:
            self.exit(0)

    def get_key_display(self, binding: Binding) -> str:
        """In a browser, the footer shows the keys that reach the page (a browser keeps
        ctrl+n for a new window): ctrl+→ for Next."""
        if self.is_web and binding.key in WEB_KEY_DISPLAY:
            return WEB_KEY_DISPLAY[binding.key]
        return super().get_key_display(binding)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): every wizard action, then Textual's own."""
        for index, (name, title) in enumerate(STEPS, start=1):
            yield SystemCommand(
                f"Go to step {index}: {title}",
                f"F{index}, or click it at the top",
                lambda n=name: self.action_go(n),
            )
        yield SystemCommand("Next step", "ctrl+→ (or ctrl+n)", self.action_next_step)
        yield SystemCommand("Previous step", "ctrl+← (or ctrl+b)", self.action_previous_step)
        yield SystemCommand("Save the project", "ctrl+s", self.action_save)
        yield SystemCommand("Save the project as…", "to another file", self.action_save_as)
        yield SystemCommand("Help: keys of this step", "? or F10", self.action_help)
        yield SystemCommand(
            "Watch mode: rebuild and rerun at every save" + (" (on)" if self.watching else ""),
            "w on the Build step",
            self.action_toggle_watch,
        )
        for action in getattr(screen, "PALETTE", ()):
            title, help_text, method = action
            yield SystemCommand(title, help_text, getattr(screen, method))
        yield from super().get_system_commands(screen)


def new_log_path() -> Path:
    """A fresh build log path under the cache directory."""
    return cache_dir() / "logs" / f"build-{datetime.now():%Y%m%d-%H%M%S-%f}.log"


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def make_app(
    project: Project | None,
    project_path: Path | None,
    *,
    engine_factory: EngineFactory,
    repo_opener: RepoOpener,
    document: ProjectDocument | None = None,
    base_images: BaseImages | None = None,
    engine_label: str = "",
    watcher_factory: WatcherFactory | None = None,
) -> PlugwizApp:
    """The wizard for `project` (None: the demo project), saving to `project_path` if given.

    `document` is the project file as loaded (its text is what saves patch); without it the
    file at `project_path` is read when it exists, else the project is new. `base_images`
    and `engine_label`: see `PlugwizApp`."""
    from plugwiz.core.project_file import ProjectDocument

    if project is None:
        from plugwiz.core.resolve import demo_project

        base = project_path.resolve().parent if project_path else Path.cwd()
        project = demo_project(base)
    if document is None:
        if project_path is not None and project_path.exists():
            document = ProjectDocument.load(project_path)
        else:
            document = replace(ProjectDocument.new(project), path=project_path)
    return PlugwizApp(
        document,
        project,
        engine_factory=engine_factory,
        repo_opener=repo_opener,
        base_images=base_images,
        engine_label=engine_label,
        watcher_factory=watcher_factory,
    )


def run_wizard(
    project: Project | None,
    project_path: Path | None,
    *,
    engine_factory: EngineFactory,
    repo_opener: RepoOpener,
    document: ProjectDocument | None = None,
    base_images: BaseImages | None = None,
    engine_label: str = "",
    watcher_factory: WatcherFactory | None = None,
) -> int:
    """Run the wizard in the terminal; returns the exit code for the CLI."""
    app = make_app(
        project,
        project_path,
        engine_factory=engine_factory,
        repo_opener=repo_opener,
        document=document,
        base_images=base_images,
        engine_label=engine_label,
        watcher_factory=watcher_factory,
    )
    result = app.run()
    if isinstance(result, int):
        return result
    return app.return_code or 0
