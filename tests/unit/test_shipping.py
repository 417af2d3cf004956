"""Shipping rules without Docker: image references and the image map, digest pins, the runtime
user and writable paths, provenance labels, system packages and the runtime libraries check,
push progress, and the project file's new keys."""

from __future__ import annotations

import os
import struct
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from plugwiz.core.image_refs import (
    OFFLINE_MAP,
    legacy_offline_warning,
    map_image,
    missing_image_hint,
    parse_image_map,
    parse_image_ref,
    pinned,
    repo_digest_for,
)
from plugwiz.core.model import (
    BaseImages,
    Images,
    Project,
    ProjectError,
    RuntimeSettings,
    SystemPackages,
)
from plugwiz.core.packages import (
    NeededLibrary,
    check_packages,
    install_command,
    ld_cache_names,
    missing_libraries,
    missing_libraries_message,
    package_manager,
    search_dirs,
)
from plugwiz.core.pinning import pin_base_images
from plugwiz.core.plan import plan_build
from plugwiz.core.project_file import ProjectDocument, dump_project, parse_project
from plugwiz.core.push import (
    LayerProgress,
    PushFinished,
    PushProgress,
    PushStarted,
    push_target_problem,
    pushed_reference,
)
from plugwiz.core.render import render_dockerfile
from plugwiz.core.runtime_image import (
    describe_user,
    parse_plugin_digests,
    plugin_digests_label,
    runtime_user,
    writable_paths,
)
from tests.unit.test_render import DEMO_FACTS, demo

DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32

# -- references and the map -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "repository", "canonical", "tag", "registry"),
    [
        (
            "golang:1.22-bookworm",
            "golang",
            "docker.io/library/golang",
            "1.22-bookworm",
            "docker.io",
        ),
        ("me/host:1", "me/host", "docker.io/me/host", "1", "docker.io"),
        (
            "docker.io/library/debian",
            "docker.io/library/debian",
            "docker.io/library/debian",
            "",
            "docker.io",
        ),
        (
            "127.0.0.1:5000/team/host:v1",
            "127.0.0.1:5000/team/host",
            "127.0.0.1:5000/team/host",
            "v1",
            "127.0.0.1:5000",
        ),
        ("localhost/x", "localhost/x", "localhost/x", "", "localhost"),
        (
            "plugwiz-offline/golang:1.19-bookworm",
            "plugwiz-offline/golang",
            "docker.io/plugwiz-offline/golang",
            "1.19-bookworm",
            "docker.io",
        ),
    ],
)
def test_references_split_as_docker_reads_them(
    text: str, repository: str, canonical: str, tag: str, registry: str
) -> None:
    ref = parse_image_ref(text)
    assert (ref.repository, ref.canonical_repository, ref.tag, ref.registry) == (
        repository,
        canonical,
        tag,
        registry,
    )
    assert str(ref) == text


@pytest.mark.parametrize("text", ["Golang:1", "a b", "x:y:z", "x@sha256:12", "", "-x", "x/:1"])
def test_what_is_not_a_reference_is_refused(text: str) -> None:
    with pytest.raises(ProjectError):
        parse_image_ref(text)


def test_the_map_maps_a_repository_for_every_tag_and_an_exact_name_first() -> None:
    mapping = dict(parse_image_map(OFFLINE_MAP))
    assert map_image("golang:1.22-bookworm", mapping) == "plugwiz-offline/golang:1.22-bookworm"
    assert map_image("docker.io/library/debian:bookworm-slim", mapping) == (
        "plugwiz-offline/debian:bookworm-slim"
    )
    assert map_image("debian", mapping) == "plugwiz-offline/debian:latest"
    assert map_image("alpine:3.19", mapping) == "alpine:3.19"
    assert map_image("me/golang:1", mapping) == "me/golang:1"  # another repository
    assert map_image(f"golang:1.22@{DIGEST}", mapping) == f"golang:1.22@{DIGEST}"  # pinned
    exact = {"golang:1.19-bookworm": "mirror.example/go:119", "golang": "mirror.example/golang"}
    assert map_image("golang:1.19-bookworm", exact) == "mirror.example/go:119"
    assert map_image("golang:1.21-bookworm", exact) == "mirror.example/golang:1.21-bookworm"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("golang", "'golang' is not FROM=TO"),
        ("golang=", "'golang=' is not FROM=TO"),
        ("golang=Bad Name", "is not FROM=TO"),
        ("golang=x:1", "'golang' is a repository (every tag), so 'x:1' must be one too"),
        (f"golang=x@{DIGEST}", "map names, not digests"),
    ],
)
def test_a_malformed_map_names_the_variable(text: str, message: str) -> None:
    with pytest.raises(ProjectError, match="PLUGWIZ_IMAGE_MAP") as caught:
        parse_image_map(text)
    assert message in str(caught.value)


def test_digests_count_only_under_the_image_own_repository() -> None:
    digests = [f"127.0.0.1:5000/x/debian@{OTHER_DIGEST}", f"debian@{DIGEST}"]
    assert repo_digest_for("debian:bookworm-slim", digests) == DIGEST
    assert repo_digest_for("docker.io/library/debian:12", digests) == DIGEST
    assert repo_digest_for("127.0.0.1:5000/x/debian:1", digests) == OTHER_DIGEST
    assert repo_digest_for("plugwiz-offline/debian:bookworm-slim", digests) == ""
    assert repo_digest_for("debian:bookworm-slim", []) == ""
    assert pinned("debian:bookworm-slim", DIGEST) == f"debian:bookworm-slim@{DIGEST}"
    assert pinned("debian:bookworm-slim", "") == "debian:bookworm-slim"
    assert pinned("debian:bookworm-slim", None) == "debian:bookworm-slim"


def test_stand_in_messages_say_what_to_run() -> None:
    assert missing_image_hint("golang:1.22-bookworm", local_exists=False) == ""
    assert missing_image_hint("golang:1.22-bookworm", local_exists=True) == (
        "; a local stand-in plugwiz-offline/golang:1.22-bookworm exists: build with it by "
        f"setting PLUGWIZ_IMAGE_MAP={OFFLINE_MAP} (or images.map in plugwiz.yaml)"
    )
    warning = legacy_offline_warning("golang:1.19-bookworm", "builder image")
    assert "run `scripts/make-go-image` (it names the same image " in warning
    assert "plugwiz-offline/golang:1.19-bookworm)" in warning
    assert "`docker rmi golang:1.19-bookworm` (that removes the name only)" in warning


# -- plans and the Dockerfile -----------------------------------------------------------------


def test_the_map_and_the_digests_reach_the_from_lines_and_labels() -> None:
    project = demo()
    base = BaseImages(local=parse_image_map(OFFLINE_MAP))
    plan = plan_build(replace(project, base=base))
    assert plan.builder_image == "plugwiz-offline/golang:1.19-bookworm"
    assert plan.runtime_image == "plugwiz-offline/debian:bookworm-slim"

    def lookup(image: str) -> str | None:
        return {"plugwiz-offline/golang:1.19-bookworm": "", plan.runtime_image: DIGEST}[image]

    pinned_project = pin_base_images(replace(project, base=base), lookup)
    text = render_dockerfile(pinned_project)
    # Classic: the builder is the toolchain stage's base (the host stage starts from it).
    assert "\nFROM plugwiz-offline/golang:1.19-bookworm AS toolchain\n" in text
    assert "\nFROM toolchain AS host\n" in text
    assert f"\nFROM plugwiz-offline/debian:bookworm-slim@{DIGEST}\n" in text
    buildkit = render_dockerfile(pinned_project, buildkit=True)
    assert "\nFROM plugwiz-offline/golang:1.19-bookworm AS source\n" in buildkit
    assert f"\nFROM plugwiz-offline/debian:bookworm-slim@{DIGEST}\n" in buildkit
    assert (
        "# Builder image: golang:1.19-bookworm mapped to plugwiz-offline/golang:1.19-bookworm; "
        "not pinned: the engine knows no registry digest for it (made locally)\n"
    ) in text
    assert (
        "# Runtime image: debian:bookworm-slim mapped to plugwiz-offline/debian:bookworm-slim; "
        f"pinned to {DIGEST}\n"
    ) in text
    assert f'org.opencontainers.image.base.digest="{DIGEST}"' in text
    assert 'org.opencontainers.image.base.name="plugwiz-offline/debian:bookworm-slim"' in text
    # A builder with a digest: every stage that starts from it is pinned, in both layouts
    # (and no stage names the unpinned builder any more).
    both = pin_base_images(
        replace(project, base=base),
        lambda image: OTHER_DIGEST if image == plan.builder_image else DIGEST,
    )
    builder_pin = f"plugwiz-offline/golang:1.19-bookworm@{OTHER_DIGEST}"
    for layout, stage in ((False, "toolchain"), (True, "source")):
        pinned_text = render_dockerfile(both, buildkit=layout)
        from_lines = [line for line in pinned_text.split("\n") if line.startswith("FROM ")]
        assert f"FROM {builder_pin} AS {stage}" in from_lines
        assert [line for line in from_lines if "golang" in line] == [
            f"FROM {builder_pin} AS {stage}"
        ]
    # An absent image (None) says nothing, and is dropped from what was known.
    unknown = pin_base_images(pinned_project, lambda image: None)
    assert unknown.base.digests == ()
    assert "pinned" not in render_dockerfile(unknown)
    assert "# Runtime image" not in render_dockerfile(replace(unknown, base=BaseImages()))


def test_the_project_map_applies_and_the_machine_map_wins() -> None:
    project = demo(images=Images(map=(("golang", "corp.example/mirror/golang"),)))
    assert plan_build(project).builder_image == "corp.example/mirror/golang:1.19-bookworm"
    machine = BaseImages(local=(("golang", "plugwiz-offline/golang"),))
    assert plan_build(replace(project, base=machine)).builder_image == (
        "plugwiz-offline/golang:1.19-bookworm"
    )


def test_a_go_122_host_gets_the_122_builder_under_the_map() -> None:
    facts = replace(DEMO_FACTS, gomod=replace(DEMO_FACTS.gomod, go="1.22"))
    project = replace(demo(facts=facts), base=BaseImages(local=parse_image_map(OFFLINE_MAP)))
    plan = plan_build(project)
    assert (plan.builder_image, plan.runtime_image) == (
        "plugwiz-offline/golang:1.22-bookworm",
        "plugwiz-offline/debian:bookworm-slim",
    )


def test_runtime_user_and_writable_paths_in_the_dockerfile() -> None:
    runtime = RuntimeSettings(user="1000", writable=("/var/lib/host", "/tmp/host/"))
    text = render_dockerfile(demo(runtime=runtime))
    runtime_stage = text.split("# Runtime:")[1]
    assert "\nUSER 1000:1000\n" in runtime_stage
    assert runtime_stage.index("USER") < runtime_stage.index("CMD")
    assert runtime_stage.endswith(
        "COPY --chown=1000:1000 plugwiz/empty/ /var/lib/host/\n"
        "COPY --chown=1000:1000 plugwiz/empty/ /tmp/host/\n"
    )
    assert "USER" not in render_dockerfile(demo(runtime=RuntimeSettings(user="root")))
    assert "USER" not in render_dockerfile(demo(runtime=RuntimeSettings(user="0:0")))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (RuntimeSettings(user="www-data"), "give a numeric UID or UID:GID"),
        (RuntimeSettings(user="1:2:3"), "give a numeric UID or UID:GID"),
        (RuntimeSettings(user="99999999999"), "give a numeric UID"),
        (RuntimeSettings(writable=("relative",)), "must be an absolute path"),
        (RuntimeSettings(writable=("/app",)), "holds /app/demo-host, which must stay read-only"),
        (RuntimeSettings(writable=("/app/plugins",)), "holds /app/plugins, which must stay"),
        (RuntimeSettings(writable=("/",)), "would give the host the whole image"),
        (RuntimeSettings(writable=("/a b",)), "is not allowed"),
        (RuntimeSettings(user="root", writable=("/data",)), "has no use with runtime.user: root"),
    ],
)
def test_runtime_settings_that_cannot_work_are_refused(
    settings: RuntimeSettings, message: str
) -> None:
    with pytest.raises(ProjectError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_build(demo(runtime=settings))


def test_user_rules() -> None:
    assert runtime_user(RuntimeSettings()) == "65532:65532"
    assert runtime_user(RuntimeSettings(user="1000:100")) == "1000:100"
    assert runtime_user(RuntimeSettings(user="root")) == ""
    assert describe_user("") == "root"
    assert describe_user("0:0") == "root"
    assert describe_user("65532:65532") == "65532:65532 (not root)"
    assert writable_paths(RuntimeSettings(writable=("/data/./x", "/data/x")), [], "1:1") == (
        "/data/x",
    )


def test_provenance_labels_are_deterministic_and_name_a_release_ref() -> None:
    text = render_dockerfile(demo())
    assert 'org.opencontainers.image.created="2024-01-01T00:00:00+00:00"' in text
    assert 'org.opencontainers.image.version="0123456789ab"' in text  # ref `main`: the commit
    project = demo()
    tagged = replace(project, project=replace(project.project, host=replace(
        project.project.host, ref="v1.4.0"
    )))  # fmt: skip
    assert 'org.opencontainers.image.version="v1.4.0"' in render_dockerfile(tagged)
    label = plugin_digests_label([("/app/plugins/a.so", "1" * 64), ("/app/plugins/b.so", "2" * 64)])
    assert label == f"/app/plugins/a.so=sha256:{'1' * 64},/app/plugins/b.so=sha256:{'2' * 64}"
    assert parse_plugin_digests(label) == {
        "/app/plugins/a.so": "1" * 64,
        "/app/plugins/b.so": "2" * 64,
    }


# -- system packages --------------------------------------------------------------------------


def test_package_layers_come_before_the_host_source_and_after_the_runtime_from() -> None:
    packages = SystemPackages(builder=("libsqlite3-dev", "pkg-config"), runtime=("libsqlite3-0",))
    text = render_dockerfile(demo(packages=packages))
    build_stages, runtime_stage = text.split("# Runtime:")
    # Classic: after the toolchain stage (shared by every project on the builder, so a
    # package list does not compile the standard library again), before the tree.
    toolchain, host_stage = build_stages.split("FROM toolchain AS host")
    assert "libsqlite3-dev" not in toolchain
    install = host_stage.index("libsqlite3-dev pkg-config")
    assert install < host_stage.index("WORKDIR /src") < host_stage.index("COPY host/ ./")
    assert runtime_stage.index("FROM debian:bookworm-slim") < runtime_stage.index("libsqlite3-0")
    assert runtime_stage.index("libsqlite3-0") < runtime_stage.index("USER 65532:65532")
    # BuildKit: at the top of the source stage, before the environment and the tree.
    buildkit = render_dockerfile(demo(packages=packages), buildkit=True)
    source = buildkit.split("FROM golang:1.19-bookworm AS source", 1)[1]
    install = source.index("libsqlite3-dev pkg-config")
    assert install < source.index("ENV CGO_ENABLED") < source.index("COPY host/ ./")
    assert buildkit.count("libsqlite3-dev") == 1
    runtime_bk = buildkit.split("# Runtime:")[1]
    assert runtime_bk.index("libsqlite3-0") < runtime_bk.index("USER 65532:65532")
    assert install_command("apt", ("a1", "b2")) == (
        "RUN apt-get update -qq && \\\n"
        "    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\\n"
        "        a1 b2 && \\\n"
        "    rm -rf /var/lib/apt/lists/*"
    )
    alpine = demo(images=Images(builder="golang:1.22-alpine3.19"), packages=packages)
    assert "RUN apk add --no-cache libsqlite3-dev pkg-config" in render_dockerfile(alpine)


@pytest.mark.parametrize("name", ["libfoo; rm -rf /", "Lib", "a", "$(x)", "x y", "-y"])
def test_package_names_that_could_reach_a_shell_are_refused(name: str) -> None:
    with pytest.raises(ProjectError, match="is not a package name"):
        check_packages([name], "packages.builder")
    assert check_packages(["libc6-dev=2.36-9", "g++", "libssl3:amd64"], "x") == (
        "libc6-dev=2.36-9",
        "g++",
        "libssl3:amd64",
    )


def test_a_runtime_without_a_package_manager_cannot_take_packages() -> None:
    assert package_manager("gcr.io/distroless/base-debian12") is None
    project = demo(
        images=Images(runtime="gcr.io/distroless/base-debian12"),
        packages=SystemPackages(runtime=("libsqlite3-0",)),
    )
    with pytest.raises(ProjectError, match="the runtime image gcr.io/distroless/base-debian12 has"):
        plan_build(project)


def ld_cache(names: list[str]) -> bytes:
    """A glibc-ld.so.cache1.1 file listing `names` (as ldconfig writes one)."""
    strings = b""
    offsets = []
    header = 20 + 4 + 4 + 4 + 4 + 12
    table = header + 24 * len(names)
    for name in names:
        offsets.append(table + len(strings))
        strings += name.encode() + b"\0"
        offsets.append(table + len(strings))
        strings += f"/usr/lib/x/{name}".encode() + b"\0"
    data = b"glibc-ld.so.cache1.1" + struct.pack("<II", len(names), len(strings))
    data += b"\0" * 4 + struct.pack("<I", 0) + b"\0" * 12
    for index in range(len(names)):
        data += struct.pack("<iIIIQ", 0x0303, offsets[2 * index], offsets[2 * index + 1], 0, 0)
    return data + strings


def test_ld_cache_names() -> None:
    assert ld_cache_names(ld_cache(["libsqlite3.so.0", "libc.so.6"])) == {
        "libsqlite3.so.0",
        "libc.so.6",
    }
    assert ld_cache_names(b"") == set()
    assert ld_cache_names(b"garbage" * 10) == set()
    real = Path("/etc/ld.so.cache")
    if real.exists():  # this machine's own cache, as its loader reads it
        assert "libc.so.6" in ld_cache_names(real.read_bytes())


def test_missing_libraries_are_looked_for_as_the_loader_would() -> None:
    present = {"/lib/x86_64-linux-gnu/libc.so.6", "/opt/host/lib/libown.so.1"}
    needs = [
        NeededLibrary("/app/host", "libc.so.6"),
        NeededLibrary("/app/host", "libsqlite3.so.0"),
        NeededLibrary("/app/plugins/a.so", "libsqlite3.so.0"),
        NeededLibrary("/opt/host/bin/host", "libown.so.1", ("$ORIGIN/../lib",)),
        NeededLibrary("/app/host", "libcached.so.2"),
    ]
    missing = missing_libraries(needs, "amd64", present.__contains__, {"libcached.so.2"})
    assert [(m.library, m.binaries) for m in missing] == [
        ("libsqlite3.so.0", ("/app/host", "/app/plugins/a.so"))
    ]
    assert missing_libraries_message(missing, "debian:bookworm-slim") == (
        "the runtime image debian:bookworm-slim lacks shared libraries the host or its plugins "
        "need: libsqlite3.so.0 (needed by host, a.so). The host would not start. Add the "
        "package that holds each to packages.runtime in plugwiz.yaml (on Debian usually "
        "libsqlite3-0)"
    )
    assert search_dirs("arm64", (), "/app")[:2] == [
        "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ]


# -- push -------------------------------------------------------------------------------------


def test_push_targets_and_references() -> None:
    assert push_target_problem("registry.example.com/team/host:1") is None
    assert push_target_problem("me/host:1") is None
    assert push_target_problem("plugwiz-demo:latest") == (
        "plugwiz-demo:latest names no registry, so Docker would push it to Docker Hub's "
        "official images (docker.io/library/plugwiz-demo), which nobody can: tag it for your "
        "registry, e.g. --tag registry.example.com/team/plugwiz-demo:latest"
    )
    assert "digest" in (push_target_problem(f"r.example/x@{DIGEST}") or "")
    assert pushed_reference("127.0.0.1:5000/x/y:1", DIGEST) == f"127.0.0.1:5000/x/y@{DIGEST}"


def test_push_progress_keeps_each_layer_latest_state() -> None:
    progress = PushProgress()
    assert progress.feed(PushStarted("r.example/x:1", "r.example"))
    assert progress.feed(LayerProgress("aaaaaaaaaaaaaaaa", "Preparing"))
    assert progress.feed(LayerProgress("bbbbbbbbbbbb", "Preparing"))
    assert progress.feed(LayerProgress("aaaaaaaaaaaaaaaa", "Pushing", 5_000_000, 20_000_000))
    assert not progress.feed(LayerProgress("aaaaaaaaaaaaaaaa", "Pushing", 5_000_000, 20_000_000))
    assert progress.feed(LayerProgress("bbbbbbbbbbbb", "Layer already exists"))
    assert progress.summary() == "Pushing r.example/x:1 to r.example: 1/2 layers"
    assert progress.lines() == [
        "aaaaaaaaaaaa  Pushing  5.0 MB / 20.0 MB",
        "bbbbbbbbbbbb  Layer already exists",
    ]
    progress.feed(PushFinished("r.example/x:1", DIGEST, f"r.example/x@{DIGEST}"))
    assert progress.summary() == f"Pushed r.example/x@{DIGEST}"


# -- the project file -------------------------------------------------------------------------

SHIPPING_YAML = """\
version: 1
host: {repo: demo}
images:
  builder: golang:1.22-bookworm
  map: {golang: plugwiz-offline/golang}   # this machine's stand-ins
packages:
  builder: [libsqlite3-dev]
  runtime: [libsqlite3-0]
runtime:
  user: 1000        # not root
  writable: [/var/lib/host]
tag: host:1
"""


def test_project_file_keys_round_trip() -> None:
    project = parse_project(SHIPPING_YAML, base_dir=Path("/p"))
    assert project.images.map == (("golang", "plugwiz-offline/golang"),)
    assert project.packages == SystemPackages(("libsqlite3-dev",), ("libsqlite3-0",))
    assert project.runtime == RuntimeSettings(user="1000", writable=("/var/lib/host",))
    again = parse_project(dump_project(project), base_dir=Path("/p"))
    assert again == project
    data = yaml.safe_load(dump_project(project))
    assert list(data) == ["version", "host", "images", "packages", "runtime", "tag"]
    assert data["runtime"]["user"] == 1000
    assert parse_project("version: 1\nruntime: {user: '1000:10'}\n").runtime.user == "1000:10"
    assert parse_project("version: 1\nruntime: {user: root}\n").runtime.user == "root"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runtime: {usr: 1}", "unknown key `usr` in `runtime`; did you mean `user`?"),
        ("packages: {build: [x]}", "unknown key `build` in `packages`; did you mean `builder`?"),
        ("packages: {builder: x}", "`packages.builder` must be a list of strings"),
        ("images: {map: [golang]}", "`images.map` must be a mapping NAME: LOCAL_NAME"),
        ("images: {map: {golang: 'x:1'}}", "images.map: 'golang' is a repository"),
    ],
)
def test_project_file_mistakes_name_the_key(text: str, message: str) -> None:
    from plugwiz.core.project_file import ProjectFileError

    with pytest.raises(ProjectFileError) as caught:
        parse_project(f"version: 1\n{text}\n")
    assert message in str(caught.value)


def test_saving_a_changed_runtime_patches_one_line(tmp_path: Path) -> None:
    path = tmp_path / "plugwiz.yaml"
    path.write_text(SHIPPING_YAML)
    document = ProjectDocument.load(path)
    project = document.project
    changed = replace(project, runtime=replace(project.runtime, user="2000"))
    text = document.render(changed)
    assert text == SHIPPING_YAML.replace("user: 1000  ", "user: 2000  ")
    more = replace(changed, packages=replace(project.packages, runtime=("libsqlite3-0", "zlib1g")))
    assert "  runtime: [libsqlite3-0, zlib1g]\n" in document.render(more)
    gone = replace(project, images=replace(project.images, map=()))
    assert "map:" not in document.render(gone) and "# this machine" not in document.render(gone)
    fresh = ProjectDocument.load(path)
    added = replace(
        Project(base_dir=tmp_path), host=fresh.project.host, tag=fresh.project.tag
    )  # everything else removed
    text = fresh.render(added)
    assert "runtime" not in text and "packages" not in text and "images" not in text
    assert os.path.exists(path)
