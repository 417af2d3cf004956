"""Making user-supplied values safe for a Dockerfile and the shell inside its RUN lines.

Dockerfile instructions are line based and some of them expand `$VAR`; RUN hands its text to
`/bin/sh -c`. Every value that reaches the Dockerfile goes through exactly one function here.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable

from plugwiz.core.model import ProjectError

# C0 and C1 controls and the Unicode line separators: Docker splits only on \n, but logs,
# editors and people reading the Dockerfile see a new line at each of these.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A path in a COPY line or a CMD plugin path: no spaces, quotes, `$`, `..` or backslashes.
_SAFE_PATH_RE = re.compile(r"^[A-Za-z0-9._@+/=-]+$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# One GOFLAGS token: GOFLAGS is split on spaces and cannot quote, so no spaces or quotes.
_GOFLAG_RE = re.compile(r"^-[A-Za-z0-9][A-Za-z0-9._=,:/+@-]*$")


class UnsafeValueError(ProjectError):
    """A value that cannot be written into a Dockerfile safely; the message says which."""


def reject_control_chars(value: str, what: str) -> str:
    """Return `value`, or raise if it holds a newline or another control character."""
    if _CONTROL_RE.search(value):
        raise UnsafeValueError(f"{what} must not contain newlines or control characters: {value!r}")
    return value


def dockerfile_string(value: str, what: str) -> str:
    """A double-quoted Dockerfile word (for LABEL and ENV) that expands nothing."""
    reject_control_chars(value, what)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def shell_words(words: Iterable[str], what: str) -> str:
    """Shell-quoted words for a RUN line."""
    return shlex.join(reject_control_chars(word, what) for word in words)


def json_exec_form(words: Iterable[str], what: str) -> str:
    """A JSON array for CMD/RUN exec form; JSON escaping keeps it on one line."""
    return json.dumps([str(word) for word in words], ensure_ascii=True)


def safe_path(value: str, what: str, absolute: bool | None = None) -> str:
    """A path that can appear bare in a COPY line: plain characters, no `..` components."""
    reject_control_chars(value, what)
    if not _SAFE_PATH_RE.match(value) or ".." in value.split("/"):
        raise UnsafeValueError(
            f"{what} {value!r} is not allowed: use letters, digits and ._@+/=- only, no '..'"
        )
    if absolute is True and not value.startswith("/"):
        raise UnsafeValueError(f"{what} {value!r} must be an absolute path")
    if absolute is False and value.startswith("/"):
        raise UnsafeValueError(f"{what} {value!r} must be relative to the host's root")
    return value


def env_name(value: str) -> str:
    """An environment variable name."""
    if not _ENV_NAME_RE.match(value):
        raise UnsafeValueError(f"environment variable name {value!r} is not allowed")
    return value


def goflag(value: str) -> str:
    """One Go build flag that can live in GOFLAGS."""
    reject_control_chars(value, "build flag")
    if not _GOFLAG_RE.match(value):
        raise UnsafeValueError(
            f"build flag {value!r} is not allowed: flags go into GOFLAGS, which cannot hold "
            "spaces or quotes; write it as one token like -ldflags=-s or -tags=netgo"
        )
    return value
