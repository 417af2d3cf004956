"""Keep credentials that users put in repository URLs out of messages, logs and the cache.

Pure string functions (no git), so anything that shows a URL to a person can use them.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# `scheme://[userinfo@]rest`. The authority ends at the first "/" only: a raw "?" or "#" in a
# password is malformed, but a person may still type it, and it must not slip through unredacted.
_URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^/]*)(?P<rest>.*)$", re.S
)

# Any `scheme://userinfo@` inside free text, e.g. in git's stderr.
_USERINFO_IN_TEXT_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]+@")

# scp-like `user:password@host:path`: ssh never takes a password this way, but a person may
# still type one, and it must not be shown or stored.
_SCP_PASSWORD_RE = re.compile(
    r"^(?P<user>[^@/:\s]+):(?P<password>[^@/\s]+)@(?P<host>[^@/:\s]+):(?P<path>.*)$", re.S
)

REDACTED = "***"

# Shorter user names are names, not tokens (GitHub/GitLab tokens are 20+ characters).
_MIN_TOKEN_LEN = 8


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """(scheme, userinfo, hostinfo + rest) of a `scheme://` URL, or None if it has no userinfo."""
    match = _URL_RE.match(url)
    if not match or "@" not in match["authority"]:
        return None
    userinfo, _, hostinfo = match["authority"].rpartition("@")
    return match["scheme"], userinfo, hostinfo + match["rest"]


def redact_url(url: str) -> str:
    """`url` without the `user[:password]@` part of a `scheme://` URL.

    scp-like addresses (`git@host:path`), plain paths and URLs without userinfo are returned
    unchanged: their user name is not a secret, and there is nothing else to hide.
    """
    parts = _split_userinfo(url)
    if parts is None:
        scp = _SCP_PASSWORD_RE.match(url)
        if scp is not None:
            return f"{scp['user']}@{scp['host']}:{scp['path']}"
        return url
    scheme, _, rest = parts
    return scheme + rest


def url_secrets(url: str) -> list[str]:
    """The strings from `url` that must never be shown: password, and an HTTP(S) user name.

    A long user name alone in an http(s) URL is usually a token
    (`https://<token>@github.com/...`), so it counts as secret there; an ssh user name
    (`ssh://git@host/...`) or a short one does not, since replacing it everywhere would garble
    the message. Both the raw and the percent-decoded forms are returned: git prints either.
    """
    parts = _split_userinfo(url)
    if parts is None:
        scp = _SCP_PASSWORD_RE.match(url)
        if scp is None:
            return []
        password = scp["password"]
        return sorted({password, unquote(password)}, key=len, reverse=True)
    scheme, userinfo, _ = parts
    user, has_password, password = userinfo.partition(":")
    found: list[str] = []
    if has_password and password:
        found.append(password)
    if not has_password and len(user) >= _MIN_TOKEN_LEN and scheme.lower().startswith("http"):
        found.append(user)
    with_decoded = found + [unquote(s) for s in found]
    # Longest first, so a secret that contains another one is replaced whole.
    return sorted({s for s in with_decoded if s}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` (e.g. git's stderr) with the credentials of `url`, and any URL userinfo, removed."""
    clean = text.replace(url, redact_url(url))
    clean = _USERINFO_IN_TEXT_RE.sub(r"\g<scheme>", clean)
    for secret in url_secrets(url):
        clean = clean.replace(secret, REDACTED)
    return clean
