"""classify_repo: one answer to "is this host a URL, the demo, or a local path?", git's rules."""

from __future__ import annotations

import pytest

from plugwiz.core.model import DEMO_REPO
from plugwiz.core.repo_url import RepoKind, classify_repo

URL, LOCAL, DEMO = RepoKind.URL, RepoKind.LOCAL, RepoKind.DEMO


@pytest.mark.parametrize(
    ("repo", "kind"),
    [
        # scheme URLs, whatever follows
        ("https://github.com/o/r.git", URL),
        ("http://user:tok@127.0.0.1:9/x.git", URL),
        ("ssh://git@host:2222/r.git", URL),
        ("git://host/r.git", URL),
        ("file:///srv/x.git", URL),
        ("git+ssh://host/r.git", URL),
        ("HTTPS://Host/R", URL),
        # scp-like: a colon before any slash
        ("git@github.com:o/r.git", URL),
        ("github.com:o/r.git", URL),
        ("host:r.git", URL),
        ("host:", URL),  # git's rule too; git then says what is wrong with it
        ("h:repo", URL),  # a one-letter host, as git on Linux reads it
        ("[::1]:r.git", URL),
        ("git@[fe80::1]:r.git", URL),
        ("me@corp.example@host:r.git", URL),  # the user is up to the last "@"
        ("host:/abs/path/r.git", URL),
        # git's remote-helper form <transport>::<address>
        ("codecommit::us-east-1://repo", URL),
        # local paths: no colon, or a slash before the first colon
        ("/srv/x.git", LOCAL),
        ("relative/dir", LOCAL),
        ("host", LOCAL),
        ("user@host", LOCAL),
        ("./x:y", LOCAL),
        ("/srv/a:b", LOCAL),
        ("dir/host:path", LOCAL),
        ("~/src/host", LOCAL),
        ("../up:one", LOCAL),
        # Windows drives, on every platform
        ("C:\\src\\host", LOCAL),
        ("c:/src/host", LOCAL),
        # text git could not connect to as a host
        (":path", LOCAL),
        ("my host:repo", LOCAL),
        # option-looking text is never an address
        ("-uhttps://evil", LOCAL),
        ("--upload-pack=touch x:y", LOCAL),
        ("-oProxyCommand=x:y", LOCAL),
        # the embedded demo, exactly; a directory named demo is ./demo
        ("demo", DEMO),
        ("./demo", LOCAL),
        ("Demo", LOCAL),
        ("demo:x", URL),
    ],
)
def test_classify_without_local_files(repo: str, kind: RepoKind) -> None:
    assert classify_repo(repo, exists=lambda _text: False) is kind


@pytest.mark.parametrize(
    ("repo", "kind"),
    [
        ("a:b", LOCAL),  # an existing local path wins, as in `git clone`
        ("host:o/r.git", LOCAL),
        ("git@host:r.git", LOCAL),
        # scheme URLs and the demo never depend on the filesystem
        ("https://host/r.git", URL),
        ("file:///srv/x.git", URL),
        (DEMO_REPO, DEMO),
        ("-x:y", LOCAL),
    ],
)
def test_an_existing_local_path_wins_over_scp(repo: str, kind: RepoKind) -> None:
    assert classify_repo(repo, exists=lambda _text: True) is kind


def test_scheme_urls_and_plain_paths_never_look_at_the_filesystem() -> None:
    def exists(text: str) -> bool:
        raise AssertionError(f"asked about {text!r}")

    for repo in ("https://h/x", "/abs/a:b", "rel/dir", "./x:y", "C:\\x", "demo", "-x:y"):
        classify_repo(repo, exists=exists)
