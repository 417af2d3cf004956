"""The HTTP module-proxy adapter against a real server on a local port (no Docker, no internet):
credentials from the environment or a netrc file, and messages that never show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugwiz.adapters.goproxy import GoProxyChain, HTTPProxySource, _credentials, direct_probe
from plugwiz.core.model import ModuleEnvironment, ModuleSettings, Project
from plugwiz.core.modsource import ModuleSourceError, settings_for
from plugwiz.core.modzip import proxy_paths
from tests.goproxy import serve_proxy, write_file_proxy


@pytest.fixture(scope="module")
def proxy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_file_proxy(tmp_path_factory.mktemp("served"))


def test_credentials_come_from_goproxy_or_netrc(tmp_path: Path) -> None:
    env = {"GOPROXY": "https://ci:p%40ss@proxy.example/go,direct", "NETRC": "/nonexistent"}
    assert _credentials("https://proxy.example/go", env) == ("ci", "p@ss")
    assert _credentials("https://other.example", env) is None
    netrc = tmp_path / "netrc"
    netrc.write_text("machine other.example login bot password t0ken\n")
    assert _credentials("https://other.example", {"NETRC": str(netrc)}) == ("bot", "t0ken")


def test_fetch_with_basic_auth(proxy_dir: Path) -> None:
    with serve_proxy(proxy_dir, user="ci", password="s3cret-word") as proxy:
        source = HTTPProxySource(proxy.url, ("ci", "s3cret-word"))
        mod = source.fetch(proxy_paths("example.org/colors", "v1.0.0")["mod"])
        assert mod == b"module example.org/colors\n\ngo 1.12\n"
        assert source.fetch("example.org/nothing/@v/v1.0.0.mod") is None  # 404: not here

        wrong = HTTPProxySource(proxy.url, ("ci", "wrong-word"))
        with pytest.raises(ModuleSourceError) as refused:
            wrong.fetch(proxy_paths("example.org/colors", "v1.0.0")["mod"])
        assert str(refused.value) == (
            f"the module proxy {proxy.url} refused access (HTTP 401): check the credentials "
            "for it (GOPROXY's URL in the environment, or ~/.netrc)"
        )
        anonymous = HTTPProxySource(proxy.url)
        with pytest.raises(ModuleSourceError, match="it needs credentials"):
            anonymous.fetch("example.org/colors/@v/list")
        # Once refused, the proxy is not asked again for every module.
        before = len(proxy.requests)
        with pytest.raises(ModuleSourceError):
            wrong.fetch("example.org/shapes/@v/list")
        assert len(proxy.requests) == before


def test_chain_from_the_environment_never_shows_the_password(proxy_dir: Path) -> None:
    with serve_proxy(proxy_dir, user="ci", password="s3cret-word") as proxy:
        env = {"GOPROXY": proxy.url_with_credentials, "NETRC": "/nonexistent"}
        settings = settings_for(
            Project(modules=ModuleSettings()),
            ModuleEnvironment(proxy=proxy.url, proxy_has_credentials=True),
        )
        chain = GoProxyChain(settings, env)
        assert chain.describe() == f"GOPROXY ({proxy.url})"
        assert chain.fetch("example.org/shapes/@v/list") == b"v1.0.0\n"
        assert proxy.authorizations[-1].startswith("Basic ")
    with pytest.raises(ModuleSourceError) as gone:
        chain.fetch("example.org/colors/@v/list")
    assert "is unreachable" in str(gone.value)
    assert "s3cret-word" not in str(gone.value)


def test_direct_probe_only_when_goproxy_allows_it() -> None:
    settings = settings_for(Project(), ModuleEnvironment(proxy="https://proxy.example"))
    assert direct_probe(settings)("example.org/x") == "GOPROXY does not allow direct downloads"
    settings = settings_for(Project(), ModuleEnvironment(proxy="off,direct"))
    problem = direct_probe(settings)("nothing.invalid/x")
    assert problem is not None and problem.startswith("direct from nothing.invalid: unreachable")


def test_plugwiz_modules_writes_every_module_of_a_module_mode_host(
    proxy_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from plugwiz import cli
    from tests.helpers import FIXTURES, make_git_repo

    make_git_repo(FIXTURES / "hosts" / "modhost", tmp_path / "modhost")
    project = tmp_path / "plugwiz.yaml"
    project.write_text(
        f"version: 1\nhost: {{repo: ./modhost}}\nplugins: [{FIXTURES / 'modplugins' / 'greet'}]\n"
    )
    monkeypatch.setenv("PLUGWIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NETRC", "/nonexistent")
    with serve_proxy(proxy_dir, user="ci", password="pw-for-modules") as proxy:
        monkeypatch.setenv("GOPROXY", proxy.url_with_credentials)
        assert cli.main(["modules", str(project), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "wrote 2 module version(s)" in out
    assert "example.org/colors@v1.0.0" in out and "example.org/shapes@v1.0.0" in out
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    )
    assert "example.org/colors/@v/v1.0.0.zip" in written
    assert "example.org/shapes/@v/v1.0.0.zip" in written
    assert "pw-for-modules" not in out
