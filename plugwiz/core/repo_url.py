"""What a host repository string names: a URL, the embedded demo, or a local path.

The one classifier for `Host.repo`, the `--host` option and the wizard's host field, so that
every caller agrees. It follows git's rules ("GIT URLS" in `git help clone`, and
`url_is_local_not_ssh` in git's connect.c), in this order:

1. `demo` (`DEMO_REPO`) is the embedded demo host. A local directory named `demo` is written
   `./demo`.
2. Text starting with `-` is a local path: git would read it as an option, so it is never passed
   to git as an address (it then fails as a path that does not exist).
3. `scheme://...` (`https://`, `ssh://`, `git://`, `file://`...) is a URL.
4. Text without a colon, or with a slash before its first colon (`./x:y`, `/srv/a:b`,
   `dir/x:y`), is a local path: git's rule.
5. A Windows drive path (`C:\\src\\host`, `C:/src/host`) is a local path, on every platform.
   git on Windows does the same; git elsewhere would take `C:/src` for the ssh host `C`, which
   nobody means. A one-letter ssh host is still reachable as `ssh://c/path` or `c:path`.
6. Text that exists as a local path (`a:b`, a directory with a colon in its name) is a local
   path: `git clone`'s rule (`git fetch`/`ls-remote` would try ssh; plugwiz opens a host the way
   `git clone` does).
7. Otherwise a colon before any slash makes a URL: scp-like `[user@]host:path` (also
   `[::1]:path`), or git's remote-helper form `<transport>::<address>`. Text whose "host" cannot
   be one (empty, or with spaces) is a local path.

Pure: the only look at the filesystem is the `exists` callable the caller passes (it knows the
directory relative paths are relative to).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

from plugwiz.core.model import DEMO_REPO

__all__ = ["RepoKind", "classify_repo"]

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")
# `[user@]host:` with a host ssh could connect to: a name without "@", "/", ":" or spaces, or
# a bracketed IPv6 address (the user is everything before the last "@", as ssh reads it).
_SCP_RE = re.compile(r"^(?:[^/:\s]+@)?(?:\[[^\]/\s]+\]|[^@/:\s]+):")
# `<transport>::<address>`, git's way to name a remote helper.
_HELPER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")


class RepoKind(enum.Enum):
    """What a host repository string names."""

    URL = "url"  # read through a cached bare clone
    LOCAL = "local"  # a local path, read in place
    DEMO = "demo"  # the embedded demo host


def classify_repo(repo: str, *, exists: Callable[[str], bool]) -> RepoKind:
    """The kind of repository `repo` (already stripped) names; see the module docstring.

    `exists(repo)` says whether `repo` is an existing local path; it is only asked about text
    that git would otherwise take for an scp-like URL.
    """
    if repo == DEMO_REPO:
        return RepoKind.DEMO
    if repo.startswith("-"):
        return RepoKind.LOCAL
    if _SCHEME_RE.match(repo):
        return RepoKind.URL
    colon = repo.find(":")
    slash = repo.find("/")
    if colon < 0 or 0 <= slash < colon:
        return RepoKind.LOCAL
    if _DRIVE_RE.match(repo) or exists(repo):
        return RepoKind.LOCAL
    if _HELPER_RE.match(repo) or _SCP_RE.match(repo):
        return RepoKind.URL
    return RepoKind.LOCAL
