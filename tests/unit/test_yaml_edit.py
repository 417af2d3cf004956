"""Patching YAML text: what changed changes, every other byte stays."""

from __future__ import annotations

import difflib
import textwrap
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugwiz.core.yaml_edit import YamlEditError, match_items, patch_yaml, same_data
from tests.yaml_writer import StyledWriter, keys, mutate, values


def patched(text: str, data: Any) -> str:
    """The careful patch (no fallback), checked to load as `data`."""
    out = patch_yaml(text, data, fallback=False)
    assert same_data(yaml.safe_load(out), data), out
    return out


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


DOC = textwrap.dedent(
    """\
    # header comment
    version: 1
    host:   # the host
      repo: ../host
      ref: 'main'      # quoted on purpose
    plugins:
      # the greeter
      - hello.go
      - {source: plugins/b, name: bee}

      # the last one
      - "c.go"  # trailing
    tag: x
    """
)


def test_no_change_is_byte_identical() -> None:
    assert patched(DOC, yaml.safe_load(DOC)) == DOC


def test_changed_scalar_keeps_its_quotes_and_comment() -> None:
    data = yaml.safe_load(DOC)
    data["host"]["ref"] = "v2"
    out = patched(DOC, data)
    assert changed_lines(DOC, out) == [
        "-  ref: 'main'      # quoted on purpose",
        "+  ref: 'v2'      # quoted on purpose",
    ]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("yes", "'yes'"),
        ("no", "'no'"),
        ("1.20", "'1.20'"),
        ("null", "'null'"),
        ("", "''"),
        ("a: b", "'a: b'"),
        ("#x", "'#x'"),
        ("a #b", "'a #b'"),
        ("- x", "'- x'"),
        ("*x", "'*x'"),
        ("{x", "'{x'"),
        ("it's", "it's"),
        ("it's: x", "'it''s: x'"),
        ("line\nbreak", '"line\\nbreak"'),
        ("-mod=vendor", "-mod=vendor"),
        ("2024-01-01", "'2024-01-01'"),
        (12, "12"),
        (True, "true"),
        (None, "null"),
    ],
)
def test_values_that_need_quoting(value: Any, written: str) -> None:
    out = patched("version: 1\ntag: x\n", {"version": 1, "tag": value})
    assert out == f"version: 1\ntag: {written}\n"


def test_quote_style_is_kept_when_it_can_hold_the_value() -> None:
    text = "a: \"x\"\nb: 'y'\nc: z\n"
    out = patched(text, {"a": "yes", "b": "it's", "c": "1.5"})
    assert out == "a: \"yes\"\nb: 'it''s'\nc: '1.5'\n"


def test_removed_item_takes_its_comment_lines_others_stay() -> None:
    data = yaml.safe_load(DOC)
    del data["plugins"][2]
    out = patched(DOC, data)
    assert changed_lines(DOC, out) == ["-", "-  # the last one", '-  - "c.go"  # trailing']
    data = yaml.safe_load(DOC)
    del data["plugins"][0]
    out = patched(DOC, data)
    assert changed_lines(DOC, out) == ["-  # the greeter", "-  - hello.go"]


def test_removing_the_second_of_four_deletes_one_line() -> None:
    text = "plugins:\n- a.go\n- b.go\n- c.go\n- d.go\n"
    out = patched(text, {"plugins": ["a.go", "c.go", "d.go"]})
    assert changed_lines(text, out) == ["-- b.go"]


def test_new_item_and_key_follow_their_neighbours_style() -> None:
    data = yaml.safe_load(DOC)
    data["plugins"].append("d.go")
    data["host"]["commit"] = "abc"
    out = patched(DOC, data)
    assert "  ref: 'main'      # quoted on purpose\n  commit: abc\n" in out
    assert '  - "c.go"  # trailing\n  - d.go\ntag: x\n' in out
    assert len(changed_lines(DOC, out)) == 2


def test_new_top_level_key_goes_after_its_predecessor() -> None:
    out = patched("version: 1\ntag: x\n", {"version": 1, "host": {"repo": "h"}, "tag": "x"})
    assert out == "version: 1\nhost:\n  repo: h\ntag: x\n"


def test_indentation_and_sequence_style_are_detected() -> None:
    text = "a:\n    b: 1\nc:\n    - x\n"
    out = patched(text, {"a": {"b": 1}, "c": ["x"], "d": {"e": [1, 2]}})
    assert out == "a:\n    b: 1\nc:\n    - x\nd:\n    e:\n        - 1\n        - 2\n"


def test_scalar_item_that_gains_a_name_becomes_a_one_line_mapping() -> None:
    text = "plugins:\n  - hello.go   # hi\n  - b.go\n"
    out = patched(text, {"plugins": [{"source": "hello.go", "name": "hi"}, "b.go"]})
    assert out == "plugins:\n  - {source: hello.go, name: hi}   # hi\n  - b.go\n"


def test_mapping_items_in_block_style_stay_block() -> None:
    text = "plugins:\n- source: a.go\n  name: a\n- b.go\n"
    out = patched(
        text, {"plugins": [{"source": "a.go", "name": "a"}, {"source": "b.go", "name": "b"}]}
    )
    assert out == "plugins:\n- source: a.go\n  name: a\n- source: b.go\n  name: b\n"


def test_flow_collections() -> None:
    text = "host: {repo: x, ref: main}  # c\nplugins: [a, b, c]\n"
    out = patched(text, {"host": {"repo": "x", "commit": "c1"}, "plugins": ["a", "c", "d"]})
    assert out == "host: {repo: x, commit: c1}  # c\nplugins: [a, c, d]\n"


def test_multi_line_flow_collection_keeps_one_entry_a_line() -> None:
    text = "plugins: [\n  a,  # first\n  b,  # second\n]\n"
    out = patched(text, {"plugins": ["a", "x", "b", "y"]})
    assert out == "plugins: [\n  a,  # first\n  x,\n  b,  # second\n  y,\n]\n"
    out = patched(text, {"plugins": ["b"]})
    assert out == "plugins: [\n  b,  # second\n]\n"


@pytest.mark.parametrize(
    "empty", ["plugins: []", "plugins:", "plugins: ~", "plugins:   # none yet"]
)
def test_empty_collections_gain_items(empty: str) -> None:
    text = f"version: 1\n{empty}\ntag: x\n"
    out = patched(text, {"version": 1, "plugins": ["a.go", "b.go"], "tag": "x"})
    if empty == "plugins: []":
        assert out == "version: 1\nplugins: [a.go, b.go]\ntag: x\n"
    elif empty.endswith("# none yet"):
        assert out == "version: 1\nplugins:   # none yet\n- a.go\n- b.go\ntag: x\n"
    else:
        assert out.startswith("version: 1\nplugins:\n- a.go\n- b.go\ntag: x")


def test_collection_emptied() -> None:
    text = "plugins:\n- a.go\n- b.go\ntag: x\n"
    assert patched(text, {"plugins": [], "tag": "x"}) == "plugins: []\ntag: x\n"


def test_last_line_without_line_break() -> None:
    text = "version: 1\ntag: x"
    assert patched(text, {"version": 1, "tag": "y"}) == "version: 1\ntag: y"
    assert patched(text, {"version": 1}) == "version: 1"
    assert patched(text, {"version": 1, "tag": "x", "z": [1]}) == "version: 1\ntag: x\nz:\n- 1"


def test_crlf_is_kept() -> None:
    text = "version: 1\r\nplugins:\r\n  - a.go\r\ntag: x\r\n"
    out = patched(
        text, {"version": 1, "host": {"repo": "r"}, "plugins": ["a.go", "b.go"], "tag": "x"}
    )
    assert (
        out == "version: 1\r\nhost:\r\n  repo: r\r\nplugins:\r\n  - a.go\r\n  - b.go\r\ntag: x\r\n"
    )


def test_document_markers_and_quoted_keys() -> None:
    text = "%YAML 1.1\n---\n\"version\": 1\n'tag': x\n...\n"
    out = patched(text, {"version": 1, "tag": "y", "images": {"builder": "g"}})
    assert out == "%YAML 1.1\n---\n\"version\": 1\n'tag': y\nimages:\n  builder: g\n...\n"


def test_block_scalar_replaced() -> None:
    text = "a: |\n  one\n  two\n\n# after\nb: 1\n"
    assert patched(text, {"a": "x", "b": 1}) == "a: x\n\n# after\nb: 1\n"


def test_moved_item_keeps_its_comments() -> None:
    text = "plugins:\n  - a.go\n  # about b\n  - b.go  # bee\n  - c.go\n"
    out = patched(text, {"plugins": ["a.go", "c.go", "b.go"]})
    assert out == "plugins:\n  - a.go\n  - c.go\n  # about b\n  - b.go  # bee\n"


def test_first_key_of_an_item_mapping_removed() -> None:
    text = "files:\n- source: a\n  target: /b\n"
    assert patched(text, {"files": [{"target": "/b"}]}) == "files:\n- target: /b\n"


def test_aliases_fall_back_to_a_safe_rewrite() -> None:
    text = "a: &x 1\nb: *x\n"
    with pytest.raises(YamlEditError):
        patch_yaml(text, {"a": 2, "b": 1}, fallback=False)
    assert yaml.safe_load(patch_yaml(text, {"a": 2, "b": 1})) == {"a": 2, "b": 1}


def test_match_items_pairs_an_edited_item_with_its_origin() -> None:
    old = ["a", "x", "m"]
    new = ["a", "n", "X", "m"]
    pairs = match_items(old, new, lambda i, j: (old[i], new[j]) == ("x", "X"))
    assert pairs == [(0, 0), (None, 1), (1, 2), (2, 3)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edits_of_random_documents(data: st.DataObject) -> None:
    """Any document, written in mixed styles, patched to any edit of it, loads as the edit;
    unedited it stays byte-identical; its line breaks stay CRLF or LF."""
    document = data.draw(st.dictionaries(keys, values, min_size=1, max_size=5))
    text = StyledWriter(data.draw).document(document)
    assert same_data(yaml.safe_load(text), document), text  # the writer itself is right
    assert patched(text, document) == text
    edited = document
    for _ in range(data.draw(st.integers(1, 3))):
        edited = mutate(data.draw, edited)
    out = patched(text, edited)
    if "\r\n" in text:
        assert "\n" not in out.replace("\r\n", "")
    assert out.endswith("\n") == text.endswith("\n") or not text.strip()
