"""Module proxies over HTTP(S): the network side of `plugwiz.core.modsource`.

This is the only module that reads credentials for a module proxy: from the userinfo of
GOPROXY in the environment, or from the netrc file Go reads ($NETRC, else ~/.netrc). They are
sent as HTTP basic auth to that proxy only, and never stored, logged, or put in a message or a
build: modules an authenticated proxy serves are fetched here and sent with the build context.
"""

from __future__ import annotations

import base64
import fnmatch
import netrc
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from plugwiz.core.model import ResolvedProject
from plugwiz.core.modfetch import (
    PreparedModules,
    local_sources,
    module_cache,
    prepare_modules,
    probe_modules,
)
from plugwiz.core.modsource import (
    CachingSource,
    EffectiveModuleSettings,
    ModuleSource,
    ModuleSourceError,
    effective_settings,
    netrc_path,
)
from plugwiz.core.modules import ModulePlan
from plugwiz.core.redact import redact_url, scrub

_TIMEOUT_S = 20.0
_DIRECT_TIMEOUT_S = 3.0


def _credentials(url: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) for proxy `url` (credential-free): from GOPROXY in `environ` when it
    names the same proxy with userinfo, else from the netrc file."""
    wanted = urlsplit(url)
    for part in environ.get("GOPROXY", "").replace("|", ",").split(","):
        part = part.strip()
        if "://" not in part:
            continue
        given = urlsplit(part)
        if given.username is None:
            continue
        if (given.hostname, given.port, given.path.rstrip("/")) == (
            wanted.hostname,
            wanted.port,
            wanted.path.rstrip("/"),
        ):
            from urllib.parse import unquote

            return unquote(given.username), unquote(given.password or "")
    try:
        entry = netrc.netrc(str(netrc_path(environ))).authenticators(wanted.hostname or "")
    except (OSError, netrc.NetrcParseError):
        entry = None
    if entry is not None:
        login, _account, password = entry
        return login or "", password or ""
    return None


class HTTPProxySource:
    """One module proxy URL (the GOPROXY protocol over HTTP or HTTPS)."""

    def __init__(self, url: str, credentials: tuple[str, str] | None = None) -> None:
        clean = redact_url(url).rstrip("/")
        self.url = clean
        self._auth = (
            "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            if credentials
            else ""
        )
        self._secrets = [s for s in (credentials or ()) if len(s) >= 3]
        self._dead: str = ""  # why the proxy is unreachable, once it was

    def describe(self) -> str:
        return f"the module proxy {self.url}"

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return scrub(text, self.url)

    def fetch(self, path: str) -> bytes | None:
        if self._dead:
            raise ModuleSourceError(self._dead)
        parts = urlsplit(self.url)
        target = urlunsplit((parts.scheme, parts.netloc, f"{parts.path}/{path}", "", ""))
        request = urllib.request.Request(target, headers={"User-Agent": "plugwiz"})
        if self._auth:
            request.add_unredirected_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                return None
            if error.code in (401, 403):
                hint = (
                    "check the credentials for it (GOPROXY's URL in the environment, or ~/.netrc)"
                    if self._auth
                    else "it needs credentials: put them in GOPROXY's URL in the environment "
                    "or in ~/.netrc"
                )
                self._dead = f"{self.describe()} refused access (HTTP {error.code}): {hint}"
                raise ModuleSourceError(self._dead) from None
            raise ModuleSourceError(
                f"{self.describe()} answered HTTP {error.code} for {path}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            self._dead = self._clean(f"{self.describe()} is unreachable: {reason}")
            raise ModuleSourceError(self._dead) from None


class GoProxyChain:
    """GOPROXY's list as a module source: each URL in turn (Go falls back after `,` on a
    404/410 and after `|` on any error; plugwiz, which only reads, tries the next either
    way). `direct` and `off` entries serve nothing here."""

    def __init__(self, settings: EffectiveModuleSettings, environ: Mapping[str, str]) -> None:
        self.sources = [
            HTTPProxySource(url, _credentials(url, environ)) for url in settings.proxy_urls
        ]
        self._settings = settings

    def describe(self) -> str:
        return "GOPROXY (" + ", ".join(s.url for s in self.sources) + ")"

    def fetch(self, path: str) -> bytes | None:
        errors: list[str] = []
        for source in self.sources:
            try:
                data = source.fetch(path)
            except ModuleSourceError as error:
                errors.append(str(error))
                continue
            if data is not None:
                return data
        if errors:
            raise ModuleSourceError("; ".join(dict.fromkeys(errors)))
        return None


def _matches(patterns: str, module: str) -> bool:
    """GOPRIVATE-style matching: a comma-separated list of glob patterns, each matching a
    module path or any of its prefixes."""
    parts = module.split("/")
    for pattern in (p.strip() for p in patterns.split(",")):
        if not pattern:
            continue
        depth = pattern.count("/") + 1
        if fnmatch.fnmatchcase("/".join(parts[:depth]), pattern):
            return True
    return False


def direct_probe(settings: EffectiveModuleSettings) -> Callable[[str], str | None]:
    """A check that the origin of a module is reachable (for GOPROXY's `direct`, and private
    modules): None when it is, else why not."""
    allowed = "direct" in settings.proxy_list

    def probe(module: str) -> str | None:
        private = _matches(settings.private, module)
        if not (allowed or private):
            return "GOPROXY does not allow direct downloads"
        host = module.split("/", 1)[0]
        try:
            with socket.create_connection((host, 443), timeout=_DIRECT_TIMEOUT_S):
                return None
        except OSError as error:
            return f"direct from {host}: unreachable ({error.strerror or error})"

    return probe


def module_sources(
    resolved: ResolvedProject, environ: Mapping[str, str] | None = None
) -> list[ModuleSource]:
    """Every source of the project's modules, in order: the offline directory, plugwiz's cache,
    then the proxies GOPROXY names (what they serve is cached)."""
    env = os.environ if environ is None else environ
    settings = effective_settings(resolved)
    sources = local_sources(settings)
    if settings.proxy_urls and "off" not in settings.proxy_list[:1]:
        sources.append(CachingSource(GoProxyChain(settings, env), module_cache()))
    return sources


def prepare_for_build(
    resolved: ResolvedProject, plan: ModulePlan, environ: Mapping[str, str] | None = None
) -> list[ModuleSource]:
    """Before a build: check or fetch the modules it needs (raises ModulesUnavailableError,
    ModuleChecksumError or ModuleConflictError, never after the build started) and return the
    sources `write_context` takes them from."""
    sources = module_sources(resolved, environ)
    if plan.delivery == "build" and plan.settings is not None:
        env = os.environ if environ is None else environ
        chain = CachingSource(GoProxyChain(plan.settings, env), module_cache())
        probe = direct_probe(plan.settings)
        probe_modules(resolved, plan, chain, probe)
    return sources


def write_offline_proxy(
    resolved: ResolvedProject,
    plan: ModulePlan,
    dest: Path,
    environ: Mapping[str, str] | None = None,
) -> PreparedModules:
    """`plugwiz modules`: every module the build needs from a module source, written to `dest`
    as a file-based proxy (the GOPROXY `file://` layout); returns what was fetched."""
    from dataclasses import replace

    sources = module_sources(resolved, environ)
    wanted = plan if plan.delivery == "vendor" else replace(plan, delivery="context")
    prepared = prepare_modules(resolved, wanted, sources)
    for path, data in prepared.proxy:
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return prepared


__all__ = [
    "GoProxyChain",
    "HTTPProxySource",
    "direct_probe",
    "module_sources",
    "prepare_for_build",
    "write_offline_proxy",
]
