"""git's stderr into a person's message: kinds of failure, boilerplate out, credentials never in."""

from __future__ import annotations

import pytest

from plugwiz.core.git_errors import (
    MAX_DETAIL_CHARS,
    git_detail,
    git_missing,
    network_error,
    stderr_text,
)
from plugwiz.core.ports import HostRepoError

TOKEN = "ghp_s3cr3tTOKEN0123456789"
URL = f"https://alice:{TOKEN}@git.example.com/o/r.git"
TOKEN_USER_URL = f"https://{TOKEN}@git.example.com/o/r.git"
SHOWN = "https://git.example.com/o/r.git"
BOILERPLATE = (
    "fatal: Could not read from remote repository.\n\n"
    "Please make sure you have the correct access rights\n"
    "and the repository exists.\n"
)


def test_stderr_text_unwraps_gitpythons_wrapper() -> None:
    assert stderr_text("\n  stderr: 'fatal: repository 'x' not found\n'") == (
        "fatal: repository 'x' not found"
    )
    assert stderr_text(b"\n  stderr: 'caf\xc3\xa9 \xff'") == "café \ufffd"
    assert stderr_text("fatal: plain text\n") == "fatal: plain text"
    assert stderr_text(None) == ""
    assert stderr_text(b"") == ""


def test_detail_is_one_line_without_prefixes_or_boilerplate() -> None:
    stderr = "fatal: '/srv/x.git' does not appear to be a git repository\n" + BOILERPLATE
    assert git_detail(stderr, None) == "'/srv/x.git' does not appear to be a git repository"
    assert git_detail("error: one\n  \nfatal: two\n", None) == "one two"
    assert git_detail(BOILERPLATE, None) == "no details from git"
    assert git_detail("", None) == "no details from git"


def test_detail_is_cut_at_the_limit() -> None:
    detail = git_detail("x" * 1000, None)
    assert len(detail) == MAX_DETAIL_CHARS
    assert detail.endswith("…")


@pytest.mark.parametrize("url", [URL, TOKEN_USER_URL])
def test_detail_never_shows_the_urls_credentials(url: str) -> None:
    stderr = (
        f"fatal: unable to access '{url}/': Failed to connect\n"
        f"note: token {TOKEN} rejected\n"
        f"fatal: see https://bob:hunter2@other.example/x too\n"
    )
    detail = git_detail(stderr, url)
    assert TOKEN not in detail and "hunter2" not in detail
    assert f"unable to access '{SHOWN}/'" in detail
    assert "https://other.example/x" in detail


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        pytest.param(
            "fatal: could not read Username for 'https://git.example.com': terminal prompts "
            "disabled\n",
            f"authentication failed for {SHOWN}: git could not log in (plugwiz never prompts for "
            "passwords). Use an SSH URL with a key in ssh-agent, a git credential helper, or a "
            "token. git said: could not read Username for 'https://git.example.com': terminal "
            "prompts disabled",
            id="no-credentials",
        ),
        pytest.param(
            f"remote: Invalid username or password.\nfatal: Authentication failed for '{URL}/'\n",
            f"authentication failed for {SHOWN}: git could not log in (plugwiz never prompts for "
            "passwords). Use an SSH URL with a key in ssh-agent, a git credential helper, or a "
            f"token. git said: remote: Invalid username or password. Authentication failed for "
            f"'{SHOWN}/'",
            id="wrong-credentials",
        ),
        pytest.param(
            "git@git.example.com: Permission denied (publickey).\n" + BOILERPLATE,
            f"authentication failed for {SHOWN}: git could not log in (plugwiz never prompts for "
            "passwords). Use an SSH URL with a key in ssh-agent, a git credential helper, or a "
            "token. git said: git@git.example.com: Permission denied (publickey).",
            id="ssh-key",
        ),
        pytest.param(
            "Host key verification failed.\r\n" + BOILERPLATE,
            f"cannot reach {SHOWN}: the server's SSH host key is not trusted yet; connect once "
            "with `ssh` to accept it. git said: Host key verification failed.",
            id="host-key",
        ),
        pytest.param(
            f'Timeout: the command "git ls-remote --heads --tags -- {URL}" did not complete in '
            "60 secs.",
            f"cannot reach {SHOWN}: the server did not answer in time",
            id="timeout",
        ),
        pytest.param(
            f"fatal: repository '{SHOWN}/' not found\n",
            f"cannot reach the host repository {SHOWN}: repository '{SHOWN}/' not found",
            id="not-found",
        ),
        pytest.param(
            f"fatal: unable to access '{URL}/': Failed to connect to git.example.com port 443 "
            "after 3 ms: Couldn't connect to server\n",
            f"cannot reach the host repository {SHOWN}: unable to access '{SHOWN}/': Failed to "
            "connect to git.example.com port 443 after 3 ms: Couldn't connect to server",
            id="unreachable",
        ),
        pytest.param(
            BOILERPLATE,
            f"cannot reach the host repository {SHOWN}: no details from git",
            id="only-boilerplate",
        ),
    ],
)
def test_network_error_messages(stderr: str, expected: str) -> None:
    error = network_error(stderr, URL)
    assert isinstance(error, HostRepoError)
    assert str(error) == expected
    assert TOKEN not in str(error)


def test_network_error_for_a_token_as_user_name() -> None:
    stderr = f"fatal: Authentication failed for '{TOKEN_USER_URL}/'\n"
    message = str(network_error(stderr, TOKEN_USER_URL))
    assert message.startswith(f"authentication failed for {SHOWN}: ")
    assert TOKEN not in message


def test_git_missing() -> None:
    assert str(git_missing()) == (
        "git is not installed or not on PATH; plugwiz needs it to read the host"
    )
