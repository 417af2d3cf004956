"""Ref listings, git's name lookup order and suggestions, on text as git prints it (no git)."""

from __future__ import annotations

import pytest

from plugwiz.core.git_refs import (
    is_bad_ref,
    is_full_sha,
    match_ref,
    needs_object_lookup,
    parse_ref_listing,
    sorted_refs,
    suggest_refs,
)
from plugwiz.core.ports import GitRef

A = "a" * 40
B = "b" * 40
C = "c" * 40
TAG_OBJECT = "7" * 40

# `git ls-remote --heads --tags` separates with a tab, peels after the tag.
LS_REMOTE = (
    f"{B}\trefs/heads/main\n"
    f"{C}\trefs/heads/feature\n"
    f"{A}\trefs/tags/v1.0\n"
    f"{TAG_OBJECT}\trefs/tags/v2.0\n"
    f"{B}\trefs/tags/v2.0^{{}}\n"
)
# `git show-ref --heads --tags --dereference` separates with a space.
SHOW_REF = (
    f"{C} refs/heads/feature\n"
    f"{B} refs/heads/main\n"
    f"{A} refs/tags/v1.0\n"
    f"{TAG_OBJECT} refs/tags/v2.0\n"
    f"{B} refs/tags/v2.0^{{}}\n"
)
REFS = {
    "refs/heads/main": B,
    "refs/heads/feature": C,
    "refs/tags/v1.0": A,
    "refs/tags/v2.0": B,
}


@pytest.mark.parametrize("text", [LS_REMOTE, SHOW_REF], ids=["ls-remote", "show-ref"])
def test_listing_is_parsed_with_annotated_tags_peeled(text: str) -> None:
    assert parse_ref_listing(text) == REFS


def test_the_peeled_line_wins_in_either_order() -> None:
    before = f"{B}\trefs/tags/v2.0^{{}}\n{TAG_OBJECT}\trefs/tags/v2.0\n"
    assert parse_ref_listing(before) == {"refs/tags/v2.0": B}


def test_listing_skips_what_is_not_a_ref_line() -> None:
    sha256 = "d" * 64
    text = (
        f"\n  \nwarning: redirecting to https://x\nnot-a-sha refs/heads/x\n{A}\tHEAD\n"
        f"{sha256}\trefs/heads/sha256\n{B}\n"
    )
    assert parse_ref_listing(text) == {"HEAD": A, "refs/heads/sha256": sha256}
    assert parse_ref_listing("") == {}


def test_sorted_refs_branches_first_then_tags_by_name() -> None:
    refs = {**REFS, "HEAD": B, "refs/notes/commits": A, "refs/heads/Zeta": A}
    assert sorted_refs(refs) == [
        GitRef("Zeta", "branch", A),
        GitRef("feature", "branch", C),
        GitRef("main", "branch", B),
        GitRef("v1.0", "tag", A),
        GitRef("v2.0", "tag", B),
    ]
    assert sorted_refs({}) == []


@pytest.mark.parametrize(
    ("ref", "sha"),
    [
        ("main", B),
        ("feature", C),
        ("v1.0", A),
        ("refs/heads/feature", C),
        ("heads/feature", C),
        ("tags/v1.0", A),
        ("refs/tags/v2.0", B),
        ("same", A),  # a tag beats a branch of the same name, as in git
        ("heads/same", C),
        ("HEAD", None),  # not a branch or tag: the repository answers it
        ("mian", None),
        ("refs/heads/v1.0", None),
        ("", None),
    ],
)
def test_match_ref_in_gits_order(ref: str, sha: str | None) -> None:
    refs = {**REFS, "HEAD": B, "refs/heads/same": C, "refs/tags/same": A}
    assert match_ref(ref, refs) == sha


def test_suggestions_are_close_names() -> None:
    assert suggest_refs("mian", REFS) == ["main"]
    assert suggest_refs("v1", REFS)[:1] == ["v1.0"]
    assert suggest_refs("featur", REFS) == ["feature"]
    assert suggest_refs("zzzzzz", REFS) == []
    # A name that is both a branch and a tag is suggested once.
    assert suggest_refs("dev", {"refs/heads/dve": A, "refs/tags/dve": A}) == ["dve"]
    many = {f"refs/tags/v1.{n}": A for n in range(10)}
    assert len(suggest_refs("v1.", many)) == 3


@pytest.mark.parametrize(
    ("ref", "bad"),
    [
        ("main", False),
        ("refs/heads/x", False),
        (A, False),
        ("main~2", False),
        ("", True),
        ("-x", True),
        ("--output=/tmp/x", True),
        ("has space", True),
        ("tab\there", True),
        ("new\nline", True),
        ("nul\x00", True),
        ("del\x7f", True),
    ],
)
def test_is_bad_ref(ref: str, bad: bool) -> None:
    assert is_bad_ref(ref) is bad


@pytest.mark.parametrize(
    ("ref", "lookup"),
    [
        ("HEAD", True),
        ("abcd", True),
        ("ABCDEF0123", True),
        (A, True),
        ("main~2", True),
        ("v1^{commit}", True),
        ("@{u}", True),
        ("main:go.mod", True),
        ("main", False),
        ("abc", False),  # git needs 4 hex digits at least
        ("a" * 41, False),
        ("feature", False),
        ("head", False),
    ],
)
def test_needs_object_lookup(ref: str, lookup: bool) -> None:
    assert needs_object_lookup(ref) is lookup


def test_is_full_sha() -> None:
    assert is_full_sha(A)
    assert is_full_sha("ABCDEF0123" * 4)
    assert not is_full_sha(A[:39])
    assert not is_full_sha(A + "a")
    assert not is_full_sha("g" * 40)
