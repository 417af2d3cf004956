"""The command line: the wizard, init, render, context, build, inspect.

Exit codes: 0 ok, 1 build (or check) failure, 2 user error. Heavy modules (Textual, docker,
GitPython) are imported only by the commands that need them, so `--help` starts instantly;
so is the project model (its dataclasses are a third of `--help`'s start-up).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from plugwiz.core.model import ExtraFile, Project, ResolvedProject
    from plugwiz.core.project_file import ProjectDocument
    from plugwiz.core.watch import FileWatcher

EXIT_OK = 0
EXIT_BUILD_FAILED = 1
EXIT_USER_ERROR = 2

COMMANDS = (
    "init",
    "render",
    "context",
    "build",
    "push",
    "inspect",
    "explain",
    "prune",
    "new",
    "watch",
    "serve",
    "modules",
)
DEFAULT_PROJECT_FILE = "plugwiz.yaml"
# `plugwiz.core.model.BACKENDS`, written out so that building the parser (all `--help` does)
# needs no model; tests/unit/test_startup_imports.py checks that the two agree.
BACKEND_CHOICES = ("auto", "classic", "buildkit")


class UserError(Exception):
    """A mistake in what the user asked for; printed as `plugwiz: error: ...`, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"plugwiz: error: {message}\n")


def _add_project_options(parser: argparse.ArgumentParser, with_project_file: bool = True) -> None:
    if with_project_file:
        parser.add_argument(
            "project",
            nargs="?",
            metavar="PROJECT.yaml",
            help="project file (default: the embedded demo host, unless --host is given)",
        )
    g = parser.add_argument_group("project options (override the project file)")
    g.add_argument("--host", metavar="PATH|URL", help="host git repository: a local path or a URL")
    g.add_argument("--ref", help="branch, tag or commit of the host to build (default: HEAD)")
    g.add_argument(
        "--plugin",
        action="append",
        metavar="PATH",
        help="custom plugin: a .go file, a directory of package main files, or a prebuilt .so "
        "(repeatable; replaces the project's plugins)",
    )
    g.add_argument(
        "--plugin-flag",
        metavar="FLAG",
        help="flag that passes each plugin to the host (default --prov; '' = none, the host "
        "opens fixed paths; a trailing '=' gives --flag=PATH; write --plugin-flag=--x)",
    )
    g.add_argument("--plugin-ext", metavar="EXT", help="plugin file extension (default .so)")
    g.add_argument(
        "--plugin-dir", metavar="DIR", help="plugin directory in the image (default /app/plugins)"
    )
    g.add_argument("--symbol", metavar="NAME", help="symbol every plugin must export (load check)")
    g.add_argument("--builder-image", metavar="IMG", help="Go builder image (default: from go.mod)")
    g.add_argument(
        "--runtime-image", metavar="IMG", help="runtime image (default: matches the builder)"
    )
    g.add_argument("--tag", metavar="TAG", help="tag of the image to build")
    g.add_argument(
        "--main", metavar="PKG", help="host main package, e.g. ./cmd/myhost (default: detected)"
    )
    g.add_argument(
        "--bundled",
        action="append",
        metavar="DIR",
        help="bundled plugin package in the host tree (repeatable; default: detected)",
    )
    g.add_argument("--no-bundled", action="store_true", help="build no bundled plugins")
    g.add_argument(
        "--arg",
        action="append",
        metavar="ARG",
        help="extra argument for the host's CMD, before the plugins (repeatable; use --arg=--x)",
    )
    g.add_argument(
        "--file",
        action="append",
        metavar="SRC:TARGET",
        help="extra file or directory for the runtime image (SRC local, or host:PATH; repeatable)",
    )
    g.add_argument(
        "--build-flag",
        action="append",
        metavar="FLAG",
        help="Go build flag for host and plugins, e.g. --build-flag=-mod=vendor (repeatable)",
    )
    g.add_argument(
        "--build-env",
        action="append",
        metavar="NAME=VALUE",
        help="build environment variable (repeatable)",
    )
    g.add_argument(
        "--build-command",
        metavar="CMD",
        help="custom host build command instead of `go build` "
        "(split like a shell, never run by one)",
    )
    g.add_argument("--binary", metavar="PATH", help="file the custom build command produces")
    g.add_argument(
        "--runtime-user",
        metavar="USER",
        help="user the host runs as in the image: UID or UID:GID (default 65532:65532), or root",
    )
    g.add_argument(
        "--writable",
        action="append",
        metavar="DIR",
        help="directory the host writes in the image, owned by its user (repeatable)",
    )
    g.add_argument(
        "--builder-package",
        action="append",
        metavar="PKG",
        help="system package for the builder, e.g. libsqlite3-dev (repeatable)",
    )
    g.add_argument(
        "--runtime-package",
        action="append",
        metavar="PKG",
        help="system package for the runtime image, e.g. libsqlite3-0 (repeatable)",
    )
    g.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        help="build with the classic builder, BuildKit (docker CLI or buildx), or auto: "
        "BuildKit where available (default: the project's build.backend, else auto)",
    )
    g.add_argument(
        "--builder",
        metavar="NAME",
        help="buildx builder to build on, local or remote (implies BuildKit)",
    )
    _add_module_options(g)


def _add_module_options(g: argparse._ArgumentGroup) -> None:
    """Options for plugins with their own modules, the typed load check and the smoke run."""
    g.add_argument(
        "--symbol-type",
        metavar="TYPE",
        help="Go type the symbol must have, e.g. 'func() provider.Provider' (default: the type "
        "the host's bundled plugins export)",
    )
    g.add_argument(
        "--goproxy",
        metavar="URL",
        help="module proxy (GOPROXY) for the build; credentials only in the environment's "
        "GOPROXY or ~/.netrc",
    )
    g.add_argument(
        "--offline-modules",
        metavar="DIR",
        help="a module directory `plugwiz modules -o DIR` wrote: the build needs no network",
    )
    g.add_argument(
        "--upgrade-module",
        action="append",
        metavar="MODULE",
        help="let the plugins upgrade this module of the host (repeatable)",
    )
    g.add_argument("--no-smoke", action="store_true", help="skip the project's smoke run")


def build_parser() -> dict[str, argparse.ArgumentParser]:
    """One parser for the wizard and one per subcommand."""
    wizard = _Parser(
        prog="plugwiz",
        description="Build a Go host and its plugins together in Docker, so every plugin loads. "
        "With no command, opens the wizard (on the embedded demo host when no project is given).",
        epilog="commands: "
        + ", ".join(COMMANDS)
        + " (plugwiz COMMAND --help). Exit codes: 0 ok, 1 build failure, 2 user error.",
    )
    _add_project_options(wizard)
    wizard.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where the wizard saves the project "
        f"(default: PROJECT.yaml, or ./{DEFAULT_PROJECT_FILE})",
    )
    parsers: dict[str, argparse.ArgumentParser] = {"": wizard}

    init = _Parser(
        prog="plugwiz init",
        description="Write a project file (the host ref is checked; the project follows it "
        "unless --pin is given).",
    )
    _add_project_options(init, with_project_file=False)
    init.add_argument(
        "-o", "--output", metavar="FILE", default=DEFAULT_PROJECT_FILE, help="default: plugwiz.yaml"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument(
        "--pin",
        action="store_true",
        help="pin the commit the ref names now (host.commit), instead of following the ref",
    )
    parsers["init"] = init

    render = _Parser(prog="plugwiz render", description="Print the Dockerfile for a project.")
    _add_project_options(render)
    render.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")
    render.add_argument(
        "--pin",
        action="store_true",
        help="pin the base images by the digests the Docker engine knows, as a build does",
    )
    parsers["render"] = render

    context = _Parser(
        prog="plugwiz context", description="Write the build context (a tar with the Dockerfile)."
    )
    _add_project_options(context)
    context.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="the tar file to write"
    )
    context.add_argument(
        "--pin",
        action="store_true",
        help="pin the base images by the digests the Docker engine knows, as a build does",
    )
    parsers["context"] = context

    build = _Parser(
        prog="plugwiz build",
        description="Build the image, check every plugin loads, and inspect it.",
    )
    _add_project_options(build)
    build.add_argument(
        "--log", metavar="FILE", help="full build log (default: under the cache dir)"
    )
    build.add_argument(
        "--push",
        action="store_true",
        help="push the image to its registry after the build (credentials: your Docker "
        "config, as `docker login` writes it, or its credential helper)",
    )
    build.add_argument(
        "--timings",
        action="store_true",
        help="at the end, each stage's state (cached, done, failed) and how long it took",
    )
    parsers["build"] = build

    push = _Parser(
        prog="plugwiz push",
        description="Push an image to its registry, showing each layer, and print the pushed "
        "reference with its digest (registry/name@sha256:...), the one to deploy. "
        "Credentials come from your Docker config (`docker login`) or its credential helper.",
    )
    push.add_argument("tag", metavar="TAG", help="the image, tagged with its registry")
    parsers["push"] = push

    inspect = _Parser(
        prog="plugwiz inspect", description="Show what an image holds: host, plugins, CMD."
    )
    inspect.add_argument("image", metavar="IMAGE")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    parsers["inspect"] = inspect

    prune = _Parser(
        prog="plugwiz prune",
        description="Remove the images earlier plugwiz builds left behind (superseded results "
        "and step images no tag or build cache needs) and say how much space that freed.",
    )
    parsers["prune"] = prune
    explain = _Parser(
        prog="plugwiz explain",
        description="Say whether a plugin would load into a host, and if not, why and what to "
        "fix. The host is a binary on disk (--host), the host binary of a built image "
        "(--image), or a project (PROJECT.yaml: its image when built, else the host as "
        "plugwiz would build it). Exit 0: nothing would stop it loading; 1: something would; "
        "2: an input is not a Go binary or cannot be read.",
    )
    explain.add_argument("plugin", metavar="PLUGIN.so", help="the plugin file")
    explain.add_argument(
        "project", nargs="?", metavar="PROJECT.yaml", help="explain against this project's host"
    )
    source = explain.add_mutually_exclusive_group()
    source.add_argument("--image", metavar="IMAGE", help="a local image whose CMD runs the host")
    source.add_argument("--host", metavar="FILE", help="a host binary on disk")
    explain.add_argument(
        "--runtime-image",
        metavar="IMAGE",
        help="with --host: the image the plugin will run in (for its glibc)",
    )
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    parsers["explain"] = explain

    modules = _Parser(
        prog="plugwiz modules",
        description="Write every Go module the project's build needs (the host's and its "
        "plugins') as a file-based module proxy in DIR, from the module proxy (GOPROXY) and "
        "the offline directory. Run it where the network is; then set `modules: {offline: DIR}` "
        "in the project file and the build needs no network at all.",
    )
    _add_project_options(modules)
    modules.add_argument("-o", "--output", metavar="DIR", required=True, help="the directory")
    parsers["modules"] = modules

    new = _Parser(
        prog="plugwiz new",
        description="Start a plugin: copy one of the host's bundled plugins (its working example "
        "of the plugin interface) to DIR, renamed NAME, and add it to the project file "
        "(PROJECT.yaml, else ./plugwiz.yaml, written when missing). It compiles and loads as it "
        "is. A host without bundled plugins gets a minimal skeleton with --skeleton.",
    )
    new.add_argument("name", metavar="NAME", help="the new plugin's name (its output file name)")
    _add_project_options(new)
    new.add_argument(
        "--from",
        dest="from_bundled",
        metavar="BUNDLED",
        help="the bundled plugin to copy, by name or path (default: the first one)",
    )
    new.add_argument(
        "-o", "--output", metavar="DIR", help="directory to write it to (default: ./NAME)"
    )
    new.add_argument(
        "--skeleton",
        action="store_true",
        help="when the host has no bundled plugin, write a minimal skeleton that exports the "
        "symbol the host looks up",
    )
    parsers["new"] = new

    watch = _Parser(
        prog="plugwiz watch",
        description="Build, load-check and run the image, then again each time a custom "
        "plugin's source (or its go.mod) is saved; a save during a build restarts it. Shows "
        "the host's output, or the compile errors. PROJECT.yaml defaults to ./plugwiz.yaml. "
        "Ctrl+C stops (and removes the container).",
    )
    _add_project_options(watch)
    watch.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help="stop after N builds have run (for scripts and benchmarks)",
    )
    parsers["watch"] = watch

    serve = _Parser(
        prog="plugwiz serve",
        description="Serve the wizard to a web browser (textual-serve): each browser tab runs "
        "its own wizard on this machine, which builds images and runs containers. Binds to "
        "127.0.0.1 unless told otherwise; another interface needs --allow-remote.",
    )
    _add_project_options(serve)
    serve.add_argument(
        "--bind", metavar="ADDR", default="127.0.0.1", help="address to listen on (127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, metavar="P", help="port (8000)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow an address other machines can reach: anyone who can open the page can "
        "run builds and containers here",
    )
    parsers["serve"] = serve
    return parsers


def _split_pair(value: str, sep: str, what: str) -> tuple[str, str]:
    left, found, right = value.rpartition(sep) if sep == ":" else value.partition(sep)
    if not found or not left or not right:
        raise UserError(
            f"{what} {value!r}: expected {'SRC:TARGET' if sep == ':' else 'NAME=VALUE'}"
        )
    return left, right


def apply_options(project: Project, args: argparse.Namespace) -> Project:
    """The project with the command-line options applied on top."""
    import shlex
    from dataclasses import replace

    from plugwiz.core.model import BundledPlugin, ExtraFile, PluginSource

    host = project.host
    if args.host is not None:
        host = replace(host, repo=args.host, commit="")
    if args.ref is not None:
        host = replace(host, ref=args.ref, commit="")
    if args.main is not None:
        host = replace(host, main_package=args.main)
    if args.build_command is not None:
        try:
            host = replace(host, build_command=tuple(shlex.split(args.build_command)))
        except ValueError as exc:
            raise UserError(f"--build-command: {exc}") from None
    if args.binary is not None:
        host = replace(host, binary=args.binary)
    if args.build_flag:
        host = replace(host, build_flags=tuple(args.build_flag))
    if args.build_env:
        host = replace(
            host, build_env=tuple(_split_pair(v, "=", "--build-env") for v in args.build_env)
        )
    changes: dict[str, object] = {"host": host}
    if args.plugin is not None:
        changes["plugins"] = tuple(PluginSource(source=p) for p in args.plugin)
    if args.no_bundled:
        changes["bundled"] = ()
    elif args.bundled:
        changes["bundled"] = tuple(BundledPlugin(path=p) for p in args.bundled)
    loading = project.loading
    if args.plugin_flag is not None:
        loading = replace(loading, flag=args.plugin_flag)
    if args.plugin_ext is not None:
        loading = replace(loading, extension=args.plugin_ext)
    if args.plugin_dir is not None:
        loading = replace(loading, directory=args.plugin_dir)
    if args.symbol is not None:
        loading = replace(loading, symbol=args.symbol)
    if args.symbol_type is not None:
        loading = replace(loading, symbol_type=args.symbol_type)
    if args.arg:
        loading = replace(loading, extra_args=tuple(args.arg))
    changes["loading"] = loading
    images = project.images
    if args.builder_image is not None:
        images = replace(images, builder=args.builder_image)
    if args.runtime_image is not None:
        images = replace(images, runtime=args.runtime_image)
    changes["images"] = images
    if args.file:
        changes["files"] = tuple(
            ExtraFile(*_split_pair(v, ":", "--file"))
            if not v.startswith("host:")
            else _host_file(v)
            for v in args.file
        )
    if args.tag is not None:
        changes["tag"] = args.tag
    modules = project.modules
    if args.goproxy is not None:
        from plugwiz.core.modsource import has_userinfo

        if has_userinfo(args.goproxy):
            raise UserError(
                "--goproxy must not hold credentials (they would show in the process list): "
                "put them in GOPROXY in the environment or in ~/.netrc"
            )
        modules = replace(modules, proxy=args.goproxy)
    if args.offline_modules is not None:
        modules = replace(modules, offline=str(Path(args.offline_modules).resolve()))
    if args.upgrade_module:
        modules = replace(modules, upgrade=tuple(args.upgrade_module))
    changes["modules"] = modules
    if args.no_smoke:
        changes["smoke"] = None
    runtime = project.runtime
    if args.runtime_user is not None:
        runtime = replace(runtime, user=args.runtime_user)
    if args.writable:
        runtime = replace(runtime, writable=tuple(args.writable))
    changes["runtime"] = runtime
    packages = project.packages
    if args.builder_package:
        packages = replace(packages, builder=tuple(args.builder_package))
    if args.runtime_package:
        packages = replace(packages, runtime=tuple(args.runtime_package))
    changes["packages"] = packages
    build = project.build
    if args.backend is not None:
        build = replace(build, backend=args.backend)
    if args.builder is not None:
        build = replace(build, builder=args.builder)
    changes["build"] = build
    return replace(project, **changes)  # type: ignore[arg-type]


def _host_file(value: str) -> ExtraFile:
    from plugwiz.core.model import ExtraFile

    source, target = _split_pair(value[len("host:") :], ":", "--file")
    return ExtraFile(source=f"host:{source}", target=target)


def load_base_project(args: argparse.Namespace) -> Project:
    """The project file given, else the demo project (when no --host), else an empty one."""
    from plugwiz.core.model import Project

    project_arg = getattr(args, "project", None)
    if project_arg:
        # Imported only here: yaml costs ~40 ms of start-up that the demo does not need.
        from plugwiz.core.project_file import load_project

        return load_project(Path(project_arg))
    if args.host is None:
        from plugwiz.core.resolve import demo_project

        return demo_project()
    return Project(base_dir=Path.cwd())


def resolved_project(args: argparse.Namespace) -> ResolvedProject:
    """Load, apply options, resolve the host ref and detect; errors become UserError text."""
    from plugwiz.service import resolve

    project = apply_options(load_base_project(args), args)
    if not project.host.repo:
        raise UserError("no host repository: give --host PATH|URL or a project file with host.repo")
    return resolve(project)


def _cmd_init(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from plugwiz.core.model import Project
    from plugwiz.core.project_file import ProjectDocument

    output = Path(args.output)
    if output.exists() and not args.force:
        raise UserError(f"{output} exists; use --force to overwrite it")
    if args.host is None:
        raise UserError("plugwiz init needs --host PATH|URL")
    project = replace(
        apply_options(Project(base_dir=output.resolve().parent), args),
        base_dir=output.resolve().parent,
    )
    from plugwiz.core.context import local_context_files
    from plugwiz.core.plan import plan_build
    from plugwiz.service import resolve

    resolved = resolve(project)
    plan_build(resolved)  # refuse to write a project that cannot be built
    local_context_files(resolved)  # ...or whose extra files are missing or unusable
    commit = resolved.host.commit
    if args.pin:
        project = replace(project, host=replace(project.host, commit=commit.sha))
    # Paths inside the project's directory are written relative to the file.
    ProjectDocument.new(project).save(project, output)
    follows = "pinned" if args.pin else f"following {project.host.ref or 'HEAD'}"
    print(
        f"wrote {output}: host {commit.short_sha} ({commit.subject}), {follows}, "
        f"{len(project.plugins)} custom plugin(s)"
    )
    return EXIT_OK


def _cmd_render(args: argparse.Namespace) -> int:
    from plugwiz.core.context import local_context_files
    from plugwiz.core.plan import plan_build
    from plugwiz.core.render import emit_dockerfile

    project = _pinned(resolved_project(args), args.pin)
    plan = plan_build(project)
    # The same checks `context` and `build` make: a Dockerfile for sources that cannot be
    # sent is no use, and the two commands must not disagree about a project.
    local_context_files(project)
    text = emit_dockerfile(project, plan, buildkit=_renders_for_buildkit(project))
    for warning in plan.warnings:
        print(f"plugwiz: warning: {warning}", file=sys.stderr)
    if args.output:
        from plugwiz.core.atomic import atomic_write

        atomic_write(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _renders_for_buildkit(resolved: ResolvedProject) -> bool:
    """Whether `render` and `context` show the BuildKit layout: what `build` would use."""
    import os

    settings = resolved.project.build
    backend = settings.backend
    if backend == "auto":
        backend = os.environ.get("PLUGWIZ_BACKEND", "") or "auto"
    if backend == "classic":
        return False
    if backend == "buildkit" or settings.builder:
        return True
    from plugwiz.adapters.buildkit import find_buildkit

    return find_buildkit() is not None


def _cmd_context(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from plugwiz.adapters.goproxy import module_sources
    from plugwiz.core.context import write_context
    from plugwiz.service import open_repo

    project = _pinned(resolved_project(args), args.pin)
    output = Path(args.output)
    sources = module_sources(project)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            entries = write_context(
                project,
                open_repo(project.project),
                handle,
                sources,
                buildkit=_renders_for_buildkit(project),
            )
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"wrote {output}: {len(entries)} files", file=sys.stderr)
    return EXIT_OK


def _pinned(project: ResolvedProject, pin: bool) -> ResolvedProject:
    """With `pin`, the project with the digests the engine knows for its base images."""
    if not pin:
        return project
    from plugwiz.commands import default_engine
    from plugwiz.core.engine import EngineError
    from plugwiz.core.pinning import pin_base_images

    engine = default_engine()
    try:
        engine.ping()
        return pin_base_images(project, engine.registry_digest)
    except EngineError as error:
        raise UserError(f"--pin needs the Docker engine: {error}") from None


def _cmd_build(args: argparse.Namespace) -> int:
    from plugwiz.commands import build_command

    project = resolved_project(args)
    log = Path(args.log) if args.log else None
    return build_command(
        project, tag=project.project.tag, log_path=log, push=args.push, timings=args.timings
    )


def _cmd_push(args: argparse.Namespace) -> int:
    from plugwiz.commands import push_command

    return push_command(args.tag, out=sys.stdout)


def _cmd_modules(args: argparse.Namespace) -> int:
    from plugwiz.adapters.goproxy import write_offline_proxy
    from plugwiz.core.plan import plan_build

    project = resolved_project(args)
    plan = plan_build(project)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    prepared = write_offline_proxy(project, plan.modules, output)
    versions = sorted(
        {
            p.rsplit("/@v/", 1)[0] + "@" + p.rsplit("/", 1)[1].rsplit(".", 1)[0]
            for p, _ in prepared.proxy
            if not p.endswith("/list")
        }
    )
    if not versions:
        print(f"the build needs no modules from a proxy: nothing written to {output}")
        return EXIT_OK
    print(f"wrote {len(versions)} module version(s) to {output}:")
    for version in versions:
        print(f"    {version}")
    print(
        f"set `modules: {{offline: {output}}}` in the project file (or --offline-modules "
        f"{output}): the build then needs no network"
    )
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from plugwiz.commands import inspect_command

    return inspect_command(args.image, as_json=args.json, out=sys.stdout)


def _cmd_prune(args: argparse.Namespace) -> int:
    from plugwiz.commands import prune_command

    return prune_command(out=sys.stdout)


def _cmd_explain(args: argparse.Namespace) -> int:
    from plugwiz.commands import explain_command

    given = [x for x in (args.image, args.host, args.project) if x]
    if len(given) != 1:
        raise UserError(
            "plugwiz explain needs one host: --image IMAGE, --host FILE or PROJECT.yaml"
        )
    if args.runtime_image and not args.host:
        raise UserError("--runtime-image goes with --host (an image or project has its own)")
    project = None
    if args.project:
        from plugwiz.core.project_file import load_project
        from plugwiz.service import resolve

        project = resolve(load_project(Path(args.project)))
    return explain_command(
        Path(args.plugin),
        image=args.image,
        host_file=Path(args.host) if args.host else None,
        project=project,
        runtime_image=args.runtime_image,
        as_json=args.json,
        out=sys.stdout,
    )


def _cmd_wizard(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from plugwiz.adapters.docker_endpoint import engine_label
    from plugwiz.commands import default_engine
    from plugwiz.core.project_file import ProjectDocument
    from plugwiz.service import machine_base_images, open_repo
    from plugwiz.ui.app import run_wizard

    document = ProjectDocument.load(Path(args.project)) if args.project else None
    base = document.project if document is not None else load_base_project(args)
    project = apply_options(base, args)
    path: Path | None = Path(args.output) if args.output else None
    if document is not None and path is not None and path != document.path:
        # Opened one file, saving to another: the first save writes the new file (with its
        # paths rebased); the opened one is never written.
        document = replace(document, path=path, text=None)
    elif path is None and document is not None:
        path = document.path
    return run_wizard(
        project,
        path,
        engine_factory=default_engine,
        repo_opener=open_repo,
        document=document,
        base_images=machine_base_images(),
        engine_label=engine_label(),
        watcher_factory=_watcher,
    )


def _watcher() -> FileWatcher:
    from plugwiz.adapters.watcher import WatchfilesWatcher

    return WatchfilesWatcher()


def _project_document_for(args: argparse.Namespace) -> tuple[ProjectDocument, Project]:
    """The project file `new` and `watch` work on: PROJECT.yaml, else ./plugwiz.yaml when it
    exists, else a new one there (on the demo host, or the --host given); and the project
    with the command-line options applied."""
    from dataclasses import replace

    from plugwiz.core.project_file import ProjectDocument

    path = Path(args.project) if args.project else Path(DEFAULT_PROJECT_FILE)
    if args.project or path.exists():
        document = ProjectDocument.load(path)
        return document, apply_options(document.project, args)
    project = apply_options(load_base_project(args), args)
    return replace(ProjectDocument.new(project), path=path), project


def _cmd_new(args: argparse.Namespace) -> int:
    from plugwiz.core.model import check_name
    from plugwiz.core.scaffold import (
        NoBundledPluginError,
        looked_up_symbol,
        new_plugin,
        with_new_plugin,
        write_plugin,
    )
    from plugwiz.service import open_repo, resolve

    check_name(args.name)
    document, project = _project_document_for(args)
    if not project.host.repo:
        raise UserError("no host repository: give --host PATH|URL or a project file with host.repo")
    resolved = resolve(project)
    repo = open_repo(project)
    try:
        plugin = new_plugin(
            resolved, repo, args.name, bundled=args.from_bundled, skeleton=args.skeleton
        )
    except NoBundledPluginError as exc:
        looked_up = looked_up_symbol(resolved, repo)
        what = (
            f"exports {looked_up.symbol} ({looked_up.type or 'type unknown'})"
            if looked_up.symbol
            else "exports nothing yet (no loading.symbol is set)"
        )
        raise UserError(
            f"{exc}; `plugwiz new {args.name} --skeleton` writes a minimal plugin that {what}"
        ) from None
    base_dir = project.base_dir
    directory = Path(args.output) if args.output else base_dir / args.name
    written = write_plugin(plugin, directory.resolve())
    saved_from = document.project
    target = document.path or Path(DEFAULT_PROJECT_FILE)
    updated = with_new_plugin(saved_from, directory.resolve(), args.name)
    existed = document.text is not None
    document.save(updated, target)
    print(f"new plugin {plugin.describe()}")
    for path in written:
        print(f"  {_shown(path)}")
    for note in plugin.notes:
        print(f"note: {note}")
    print(f"{'added it to' if existed else 'wrote'} {_shown(target)}")
    print(f"next: plugwiz watch {_shown(target)}   (rebuilds and runs the host at every save)")
    return EXIT_OK


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cmd_watch(args: argparse.Namespace) -> int:
    from plugwiz.commands import default_engine, watch_command
    from plugwiz.service import open_repo

    document, project = _project_document_for(args)
    if not project.host.repo:
        raise UserError("no host repository: give --host PATH|URL or a project file with host.repo")
    from plugwiz.adapters.watcher import WatchfilesWatcher

    return watch_command(
        project,
        engine=default_engine(),
        repo_opener=open_repo,
        watcher=WatchfilesWatcher(),
        rounds=args.rounds,
        # Keyed as the wizard keys it, so its explorer's history shows these builds.
        history_key=str(document.path.resolve()) if document.path is not None else project.tag,
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from plugwiz.commands import serve_command

    return serve_command(
        _wizard_argv(args),
        bind=args.bind,
        port=args.port,
        allow_remote=args.allow_remote,
    )


def _wizard_argv(args: argparse.Namespace) -> list[str]:
    """The wizard's command line for `serve`: the project and the options given."""
    argv: list[str] = [args.project] if args.project else []
    single = {
        "host": "--host",
        "ref": "--ref",
        "plugin_flag": "--plugin-flag",
        "plugin_ext": "--plugin-ext",
        "plugin_dir": "--plugin-dir",
        "symbol": "--symbol",
        "builder_image": "--builder-image",
        "runtime_image": "--runtime-image",
        "tag": "--tag",
        "main": "--main",
        "build_command": "--build-command",
        "binary": "--binary",
        "runtime_user": "--runtime-user",
        "backend": "--backend",
        "builder": "--builder",
    }
    for dest, flag in single.items():
        value = getattr(args, dest)
        if value is not None:
            argv.append(f"{flag}={value}")
    repeated = {
        "plugin": "--plugin",
        "bundled": "--bundled",
        "arg": "--arg",
        "file": "--file",
        "build_flag": "--build-flag",
        "build_env": "--build-env",
        "writable": "--writable",
        "builder_package": "--builder-package",
        "runtime_package": "--runtime-package",
    }
    for dest, flag in repeated.items():
        for value in getattr(args, dest) or ():
            argv.append(f"{flag}={value}")
    if args.no_bundled:
        argv.append("--no-bundled")
    return argv


_HANDLERS = {
    "": _cmd_wizard,
    "init": _cmd_init,
    "render": _cmd_render,
    "context": _cmd_context,
    "build": _cmd_build,
    "push": _cmd_push,
    "inspect": _cmd_inspect,
    "prune": _cmd_prune,
    "explain": _cmd_explain,
    "new": _cmd_new,
    "watch": _cmd_watch,
    "serve": _cmd_serve,
    "modules": _cmd_modules,
}


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's mistake (or the world's), never a bug."""
    from plugwiz.core.detect import DetectError
    from plugwiz.core.gomod import GoModError
    from plugwiz.core.model import ProjectError
    from plugwiz.core.modzip import ModuleZipError
    from plugwiz.core.ports import HostRepoError
    from plugwiz.core.project_file import ProjectFileError

    return (
        UserError,
        ProjectError,
        ProjectFileError,
        HostRepoError,
        DetectError,
        GoModError,
        ModuleZipError,
        OSError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `plugwiz` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else ""
    parser = build_parser()[command]
    args = parser.parse_args(argv[1:] if command else argv)
    try:
        return _HANDLERS[command](args)
    except KeyboardInterrupt:
        print("plugwiz: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, user_error_types()):
            from plugwiz.core.redact import scrub

            message = scrub(str(exc), getattr(args, "host", None) or "")
            print(f"plugwiz: error: {message}", file=sys.stderr)
            return EXIT_USER_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
