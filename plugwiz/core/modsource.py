"""Where Go modules come from: the module-source port and its local implementations.

A `ModuleSource` answers module-proxy paths (`example.org/x/@v/v1.0.0.zip`): a file-based proxy
directory (`DirectorySource`, what `plugwiz modules -o DIR` writes), plugwiz's own cache in the
same layout (`CachingSource`), or an HTTP proxy (`plugwiz.adapters.goproxy`, the only one that
touches the network and the only place credentials are read).

The effective settings (`effective_settings`) combine the project's `modules:` with the
environment (`ModuleEnvironment`, read by `module_environment`), project first.
"""

from __future__ import annotations

import netrc
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from plugwiz.core.model import ModuleEnvironment, ModuleSettings, Project, ResolvedProject
from plugwiz.core.redact import redact_url

DEFAULT_GOPROXY = "https://proxy.golang.org,direct"


class ModuleSourceError(Exception):
    """A module source cannot be used (unreachable, access denied); the message is for a person
    and never holds a credential."""


class ModuleSource(Protocol):
    """Something that serves module-proxy paths."""

    def describe(self) -> str:
        """What it is, for a person (no credentials)."""
        ...

    def fetch(self, path: str) -> bytes | None:
        """The file at proxy path `path`, or None when this source does not have it (404, 410,
        no such file). Raises ModuleSourceError when it cannot be asked at all."""
        ...


class DirectorySource:
    """A file-based module proxy: a directory in the GOPROXY `file://` layout."""

    def __init__(self, root: Path, label: str = "") -> None:
        self.root = root
        self._label = label or f"the module directory {root}"

    def describe(self) -> str:
        return self._label

    def fetch(self, path: str) -> bytes | None:
        target = self.root / path
        try:
            if self.root.resolve() not in target.resolve().parents:
                return None
            return target.read_bytes()
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except OSError as exc:
            raise ModuleSourceError(f"{self._label}: cannot read {path}: {exc.strerror}") from exc


class CachingSource:
    """`upstream` behind a cache directory in the proxy layout: what was fetched once is read
    from disk afterwards (module versions never change; go.sum checks them anyway). `@v/list`
    files are never cached: they change."""

    def __init__(self, upstream: ModuleSource | None, cache: Path) -> None:
        self.upstream = upstream
        self.cache = DirectorySource(cache, f"plugwiz's module cache {cache}")

    def describe(self) -> str:
        return self.upstream.describe() if self.upstream is not None else self.cache.describe()

    def fetch(self, path: str) -> bytes | None:
        cached = self.cache.fetch(path) if not path.endswith("/@v/list") else None
        if cached is not None or self.upstream is None:
            return cached
        data = self.upstream.fetch(path)
        if data is not None and not path.endswith("/@v/list"):
            _write_cached(self.cache.root / path, data)
        return data


def _write_cached(target: Path, data: bytes) -> None:
    """Write a cache file whole (a temporary file renamed), or not at all."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError:
        pass  # a cache that cannot be written only costs a download next time


@dataclass(frozen=True)
class EffectiveModuleSettings:
    """The module settings a build uses: the project's, else the environment's, else Go's."""

    proxy: str  # GOPROXY without credentials ("" = Go's default)
    private: str
    nosumdb: str
    sumdb: str
    offline: Path | None  # the offline module directory, absolute
    proxy_has_credentials: bool
    upgrade: tuple[str, ...]

    @property
    def proxy_list(self) -> list[str]:
        """GOPROXY's entries (`off`, `direct` or a URL), separators dropped."""
        text = self.proxy or DEFAULT_GOPROXY
        return [p.strip() for p in text.replace("|", ",").split(",") if p.strip()]

    @property
    def proxy_urls(self) -> list[str]:
        """The proxies GOPROXY names that are URLs."""
        return [p for p in self.proxy_list if "://" in p]


def effective_settings(resolved: ResolvedProject) -> EffectiveModuleSettings:
    """The project's module settings completed from the environment it was resolved in."""
    return settings_for(resolved.project, resolved.environment)


def settings_for(project: Project, environment: ModuleEnvironment) -> EffectiveModuleSettings:
    """`project.modules` completed from `environment`."""
    mine: ModuleSettings = project.modules
    offline = project.source_path(mine.offline) if mine.offline else None
    return EffectiveModuleSettings(
        proxy=redact_url_list(mine.proxy) if mine.proxy else environment.proxy,
        private=mine.private or environment.private,
        nosumdb=mine.nosumdb or environment.nosumdb,
        sumdb=mine.sumdb or environment.sumdb,
        offline=offline,
        # Credentials for the project's proxy may be in ~/.netrc too: checked for its host.
        proxy_has_credentials=(
            environment.proxy_has_credentials
            if not mine.proxy or mine.proxy == environment.proxy
            else _netrc_has_any(mine.proxy)
        ),
        upgrade=mine.upgrade,
    )


def redact_url_list(text: str) -> str:
    """A GOPROXY value with the credentials of every URL in it removed (separators kept)."""
    out: list[str] = []
    word = ""
    for char in text:
        if char in ",|":
            out.append(redact_url(word.strip()) if "://" in word else word.strip())
            out.append(char)
            word = ""
        else:
            word += char
    out.append(redact_url(word.strip()) if "://" in word else word.strip())
    return "".join(out)


def has_userinfo(text: str) -> bool:
    """True when any URL in a GOPROXY-like value carries a user or password."""
    for part in text.replace("|", ",").split(","):
        part = part.strip()
        if "://" in part and urlsplit(part).username is not None:
            return True
    return False


def netrc_path(environ: Mapping[str, str]) -> Path:
    """Where Go reads credentials: $NETRC, else ~/.netrc."""
    given = environ.get("NETRC")
    if given:
        return Path(given)
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".netrc"


def netrc_hosts(path: Path) -> set[str]:
    """The machines a netrc file has entries for (never their passwords)."""
    try:
        parsed = netrc.netrc(str(path))
    except (OSError, netrc.NetrcParseError):
        return set()
    return set(parsed.hosts)


def _netrc_has_any(proxy: str, environ: Mapping[str, str] | None = None) -> bool:
    hosts = netrc_hosts(netrc_path(environ if environ is not None else os.environ))
    return any(urlsplit(u).hostname in hosts for u in _urls(proxy))


def _urls(text: str) -> Sequence[str]:
    return [p.strip() for p in text.replace("|", ",").split(",") if "://" in p]


def module_environment(environ: Mapping[str, str]) -> ModuleEnvironment:
    """The module settings of an environment: GOPROXY (credentials removed), GOPRIVATE,
    GONOSUMDB, GOSUMDB, and whether the proxy has credentials (in GOPROXY or the netrc file)."""
    proxy = environ.get("GOPROXY", "").strip()
    hosts = netrc_hosts(netrc_path(environ)) if proxy else set()
    credentials = has_userinfo(proxy) or any(urlsplit(u).hostname in hosts for u in _urls(proxy))
    return ModuleEnvironment(
        proxy=redact_url_list(proxy),
        private=environ.get("GOPRIVATE", "").strip(),
        nosumdb=environ.get("GONOSUMDB", "").strip(),
        sumdb=environ.get("GOSUMDB", "").strip(),
        proxy_has_credentials=credentials,
    )


__all__ = [
    "DEFAULT_GOPROXY",
    "CachingSource",
    "DirectorySource",
    "EffectiveModuleSettings",
    "ModuleSource",
    "ModuleSourceError",
    "effective_settings",
    "has_userinfo",
    "module_environment",
    "netrc_hosts",
    "netrc_path",
    "redact_url_list",
    "settings_for",
]
