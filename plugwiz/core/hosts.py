"""Finding the host a plugin is explained against: a file, an image, or a project.

Pure given the ports: images are read through `ImageFiles` (the engine), a host tree through
`HostRepository`. The CLI's `plugwiz explain` and the wizard's Plugins step both call these.
Every function returns `HostSide` (the host's facts and what else is known) or raises a typed
error whose message is for a person: NotAGoBinaryError, OSError, EngineError, HostRepoError,
ProjectError.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from plugwiz.core.buildinfo import BinaryFacts, NotAGoBinaryError, read_binary_facts
from plugwiz.core.engine import ImageFileError, ImageFiles
from plugwiz.core.explain import Explanation, HostContext, explain
from plugwiz.core.model import ResolvedProject, effective_main_package
from plugwiz.core.ports import HostRepository
from plugwiz.core.predict import PREDICTED, predict_host_facts
from plugwiz.core.report import LABEL_REVISION

# Where a Go toolchain keeps its VERSION file, official images first, then Debian's layout.
_GO_VERSION_FILES = ("/usr/local/go/VERSION", "/usr/lib/go/VERSION")


@dataclass(frozen=True)
class HostSide:
    """The host's facts and the context they come with."""

    facts: BinaryFacts
    context: HostContext


def read_plugin(path: Path) -> BinaryFacts:
    """The facts of a plugin file; NotAGoBinaryError or OSError with a person's message."""
    try:
        return read_binary_facts(path)
    except FileNotFoundError:
        raise OSError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise OSError(f"{path} is a directory, not a plugin file") from None
    except PermissionError:
        raise OSError(f"{path} cannot be read (permission denied)") from None


def host_from_file(
    path: Path, runtime_glibc: str | None = None, runtime_label: str = ""
) -> HostSide:
    """A host binary on disk."""
    facts = read_plugin(path)
    return HostSide(
        facts,
        HostContext(
            label=f"the host binary {path.name}",
            runtime_glibc=runtime_glibc,
            runtime_label=runtime_label or "the runtime image",
        ),
    )


def host_from_image(engine: ImageFiles, image: str, *, label: str = "") -> HostSide:
    """The host binary of a built image (its ENTRYPOINT/CMD argv[0]), read without running
    it; the image's own glibc is the runtime's. Raises DockerError, NotAGoBinaryError."""
    argv, workdir, labels = engine.image_command(image)
    if not argv:
        raise ImageFileError(f"{image} has no ENTRYPOINT or CMD, so no host binary to read")
    binary = posixpath.normpath(posixpath.join(workdir or "/", argv[0]))
    data = engine.read_image_file(image, binary)
    try:
        facts = read_binary_facts(data)
    except NotAGoBinaryError as error:
        message = str(error).removeprefix("the file: ")
        raise NotAGoBinaryError(f"{binary} in {image}: {message}") from None
    return HostSide(
        facts,
        HostContext(
            label=label or f"the host {binary} in {image}",
            revision=labels.get(LABEL_REVISION, ""),
            runtime_glibc=engine.image_glibc(image),
            runtime_label=f"the image {image}",
        ),
    )


def builder_go_release(engine: ImageFiles, image: str) -> str | None:
    """The exact Go release (`go1.19.8`) in a builder image, read from its VERSION file (or its
    `go` binary), without running anything; None if it cannot be told."""
    found = engine.first_image_file(image, list(_GO_VERSION_FILES))
    if found is not None:
        first = found[1].decode("utf-8", "replace").splitlines()[:1]
        if first and first[0].startswith("go1"):
            return first[0].strip()
    tool = engine.first_image_file(image, ["/usr/local/go/bin/go", "/usr/bin/go"])
    if tool is not None:
        try:
            return read_binary_facts(tool[1]).go_version or None
        except NotAGoBinaryError:
            return None
    return None


def host_for_project(
    engine: ImageFiles,
    resolved: ResolvedProject,
    repo: HostRepository,
    *,
    use_image: bool = True,
) -> HostSide:
    """The host of a resolved project: its tag image's host binary when that image exists,
    else the host as plugwiz would build it (predicted; see plugwiz.core.predict).

    `repo` is the host repository; only a prediction
    reads it (go.mod at the pinned commit).
    """
    from plugwiz.core.plan import TRIMPATH, plan_build

    project = resolved.project
    plan = plan_build(resolved)
    module = resolved.facts.gomod.module
    sha = resolved.sha
    if use_image and project.tag and engine.image_exists(project.tag):
        side = host_from_image(engine, project.tag, label=f"the host in {project.tag}")
        notes: list[str] = [f"the host was read from the project's image {project.tag}"]
        built = side.context.revision
        if built and built != sha:
            notes.append(
                f"that image was built from commit {built[:12]}, but the project now builds "
                f"{sha[:12]}: rebuild it to compare with that host"
            )
        return HostSide(
            side.facts,
            HostContext(
                label=side.context.label,
                revision=built or sha,
                runtime_glibc=side.context.runtime_glibc,
                runtime_label=side.context.runtime_label,
                notes=tuple(notes),
            ),
        )
    go_version = None
    arch = "amd64"
    if engine.image_exists(plan.builder_image):
        go_version = builder_go_release(engine, plan.builder_image)
        arch = engine.image_arch(plan.builder_image) or arch
    if go_version is None:
        version = engine.builder_go_version(plan.builder_image) if go_version is None else None
        go_version = f"go{version}" if version else ""
    gomod = repo.read(sha, "go.mod")
    gomod_text = gomod.decode("utf-8", "replace") if gomod else ""
    facts = predict_host_facts(
        module=module,
        main_package=effective_main_package(project, resolved.facts) or ".",
        gomod_text=gomod_text,
        # The plugin asked about was built elsewhere: in the project it would be a prebuilt
        # plugin, and plugwiz builds the host of such a project with -trimpath.
        goflags=plan.goflags if TRIMPATH in plan.goflags else (TRIMPATH, *plan.goflags),
        build_env=project.host.build_env,
        go_version=go_version,
        goarch=arch,
    )
    runtime_glibc = None
    if engine.image_exists(plan.runtime_image):
        runtime_glibc = engine.image_glibc(plan.runtime_image)
    tag_note = (
        f"no image {project.tag} yet, so the host is predicted: "
        if project.tag
        else "the host is predicted: "
    )
    return HostSide(
        facts,
        HostContext(
            label=f"the host {module} (as plugwiz would build it)",
            revision=sha,
            modified=False,
            runtime_glibc=runtime_glibc,
            runtime_label=f"the runtime image {plan.runtime_image}",
            predicted=True,
            notes=(tag_note + "; ".join(PREDICTED) + f" (builder {plan.builder_image})",),
        ),
    )


def explain_plugin(plugin: BinaryFacts, host: HostSide, plugin_label: str) -> Explanation:
    """`explain` with a HostSide."""
    return explain(plugin, host.facts, host.context, plugin_label=plugin_label)
