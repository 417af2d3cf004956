"""ImageReport checks and JSON, and reading the Go version from a real Go binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from plugwiz.core.report import ImageReport, PluginFile, format_report, go_version_from_binary


def report(**changes: object) -> ImageReport:
    values: dict[str, object] = {
        "tag": "demo:latest",
        "image_id": "sha256:" + "ab" * 32,
        "size": 90_000_000,
        "cmd": ["/app/host", "--prov", "/app/plugins/a.so"],
        "entrypoint": [],
        "workdir": "/app",
        "host_repo": "https://example.com/host.git",
        "host_commit": "f" * 40,
        "host_module": "example.com/host",
        "go_version": "go1.19.8",
        "plugins": [
            PluginFile("/app/plugins/a.so", 10, "1" * 64, in_cmd=True),
            PluginFile("/app/plugins/b.so", 20, "2" * 64, in_cmd=False),
        ],
        "missing": ["/app/plugins/c.so"],
        "labels": {"dev.plugwiz.host.module": "example.com/host"},
    }
    values.update(changes)
    return ImageReport(**values)  # type: ignore[arg-type]


def test_to_json_keys_and_flags() -> None:
    data = report().to_json()
    assert {"cmd", "plugins", "host", "go_version", "image", "missing", "unloaded"} <= set(data)
    assert data["plugins"][0] == {
        "file": "/app/plugins/a.so",
        "size": 10,
        "sha256": "1" * 64,
        "in_cmd": True,
    }
    assert data["host"] == {
        "repo": "https://example.com/host.git",
        "commit": "f" * 40,
        "module": "example.com/host",
    }
    assert data["image"]["tag"] == "demo:latest"
    assert data["missing"] == ["/app/plugins/c.so"]
    assert data["unloaded"] == ["/app/plugins/b.so"]
    assert data["ok"] is False


def test_consistent_report_is_ok_and_summarised() -> None:
    good = report(plugins=[PluginFile("/app/plugins/a.so", 10, "1" * 64, True)], missing=[])
    assert good.ok and good.unloaded == []
    text = format_report(good)
    assert "example.com/host at ffffffffffff" in text
    assert "/app/plugins/a.so" in text
    assert "warning" not in text
    bad = format_report(report())
    assert "the CMD names /app/plugins/c.so, which is not in the image" in bad
    assert "/app/plugins/b.so is in the image but the CMD does not load it" in bad


@pytest.mark.skipif(shutil.which("go") is None, reason="needs a local Go toolchain")
def test_go_version_from_a_real_binary(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.19\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    env_home = {"HOME": str(tmp_path), "GOCACHE": str(tmp_path / "cache"), "GOFLAGS": ""}
    go = shutil.which("go")
    assert go is not None
    subprocess.run(
        [go, "build", "-o", "bin", "."],
        cwd=tmp_path,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env_home},
    )
    expected = subprocess.run(
        [go, "env", "GOVERSION"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env_home},
    ).stdout.strip()
    assert go_version_from_binary((tmp_path / "bin").read_bytes()) == expected


def test_go_version_absent() -> None:
    assert go_version_from_binary(b"\x7fELF" + b"\0" * 100) is None
    # The magic not at a 16-byte boundary (e.g. a string in code) is ignored.
    assert go_version_from_binary(b"x" + b"\xff Go buildinf:" + b"\x08\x02" + b"\0" * 40) is None
