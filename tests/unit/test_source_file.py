"""Editing a user's file in place: byte for byte the same but for the edit, or refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plugwiz.core.source_file import (
    SourceChangedError,
    line_ending_problem,
    read_source,
    save_source,
)


def test_a_save_changes_only_the_edit_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "p.go"
    original = b"package main\r\n\r\n// caf\xc3\xa9\r\nfunc x() {}\r\n"
    path.write_bytes(original)
    os.chmod(path, 0o600)
    source = read_source(path)
    assert source.editable
    saved = save_source(source, source.text.replace("x()", "y()"))
    assert path.read_bytes() == original.replace(b"x()", b"y()")
    assert path.stat().st_mode & 0o777 == 0o600
    assert saved.text == path.read_bytes().decode()
    assert [p.name for p in tmp_path.iterdir()] == ["p.go"]  # no temporary file left


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "p.go"
    path.write_text("package main\n")
    source = read_source(path)
    path.write_text("package main\n// theirs\n")
    with pytest.raises(SourceChangedError):
        save_source(source, "package main\n// mine\n")
    assert path.read_text() == "package main\n// theirs\n"


def test_files_an_editor_would_change_are_read_only(tmp_path: Path) -> None:
    assert line_ending_problem("a\nb\n") == "" and line_ending_problem("a\r\nb\r\n") == ""
    assert "mixes" in line_ending_problem("a\r\nb\n")
    assert "CR" in line_ending_problem("a\rb")
    path = tmp_path / "latin1.go"
    path.write_bytes(b"// \xe9\n")
    source = read_source(path)
    assert not source.editable and "UTF-8" in source.problem
    with pytest.raises(ValueError):
        save_source(source, "x")
    assert path.read_bytes() == b"// \xe9\n"
