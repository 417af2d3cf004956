"""`run:` in plugwiz.yaml: read with messages that name the line, written canonically, and
patched in place (one changed value, one changed line)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from plugwiz.core.model import RunSettings
from plugwiz.core.project_file import (
    ProjectDocument,
    ProjectFileError,
    dump_project,
    parse_project,
)

BASE = "version: 1\nhost: {repo: demo, ref: main}\n"


def test_run_settings_are_read() -> None:
    project = parse_project(
        BASE + "run:\n  args: [--addr, ':9090']\n  env: {BANNER: hi, N: 3}\n  ports: [8080]\n"
    )
    assert project.run == RunSettings(("--addr", ":9090"), (("BANNER", "hi"), ("N", "3")), (8080,))
    assert parse_project(BASE).run == RunSettings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run: {ports: [http]}", "plugwiz.yaml:3:15: `run.ports[0]` must be a TCP port number"),
        ("run: {ports: [0]}", "`run.ports[0]` must be a TCP port number (1-65535)"),
        ("run: {env: [A]}", "`run.env` must be a mapping NAME: value"),
        ("run: {arg: [x]}", "unknown key `arg` in `run`; did you mean `args`?"),
    ],
)
def test_wrong_run_settings_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ProjectFileError) as caught:
        parse_project(BASE + text + "\n")
    assert message in str(caught.value)


def test_the_canonical_form_has_only_what_is_set() -> None:
    project = parse_project(BASE)
    assert "run:" not in dump_project(project)
    text = dump_project(replace(project, run=RunSettings(ports=(8080,))))
    assert text.endswith("run:\n  ports:\n  - 8080\n")
    assert parse_project(text).run == RunSettings(ports=(8080,))


def test_a_change_patches_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "plugwiz.yaml"
    path.write_text(
        BASE + "run:\n  # how the demo runs\n  args: [--text, hi]   # kept\n  env: {N: 3}\n"
    )
    document = ProjectDocument.load(path)
    changed = replace(
        document.project, run=replace(document.project.run, env=(("N", "3"), ("M", "x")))
    )
    document = document.save(changed)
    assert path.read_text() == (
        BASE + "run:\n  # how the demo runs\n  args: [--text, hi]   # kept\n  env: {N: 3, M: x}\n"
    )
    cleared = replace(document.project, run=RunSettings())
    document.save(cleared)
    assert "run:" not in path.read_text()
