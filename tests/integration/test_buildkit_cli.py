"""Which docker CLI builds with BuildKit: probed with stand-in `docker` executables that answer
like the real ones (buildx present or not, client 20.10 or 28)."""

from __future__ import annotations

import stat
from pathlib import Path

from plugwiz.adapters.buildkit import probe_buildkit


def fake_docker(path: Path, *, client: str, buildx: bool) -> str:
    """A `docker` that answers `version --format` and `buildx version` like a real one."""
    buildx_answer = (
        'echo "github.com/docker/buildx v0.13.1 0000000"; exit 0' if buildx else "exit 1"
    )
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = buildx ] && [ "$2" = version ]; then {buildx_answer}; fi\n'
        f'if [ "$1" = version ]; then echo "{client}"; exit 0; fi\n'
        "exit 2\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_a_new_cli_without_buildx_is_passed_over_for_an_old_one(tmp_path: Path) -> None:
    new = fake_docker(tmp_path / "new", client="28.2.2", buildx=False)
    old = fake_docker(tmp_path / "old", client="20.10.24+dfsg1", buildx=False)
    cli = probe_buildkit([new, old])
    assert cli is not None
    assert cli.command("--progress=plain", "-") == [old, "build", "--progress=plain", "-"]
    assert dict(cli.env) == {"DOCKER_BUILDKIT": "1"}
    assert cli.environment()["DOCKER_BUILDKIT"] == "1"
    assert probe_buildkit([new]) is None


def test_buildx_comes_first_and_carries_the_builder(tmp_path: Path) -> None:
    old = fake_docker(tmp_path / "old", client="20.10.24", buildx=False)
    with_buildx = fake_docker(tmp_path / "bx", client="28.2.2", buildx=True)
    cli = probe_buildkit([with_buildx, old], builder="team")
    assert cli is not None
    assert cli.argv == (with_buildx, "buildx", "build", "--load", "--builder", "team")
    assert cli.env == ()
    # A named builder needs buildx: the old CLI cannot serve it.
    assert probe_buildkit([old], builder="team") is None
    assert probe_buildkit([old]) is not None
    assert probe_buildkit([str(tmp_path / "missing")]) is None
