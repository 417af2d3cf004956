"""git's stderr turned into a `HostRepoError` a person can act on: pure functions, no git.

Messages never carry credentials: everything git said about a URL is scrubbed with the URL's
own secrets (`plugwiz.core.redact`) before it is shown.
"""

from __future__ import annotations

from plugwiz.core.ports import HostRepoError
from plugwiz.core.redact import redact_url, scrub

__all__ = ["git_detail", "git_missing", "network_error", "stderr_text"]

MAX_DETAIL_CHARS = 400

# stderr fragments (lower case) that mean "the server wants credentials we do not have".
_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "access denied",
    "invalid username or password",
    "invalid credentials",
    "returned error: 401",
    "returned error: 403",
)
_HOST_KEY_MARKER = "host key verification failed"
# GitPython's stderr when it killed a command after `kill_after_timeout`.
_TIMEOUT_PREFIX = "timeout:"
# Lines git adds to every remote failure; they say nothing about this one.
_BOILERPLATE = (
    "could not read from remote repository.",
    "please make sure you have the correct access rights",
    "and the repository exists.",
)


def stderr_text(raw: str | bytes | None) -> str:
    """What git said, from a GitCommandError's `stderr` (GitPython wraps it as
    `\\n  stderr: '...'`); bytes are decoded as UTF-8 with replacement."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
    text = text.strip()
    if text.startswith("stderr:"):
        text = text[len("stderr:") :].strip()
        if len(text) >= 2 and text[0] == text[-1] == "'":
            text = text[1:-1]
    return text.strip()


def git_detail(stderr: str, url: str | None) -> str:
    """git's stderr as one line for a person: without `fatal:`/`error:` prefixes and git's
    boilerplate, at most MAX_DETAIL_CHARS, and scrubbed of `url`'s credentials (and of any
    `scheme://user@` in the text) when `url` is given."""
    text = scrub(stderr, url) if url else stderr
    lines = []
    for line in text.splitlines():
        line = line.strip().removeprefix("fatal: ").removeprefix("error: ")
        if not line or line.lower().startswith(_BOILERPLATE):
            continue
        lines.append(line)
    detail = " ".join(lines) or "no details from git"
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
    # Scrub again: truncation or prefix removal cannot reveal anything, but the rejoined text
    # could in principle re-form a `scheme://user@` pattern split across lines.
    return scrub(detail, url) if url else detail


def network_error(stderr: str, url: str) -> HostRepoError:
    """The error for a failed `ls-remote`/`clone`/`fetch` of `url`, from git's stderr.

    Authentication failures, untrusted SSH host keys and timeouts get a message that says what
    to do; anything else is "cannot reach" with git's own (scrubbed) words.
    """
    display = redact_url(url)
    detail = git_detail(stderr, url)
    low = detail.lower()
    if any(marker in low for marker in _AUTH_MARKERS):
        return HostRepoError(
            f"authentication failed for {display}: git could not log in (plugwiz never prompts "
            f"for passwords). Use an SSH URL with a key in ssh-agent, a git credential helper, "
            f"or a token. git said: {detail}"
        )
    if _HOST_KEY_MARKER in low:
        return HostRepoError(
            f"cannot reach {display}: the server's SSH host key is not trusted yet; connect "
            f"once with `ssh` to accept it. git said: {detail}"
        )
    if low.startswith(_TIMEOUT_PREFIX):
        return HostRepoError(f"cannot reach {display}: the server did not answer in time")
    return HostRepoError(f"cannot reach the host repository {display}: {detail}")


def git_missing() -> HostRepoError:
    """The error when the git executable cannot be run."""
    return HostRepoError("git is not installed or not on PATH; plugwiz needs it to read the host")
