"""ImageReport checks and JSON, and reading the Go version from a real Go binary."""

from __future__ import annotations

from plugwiz.core.report import ImageReport, PluginFile, format_report


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


def test_inspect_quotes_arguments_and_lists_plugins_in_load_order() -> None:
    from plugwiz.core.report import load_order

    cmd = [
        "/app/host",
        "--text",
        "hi there",
        "--prov",
        "/app/plugins/z.so",
        "--prov=/app/plugins/a.so",
        "--prov",
        "plugins/m.so",  # relative to the workdir
    ]
    plugins = [
        PluginFile("/app/plugins/a.so", 10, "1" * 64, True),
        PluginFile("/app/plugins/extra.so", 10, "4" * 64, False),
        PluginFile("/app/plugins/m.so", 10, "3" * 64, True),
        PluginFile("/app/plugins/z.so", 10, "2" * 64, True),
    ]
    image = report(cmd=cmd, plugins=plugins, missing=[])
    assert [p.file for p in load_order(image)] == [
        "/app/plugins/z.so",
        "/app/plugins/a.so",
        "/app/plugins/m.so",
        "/app/plugins/extra.so",  # never loaded: last
    ]
    text = format_report(image)
    # `--text 'hi there'` reads as one argument, as a shell would need it.
    assert "cmd      /app/host --text 'hi there' --prov /app/plugins/z.so" in text
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  /app/")]
    assert listed == [p.file for p in load_order(image)]


def test_sizes_are_in_one_unit_everywhere() -> None:
    from plugwiz.core.report import human_size

    # Decimal units, as `docker images` prints them; the wizard and `inspect` share this.
    assert human_size(96_312_448) == "96.3 MB"
    assert human_size(2_280_000) == "2.3 MB"
    assert human_size(999) == "999 B"
    assert human_size(1_500_000_000) == "1.5 GB"
    assert "90.0 MB" in format_report(report())
    import plugwiz.ui.screens.result as result_screen

    # The Result step uses the same function.
    assert result_screen.human_size is human_size  # type: ignore[attr-defined]
