"""redact_url / scrub: credentials in repository URLs never reach a person."""

from __future__ import annotations

import pytest

from plugwiz.core.redact import redact_url, scrub, url_secrets


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:s3cr3tTOKEN@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://ghp_abcdefTOKEN@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://user@example.com:8443/r.git", "https://example.com:8443/r.git"),
        ("ssh://git:pw@host:2222/r.git", "ssh://host:2222/r.git"),
        ("HTTPS://u:p@Host/R", "HTTPS://Host/R"),
        # userinfo is everything up to the last "@" of the authority
        ("https://u:p@ss@host/r.git", "https://host/r.git"),
        # a raw "#" or "?" in a password must not hide the rest of it
        ("https://u:p#ss@host/r.git", "https://host/r.git"),
        # "@" in the path is not userinfo
        ("https://host/r@v1.git", "https://host/r@v1.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("file:///srv/git/r.git", "file:///srv/git/r.git"),
        ("/home/me/src/host", "/home/me/src/host"),
        ("relative/path@x", "relative/path@x"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_url_secrets_password_and_token_user() -> None:
    assert url_secrets("https://user:s3cr3tTOKEN@h/x") == ["s3cr3tTOKEN"]
    assert url_secrets("https://ghp_0123456789@h/x") == ["ghp_0123456789"]
    # short user names and ssh user names are names, not secrets
    assert url_secrets("https://bob@h/x") == []
    assert url_secrets("ssh://git@h/x") == []
    assert url_secrets("git@h:x") == []
    # percent-encoded secrets are hidden in both forms
    assert set(url_secrets("https://u:a%2Fb%40c@h/x")) == {"a%2Fb%40c", "a/b@c"}


def test_scrub_removes_url_token_and_any_userinfo() -> None:
    url = "https://user:s3cr3tTOKEN@127.0.0.1:9/x.git"
    stderr = (
        f"fatal: unable to access '{url}/': Failed to connect\n"
        "remote: token s3cr3tTOKEN rejected\n"
        "see https://other:pw@mirror/x.git"
    )
    clean = scrub(stderr, url)
    assert "s3cr3tTOKEN" not in clean
    assert "other:pw" not in clean
    assert "https://127.0.0.1:9/x.git/" in clean
    assert "https://mirror/x.git" in clean


def test_scrub_leaves_clean_text_alone() -> None:
    text = "fatal: repository 'https://h/x.git/' not found"
    assert scrub(text, "https://h/x.git") == text


def test_a_password_in_an_scp_like_address_is_removed_too() -> None:
    from plugwiz.core.redact import redact_url, scrub, url_secrets

    url = "alice:hunter2secret@git.example.com:team/host.git"
    assert redact_url(url) == "alice@git.example.com:team/host.git"
    assert url_secrets(url) == ["hunter2secret"]
    said = f"fatal: could not read from {url}: hunter2secret rejected"
    assert "hunter2secret" not in scrub(said, url)
    # Plain scp-like addresses are left alone: the user name is not a secret.
    assert redact_url("git@github.com:me/host.git") == "git@github.com:me/host.git"
    assert url_secrets("git@github.com:me/host.git") == []
