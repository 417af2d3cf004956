"""`build: {backend, builder}` in plugwiz.yaml: parsed, checked, dumped and patched in place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from plugwiz.core.model import BuildSettings
from plugwiz.core.project_file import (
    ProjectDocument,
    ProjectFileError,
    dump_project,
    parse_project,
)

TEXT = "version: 1\nhost: {repo: /src/host}  # the host\ntag: host:latest\n"


def test_backend_and_builder_are_read() -> None:
    assert parse_project(TEXT).build == BuildSettings()
    project = parse_project(TEXT + "build:\n  backend: buildkit\n  builder: team-remote\n")
    assert project.build == BuildSettings(backend="buildkit", builder="team-remote")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "build: {backend: fast}",
            "plugwiz.yaml:4:18: `build.backend` must be one of auto, classic, buildkit, not 'fast'",
        ),
        ("build: {backnd: classic}", "unknown key `backnd` in `build`; did you mean `backend`?"),
        ("build: {builder: [a]}", "`build.builder` must be a string"),
    ],
)
def test_wrong_build_settings_are_refused_with_where(section: str, message: str) -> None:
    with pytest.raises(ProjectFileError, match=message.replace("(", r"\(")):
        parse_project(TEXT + section + "\n")


def test_only_what_differs_from_the_defaults_is_written() -> None:
    project = parse_project(TEXT)
    assert "build:" not in dump_project(project)
    text = dump_project(replace(project, build=BuildSettings(backend="classic")))
    assert text.endswith("build:\n  backend: classic\n")
    assert parse_project(text).build.backend == "classic"


def test_a_save_changes_only_the_build_line() -> None:
    written = TEXT + "build:\n  backend: classic   # CI has no buildx\n  builder: ''\n"
    document = ProjectDocument(Path("/p/plugwiz.yaml"), written, parse_project(written))
    changed = replace(document.project, build=BuildSettings(backend="buildkit"))
    assert document.render(changed) == written.replace("classic   #", "buildkit   #")
    # Back to the default: the key goes, the rest of the file stays as written.
    assert document.render(replace(document.project, build=BuildSettings())) == (
        TEXT + "build:\n  builder: ''\n"
    )
    fresh = ProjectDocument(Path("/p/plugwiz.yaml"), TEXT, parse_project(TEXT))
    added = fresh.render(replace(fresh.project, build=BuildSettings(builder="team")))
    assert added == TEXT + "build:\n  builder: team\n"
