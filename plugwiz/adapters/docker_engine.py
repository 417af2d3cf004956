"""The Docker adapter: build with the classic builder, inspect images, run them once.

This is the only module that imports the docker SDK. Every docker failure a person can fix
(daemon down, no permission, image missing) becomes a typed exception with a message for them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import posixpath
import queue
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import docker
import requests
from docker import auth as docker_auth
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils import parse_repository_tag

from plugwiz.adapters.buildkit import (
    BuildKitCli,
    BuildKitRun,
    find_buildkit,
    require_buildkit,
    run_buildkit_build,
)
from plugwiz.adapters.docker_endpoint import DockerEndpoint, find_endpoint
from plugwiz.adapters.goproxy import prepare_for_build
from plugwiz.core.buildinfo import read_binary_facts
from plugwiz.core.context import HashingWriter, check_submodules, context_digest, write_context
from plugwiz.core.elf import ElfError, ElfFile, libc_version
from plugwiz.core.engine import EngineError as DockerError
from plugwiz.core.engine import EngineUnavailableError as DockerUnavailableError
from plugwiz.core.engine import (
    ImageFileError,
    ImageMissingError,
    ImageNotFoundError,
    PruneResult,
    PublishedPort,
    RunEvent,
    RunExited,
    RunOutput,
    RunResult,
    RunSpec,
    RunStarted,
)
from plugwiz.core.events import (
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildFinished,
    BuildStreamParser,
    BuildWarning,
    SmokeRunFinished,
    SmokeRunOutput,
    SmokeRunStarted,
    strip_ansi,
)
from plugwiz.core.explain import HostContext, explain
from plugwiz.core.image_refs import (
    IMAGE_MAP_ENV,
    OFFLINE_LABEL,
    is_official_name,
    legacy_offline_warning,
    missing_image_hint,
    offline_stand_in,
    parse_image_map,
    parse_image_ref,
    repo_digest_for,
)
from plugwiz.core.images import (
    check_builder_toolchain,
    go_version_from_image_tag,
    go_version_parts,
)
from plugwiz.core.model import (
    APP_DIR,
    BACKENDS,
    DEFAULT_PLUGIN_EXT,
    ProjectError,
    ResolvedProject,
    SmokeTest,
)
from plugwiz.core.packages import (
    NeededLibrary,
    ld_cache_names,
    missing_libraries,
    missing_libraries_message,
)
from plugwiz.core.paths import cache_dir
from plugwiz.core.pinning import pin_base_images
from plugwiz.core.plan import (
    CHECK_STAGE,
    DEFAULT_CACHE_ID,
    LOADCHECK_ENV,
    OUT_DIR,
    plan_build,
)
from plugwiz.core.ports import HostRepoError, HostRepository
from plugwiz.core.push import (
    LayerProgress,
    PushError,
    PushEvent,
    PushFinished,
    PushStarted,
    PushTargetError,
    RegistryAuthError,
    RegistryUnreachableError,
    push_target_problem,
    pushed_reference,
)
from plugwiz.core.render import emit_dockerfile
from plugwiz.core.report import (
    LABEL_CONTEXT,
    LABEL_MODULE,
    LABEL_PLUGINS,
    LABEL_REVISION,
    LABEL_SOURCE,
    ImageReport,
    PluginFile,
    go_version_from_binary,
)
from plugwiz.core.runtime_image import (
    HOST_DIGEST_LABEL,
    PLUGIN_DIGESTS_LABEL,
    plugin_digests_label,
)
from plugwiz.core.smoke import run_smoke

# How often the build loop wakes up to look at the cancel flag while the builder is silent.
_POLL_S = 0.2
# After a cancel, how long we wait for the daemon to remove the build's containers itself.
_CLEANUP_WAIT_S = 15.0
# A host binary larger than this is not read for its Go version (it would all sit in memory).
_MAX_BINARY_BYTES = 512 * 1024 * 1024
_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Enough to ask a daemon its own API version (the client then uses that one).
_MIN_API_VERSION = "1.24"
# Links followed when reading a file out of an image before giving up (a loop).
_MAX_SYMLINKS = 16
# Where images keep glibc's libc.so.6 (Debian/Ubuntu multiarch first, then other layouts).
LIBC_PATHS = (
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/aarch64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib64/libc.so.6",
    "/lib/libc.so.6",
    "/usr/lib/libc.so.6",
)


__all__ = [
    "DockerEngine",
    "DockerError",
    "DockerUnavailableError",
    "ImageFileError",
    "ImageMissingError",
    "ImageNotFoundError",
    "PruneResult",
    "RunResult",
]


def _where() -> str:
    """The engine's address for a message (`unix:///var/run/docker.sock`, a TCP or SSH host,
    with its context)."""
    try:
        return find_endpoint().describe()
    except DockerError:
        return os.environ.get("DOCKER_HOST") or _DEFAULT_SOCKET


def _unavailable(error: BaseException) -> DockerUnavailableError:
    where = _where()
    text = str(error)
    if "Permission denied" in text or isinstance(error, PermissionError):
        return DockerUnavailableError(
            f"permission denied talking to the Docker daemon at {where}: add your user to the "
            "`docker` group (`sudo usermod -aG docker $USER`, then log in again) or run as root"
        )
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return DockerUnavailableError(
            f"the Docker daemon at {where} has a TLS certificate that the CA in "
            "DOCKER_CERT_PATH (ca.pem) did not sign, or that does not name this host: check "
            "DOCKER_CERT_PATH (or the context's TLS files)"
        )
    if "HTTP request to an HTTPS server" in text:
        return DockerUnavailableError(
            f"the Docker daemon at {where} speaks TLS and plugwiz was not told to: set "
            "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory with ca.pem, cert.pem "
            "and key.pem (or use a Docker context that has them)"
        )
    if "SSL" in text or "TLS" in text or "tls" in text:
        return DockerUnavailableError(
            f"the TLS handshake with the Docker daemon at {where} failed: the daemon wants "
            "TLS client certificates (DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH with ca.pem, "
            f"cert.pem, key.pem) or does not speak TLS on that port ({_short(text)})"
        )
    if where.startswith("ssh://"):
        return DockerUnavailableError(
            f"cannot reach the Docker daemon at {where} over SSH: check `ssh` logs in there "
            "without a password prompt (a key in ssh-agent) and that `docker` runs there "
            f"({_short(text)})"
        )
    return DockerUnavailableError(
        f"the Docker daemon is not reachable at {where}: start it (`sudo systemctl start "
        "docker`, or run `dockerd`), or point DOCKER_HOST at a running daemon"
    )


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def client_for(endpoint: DockerEndpoint) -> docker.DockerClient:
    """A docker client for `endpoint` (TLS files and the ssh client as it says)."""
    kwargs: dict[str, Any] = {}
    if endpoint.tls:
        from docker.tls import TLSConfig

        client_cert = (
            (endpoint.client_cert, endpoint.client_key)
            if endpoint.client_cert and endpoint.client_key
            else None
        )
        kwargs["tls"] = TLSConfig(
            client_cert=client_cert,
            ca_cert=endpoint.ca_cert or None,
            verify=endpoint.verify,
        )
    if endpoint.ssh:
        # The ssh client, as the docker CLI does: ~/.ssh/config, known_hosts and the agent.
        kwargs["use_ssh_client"] = True
    if not endpoint.tls:
        return docker.DockerClient(base_url=endpoint.host, version="auto", **kwargs)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's own CA (psf/requests
    # #3829): the daemon's CA would be ignored wherever those are set. Keep the endpoint's,
    # before the client first talks to the daemon (asking its API version).
    client = docker.DockerClient(base_url=endpoint.host, version=_MIN_API_VERSION, **kwargs)
    api = client.api
    merge = api.merge_environment_settings

    def merged(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = merge(url, proxies, stream, verify, cert)
        settings["verify"] = api.verify
        return settings

    api.merge_environment_settings = merged
    api._version = api._retrieve_server_version()
    return client


@contextlib.contextmanager
def _docker_errors() -> Iterator[None]:
    """Turn connection failures inside the block into DockerUnavailableError."""
    try:
        yield
    except requests.exceptions.ConnectionError as error:
        raise _unavailable(error) from None
    except DockerException as error:
        # from_env() and friends wrap connection failures in a bare DockerException.
        if isinstance(error, APIError):
            raise
        raise _unavailable(error) from None


def _shutdown_response(response: requests.Response) -> None:
    """Close a streaming response now, even while another thread is blocked reading it."""
    # Closing the file object alone does not wake a blocked recv(); shutting the socket down
    # does, and it is what tells the daemon the client has gone (so it stops the build).
    raw: Any = getattr(response, "raw", None)
    candidates: list[Any] = []
    with contextlib.suppress(Exception):
        candidates.append(raw._fp.fp.raw._sock)
    with contextlib.suppress(Exception):
        candidates.append(raw._fp.fp.raw)
    with contextlib.suppress(Exception):
        candidates.append(raw._connection.sock)
    for sock in candidates:
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            break
    with contextlib.suppress(Exception):
        response.close()


class DockerEngine:
    """Builds, inspects and runs images through the Docker Engine API."""

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        backend: str = "",
        builder: str = "",
        cache_id: str = DEFAULT_CACHE_ID,
    ) -> None:
        """Use `client`, or one for the engine the environment names (see `client`).

        `backend` (classic, buildkit or auto) and `builder` (a buildx builder) override the
        project's `build:` settings; a project that leaves the backend to `auto` gets the
        PLUGWIZ_BACKEND environment variable's, if set. `cache_id` names BuildKit's Go
        build cache mount."""
        self._client = client
        self.backend = backend
        self.builder = builder
        self.cache_id = cache_id
        # Image IDs the last build produced or used (stage results, then layers), in stream
        # order: tests use them to clean up; plugwiz itself keeps them as the layer cache.
        self.last_build_images: list[str] = []
        self._go_versions: dict[str, str | None] = {}
        # Images the finishing step (labels) made in the last build.
        self._finished_images: list[str] = []
        self._ledger = ImageLedger(cache_dir() / "images.json")

    @property
    def client(self) -> docker.DockerClient:
        """The docker client, created on first use for the engine the environment names
        (DOCKER_HOST, DOCKER_CONTEXT or the config's current context, as the docker CLI)."""
        if self._client is None:
            endpoint = find_endpoint()
            with _docker_errors():
                try:
                    self._client = client_for(endpoint)
                except DockerException as error:
                    raise _unavailable(error) from None
        return self._client

    def ping(self) -> None:
        """Raise DockerUnavailableError unless the daemon answers."""
        with _docker_errors():
            try:
                self.client.ping()
            except APIError as error:
                raise _unavailable(error) from None

    # -- build ---------------------------------------------------------------------------------

    def _require_image(self, image: str, what: str) -> dict[str, Any]:
        with _docker_errors():
            try:
                attrs: dict[str, Any] = self.client.api.inspect_image(image)
            except ImageNotFound:
                stand_in = offline_stand_in(image)
                hint = missing_image_hint(
                    image, stand_in is not None and self._tagged_id(stand_in) is not None
                )
                raise ImageMissingError(
                    f"the {what} {image} is not present locally and plugwiz never pulls during a "
                    f"build: run `docker pull {image}` (or, offline, `scripts/make-go-image`)"
                    f"{hint}"
                ) from None
        return attrs

    def registry_digest(self, image: str) -> str | None:
        """The digest a registry gave `image` under its own name (RepoDigests), "" when the
        engine knows none (made with `docker import` or built here), None if it is absent."""
        with _docker_errors():
            try:
                attrs = self.client.api.inspect_image(image)
            except (ImageNotFound, NotFound):
                return None
        return repo_digest_for(image, attrs.get("RepoDigests") or [])

    def builder_go_version(self, image: str) -> str | None:
        """The Go version in `image`: from a `golang:X.Y` tag, the image's GOLANG_VERSION, or
        (only when neither tells) `go env GOVERSION` in a throwaway container; None if unknown."""
        from_tag = go_version_from_image_tag(image)
        if from_tag:
            return from_tag
        if image in self._go_versions:
            return self._go_versions[image]
        api = self.client.api
        with _docker_errors():
            attrs = api.inspect_image(image)
        pairs = (attrs.get("Config") or {}).get("Env") or []
        env = dict(item.split("=", 1) for item in pairs if "=" in item)
        version: str | None = env.get("GOLANG_VERSION") or None
        if version is None:
            version = self._run_go_version(attrs["Id"])
        self._go_versions[image] = version
        return version

    def _run_go_version(self, image_id: str) -> str | None:
        api = self.client.api
        with _docker_errors():
            container = api.create_container(
                image_id, command=["go", "env", "GOVERSION"], entrypoint=[], network_disabled=True
            )
        try:
            with _docker_errors():
                api.start(container["Id"])
                status = int(api.wait(container["Id"], timeout=60)["StatusCode"])
                raw = api.logs(container["Id"], stdout=True, stderr=False)
                output = raw.decode("utf-8", "replace")
        except (DockerException, requests.exceptions.RequestException):
            return None  # no `go` in the image: the build itself will say so
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                api.remove_container(container["Id"], force=True)
        text = output.strip()
        return text.removeprefix("go") if status == 0 and go_version_parts(text) else None

    def build(
        self,
        resolved: ResolvedProject,
        repo: HostRepository,
        *,
        tag: str,
        log_path: Path,
        cancel: threading.Event | None = None,
    ) -> Generator[BuildEvent, None, None]:
        """Build `resolved` and tag the image `tag`, yielding events as the builder reports.

        The image is built under a temporary tag and only retagged to `tag` on success, so a
        failed or cancelled build leaves an existing `tag` alone. Setting `cancel` (or closing
        the generator) stops the build within about a second and removes its containers.
        After a successful build, the images an earlier build of `tag` left and this one no
        longer uses are removed. Raises DockerUnavailableError, ImageMissingError, or
        ProjectError before building.
        """
        cancel = cancel or threading.Event()
        if not resolved.base.local:
            # This machine's stand-ins, when the caller did not say (the CLI and the wizard
            # pass them; tests and scripts that resolve on their own get them here).
            local = parse_image_map(os.environ.get(IMAGE_MAP_ENV, ""))
            resolved = replace(resolved, base=replace(resolved.base, local=local))
        plan_build(resolved)  # a project that cannot be built fails before Docker is asked
        self.ping()
        # Pinned by what the daemon knows now, whatever the caller looked up before.
        resolved = pin_base_images(resolved, self.registry_digest)
        plan = plan_build(resolved)
        legacy: list[str] = []
        for image, what in (
            (plan.builder_image, "builder image"),
            (plan.runtime_image, "runtime image"),
        ):
            attrs = self._require_image(image, what)
            labels = (attrs.get("Config") or {}).get("Labels") or {}
            # A stand-in under an official name (images built on a stand-in inherit the
            # label, so only official names count).
            if OFFLINE_LABEL in labels and is_official_name(image):
                legacy.append(legacy_offline_warning(image, what))
        go_line = resolved.facts.gomod.go
        if go_line:
            builder_version = self.builder_go_version(plan.builder_image)
            if builder_version:
                # Fail now, not after minutes of building, with both versions named.
                check_builder_toolchain(go_line, plan.builder_image, builder_version)
        # Modules and submodules are checked (or fetched) now: a missing one is one message
        # before the build, not a failure minutes into it.
        try:
            check_submodules(resolved, repo)
        except HostRepoError as error:
            raise ProjectError(str(error)) from None
        sources = prepare_for_build(resolved, plan.modules)
        cli = self.buildkit_cli(resolved)
        for warning in [*plan.warnings, *legacy]:
            yield BuildWarning(warning)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        tmp_tag = f"plugwiz-tmp-{uuid.uuid4().hex[:16]}:build"
        with (
            tempfile.TemporaryFile(prefix="plugwiz-context-") as context,
            log_path.open("w", encoding="utf-8") as log,
        ):
            hashing = HashingWriter(context)
            try:
                write_context(
                    resolved,
                    repo,
                    cast(BinaryIO, hashing),
                    sources,
                    buildkit=cli is not None,
                    cache_id=self.cache_id,
                )
            except HostRepoError as error:
                raise ProjectError(str(error)) from None
            context.seek(0)
            log.write(
                f"# plugwiz build of {tag} at {datetime.now().isoformat(timespec='seconds')}\n"
            )
            log.flush()
            if cli is None:
                # Added with the plugins' sha256 after the build, in the one metadata-only
                # step that adds those: given to the classic build, the label was a `LABEL`
                # step of its own (one step less; measured, it saved little time).
                labels = {LABEL_CONTEXT: hashing.digest}
                yield from self._build_stream(resolved, context, tag, tmp_tag, labels, log, cancel)
            else:
                # The label names the inputs whatever the backend: the classic context's digest.
                labels = {LABEL_CONTEXT: context_digest(resolved, repo, sources)}
                yield from self._buildkit_build(resolved, cli, context, tag, labels, log, cancel)

    def uses_buildkit(self, resolved: ResolvedProject) -> bool:
        """Whether a build of `resolved` goes through BuildKit; False when unsure (BuildKit
        asked for but missing: the build itself says so)."""
        try:
            return self.buildkit_cli(resolved) is not None
        except DockerError:
            return False

    def buildkit_cli(self, resolved: ResolvedProject) -> BuildKitCli | None:
        """How to run a BuildKit build of `resolved`, or None for the classic builder.
        Raises EngineError when BuildKit was asked for (or a buildx builder named) and no
        docker CLI here can drive it."""
        settings = resolved.project.build
        backend = self.backend or settings.backend or "auto"
        if backend == "auto":
            backend = os.environ.get("PLUGWIZ_BACKEND", "") or "auto"
        builder = self.builder or settings.builder
        if backend not in BACKENDS:
            raise DockerError(f"unknown build backend {backend!r}: use {', '.join(BACKENDS)}")
        if backend == "classic":
            return None
        if backend == "buildkit" or builder:
            return require_buildkit(builder)
        return find_buildkit()

    def _buildkit_build(
        self,
        resolved: ResolvedProject,
        cli: BuildKitCli,
        context: BinaryIO,
        tag: str,
        labels: dict[str, str],
        log: Any,
        cancel: threading.Event,
    ) -> Generator[BuildEvent, None, None]:
        """A BuildKit build through the docker CLI; the image is tagged `tag` on success."""
        plan = plan_build(resolved)
        dockerfile = emit_dockerfile(resolved, plan, buildkit=True, cache_id=self.cache_id)
        args = [f"--label={key}={value}" for key, value in labels.items()]
        if plan.network:
            # The module proxy is on this machine's loopback: RUN steps must share its network.
            args.append(f"--network={plan.network}")
        result = BuildKitRun()
        failed = False
        self.last_build_images = []
        with tempfile.TemporaryDirectory(prefix="plugwiz-buildkit-") as scratch:
            events = run_buildkit_build(
                cli,
                resolved,
                dockerfile,
                context,
                args=args,
                iidfile=Path(scratch) / "iid",
                log=log,
                cancel=cancel,
                result=result,
            )
            try:
                for event in events:
                    if isinstance(event, BuildFailed):
                        failed = True
                        event = self._explain_buildkit_failure(
                            resolved, cli, context, event, result
                        )
                    yield event
            finally:
                events.close()
                if result.outcome in ("running", "cancelled"):
                    log.write("# build cancelled\n")
                    log.flush()
        smoke = resolved.project.smoke
        if result.outcome == "finished" and smoke is not None:
            # Before the tag moves: a failing run leaves `tag` where it was.
            command = tuple(plan.cmd(resolved.project))
            passed = yield from self._smoke(result.image_id, smoke, cancel, command, tag, log)
            if not passed:
                # Kept as cache; removed once a build of `tag` supersedes it.
                self._ledger.add(tag, [result.image_id])
                failed = True
                result.outcome = "cancelled" if passed is None else "failed"
        if result.outcome == "finished":
            # The same finishing step as the classic builder's: the runtime libraries check
            # and the plugins' sha256 labels (a metadata-only classic build on top).
            final_id, failure = self._finish_image(resolved, result.image_id, log)
            self.last_build_images = [result.image_id, *self._finished_images]
            if failure is not None:
                with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                    self.client.api.remove_image(result.image_id, noprune=True)
                yield failure
                return
            previous = self._tagged_id(tag)
            repository, version = parse_repository_tag(tag)
            with _docker_errors():
                self.client.api.tag(final_id, repository, version or "latest", force=True)
            log.write(f"# tagged {tag} ({final_id})\n")
            try:
                yield BuildFinished(image_id=final_id, tag=tag)
            finally:
                self._forget_superseded_ids(tag, previous, [result.image_id, final_id])
        elif result.outcome == "cancelled":
            yield BuildCancelled()
        elif not failed:
            yield BuildFailed(
                message=(
                    f"the BuildKit build ended without an image (exit code {result.exit_code}); "
                    f"{tag} was not changed. See the log"
                ),
                step=0,
                title="",
                last_lines=(),
                locations=(),
                plugin=None,
            )

    def _explain_buildkit_failure(
        self,
        resolved: ResolvedProject,
        cli: BuildKitCli,
        context: BinaryIO,
        event: BuildFailed,
        result: BuildKitRun,
    ) -> BuildFailed:
        """`_explain_failure` for BuildKit, whose steps leave no images to read: the check
        stage is built again without its load-check RUN (every step cached, a second or
        two) into an untagged image, the host and the refused plugin are read from it, and
        the image is removed."""
        if not result.loadcheck_failures:
            return event
        if _loaded_but_symbol_refused(result.loadcheck_failures[0][1]):
            return event
        try:
            plan = plan_build(resolved)
            dockerfile = emit_dockerfile(resolved, plan, buildkit=True, cache_id=self.cache_id)
            kept = [
                line
                for line in dockerfile.split("\n")
                if not line.startswith(f"RUN {LOADCHECK_ENV}=")
            ]
            image_id = self._buildkit_stage_image(cli, context, "\n".join(kept), CHECK_STAGE)
        except (DockerError, OSError, subprocess.SubprocessError):
            return event
        if not image_id:
            return event
        try:
            plugin_path = result.loadcheck_failures[0][0]
            return self._explain_from_image(resolved, event, image_id, plugin_path)
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                self.client.api.remove_image(image_id, noprune=True)

    def _buildkit_stage_image(
        self, cli: BuildKitCli, context: BinaryIO, dockerfile: str, stage: str
    ) -> str:
        """Build `stage` of `dockerfile` with the context's other files; its image ID."""
        context.seek(0)
        with tempfile.TemporaryDirectory(prefix="plugwiz-buildkit-") as scratch:
            folder = Path(scratch)
            with (
                tarfile.open(fileobj=context, mode="r|") as source,
                tarfile.open(folder / "context.tar", "w") as tar,
            ):
                for member in source:
                    if member.name == "Dockerfile":
                        data = dockerfile.encode()
                        member.size = len(data)
                        tar.addfile(member, io.BytesIO(data))
                    else:
                        tar.addfile(member, source.extractfile(member) if member.isfile() else None)
            iid = folder / "iid"
            with (folder / "context.tar").open("rb") as stdin:
                done = subprocess.run(
                    cli.command("--progress=plain", "--iidfile", str(iid), "--target", stage, "-"),
                    stdin=stdin,
                    capture_output=True,
                    env=cli.environment(),
                    timeout=300,
                    check=False,
                )
            if done.returncode != 0 or not iid.exists():
                return ""
            return iid.read_text(encoding="utf-8").strip()

    def _build_stream(
        self,
        resolved: ResolvedProject,
        context: BinaryIO,
        tag: str,
        tmp_tag: str,
        labels: dict[str, str],
        log: Any,
        cancel: threading.Event,
    ) -> Generator[BuildEvent, None, None]:
        api = self.client.api
        parser = BuildStreamParser(resolved)
        started = time.time()
        params = {
            "t": tmp_tag,
            "rm": True,
            "forcerm": True,
            "pull": False,
            "q": False,
        }
        network = plan_build(resolved).network
        if network:
            # The module proxy is on this machine's loopback: RUN steps must share its network.
            params["networkmode"] = network
        # The SDK's api.build() hides the HTTP response, and a cancel needs to close it: the
        # daemon stops a classic build when its client goes away. Same request, our handle.
        with _docker_errors():
            response = api._post(
                api._url("/build"),
                data=context,
                params=params,
                headers={"Content-Type": "application/tar"},
                stream=True,
                timeout=None,
            )
        chunks: queue.Queue[Any] = queue.Queue()
        done = object()

        def reader() -> None:
            # Blocking reads happen here, so the generator can poll the cancel flag meanwhile.
            try:
                for chunk in api._stream_helper(response, decode=True):
                    chunks.put(chunk)
            except Exception as error:  # noqa: BLE001 - handed to the consumer thread
                chunks.put(error)
            finally:
                chunks.put(done)

        thread = threading.Thread(target=reader, name="plugwiz-build-stream", daemon=True)
        thread.start()
        # "running" until we know better; a generator close or an exception leaves it so.
        outcome = "running"
        try:
            while outcome == "running":
                if cancel.is_set():
                    outcome = "cancelled"
                    break
                try:
                    item = chunks.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is done:
                    outcome = "ended"
                    break
                if isinstance(item, Exception):
                    if cancel.is_set():
                        outcome = "cancelled"
                        break
                    # The daemon (or the socket to it) went away mid-build: a build failure,
                    # not a setup problem; nothing was tagged, so the old `tag` is intact.
                    outcome = "lost"
                    log.write(f"\n# lost the connection to the Docker daemon: {item}\n")
                    where = _where()
                    yield BuildFailed(
                        message=(
                            f"lost the connection to the Docker daemon at {where} during the "
                            f"build; {tag} was not changed. Check the daemon is running "
                            "(`docker info`) and build again"
                        ),
                        step=parser.step,
                        title="",
                        last_lines=(),
                        locations=(),
                        plugin=None,
                    )
                    break
                if not isinstance(item, dict):
                    continue
                _log_chunk(log, item)
                for event in parser.feed(item):
                    if isinstance(event, BuildFailed):
                        outcome = "failed"
                        event = self._explain_failure(resolved, parser, event)
                    yield event
            if outcome == "ended":
                yield from parser.close()
                if not parser.image_id:
                    outcome = "failed"
                    yield BuildFailed(
                        message=(
                            f"the builder stopped without producing an image; {tag} was not "
                            "changed. Was the Docker daemon stopped (`docker info`)? See the log"
                        ),
                        step=0,
                        title="",
                        last_lines=(),
                        locations=(),
                        plugin=None,
                    )
                else:
                    smoke = resolved.project.smoke
                    if smoke is not None:
                        # Before the tag moves: a failing run leaves `tag` where it was.
                        command = tuple(plan_build(resolved).cmd(resolved.project))
                        passed = yield from self._smoke(
                            parser.image_id, smoke, cancel, command, tag, log
                        )
                        if passed is None:
                            outcome = "cancelled"
                        elif not passed:
                            outcome = "failed"
                if outcome == "ended":
                    final_id, failure = self._finish_image(resolved, parser.image_id, log, labels)
                    if failure is not None:
                        outcome = "failed"
                        yield failure
                    else:
                        previous = self._tagged_id(tag)
                        self._retag(final_id, tmp_tag, tag)
                        log.write(f"# tagged {tag} ({final_id})\n")
                        outcome = "finished"
                        try:
                            # Said first: whoever waits for the image (watch mode runs it at
                            # once) need not wait for the superseded images to be removed.
                            yield BuildFinished(image_id=final_id, tag=tag)
                        finally:
                            self._forget_superseded(tag, previous, parser, final_id)
        finally:
            # Runs on success, failure, cancel, exceptions and generator close alike.
            _shutdown_response(response)
            thread.join(timeout=5)
            self.last_build_images = [
                *parser.stage_image_ids,
                *parser.layers,
                *self._finished_images,
            ]
            if outcome != "finished":
                # Kept as cache for the next build; removed once a build of `tag` supersedes it.
                self._ledger.add(tag, [*parser.layers, *parser.stage_image_ids])
            if outcome in ("running", "cancelled", "lost"):
                log.write("# build cancelled\n")
                log.flush()
                self._remove_build_containers(parser, started)
            if outcome != "finished":
                self._remove_tag(tmp_tag)
        if outcome == "cancelled":
            yield BuildCancelled()

    def _smoke(
        self,
        image_id: str,
        smoke: SmokeTest,
        cancel: threading.Event,
        command: tuple[str, ...],
        tag: str,
        log: Any,
    ) -> Generator[BuildEvent, None, bool | None]:
        """The smoke run of the image just built (see plugwiz.core.smoke), logged."""
        runner = run_smoke(self, image_id, smoke, cancel, command, tag)
        try:
            while True:
                event = next(runner)
                if isinstance(event, SmokeRunStarted):
                    log.write(f"# smoke run: {' '.join(event.command)} ({event.expectation})\n")
                elif isinstance(event, SmokeRunOutput):
                    log.write(event.text + "\n")
                elif isinstance(event, SmokeRunFinished):
                    log.write(
                        f"# smoke run {'passed' if event.passed else 'failed'}: {event.reason}\n"
                    )
                log.flush()
                yield event
        except StopIteration as stop:
            result: bool | None = stop.value
            return result

    # -- after the build: runtime libraries and provenance labels ---------------------------

    def _finish_image(
        self,
        resolved: ResolvedProject,
        image_id: str,
        log: Any,
        labels: dict[str, str] | None = None,
    ) -> tuple[str, BuildFailed | None]:
        """Check the built image can start its host, then label it with its files' sha256.

        The builder has every library the host and plugins link, so the load check passes
        even when the runtime image lacks one: read DT_NEEDED from the binaries in the image
        and look for each library where the image's loader would (its directories and its
        ld.so.cache). Then add the sha256 of the host and of every plugin as labels, by a
        metadata-only build on top of the image (their content is known only now), with
        `labels` (the classic build's context digest). Returns the image to tag, or the
        failure (nothing tagged)."""
        self._finished_images = []
        plan = plan_build(resolved)
        host_path = f"{APP_DIR}/{plan.host_binary}"
        plugin_paths = plan.runtime_plugin_paths
        api = self.client.api
        with _docker_errors():
            container = api.create_container(image_id, command=["true"], entrypoint=[])
        cid = container["Id"]
        try:
            contents = self._read_binaries(cid, [host_path, *plugin_paths])
            needs, machine = _needed_libraries(contents)

            def exists(path: str) -> bool:
                return self._path_exists(cid, path)

            missing = missing_libraries(needs, machine, exists, set())
            if missing:
                # Libraries outside the usual directories are in ld.so.cache (read only
                # when needed: one more request).
                try:
                    data = self._container_file(cid, "/etc/ld.so.cache", image_id)
                except ImageFileError:
                    data = b""
                missing = missing_libraries(needs, machine, exists, ld_cache_names(data))
        except (ImageFileError, DockerException, requests.exceptions.RequestException) as error:
            log.write(f"# could not check the runtime image's libraries: {error}\n")
            missing, contents = [], {}
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                api.remove_container(cid, force=True)
        if missing:
            message = missing_libraries_message(missing, plan.runtime_image)
            log.write(f"\nERROR: {message}\n")
            return image_id, BuildFailed(
                message=message,
                step=0,
                title="",
                last_lines=(),
                locations=(),
                plugin=None,
            )
        added = dict(labels or {})
        if contents:
            added[HOST_DIGEST_LABEL] = "sha256:" + hashlib.sha256(contents[host_path]).hexdigest()
            added[PLUGIN_DIGESTS_LABEL] = plugin_digests_label(
                (path, hashlib.sha256(contents[path]).hexdigest()) for path in plugin_paths
            )
        if not added:
            return image_id, None
        labelled = self._label_image(image_id, added)
        what = "the plugins' sha256" if contents else ", ".join(sorted(added))
        log.write(f"# labelled {image_id} with {what}: {labelled}\n")
        self._finished_images = [labelled]
        return labelled, None

    def _read_binaries(self, container_id: str, paths: list[str]) -> dict[str, bytes]:
        """The files at `paths` in the container, read a directory at a time (each archive
        request costs the daemon a mount: one for /app is cheaper than one per file)."""
        wanted = set(paths)
        directories: list[str] = []
        for directory in sorted({posixpath.dirname(path) for path in paths}, key=len):
            if not any(
                directory == d or directory.startswith(d.rstrip("/") + "/") for d in directories
            ):
                directories.append(directory)
        contents: dict[str, bytes] = {}
        for directory in directories:
            for path, data in _read_archive(self.client.api, container_id, directory):
                if path in wanted:
                    contents[path] = data
        missing = [path for path in paths if path not in contents]
        if missing:
            raise ImageFileError(f"the built image has no {', '.join(missing)}")
        return contents

    def _path_exists(self, container_id: str, path: str) -> bool:
        """Whether `path` exists in the (never started) container, links followed."""
        api = self.client.api
        current = posixpath.normpath(path)
        for _ in range(_MAX_SYMLINKS):
            # HEAD: the path's stat without its content (what `docker cp` asks first).
            response = api.head(
                api._url("/containers/{0}/archive", container_id),
                params={"path": current},
                timeout=api.timeout,
            )
            if response.status_code == 404:
                return False
            api._raise_for_status(response)
            header = response.headers.get("X-Docker-Container-Path-Stat", "")
            try:
                stat = json.loads(base64.b64decode(header)) if header else {}
            except ValueError:
                stat = {}
            target = str(stat.get("linkTarget") or "")
            if not target:
                return True
            current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        return False

    def _label_image(self, image_id: str, labels: dict[str, str]) -> str:
        """`image_id` with `labels` added: a build of `FROM image_id` and nothing else (the
        classic builder adds the labels as a metadata-only step: no new layer)."""
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            dockerfile = f"FROM {image_id}\n".encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            tar.addfile(info, io.BytesIO(dockerfile))
        context.seek(0)
        api = self.client.api
        result = ""
        with _docker_errors():
            for chunk in api.build(
                fileobj=context,
                custom_context=True,
                labels=labels,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            ):
                if "error" in chunk or "errorDetail" in chunk:
                    raise DockerError(
                        f"could not label the built image: {chunk.get('error') or chunk}"
                    )
                aux = chunk.get("aux")
                if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
                    result = aux["ID"]
        if not result:
            raise DockerError("could not label the built image: the builder gave no image")
        return result

    def _explain_failure(
        self, resolved: ResolvedProject, parser: BuildStreamParser, event: BuildFailed
    ) -> BuildFailed:
        """The failure with an explanation, when the load check refused a plugin.

        The check step's container is gone, but the image it started from (the last layer the
        builder reported) holds the host, the load-check binary and every plugin: read the
        host and the first refused plugin from it. Best effort: any problem leaves the
        failure as it was.
        """
        if not parser.loadcheck_failures or not parser.last_image:
            return event
        failure = parser.loadcheck_failures[0]
        if _loaded_but_symbol_refused(failure[1]):
            return event
        return self._explain_from_image(resolved, event, parser.last_image, failure[0])

    def _explain_from_image(
        self, resolved: ResolvedProject, event: BuildFailed, image: str, plugin_path: str
    ) -> BuildFailed:
        """`event` with the explanation of why the plugin at `plugin_path` would not load,
        read from `image` (which holds the host and every plugin under /out); `event` as it
        was on any problem."""
        try:
            plan = plan_build(resolved)
            host_path = f"{OUT_DIR}/{plan.host_binary}"
            files = self.read_image_files(image, [host_path, plugin_path])
            runtime_glibc = self.image_glibc(image)
            module = resolved.facts.gomod.module
            context = HostContext(
                label=f"the host ({module})" if module else "the host",
                revision=resolved.sha,
                modified=False,  # plugwiz builds the exported commit, never a work tree
                runtime_glibc=runtime_glibc,
                runtime_label=f"the builder image {plan.builder_image}",
            )
            explanation = explain(
                read_binary_facts(files[plugin_path]),
                read_binary_facts(files[host_path]),
                context,
                plugin_label=f"{event.plugin or posixpath.basename(plugin_path)}",
            )
        except (DockerError, DockerException, requests.exceptions.RequestException, ValueError):
            return event
        return replace(event, explanation=explanation)

    def _retag(self, image_id: str, tmp_tag: str, tag: str) -> None:
        repository, version = parse_repository_tag(tag)
        with _docker_errors():
            self.client.api.tag(image_id, repository, version or "latest", force=True)
        self._remove_tag(tmp_tag)

    def _remove_tag(self, tmp_tag: str) -> None:
        # Removing a name only untags while another tag (the real one) holds the image.
        with contextlib.suppress(DockerException, requests.exceptions.RequestException):
            self.client.api.remove_image(tmp_tag, noprune=True)

    def _tagged_id(self, tag: str) -> str | None:
        with contextlib.suppress(DockerException, requests.exceptions.RequestException):
            image_id: str = self.client.api.inspect_image(tag)["Id"]
            return image_id
        return None

    def _forget_superseded(
        self, tag: str, previous: str | None, parser: BuildStreamParser, final_id: str = ""
    ) -> None:
        """Remove what earlier builds of `tag` left and this build does not use: the image the
        tag pointed at before, and the step images of stages that changed since. Images this
        build used (its cache) and images anything else holds (a tag, a child) stay."""
        made = [*parser.layers, *parser.stage_image_ids, *([final_id] if final_id else [])]
        self._forget_superseded_ids(tag, previous, made)

    def _forget_superseded_ids(self, tag: str, previous: str | None, used: list[str]) -> None:
        """`_forget_superseded` with the IDs this build used (BuildKit: only its image)."""
        keep = {i.removeprefix("sha256:")[:12] for i in used}
        candidates = self._ledger.take(tag)
        if previous:
            candidates.append(previous)
        self._ledger.add(tag, sorted(keep))
        self._remove_untagged([c for c in candidates if c.removeprefix("sha256:")[:12] not in keep])

    def _remove_untagged(self, image_ids: list[str]) -> int:
        """Remove the images among `image_ids` that no tag or child image holds (newest
        first, so a chain goes from its leaf); returns how many went."""
        api = self.client.api
        removed = 0
        for image_id in reversed(list(dict.fromkeys(image_ids))):
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                if api.inspect_image(image_id).get("RepoTags"):
                    continue
                # noprune=False: the untagged parents this image alone held go with it.
                api.remove_image(image_id)
                removed += 1
        return removed

    def prune(self) -> PruneResult:
        """Remove what earlier plugwiz builds left behind: superseded step images of every tag
        plugwiz built (none that a tag's current image or its build cache needs), and the
        temporary tags of interrupted builds."""
        api = self.client.api
        with _docker_errors():
            before = int(api.df().get("LayersSize") or 0)
            candidates: list[str] = []
            for info in api.images(all=True):
                for repo_tag in info.get("RepoTags") or []:
                    if repo_tag.startswith("plugwiz-tmp-"):
                        with contextlib.suppress(DockerException):
                            api.remove_image(repo_tag, noprune=True)
                        candidates.append(info["Id"])
            keep: set[str] = set()
            for tag, ids in self._ledger.entries().items():
                current = self._tagged_id(tag)
                if current is None:
                    candidates.extend(ids)  # the tag is gone: its cache is litter
                    self._ledger.take(tag)
                    continue
                keep.update(i.removeprefix("sha256:")[:12] for i in self._chain(current))
                keep.update(i.removeprefix("sha256:")[:12] for i in ids)
            removed = self._remove_untagged(
                [c for c in candidates if c.removeprefix("sha256:")[:12] not in keep]
            )
            after = int(api.df().get("LayersSize") or 0)
        return PruneResult(images=removed, freed_bytes=max(0, before - after))

    def _chain(self, image_id: str) -> list[str]:
        """`image_id` and its parents (classic-builder images have them)."""
        chain: list[str] = []
        current = image_id
        with contextlib.suppress(DockerException, requests.exceptions.RequestException):
            while current and len(chain) < 500:
                chain.append(current)
                current = self.client.api.inspect_image(current).get("Parent") or ""
        return chain

    def _build_containers(self, parser: BuildStreamParser, started: float) -> list[str]:
        """IDs of containers this build created that still exist."""
        ours = set(parser.container_ids)
        found: list[str] = []
        for info in self.client.api.containers(all=True):
            cid = info.get("Id", "")
            if any(cid.startswith(short) for short in ours):
                found.append(cid)
                continue
            # A container made just before the cancel, whose "Running in" line never came:
            # the builder runs it from an image ID (not a name) of a layer this build made.
            image = str(info.get("ImageID") or info.get("Image") or "").removeprefix("sha256:")
            if info.get("Created", 0) >= int(started) - 1 and image[:12] in parser.layer_ids:
                found.append(cid)
        return found

    def _remove_build_containers(self, parser: BuildStreamParser, started: float) -> None:
        """Wait (bounded) for the daemon to remove the cancelled build's containers."""
        deadline = time.monotonic() + _CLEANUP_WAIT_S
        with contextlib.suppress(DockerException, requests.exceptions.RequestException):
            while True:
                left = self._build_containers(parser, started)
                if not left:
                    return
                if time.monotonic() > deadline:
                    # The daemon did not clean up in time (it normally does): do it ourselves.
                    for cid in left:
                        with contextlib.suppress(DockerException):
                            self.client.api.remove_container(cid, force=True)
                    return
                time.sleep(0.2)

    # -- inspect -------------------------------------------------------------------------------

    def _image_attrs(self, image: str) -> dict[str, Any]:
        with _docker_errors():
            try:
                attrs: dict[str, Any] = self.client.api.inspect_image(image)
            except (ImageNotFound, NotFound):
                raise ImageNotFoundError(
                    f"no image {image!r} here: build it first (`plugwiz build --tag {image}`) "
                    "or check the name with `docker images`"
                ) from None
            return attrs

    def inspect(self, image: str) -> ImageReport:
        """Read an image's CMD, plugin files and host build info without running it."""
        attrs = self._image_attrs(image)
        config = attrs.get("Config") or {}
        cmd = list(config.get("Cmd") or [])
        entrypoint = list(config.get("Entrypoint") or [])
        workdir = config.get("WorkingDir") or "/"
        labels: dict[str, str] = dict(config.get("Labels") or {})
        argv = entrypoint + cmd

        label_paths = [p for p in labels.get(LABEL_PLUGINS, "").split(",") if p]
        extensions = {posixpath.splitext(p)[1] for p in label_paths} or {DEFAULT_PLUGIN_EXT}
        cmd_paths = [
            _absolute(arg, workdir)
            for arg in _cmd_values(argv[1:])
            if arg.endswith(tuple(extensions))
        ]
        directories = sorted({posixpath.dirname(p) for p in label_paths + cmd_paths}) or [workdir]

        api = self.client.api
        with _docker_errors():
            # Never started: create only, so inspecting runs nothing from the image.
            container = api.create_container(attrs["Id"], command=argv or ["true"], entrypoint=[])
        try:
            files: dict[str, tuple[int, str]] = {}
            for directory in directories:
                for path, data in _read_archive(api, container["Id"], directory):
                    if path.endswith(tuple(extensions)):
                        files[path] = (len(data), hashlib.sha256(data).hexdigest())
            go_version = None
            if argv:
                binary = _absolute(argv[0], workdir)
                for _, data in _read_archive(api, container["Id"], binary):
                    go_version = go_version_from_binary(data)
                    break
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                api.remove_container(container["Id"], force=True)

        in_cmd = set(cmd_paths)
        plugins = [
            PluginFile(file=path, size=size, sha256=digest, in_cmd=path in in_cmd)
            for path, (size, digest) in sorted(files.items())
        ]
        tags = attrs.get("RepoTags") or []
        return ImageReport(
            tag=image if image in tags or not tags else tags[0],
            image_id=attrs.get("Id", ""),
            size=int(attrs.get("Size") or 0),
            cmd=cmd,
            entrypoint=entrypoint,
            workdir=workdir,
            host_repo=labels.get(LABEL_SOURCE, ""),
            host_commit=labels.get(LABEL_REVISION, ""),
            host_module=labels.get(LABEL_MODULE, ""),
            go_version=go_version,
            plugins=plugins,
            missing=[p for p in dict.fromkeys(cmd_paths) if p not in files],
            labels=labels,
            user=str(config.get("User") or ""),
        )

    # -- files -------------------------------------------------------------------------------

    def read_image_file(self, image: str, path: str) -> bytes:
        """The content of the regular file `path` in `image`, read without running anything.

        Symbolic links are followed inside the image (`/usr/bin/go` -> `../lib/go-1.19/bin/go`).
        Raises ImageNotFoundError when there is no such image, ImageFileError when the file is
        missing, not a regular file or larger than 512 MiB.
        """
        return self.read_image_files(image, [path])[path]

    def read_image_files(self, image: str, paths: list[str]) -> dict[str, bytes]:
        """Several files of `image` from one (never started) container; see read_image_file."""
        attrs = self._image_attrs(image)
        api = self.client.api
        with _docker_errors():
            container = api.create_container(attrs["Id"], command=["true"], entrypoint=[])
        try:
            return {path: self._container_file(container["Id"], path, image) for path in paths}
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                api.remove_container(container["Id"], force=True)

    def first_image_file(self, image: str, paths: list[str]) -> tuple[str, bytes] | None:
        """(path, content) of the first of `paths` that exists in `image`, or None."""
        attrs = self._image_attrs(image)
        api = self.client.api
        with _docker_errors():
            container = api.create_container(attrs["Id"], command=["true"], entrypoint=[])
        try:
            for path in paths:
                with contextlib.suppress(ImageFileError):
                    return path, self._container_file(container["Id"], path, image)
            return None
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                api.remove_container(container["Id"], force=True)

    def _container_file(self, container_id: str, path: str, image: str) -> bytes:
        api = self.client.api
        current = posixpath.normpath(path)
        for _ in range(_MAX_SYMLINKS):
            with _docker_errors():
                try:
                    stream, _stat = api.get_archive(container_id, current)
                except NotFound:
                    raise ImageFileError(f"{image} has no file {path}") from None
                buffer = io.BytesIO()
                for part in stream:
                    buffer.write(part)
                    if buffer.tell() > _MAX_BINARY_BYTES:
                        raise ImageFileError(f"{path} in {image} is larger than 512 MiB")
            buffer.seek(0)
            with tarfile.open(fileobj=buffer, mode="r|") as tar:
                member = next(iter(tar), None)
                if member is None:
                    raise ImageFileError(f"{image} has no file {path}")
                if member.issym():
                    # Relative targets are relative to the link's directory, as the kernel does.
                    current = posixpath.normpath(
                        posixpath.join(posixpath.dirname(current), member.linkname)
                    )
                    continue
                if not member.isfile():
                    raise ImageFileError(f"{path} in {image} is not a regular file")
                handle = tar.extractfile(member)
                if handle is None:
                    raise ImageFileError(f"{path} in {image} cannot be read")
                return handle.read()
        raise ImageFileError(f"{path} in {image}: too many symbolic links")

    def image_command(self, image: str) -> tuple[list[str], str, dict[str, str]]:
        """The image's ENTRYPOINT + CMD, working directory and labels."""
        attrs = self._image_attrs(image)
        config = attrs.get("Config") or {}
        argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
        return argv, config.get("WorkingDir") or "/", dict(config.get("Labels") or {})

    def image_glibc(self, image: str) -> str | None:
        """The glibc release (`2.36`) of `image`, from its libc.so.6; None if it has none
        (musl, distroless static) or the file cannot be read. Raises ImageNotFoundError."""
        self._image_attrs(image)
        try:
            found = self.first_image_file(image, list(LIBC_PATHS))
            return libc_version(found[1]) if found else None
        except (ImageFileError, ElfError):
            return None

    def image_arch(self, image: str) -> str | None:
        """The image's architecture (`amd64`), None if the daemon does not say."""
        arch = self._image_attrs(image).get("Architecture")
        return str(arch) if arch else None

    def image_exists(self, image: str) -> bool:
        """True when `image` is present locally."""
        try:
            self._image_attrs(image)
        except ImageNotFoundError:
            return False
        return True

    # -- push ----------------------------------------------------------------------------------

    def push(
        self, tag: str, *, cancel: threading.Event | None = None
    ) -> Generator[PushEvent, None, None]:
        """Push `tag` to its registry; see BuildEngine.push.

        The credentials are the user's Docker config's (`docker login` or a credential
        helper), found by the docker SDK for the registry the tag names; plugwiz never reads,
        logs or stores them. Setting `cancel` stops the push (the registry keeps what it had).
        """
        cancel = cancel or threading.Event()
        problem = push_target_problem(tag)
        if problem:
            raise PushTargetError(problem)
        self._image_attrs(tag)
        ref = parse_image_ref(tag)
        api = self.client.api
        headers: dict[str, str] = {}
        with _docker_errors():
            # What api.push() does, with the response in our hands (a cancel closes it).
            auth_header = docker_auth.get_config_header(api, ref.registry)
            if auth_header:
                headers["X-Registry-Auth"] = auth_header
            response = api._post_json(
                api._url("/images/{0}/push", ref.repository),
                None,
                headers=headers,
                params={"tag": ref.tag or "latest"},
                stream=True,
                timeout=None,
            )
            if response.status_code >= 400:
                raise _push_error(tag, ref.registry, _response_text(response))
        yield PushStarted(tag, ref.registry)
        chunks: queue.Queue[Any] = queue.Queue()
        done = object()

        def reader() -> None:
            try:
                for chunk in api._stream_helper(response, decode=True):
                    chunks.put(chunk)
            except Exception as error:  # noqa: BLE001 - handed to the consumer
                chunks.put(error)
            finally:
                chunks.put(done)

        thread = threading.Thread(target=reader, name="plugwiz-push", daemon=True)
        thread.start()
        digest, size = "", 0
        try:
            while True:
                if cancel.is_set():
                    raise PushError(f"the push of {tag} was cancelled")
                try:
                    item = chunks.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is done:
                    break
                if isinstance(item, Exception):
                    raise PushError(
                        f"lost the connection to the Docker daemon at {_where()} while pushing "
                        f"{tag}: push again"
                    )
                if not isinstance(item, dict):
                    continue
                if "error" in item or "errorDetail" in item:
                    detail = item.get("errorDetail") or {}
                    text = str(item.get("error") or detail.get("message") or item)
                    raise _push_error(tag, ref.registry, text)
                aux = item.get("aux")
                if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
                    digest, size = aux["Digest"], int(aux.get("Size") or 0)
                    continue
                layer = item.get("id")
                status = item.get("status")
                if isinstance(layer, str) and isinstance(status, str) and layer != ref.tag:
                    detail = item.get("progressDetail") or {}
                    yield LayerProgress(
                        layer,
                        status,
                        int(detail.get("current") or 0),
                        int(detail.get("total") or 0),
                    )
        finally:
            _shutdown_response(response)
            thread.join(timeout=5)
        if not digest:
            raise PushError(f"the registry {ref.registry} did not give {tag} a digest")
        yield PushFinished(tag, digest, pushed_reference(tag, digest), size)

    # -- run -----------------------------------------------------------------------------------

    def run_once(self, image: str, timeout: float = 30.0) -> RunResult:
        """Run the image's CMD once (at most `timeout` seconds) and return its output."""
        lines: list[str] = []
        exited = RunExited(None)
        for event in self.run(RunSpec(image, timeout=timeout), cancel=threading.Event()):
            if isinstance(event, RunOutput):
                lines.append(event.text)
            elif isinstance(event, RunExited):
                exited = event
        output = "".join(f"{line}\n" for line in lines)
        return RunResult(exited.exit_code, output, exited.timed_out)

    def run(self, spec: RunSpec, *, cancel: threading.Event) -> Generator[RunEvent, None, None]:
        """Run `spec.image`, streaming its output; see BuildEngine.run."""
        attrs = self._image_attrs(spec.image)
        config = attrs.get("Config") or {}
        api = self.client.api
        if spec.command is not None:
            command: list[str] | None = list(spec.command)
        elif spec.args:
            command = [*(config.get("Cmd") or []), *spec.args]
        else:
            command = None
        if spec.publish is None:
            exposed = list((config.get("ExposedPorts") or {}).keys())
        else:
            exposed = [f"{port}/tcp" for port in spec.publish]
        bindings = {port: ("127.0.0.1", None) for port in exposed}
        host_config = api.create_host_config(port_bindings=bindings) if bindings else None
        with _docker_errors():
            container = api.create_container(
                attrs["Id"],
                command=command,
                environment=[f"{k}={v}" for k, v in spec.env] or None,
                ports=[p.split("/")[0] for p in exposed] or None,
                host_config=host_config,
            )
        cid = container["Id"]
        lines: queue.Queue[Any] = queue.Queue()
        done = object()

        def reader() -> None:
            # Blocking reads here, so the generator can watch the cancel flag and the clock.
            partial = b""
            try:
                for chunk in api.logs(cid, stdout=True, stderr=True, stream=True, follow=True):
                    partial += chunk
                    *complete, partial = partial.split(b"\n")
                    for line in complete:
                        lines.put(line.decode("utf-8", "replace"))
                if partial:
                    lines.put(partial.decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001 - the end of the stream, whatever ended it
                pass
            finally:
                lines.put(done)

        thread: threading.Thread | None = None
        try:
            with _docker_errors():
                api.start(cid)
                info = api.inspect_container(cid)
            yield RunStarted(cid, _published(info))
            thread = threading.Thread(target=reader, name="plugwiz-run", daemon=True)
            thread.start()
            deadline = time.monotonic() + spec.timeout if spec.timeout else None
            ended = False
            while not ended:
                if cancel.is_set():
                    break
                if deadline is not None and time.monotonic() > deadline:
                    break
                try:
                    item = lines.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is done:
                    ended = True
                else:
                    yield RunOutput(str(item))
            if ended:
                with _docker_errors():
                    status = api.wait(cid, timeout=30)
                yield RunExited(int(status.get("StatusCode", -1)))
            else:
                with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                    api.kill(cid)
                # What it printed before it was stopped is still worth showing.
                if thread is not None:
                    thread.join(timeout=2)
                while not lines.empty():
                    item = lines.get_nowait()
                    if item is not done:
                        yield RunOutput(str(item))
                yield RunExited(None, timed_out=not cancel.is_set(), stopped=cancel.is_set())
        finally:
            with contextlib.suppress(DockerException, requests.exceptions.RequestException):
                api.remove_container(cid, force=True)
            if thread is not None:
                thread.join(timeout=2)


def _published(info: dict[str, Any]) -> tuple[PublishedPort, ...]:
    """The published ports of an inspected container."""
    ports: list[PublishedPort] = []
    for key, bindings in ((info.get("NetworkSettings") or {}).get("Ports") or {}).items():
        port, _, protocol = str(key).partition("/")
        for binding in bindings or []:
            with contextlib.suppress(ValueError, TypeError):
                ports.append(
                    PublishedPort(
                        int(port),
                        protocol or "tcp",
                        binding.get("HostIp") or "127.0.0.1",
                        int(binding.get("HostPort")),
                    )
                )
    return tuple(sorted(ports, key=lambda p: p.container_port))


def _response_text(response: requests.Response) -> str:
    with contextlib.suppress(Exception):
        data = response.json()
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    with contextlib.suppress(Exception):
        return response.text
    return f"HTTP {response.status_code}"


def _push_error(tag: str, registry: str, text: str) -> PushError:
    """The daemon's push error as a message a person can act on (it never holds the
    credentials: the daemon does not repeat them)."""
    said = _short(text, 200)
    lower = text.lower()
    login = f"`docker login {registry}`"
    if "no basic auth credentials" in lower:
        return RegistryAuthError(
            f"pushing {tag}: no credentials for {registry} in your Docker config: run "
            f"{login} (or set up its credential helper), then push again"
        )
    if any(
        word in lower
        for word in ("unauthorized", "authentication required", "denied", "incorrect username")
    ):
        return RegistryAuthError(
            f"pushing {tag}: {registry} refused the credentials in your Docker config "
            f"(wrong user or password, or no right to push to this repository): run {login} "
            f"again. The registry said: {said}"
        )
    if "x509" in lower or "certificate" in lower:
        return RegistryUnreachableError(
            f"pushing {tag}: {registry}'s TLS certificate is not trusted by the Docker daemon: "
            f"put the registry's CA certificate in /etc/docker/certs.d/{registry}/ca.crt on "
            f"the daemon's machine. The daemon said: {said}"
        )
    if "server gave http response to https client" in lower:
        return RegistryUnreachableError(
            f"pushing {tag}: {registry} speaks plain HTTP; serve it over TLS, or add it to the "
            f"daemon's insecure-registries. The daemon said: {said}"
        )
    if any(
        word in lower
        for word in ("connection refused", "no such host", "i/o timeout", "dial tcp", "timeout")
    ):
        return RegistryUnreachableError(
            f"pushing {tag}: cannot reach the registry {registry} from the Docker daemon at "
            f"{_where()}: check the address and that the registry runs. The daemon said: {said}"
        )
    return PushError(f"pushing {tag} failed: {said}")


def _needed_libraries(contents: dict[str, bytes]) -> tuple[list[NeededLibrary], str]:
    """The DT_NEEDED libraries of every ELF file in `contents`, and their machine."""
    needs: list[NeededLibrary] = []
    machine = ""
    for path, data in contents.items():
        try:
            elf = ElfFile(data)
        except ElfError:
            continue
        machine = machine or elf.machine
        run_paths = elf.run_paths()
        needs.extend(NeededLibrary(path, lib, run_paths) for lib in elf.needed_libraries())
    return needs, machine


def _cmd_values(args: list[str]) -> list[str]:
    """CMD arguments, with `--flag=value` split so the value is seen too."""
    values: list[str] = []
    for arg in args:
        values.append(arg)
        if arg.startswith("-") and "=" in arg:
            values.append(arg.split("=", 1)[1])
    return values


def _absolute(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir or "/", path))


def _read_archive(api: Any, container_id: str, path: str) -> Iterator[tuple[str, bytes]]:
    """(absolute path, content) of every regular file under `path` in the container."""
    try:
        stream, stat = api.get_archive(container_id, path)
    except NotFound:
        return
    buffer = io.BytesIO()
    for part in stream:
        buffer.write(part)
        if buffer.tell() > _MAX_BINARY_BYTES:
            return
    buffer.seek(0)
    # The archive's top entry is the basename of `path`; rebuild absolute paths from its parent.
    parent = posixpath.dirname(path.rstrip("/")) or "/"
    with tarfile.open(fileobj=buffer, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                yield posixpath.join(parent, member.name), handle.read()


def _loaded_but_symbol_refused(message: str) -> bool:
    """Whether the load check's failure says the plugin loaded and its symbol is missing or
    of another type: its binaries cannot explain more than the message does."""
    return message.startswith(("symbol ", "plugin: symbol "))


def _log_chunk(log: Any, chunk: dict[str, Any]) -> None:
    """Append one stream chunk to the build log, as the builder said it."""
    if isinstance(chunk.get("stream"), str):
        log.write(strip_ansi(chunk["stream"]))
    elif "error" in chunk or "errorDetail" in chunk:
        log.write(f"\nERROR: {chunk.get('error') or chunk.get('errorDetail')}\n")
    elif isinstance(chunk.get("status"), str):
        log.write(f"{chunk['status']}\n")
    log.flush()


class ImageLedger:
    """The step images each tag's builds produced, on disk, so a later build of the same tag
    (or `plugwiz prune`) can remove what it superseded. Best effort: a ledger that cannot be
    read or written only means less is cleaned up."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def entries(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(tag): [str(i) for i in ids if isinstance(i, str)]
            for tag, ids in data.items()
            if isinstance(ids, list)
        }

    def _write(self, data: dict[str, list[str]]) -> None:
        with contextlib.suppress(OSError):
            from plugwiz.core.atomic import atomic_write

            self._path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self._path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def add(self, tag: str, image_ids: list[str]) -> None:
        with self._lock:
            data = self.entries()
            known = data.get(tag, [])
            data[tag] = list(dict.fromkeys([*known, *image_ids]))
            self._write(data)

    def take(self, tag: str) -> list[str]:
        """The images recorded for `tag`, forgotten from the ledger."""
        with self._lock:
            data = self.entries()
            ids = data.pop(tag, [])
            self._write(data)
            return ids
