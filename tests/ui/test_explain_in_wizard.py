"""The wizard says why a plugin would not load: a prebuilt plugin is examined when it is added,
and a load-check failure carries its explanation into the failure panel."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import ContentSwitcher, DataTable, Input

from plugwiz.adapters.scripted import ScriptedEngine
from plugwiz.core.buildinfo import read_binary_facts
from plugwiz.core.events import BuildFailed, StepStarted
from plugwiz.core.explain import HostContext, explain
from tests.elf_writer import ElfSpec, build_elf

from .conftest import SIZE, AppMaker, project_for, settle, wait_for
from .helpers import table_rows, text_of


def plugin_so(go_version: str) -> bytes:
    """A prebuilt plugin (an ELF shared object with Go build info) made by `go_version`."""
    return go_binary(go_version, plugin=True)


def host_binary(go_version: str) -> bytes:
    """A host executable that links Go's plugin package, made by `go_version`."""
    return go_binary(go_version, plugin=False)


def go_binary(go_version: str, *, plugin: bool) -> bytes:
    mode = "plugin" if plugin else "exe"
    path = "command-line-arguments" if plugin else "example.com/plugwiz-demo/cmd/demo-host"
    modinfo = (
        f"path\t{path}\n"
        f"build\t-buildmode={mode}\n"
        "build\t-compiler=gc\n"
        "build\t-trimpath=true\n"
        "build\tCGO_ENABLED=1\n"
        "build\tGOARCH=amd64\n"
        "build\tGOOS=linux\n"
        "build\tGOAMD64=v1\n"
    )
    hashes = {} if plugin else {"plugin": b"\x01" * 8, "runtime": b"\x02" * 8}
    return build_elf(
        ElfSpec(
            type=3 if plugin else 2,
            go_version=go_version,
            modinfo=modinfo,
            package_hashes=hashes,
            needed=("libc.so.6",),
            needed_versions={"libc.so.6": ("GLIBC_2.2.5",)},
        )
    )


async def test_a_prebuilt_plugin_from_another_go_is_refused_before_any_build(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    (workdir / "plugins" / "drift.so").write_bytes(plugin_so("go1.22.5"))
    engine = ScriptedEngine()  # the builder has Go 1.19.8; no image built yet
    app = app_for(project_for(host_repo, workdir, plugins=()), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("plugins")
        await settle(pilot)
        app.screen.query_one("#plugin-source", Input).value = "plugins/drift.so"
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.prebuilt_verdicts))
        await settle(pilot)
        rows = table_rows(app.screen.query_one("#plugins-table", DataTable))
        assert rows[0][1:5] == ["drift", "plugins/drift.so", "prebuilt", "would not load"]
        detail = text_of(app.screen.query_one("#plugin-detail"))
        assert "Go 1.22" in detail and "1.19.8" in detail
        assert "Fix: rebuild the plugin with Go 1.19.8" in detail
        assert not engine.builds  # said before any build


async def test_a_load_check_failure_shows_the_explanation(
    app_for: AppMaker, host_repo: Path, workdir: Path
) -> None:
    plugin = read_binary_facts(plugin_so("go1.22.5"))
    host = read_binary_facts(host_binary("go1.19.8"))
    explanation = explain(plugin, host, HostContext(label="the host"), plugin_label="drift")
    failed = BuildFailed(
        message='plugin.Open("/out/plugins/drift"): plugin was built with a different version '
        "of package internal/goarch",
        step=12,
        title="RUN PLUGWIZ_LOADCHECK=/out/plugins/drift.so /plugwiz/loadcheck",
        last_lines=(),
        locations=(),
        plugin="drift",
        explanation=explanation,
    )
    engine = ScriptedEngine(events=[StepStarted(12, 14, failed.title, "check"), failed])
    app = app_for(project_for(host_repo, workdir), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_go("build")
        await settle(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: not app.session.active)
        await settle(pilot)
        # The build explorer opens the explanation by itself, beside the stages.
        switcher = app.screen.query_one("#explorer-right", ContentSwitcher)
        assert switcher.current == "explain-view"
        why = text_of(app.screen.query_one("#explanation"))
        assert "The plugin was built with Go 1.22" in why
        assert "Fix: rebuild the plugin with Go 1.19.8" in why
        # Escape: the log, with the failure and where the explanation is.
        await pilot.press("escape")
        await settle(pilot)
        panel = text_of(app.screen.query_one("#failure"))
        assert "different version of package internal/goarch" in panel
        assert "x says why it would not load" in panel
