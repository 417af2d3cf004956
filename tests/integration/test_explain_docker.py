"""`plugwiz explain` and the build-facts reader on real Go binaries built in the offline builders.

The binaries are built once for this module (see tests/explain_binaries.py; about 45 s); the
extra builder images are made by scripts/setup (or here, when missing and we are root).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugwiz import cli, commands
from plugwiz.adapters.docker_engine import DockerEngine
from plugwiz.core.buildinfo import NotAGoBinaryError, read_binary_facts
from plugwiz.core.events import BuildFailed
from plugwiz.core.explain import (
    KIND_BUILD_FLAGS,
    KIND_GO_VERSION,
    KIND_HOST_REVISION,
    KIND_MODULE_VERSION,
    explain,
)
from plugwiz.core.model import PluginSource
from plugwiz.core.report import go_version_from_binary
from plugwiz.core.resolve import demo_project
from plugwiz.service import open_repo, resolve
from tests.explain_binaries import EXPLAIN, EXTRA_IMAGES, build_all
from tests.helpers import OFFLINE_RUNTIME, ImageTracker, make_git_repo
from tests.integration.test_docker_build import build_drifted_plugin

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tracker(docker_engine: DockerEngine) -> Iterator[ImageTracker]:
    tracker = ImageTracker(docker_engine.client, "plugwiz-explain-test")
    yield tracker
    tracker.cleanup()


@pytest.fixture(scope="module")
def binaries(
    docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Every binary the tests read, built once (the extra builders made when missing).

    PLUGWIZ_EXPLAIN_BINARIES=DIR reuses the binaries of an earlier run (`build_all` wrote
    them there): for working on these tests, not for CI.
    """
    reuse = os.environ.get("PLUGWIZ_EXPLAIN_BINARIES")
    if reuse and not os.environ.get("CI"):
        return {path.name: path for path in Path(reuse).iterdir()}
    missing = [image for image in EXTRA_IMAGES if not docker_engine.image_exists(image)]
    if missing:
        if os.geteuid() != 0:
            pytest.skip(f"missing {', '.join(missing)}: run scripts/make-go-image as root")
        for args in (["--go", "1.22"], ["--suite", "trixie"]):
            subprocess.run(["bash", str(ROOT / "scripts" / "make-go-image"), *args], check=True)
    return build_all(docker_engine.client, tmp_path_factory.mktemp("explain-binaries"))


@pytest.fixture(scope="module")
def host_image(
    docker_engine: DockerEngine, tracker: ImageTracker, binaries: dict[str, Path]
) -> str:
    """A runtime image (bookworm) whose CMD runs the fixture host, like one plugwiz builds."""
    files = {
        "xhost": binaries["host"].read_bytes(),
        "Dockerfile": (
            f"FROM {OFFLINE_RUNTIME}\nCOPY xhost /app/xhost\n".encode()
            + b"LABEL org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567\n"
            b'CMD ["/app/xhost"]\n'
        ),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    tag = tracker.tag("host")
    for chunk in docker_engine.client.api.build(
        fileobj=io.BytesIO(buffer.getvalue()), custom_context=True, tag=tag, decode=True, rm=True
    ):
        assert "error" not in chunk, chunk
        if "aux" in chunk:
            tracker.images.append(chunk["aux"]["ID"])
    return tag


def run_explain(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["explain", *args])
    return code, capsys.readouterr().out


# -- the reader on real binaries -----------------------------------------------------------


def test_reader_on_a_real_host_stripped_and_not(binaries: dict[str, Path]) -> None:
    host = read_binary_facts(binaries["host"])
    assert host.kind == "executable" and not host.is_plugin
    assert host.go_version.startswith("go1.19.")
    assert host.path == "example.com/xhost/cmd/xhost"
    assert host.main is not None and host.main.path == "example.com/xhost"
    (colors,) = host.deps
    assert (colors.path, colors.version) == ("example.org/colors", "v1.0.0")
    assert colors.sum.startswith("h1:")
    assert host.setting("-trimpath") == "true" and host.trimpath is True
    assert host.setting("CGO_ENABLED") == "1" and host.cgo_enabled is True
    assert (host.goos, host.goarch, host.arch_level) == ("linux", "amd64", ("GOAMD64", "v1"))
    assert host.setting("vcs") == "git"
    assert len(host.setting("vcs.revision") or "") == 40
    assert host.setting("vcs.modified") == "false"
    assert host.needed_libraries == ("libc.so.6",)
    assert "GLIBC_2.34" in host.glibc_needed and host.glibc_required == "2.34"
    assert host.can_load_plugins
    assert {"plugin", "runtime", "example.com/xhost/provider", "example.org/colors"} <= set(
        host.hashes
    )
    stripped = read_binary_facts(binaries["host-stripped"].read_bytes())
    assert stripped.go_version == host.go_version and stripped.deps == host.deps
    # With -trimpath, Go leaves -ldflags out of the build info; the symbol table is gone.
    assert stripped.setting("-trimpath") == "true"
    # Stripping drops .symtab, never the dynamic symbols Go's plugin check uses.
    assert stripped.hashes == host.hashes
    assert go_version_from_binary(binaries["host"].read_bytes()) == host.go_version


def test_reader_on_real_plugins(binaries: dict[str, Path]) -> None:
    old = read_binary_facts(binaries["match.so"])
    assert old.kind == "plugin" and old.is_plugin
    # Go 1.19 writes no build info into plugins; the function table still tells the release.
    assert not old.has_build_info and old.go_version == ""
    assert old.go_version_hint == "go1.18 or go1.19"
    assert old.trimpath is True
    assert "example.com/xhost/plugwiz_plugins/p" in old.hashes
    stripped = read_binary_facts(binaries["match-stripped.so"])
    assert stripped.hashes == old.hashes
    notrim = read_binary_facts(binaries["notrim.so"])
    assert notrim.trimpath is False and notrim.goroot == "/usr/lib/go-1.19"
    new = read_binary_facts(binaries["go122.so"])
    assert new.has_build_info and new.go_version.startswith("go1.22.")
    assert new.setting("-buildmode") == "plugin"
    assert new.path == "example.com/xhost/plugwiz_plugins/p"
    assert [d.path for d in new.deps] == ["example.org/colors"]
    glibc = read_binary_facts(binaries["glibc.so"])
    assert glibc.glibc_required == "2.38" and "GLIBC_2.38" in glibc.glibc_needed


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_real_binaries_never_crash_the_reader(
    binaries: dict[str, Path], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(["host-stripped", "match-stripped.so", "go122.so"]))
    blob = bytearray(binaries[name].read_bytes())
    cut = data.draw(st.integers(min_value=0, max_value=len(blob)))
    if data.draw(st.booleans()):
        blob = blob[:cut]
    for _ in range(data.draw(st.integers(min_value=0, max_value=8))):
        if not blob:
            break
        index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[index] = data.draw(st.integers(min_value=0, max_value=255))
    try:
        read_binary_facts(bytes(blob))
    except NotAGoBinaryError as error:
        assert str(error).startswith("the file: ")


# -- explain against a host binary, an image, a project --------------------------------------


def test_matching_plugin_would_load(
    binaries: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_explain(
        str(binaries["match.so"]), "--host", str(binaries["host"]), capsys=capsys
    )
    assert code == 0, out
    assert "Nothing would stop it loading." in out
    assert "24 shared, 0 with a different hash" in out


@pytest.mark.parametrize(
    ("plugin", "kind", "title", "fix"),
    [
        (
            "go122.so",
            KIND_GO_VERSION,
            "the plugin was built with Go 1.22.",
            "rebuild the plugin with Go 1.19.",
        ),
        ("notrim.so", KIND_BUILD_FLAGS, "the plugin was built without -trimpath", "add -trimpath"),
        (
            "dep.so",
            KIND_MODULE_VERSION,
            "module example.org/colors is v1.0.0 in the host",
            "require example.org/colors v1.0.0 in the plugin's go.mod",
        ),
        (
            "changed.so",
            KIND_HOST_REVISION,
            "package example.com/xhost/provider differs",
            "build it with plugwiz against this host",
        ),
    ],
)
def test_first_finding_and_fix(
    binaries: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    plugin: str,
    kind: str,
    title: str,
    fix: str,
) -> None:
    code, out = run_explain(
        str(binaries[plugin]), "--host", str(binaries["host"]), "--json", capsys=capsys
    )
    assert code == 1, out
    data = json.loads(out)
    first = data["findings"][0]
    assert first["kind"] == kind and first["blocking"], first
    assert first["title"].startswith(title), first["title"]
    assert first["fix"].startswith(fix), first["fix"]
    assert data["loads"] is False
    # The text form says the same, first.
    code, text = run_explain(str(binaries[plugin]), "--host", str(binaries["host"]), capsys=capsys)
    assert code == 1
    assert text.split("\n1. ", 1)[1].lower().startswith(title.lower())
    assert f"Fix: {fix}" in text


def test_changed_host_package_shows_both_revisions(binaries: dict[str, Path]) -> None:
    host = read_binary_facts(binaries["host"])
    result = explain(read_binary_facts(binaries["changed.so"]), host)
    finding = result.findings[0]
    assert finding.kind == KIND_HOST_REVISION
    assert finding.packages == ("example.com/xhost/provider",)
    rows = {row[0]: row[1:] for row in finding.rows}
    assert rows["revision"][0] == host.setting("vcs.revision")
    assert rows["modified"][0] == "false"
    assert result.mismatched_packages == ("example.com/xhost/provider",)


def test_newer_glibc_against_a_bookworm_image(
    binaries: dict[str, Path], host_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_explain(str(binaries["glibc.so"]), "--image", host_image, capsys=capsys)
    assert code == 1, out
    assert f"the host /app/xhost in {host_image}" in out
    assert f"runtime  the image {host_image}: glibc 2.36" in out
    first = out.split("\n1. ", 1)[1]
    assert first.startswith(f"The plugin needs glibc 2.38, the image {host_image} has glibc 2.36")
    assert "Fix: build the plugin on a system with glibc 2.36 or older" in first
    # The matching plugin loads into the image's host too, with the image's revision label.
    code, out = run_explain(
        str(binaries["match.so"]), "--image", host_image, "--json", capsys=capsys
    )
    assert code == 0
    data = json.loads(out)
    assert data["runtime_glibc"] == "2.36" and data["loads"] is True
    assert data["host"]["revision"] == "0123456789abcdef0123456789abcdef01234567"


def test_inputs_that_are_not_go_binaries_exit_2(
    binaries: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x03\x00" + b"\0" * 40)
    code, out = run_explain(str(junk), "--host", str(binaries["host"]), capsys=capsys)
    assert code == 2 and out.startswith(f"error: {junk}: ")
    code, out = run_explain(
        str(binaries["match.so"]), "--host", str(tmp_path / "nope"), capsys=capsys
    )
    assert (code, out.strip()) == (2, f"error: {tmp_path / 'nope'} does not exist")
    code, out = run_explain(str(binaries["match.so"]), "--image", OFFLINE_RUNTIME, capsys=capsys)
    assert code == 2 and f"/bin/bash in {OFFLINE_RUNTIME}: an ELF file, but not one Go built" in out


def test_against_a_project_without_an_image_predicts_the_host(
    binaries: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "xhost"
    make_git_repo(EXPLAIN / "host", repo)
    project_file = tmp_path / "plugwiz.yaml"
    project_file.write_text(
        f"version: 1\nhost: {{repo: {repo}}}\ntag: plugwiz-explain-test-absent:never\n"
    )
    code, out = run_explain(str(binaries["go122.so"]), str(project_file), capsys=capsys)
    assert code == 1, out
    assert "predicted: Go executable, go1.19.8, example.com/xhost/cmd/xhost, -trimpath" in out
    assert "no image plugwiz-explain-test-absent:never yet, so the host is predicted" in out
    assert out.split("\n1. ", 1)[1].startswith("The plugin was built with Go 1.22.")
    code, out = run_explain(str(binaries["match.so"]), str(project_file), capsys=capsys)
    assert code == 0, out


# -- a failed build carries the explanation --------------------------------------------------


def test_failed_load_check_carries_the_explanation(
    docker_engine: DockerEngine, tracker: ImageTracker, tmp_path: Path, fresh_cache: Path
) -> None:
    # The drifted plugin of the load-check test: built like plugwiz would, against a changed
    # provider package of the demo host.
    drift = build_drifted_plugin(docker_engine, tracker, tmp_path / "drift.so")
    project = demo_project(base_dir=tmp_path)
    project = replace(project, plugins=(*project.plugins, PluginSource(source=str(drift))))
    resolved = resolve(project)
    tag = tracker.tag("build")
    events = list(
        docker_engine.build(resolved, open_repo(project), tag=tag, log_path=tmp_path / "b.log")
    )
    tracker.images.extend(docker_engine.last_build_images)
    failed = events[-1]
    assert isinstance(failed, BuildFailed), events[-3:]
    assert "different version of package example.com/plugwiz-demo/provider" in failed.message
    assert failed.explanation is not None
    first = failed.explanation.findings[0]
    assert first.kind == KIND_HOST_REVISION, first
    assert first.packages == ("example.com/plugwiz-demo/provider",)
    assert first.fix == "build it with plugwiz against this host"
    assert failed.explanation.context.revision == resolved.sha
    assert failed.explanation.context.runtime_glibc == "2.36"
    # The wizard gets the same value, with its JSON form.
    assert failed.explanation.to_json()["findings"][0]["kind"] == KIND_HOST_REVISION

    # The CLI prints Go's line, then the explanation (the check step runs again: ~seconds).
    out = io.StringIO()
    code = commands.build_command(
        resolved, tag=tag, log_path=tmp_path / "c.log", out=out, engine=docker_engine
    )
    tracker.images.extend(docker_engine.last_build_images)
    text = out.getvalue()
    assert code == 1, text
    reason = text.index("reason: plugin.Open")
    assert "plugin was built with a different version of package" in text[reason:]
    why = text.index("why:")
    assert reason < why
    assert "package example.com/plugwiz-demo/provider differs" in text[why:]
    assert "Fix: build it with plugwiz against this host." in text[why:]
