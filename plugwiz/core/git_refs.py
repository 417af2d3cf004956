"""Branch and tag names as git prints and matches them: pure functions over text, no git.

The git adapter feeds these the output of `git ls-remote` and `git show-ref -d`; keeping them
here lets the rules (peeling, ordering, git's name lookup order, suggestions) be tested on
plain strings.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from plugwiz.core.ports import GitRef

__all__ = [
    "is_bad_ref",
    "is_full_sha",
    "match_ref",
    "needs_object_lookup",
    "parse_ref_listing",
    "sorted_refs",
    "suggest_refs",
]

_HEX_RE = re.compile(r"^[0-9a-fA-F]{4,40}$")
_FULL_SHA_RE = re.compile(r"^[0-9a-fA-F]{40}$")
# An object name in a listing: SHA-1, or SHA-256 in a repository that uses it.
_OBJECT_NAME_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# Refs we never pass to git: option-looking (argument injection) or with whitespace/control
# characters, which no valid ref name contains.
_BAD_REF_RE = re.compile(r"^-|[\x00-\x20\x7f]")
# Characters of revision expressions (`main~2`, `v1^{}`, `@{u}`): only a real repo can answer.
_REV_EXPR_CHARS = frozenset("~^@:{")
_PEELED_SUFFIX = "^{}"
_KINDS = (("refs/heads/", "branch"), ("refs/tags/", "tag"))


def parse_ref_listing(text: str) -> dict[str, str]:
    """`<sha> <refname>` lines (`ls-remote`, `show-ref -d`) -> full refname: commit sha.

    An annotated tag is listed twice, as the tag object and peeled (`refs/tags/v1^{}`): the
    peeled commit wins whichever line comes first. Lines that are not `<object name> <refname>`
    are skipped.
    """
    refs: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) != 2 or not _OBJECT_NAME_RE.match(parts[0]):
            continue
        sha, name = parts[0], parts[1].strip()
        if name.endswith(_PEELED_SUFFIX):
            refs[name[: -len(_PEELED_SUFFIX)]] = sha
        else:
            refs.setdefault(name, sha)
    return refs


def sorted_refs(refs: Mapping[str, str]) -> list[GitRef]:
    """Branches first, then tags, each sorted by name; other refs (`HEAD`, notes...) left out."""
    out: list[GitRef] = []
    for prefix, kind in _KINDS:
        names = sorted(name[len(prefix) :] for name in refs if name.startswith(prefix))
        out.extend(
            GitRef(name=name, kind="branch" if kind == "branch" else "tag", sha=refs[prefix + name])
            for name in names
        )
    return out


def match_ref(ref: str, refs: Mapping[str, str]) -> str | None:
    """The sha `ref` names among full refnames, looked up in git's order, or None.

    git tries `<ref>`, `refs/<ref>`, `refs/tags/<ref>`, `refs/heads/<ref>` (gitrevisions(7)), so
    a tag beats a branch of the same name, and `heads/x`, `tags/x` and `refs/heads/x` all work.
    Only `refs/...` names count: a listing's `HEAD` is not a branch or tag.
    """
    for candidate in (ref, f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}"):
        if candidate.startswith("refs/") and candidate in refs:
            return refs[candidate]
    return None


def suggest_refs(ref: str, refs: Mapping[str, str], limit: int = 3) -> list[str]:
    """Up to `limit` branch or tag names close to `ref` (a typo), closest first."""
    names = list(dict.fromkeys(r.name for r in sorted_refs(refs)))
    return difflib.get_close_matches(ref, names, n=limit, cutoff=0.6)


def is_bad_ref(ref: str) -> bool:
    """True for text that is never passed to git as a ref: empty, option-looking, or with
    whitespace or control characters (no valid ref or SHA has them)."""
    return not ref or bool(_BAD_REF_RE.search(ref))


def is_full_sha(text: str) -> bool:
    """True for a 40-hex-digit object name."""
    return bool(_FULL_SHA_RE.match(text))


def needs_object_lookup(ref: str) -> bool:
    """True if `ref` may name a commit that no branch or tag name matches: `HEAD`, a (short)
    SHA, or a revision expression (`main~2`, `v1^{commit}`). Only a repository can answer."""
    return ref == "HEAD" or bool(_HEX_RE.match(ref)) or bool(_REV_EXPR_CHARS & set(ref))
