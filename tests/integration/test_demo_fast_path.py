"""The demo's fast path (no GitPython at start-up) answers exactly as the git adapter does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from plugwiz.adapters.demo import DemoHostRepository, ensure_demo_repo, open_demo_repo
from plugwiz.adapters.git import LocalGitRepository
from plugwiz.core.model import DEMO_REPO, Host, Project
from plugwiz.core.resolve import demo_project
from plugwiz.service import open_repo
from tests.helpers import git


def test_the_fast_demo_repository_matches_the_git_adapter(fresh_cache: Path) -> None:
    path = ensure_demo_repo()
    fast = open_demo_repo(path)
    assert isinstance(fast, DemoHostRepository)
    with LocalGitRepository(path) as real:
        sha = real.resolve("main").sha
        for ref in ("main", "v0.1.0", "HEAD", sha, sha[:7], "refs/heads/main"):
            assert fast.resolve(ref) == real.resolve(ref), ref
        assert fast.list_refs() == real.list_refs()
        assert fast.files(sha) == real.files(sha)
        for name in [*real.files(sha), "cmd", "./go.mod", "/go.mod", "missing.go", ""]:
            assert fast.read(sha, name) == real.read(sha, name), name


def test_a_changed_demo_repository_is_answered_by_git(fresh_cache: Path) -> None:
    path = ensure_demo_repo()
    git(path, "branch", "extra")
    fast = open_demo_repo(path)
    assert fast is not None
    assert [r.name for r in fast.list_refs()] == ["extra", "main", "v0.1.0"]
    # A repository that is not the cached demo is not taken for it.
    assert open_demo_repo(path.parent / "demo-host-0000000000000000") is None


def test_render_of_the_demo_imports_neither_git_nor_yaml(fresh_cache: Path) -> None:
    ensure_demo_repo()
    code = (
        "import sys, io, contextlib\n"
        "from plugwiz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['render']) == 0\n"
        "assert ' AS plugin-1' in out.getvalue()\n"
        "print(sorted(m for m in ('git', 'yaml', 'textual', 'docker') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_demo_project_opens_the_fast_repository(fresh_cache: Path) -> None:
    assert isinstance(open_repo(demo_project()), DemoHostRepository)
    # `repo: demo` names the embedded demo wherever the project file is.
    fast = open_repo(Project(host=Host(repo=DEMO_REPO), base_dir=fresh_cache / "nowhere"))
    assert isinstance(fast, DemoHostRepository)
    assert fast.resolve("main").sha == open_repo(demo_project()).resolve("main").sha
