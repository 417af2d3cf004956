"""Property: no user-supplied value escapes its quoting in the rendered Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from plugwiz.core.model import ExtraFile, Host, PluginLoading, PluginSource, Project, ProjectError
from plugwiz.core.render import render_dockerfile
from tests.helpers import resolved_for
from tests.unit.test_render import DEMO_FACTS, demo

INSTRUCTIONS = {
    "FROM",
    "ENV",
    "WORKDIR",
    "COPY",
    "RUN",
    "LABEL",
    "CMD",
    "ARG",
    "ADD",
    "USER",
    "ENTRYPOINT",
    "EXPOSE",
    "VOLUME",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}
nasty = st.text(
    alphabet=st.sampled_from(list("ab/._-$(){}`'\"\\ \n\r\t;&|<>#=:@*?~!é漢\x00\x7f\x85\u2028")),
    max_size=24,
)
anything = st.one_of(nasty, st.text(max_size=24))


def _instructions(text: str) -> list[str]:
    """The instruction keyword of every logical line (continuations joined)."""
    logical = re.sub(r"\\\n", " ", text)
    return [
        line.split()[0]
        for line in logical.splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _assert_contained(project: Project) -> None:
    try:
        text = render_dockerfile(resolved_for(project, DEMO_FACTS))
    except ProjectError:
        return  # refused with a message: fine
    # No value created a new instruction or a new line of its own.
    assert set(_instructions(text)) <= INSTRUCTIONS
    # The toolchain stage (FROM, ENV, RUN), then the host stage.
    expected = ["FROM", "ENV", "RUN", "FROM", "WORKDIR"]
    assert _instructions(text)[:5] == expected
    for line in text.splitlines():
        assert "\x00" not in line and "\r" not in line
    # The CMD is valid JSON whose words are exactly the plugin loading words.
    cmd_line = [line for line in text.splitlines() if line.startswith("CMD ")]
    assert len(cmd_line) == 1
    words = json.loads(cmd_line[0][4:])
    assert words[1 : 1 + len(project.loading.extra_args)] == list(project.loading.extra_args)
    # RUN lines with the build command parse back to the exact words given.
    if project.host.build_command:
        # It runs alone, right after the output directory is made.
        start = "RUN mkdir -p /out/plugins && \\\n    "
        build = text[text.index(start) + len(start) :].split(" && \\\n")[0]
        parsed = shlex.split(build)
        assert parsed == list(project.host.build_command)
    # Double-quoted LABEL/ENV values never expand variables: every `$` is escaped.
    for match in re.finditer(r'="((?:[^"\\]|\\.)*)"', text):
        assert re.search(r"(?<!\\)\$", match.group(1)) is None


@settings(max_examples=300, deadline=None)
@given(
    name=anything,
    ref=anything,
    repo=anything,
    args=st.lists(anything, max_size=4),
    flag=anything,
    ext=anything,
    command=st.lists(anything, min_size=1, max_size=4),
    binary=anything,
    main=anything,
    target=anything,
    env_value=anything,
    tag=anything,
)
def test_no_value_escapes_its_quoting(
    name: str,
    ref: str,
    repo: str,
    args: list[str],
    flag: str,
    ext: str,
    command: list[str],
    binary: str,
    main: str,
    target: str,
    env_value: str,
    tag: str,
) -> None:
    base = demo().project
    host = replace(base.host, repo=repo, ref=ref, build_env=(("GOPRIVATE", env_value),))
    _assert_contained(replace(base, host=host, tag=tag, plugins=(PluginSource("p.go", name=name),)))
    _assert_contained(
        replace(
            base, host=host, loading=PluginLoading(flag=flag, extension=ext, extra_args=tuple(args))
        )
    )
    _assert_contained(replace(base, host=replace(host, main_package=main)))
    _assert_contained(
        replace(
            base,
            host=Host(
                repo=repo, commit=base.host.commit, build_command=tuple(command), binary=binary
            ),
        )
    )
    _assert_contained(
        replace(base, files=(ExtraFile("x", target), ExtraFile(f"host:{name}", "/etc/x")))
    )
