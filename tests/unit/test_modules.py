"""Plugins with their own go.mod: module zips and checksums, go.mod/go.sum/modules.txt, the
merge into the host's build list, conflicts, module sources and the messages, without Docker.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from plugwiz.core.context import inspect_plugin
from plugwiz.core.gomod import GoModError
from plugwiz.core.gomodfile import (
    drop_lines,
    max_version,
    merge_gosums,
    parse_modfile,
    parse_modules_txt,
    set_requirement_versions,
)
from plugwiz.core.model import (
    Host,
    HostFacts,
    ModuleEnvironment,
    ModuleSettings,
    PluginLoading,
    PluginSource,
    Project,
    ProjectError,
    ResolvedHost,
    ResolvedProject,
)
from plugwiz.core.modfetch import (
    ModuleChecksumError,
    ModulesUnavailableError,
    prepare_modules,
    probe_modules,
)
from plugwiz.core.modsource import (
    DirectorySource,
    ModuleSourceError,
    module_environment,
    redact_url_list,
)
from plugwiz.core.modules import (
    conflict_message,
    package_dirs,
    plan_modules,
    vendored_files,
)
from plugwiz.core.modzip import (
    ModuleZipError,
    create_zip,
    escape_path,
    hash_gomod,
    hash_zip,
    module_files,
    proxy_paths,
    unescape_path,
    zip_contents,
    zip_dir,
)
from plugwiz.core.plan import plan_build
from plugwiz.core.ports import CommitInfo
from plugwiz.core.render import emit_dockerfile
from tests.goproxy import MODULES, sum_lines, write_file_proxy
from tests.helpers import FIXTURES, TEST_SHA

MODPLUGINS = FIXTURES / "modplugins"
HOSTS = FIXTURES / "hosts"


def host_facts(name: str) -> HostFacts:
    """The facts of a fixture host, read from its directory as the git adapter would."""
    from plugwiz.core.detect import detect_host

    root = HOSTS / name
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return detect_host(files, lambda path: (root / path).read_bytes())


def resolved(
    host: str,
    *plugins: str,
    modules: ModuleSettings | None = None,
    environment: ModuleEnvironment | None = None,
    base: Path = MODPLUGINS,
) -> ResolvedProject:
    facts = host_facts(host)
    project = Project(
        host=Host(repo=f"/repos/{host}", commit=TEST_SHA),
        plugins=tuple(PluginSource(str(base / p)) for p in plugins),
        loading=PluginLoading(flag="--plugin", symbol="New"),
        modules=modules or ModuleSettings(),
        base_dir=base,
    )
    pf = tuple(inspect_plugin(project, p, facts.gomod.module) for p in project.plugins)
    commit = CommitInfo(TEST_SHA, "fixture", "tests", "2024-01-01T00:00:00+00:00")
    return ResolvedProject(
        project,
        ResolvedHost(project.host.repo, TEST_SHA, commit, facts),
        pf,
        environment or ModuleEnvironment(),
    )


# -- zips and checksums -------------------------------------------------------------------------


def test_hashes_match_the_go_command() -> None:
    # golang.org/x/text v0.3.0 has no go.mod: Go hashes the one it synthesizes. Published sum.
    assert hash_gomod(b"module golang.org/x/text\n") == (
        "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ="
    )
    # The fixture go.sum files were written from these; the real go command accepted them.
    assert sum_lines("example.org/colors", "v1.0.0") == [
        "example.org/colors v1.0.0 h1:fWXF7M44G5ciDHoh8dZWH8sa/cXG10nxZTXFjb6MY0w=",
        "example.org/colors v1.0.0/go.mod h1:3259vl9n7Qo1ySWlopCQnSkWN4+I89wzDD1hqIHTmbA=",
    ]
    for gosum in (MODPLUGINS / "greet" / "go.sum", HOSTS / "modhost" / "go.sum"):
        for line in gosum.read_text().splitlines():
            module, version, _ = line.split()
            assert line in sum_lines(module, version.removesuffix("/go.mod"))


def test_zip_leaves_out_what_x_mod_zip_does() -> None:
    root = MODULES / "example.org" / "shapes" / "v1.0.0"
    names = [name for name, _ in module_files(root)]
    # The nested module and the vendored package are not part of the module.
    assert names == ["geom/geom.go", "go.mod", "shapes.go"]
    data = zip_dir("example.org/shapes", "v1.0.0", root)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            "example.org/shapes@v1.0.0/geom/geom.go",
            "example.org/shapes@v1.0.0/go.mod",
            "example.org/shapes@v1.0.0/shapes.go",
        ]
    # Deterministic bytes, and the hash depends on content only.
    assert zip_dir("example.org/shapes", "v1.0.0", root) == data
    assert hash_zip(data) == hash_zip(
        create_zip(
            "example.org/shapes",
            "v1.0.0",
            [(n, p.read_bytes()) for n, p in reversed(module_files(root))],
        )
    )


def test_zip_contents_refuses_files_outside_the_module() -> None:
    good = create_zip("example.org/x", "v1.0.0", [("a.go", b"package x\n")])
    assert zip_contents("example.org/x", "v1.0.0", good) == {"a.go": b"package x\n"}
    with pytest.raises(ModuleZipError, match="is outside example.org/y@v1.0.0/"):
        zip_contents("example.org/y", "v1.0.0", good)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("example.org/x@v1.0.0/../../etc/passwd", b"x")
    with pytest.raises(ModuleZipError, match="unsafe"):
        zip_contents("example.org/x", "v1.0.0", buffer.getvalue())
    with pytest.raises(ModuleZipError, match="not a zip"):
        zip_contents("example.org/x", "v1.0.0", b"nope")


def test_proxy_paths_are_case_encoded_and_checked() -> None:
    assert escape_path("github.com/Azure/Go-SDK") == "github.com/!azure/!go-!s!d!k"
    assert unescape_path("github.com/!azure/!go-!s!d!k") == "github.com/Azure/Go-SDK"
    assert proxy_paths("github.com/Azure/x", "v1.2.3")["zip"] == "github.com/!azure/x/@v/v1.2.3.zip"
    for module, version in (
        ("../x", "v1.0.0"),
        ("a//b", "v1.0.0"),
        ("a/b", "1.0.0"),
        ("a/b", "v1.0.0/../../x"),
    ):
        with pytest.raises(ModuleZipError):
            proxy_paths(module, version)


# -- go.mod, go.sum, modules.txt ----------------------------------------------------------------


def test_modfile_reads_blocks_comments_quotes_and_replacements() -> None:
    mod = parse_modfile(
        'module "example.com/x" // the module\n\ngo 1.19\n\n'
        "require (\n\texample.org/a v1.0.0\n\texample.org/b v1.2.0 // indirect\n)\n"
        "require example.org/c v0.1.0\n"
        "replace example.org/a => ../a\n"
        "replace (\n\texample.org/b v1.2.0 => example.org/fork v1.3.0\n)\n"
        "exclude example.org/d v0.0.1\nretract v0.9.0\n"
    )
    assert mod.module == "example.com/x" and mod.go == "1.19"
    assert [(r.path, r.version, r.indirect, r.line) for r in mod.requires] == [
        ("example.org/a", "v1.0.0", False, 6),
        ("example.org/b", "v1.2.0", True, 7),
        ("example.org/c", "v0.1.0", False, 9),
    ]
    a, b = mod.replaces
    assert a.local and a.new == "../a" and mod.replacement("example.org/a", "v9.9.9") is a
    assert not b.local and b.target() == "example.org/fork v1.3.0"
    assert mod.replacement("example.org/b", "v1.2.0") is b
    assert mod.replacement("example.org/b", "v1.1.0") is None
    for bad, message in (
        ("module x\nrequire (\n", "never closed"),
        ("module x\nreplace a => b\n", "needs a version"),
        ("go 1.19\n", "no `module` line"),
        ("module x\nfrobnicate y\n", "unknown directive"),
    ):
        with pytest.raises(GoModError, match=message):
            parse_modfile(bad)


def test_requirement_versions_change_in_place() -> None:
    text = (
        "module x\n\nrequire (\n\texample.org/a v1.0.0 // keep me\n\texample.org/ab v1.0.0\n)\n"
        "require example.org/b v0.1.0\n"
    )
    mod = parse_modfile(text)
    changed = set_requirement_versions(mod, {"example.org/a": "v1.1.0", "example.org/b": "v0.2.0"})
    assert changed == text.replace("a v1.0.0 // keep", "a v1.1.0 // keep").replace(
        "b v0.1.0", "b v0.2.0"
    )
    dropped = drop_lines(mod, [4])
    assert "\t// plugwiz: example.org/a v1.0.0 // keep me\n" not in dropped
    assert "// plugwiz: example.org/a v1.0.0 // keep me\n" in dropped
    assert parse_modfile(dropped).required("example.org/a") is None


def test_versions_order_like_semver() -> None:
    assert max_version(["v1.2.0", "v1.10.0", "v1.9.9"]) == "v1.10.0"
    assert max_version(["v1.0.0", "v1.0.0-rc.1"]) == "v1.0.0"
    assert max_version(["v0.0.0-20240101000000-abcdef123456", "v0.0.0"]) == "v0.0.0"


def test_gosums_merge_and_disagreements_are_named() -> None:
    text, conflicts = merge_gosums(
        [
            ("host", "a v1.0.0 h1:AAA=\na v1.0.0/go.mod h1:BBB=\n"),
            ("plugin", "b v2.0.0 h1:CCC=\na v1.0.0 h1:AAA=\n"),
        ]
    )
    assert text == "a v1.0.0 h1:AAA=\na v1.0.0/go.mod h1:BBB=\nb v2.0.0 h1:CCC=\n"
    assert conflicts == []
    _, conflicts = merge_gosums([("host", "a v1.0.0 h1:AAA=\n"), ("p", "a v1.0.0 h1:ZZZ=\n")])
    assert [(c.path, c.first, c.second) for c in conflicts] == [
        ("a", ("host", "h1:AAA="), ("p", "h1:ZZZ="))
    ]


def test_modules_txt_round_trips() -> None:
    text = (
        "# example.org/a v1.0.0\n## explicit; go 1.17\nexample.org/a\nexample.org/a/sub\n"
        "# example.org/b v1.0.0 => ../b\nexample.org/b\n"
    )
    modules = parse_modules_txt(text)
    assert [(m.path, m.version, m.replacement, m.explicit) for m in modules] == [
        ("example.org/a", "v1.0.0", "", True),
        ("example.org/b", "v1.0.0", "../b", False),
    ]
    assert "".join(m.text() for m in modules) == text


def test_package_dirs_and_vendored_files() -> None:
    files = {
        "go.mod": b"",
        "a.go": b"",
        "a_test.go": b"",
        "sub/b.go": b"",
        "sub/data.txt": b"x",
        "testdata/t.go": b"",
        "_x/y.go": b"",
        "only_test/x_test.go": b"",
    }
    assert package_dirs(files) == ("", "sub")
    assert sorted(vendored_files("m", files)) == ["m/a.go", "m/sub/b.go", "m/sub/data.txt"]


# -- the merge ----------------------------------------------------------------------------------


def test_plugin_modules_join_the_host_build_list() -> None:
    plan = plan_modules(resolved("modhost", "greet", "sibling"))
    assert [(p.name, p.module, p.builder_dir) for p in plan.plugins] == [
        ("greet", "example.com/greet", "plugwiz_plugins/greet"),
        ("sibling", "example.com/sibling", "plugwiz_plugins/sibling"),
    ]
    assert [(a.module, a.plugin_version, a.plugins) for a in plan.added] == [
        ("example.org/shapes", "v1.0.0", ("greet",))
    ]
    assert plan.conflicts == () and plan.upgrades == ()
    (local,) = plan.local_dirs
    assert (local.module, local.builder_dir, local.plugins) == (
        "example.com/siblib",
        "plugwiz_deps/1",
        ("sibling",),
    )
    merged = parse_modfile(plan.gomod)
    assert {(r.path, r.version) for r in merged.requires} == {
        ("example.org/colors", "v1.0.0"),
        ("example.com/greet", "v0.0.0"),
        ("example.com/sibling", "v0.0.0"),
        ("example.com/siblib", "v0.0.0"),
        ("example.org/shapes", "v1.0.0"),
    }
    assert {(r.old, r.new) for r in merged.replaces} == {
        ("example.com/greet", "./plugwiz_plugins/greet"),
        ("example.com/sibling", "./plugwiz_plugins/sibling"),
        ("example.com/siblib", "./plugwiz_deps/1"),
    }
    assert plan.gomod.startswith((HOSTS / "modhost" / "go.mod").read_text())
    # The requirement on the host's own module and the replace with a checkout of it are gone.
    greet = plan.plugin("greet")
    assert greet is not None
    assert "example.com/modhost" not in {r.path for r in parse_modfile(greet.gomod_text).requires}
    assert parse_modfile(greet.gomod_text).replaces == ()
    # What the plugins import from outside themselves is compiled once, in the modules stage.
    assert plan.warm_imports == ("example.com/modhost/api", "example.org/shapes")
    # Colors comes with the host stage, shapes with the plugins' modules stage.
    assert [(n.module, n.version, n.zip) for n in plan.host_needs] == [
        ("example.org/colors", "v1.0.0", True)
    ]
    assert [(n.module, n.version, n.zip) for n in plan.needs] == [
        ("example.org/shapes", "v1.0.0", True)
    ]


def test_newer_module_is_a_conflict_with_a_table_unless_upgrades_are_allowed() -> None:
    refused = plan_modules(resolved("modhost", "upgrade"))
    message = conflict_message(refused)
    assert message is not None
    assert "    module              host has  plugin requires  plugins\n" in message
    assert "    example.org/colors  v1.0.0    v1.1.0           upgrade\n" in message
    assert "lower the plugin's requirement" in message and "pick a host ref" in message
    assert "modules: {upgrade: [example.org/colors]}" in message
    with pytest.raises(ProjectError, match="example.org/colors  v1.0.0    v1.1.0"):
        plan_build(resolved("modhost", "upgrade"))

    allowed = resolved(
        "modhost", "upgrade", modules=ModuleSettings(upgrade=("example.org/colors",))
    )
    build_plan = plan_build(allowed)
    modules = build_plan.modules
    assert conflict_message(modules) is None
    assert modules.upgrade_label == "example.org/colors@v1.0.0=>v1.1.0"
    assert parse_modfile(modules.host_gomod).required("example.org/colors").version == "v1.1.0"  # type: ignore[union-attr]
    assert any("rebuilt with example.org/colors v1.1.0" in w for w in build_plan.warnings)
    dockerfile = emit_dockerfile(allowed, build_plan)
    assert "# Upgraded for the plugins: example.org/colors v1.0.0 -> v1.1.0" in dockerfile
    assert 'dev.plugwiz.host.upgraded="example.org/colors@v1.0.0=>v1.1.0"' in dockerfile
    assert "COPY plugwiz/host-modules/ ./" in dockerfile


def test_older_requirement_builds_against_the_hosts_version(tmp_path: Path) -> None:
    plugin = tmp_path / "old"
    shutil.copytree(MODPLUGINS / "upgrade", plugin)
    gomod = plugin / "go.mod"
    gomod.write_text(gomod.read_text().replace("v1.1.0", "v0.9.0"))
    plan = plan_modules(resolved("modhost", "old", base=tmp_path))
    assert plan.conflicts == ()
    assert [(u.module, u.host_version, u.plugin_version) for u in plan.older] == [
        ("example.org/colors", "v1.0.0", "v0.9.0")
    ]


def test_refusals_before_the_build(tmp_path: Path) -> None:
    # Two plugins that are the same module.
    shutil.copytree(MODPLUGINS / "greet", tmp_path / "a")
    shutil.copytree(MODPLUGINS / "greet", tmp_path / "b")
    with pytest.raises(ProjectError, match="both module example.com/greet"):
        plan_modules(resolved("modhost", "a", "b", base=tmp_path))
    # A plugin whose go.sum disagrees with the host's.
    shutil.copytree(MODPLUGINS / "greet", tmp_path / "tampered")
    gosum = tmp_path / "tampered" / "go.sum"
    gosum.write_text(gosum.read_text().replace("h1:fWXF", "h1:XXXX"))
    message = conflict_message(plan_modules(resolved("modhost", "tampered", base=tmp_path)))
    assert message is not None
    assert message.startswith("go.sum mismatch for example.org/colors v1.0.0: ")
    assert "the host's go.sum says h1:fWXF" in message
    assert "plugin 'tampered''s go.sum says h1:XXXX" in message


def test_replace_targets_are_checked_on_disk(tmp_path: Path) -> None:
    shutil.copytree(MODPLUGINS / "sibling", tmp_path / "sibling")
    facts = resolved("modhost", "sibling", base=tmp_path).plugins[0]
    assert facts.problem == (
        "plugin 'sibling': its go.mod replaces example.com/siblib with ../siblib, which is "
        f"not a directory ({tmp_path / 'siblib'})"
    )
    shutil.copytree(MODPLUGINS / "greet", tmp_path / "siblib")
    facts = resolved("modhost", "sibling", base=tmp_path).plugins[0]
    assert "that directory's go.mod says `module example.com/greet`" in facts.problem


def test_module_plugin_root_must_be_package_main(tmp_path: Path) -> None:
    plugin = tmp_path / "lib"
    shutil.copytree(MODPLUGINS / "siblib", plugin)
    facts = resolved("modhost", "lib", base=tmp_path).plugins[0]
    assert "is `package siblib`; a Go plugin must be `package main`" in facts.problem


def test_vendored_host_plan_and_its_vendor_directory(tmp_path: Path) -> None:
    proxy = write_file_proxy(tmp_path / "proxy")
    resolved_project = resolved("legacy", "legacyext", modules=ModuleSettings(offline=str(proxy)))
    plan = plan_build(resolved_project)
    modules = plan.modules
    assert modules.vendored and modules.delivery == "vendor"
    assert modules.plugin("legacyext").builder_dir == "vendor/example.com/legacyext"  # type: ignore[union-attr]
    assert [(n.module, n.version) for n in modules.needs] == [("example.org/shapes", "v1.0.0")]
    assert parse_modfile(modules.gomod).replaces == ()  # vendor mode needs none
    prepared = prepare_modules(resolved_project, modules, [DirectorySource(proxy)])
    files = dict(prepared.files)
    assert sorted(files) == [
        "plugwiz/modules/vendor/modules.txt",
        "plugwiz/vendor/example.org/shapes/geom/geom.go",
        "plugwiz/vendor/example.org/shapes/shapes.go",
    ]
    assert files["plugwiz/modules/vendor/modules.txt"].decode() == (
        "# example.org/colors v1.0.0\nexample.org/colors\n"
        "# example.com/legacyext v0.0.0\n## explicit\n"
        "example.com/legacyext\nexample.com/legacyext/internal/box\n"
        "# example.org/shapes v1.0.0\n## explicit\nexample.org/shapes\nexample.org/shapes/geom\n"
    )
    dockerfile = emit_dockerfile(resolved_project, plan)
    assert "FROM host AS modules\nCOPY plugwiz/modules/ ./\nCOPY plugwiz/vendor/ ./vendor/\n" in (
        dockerfile
    )
    assert "COPY plugins/legacyext/ ./vendor/example.com/legacyext/\n" in dockerfile
    assert "RUN go build -buildmode=plugin -o /out/plugins/legacyext.so example.com/legacyext" in (
        dockerfile
    )


def test_checksum_mismatch_names_the_module(tmp_path: Path) -> None:
    proxy = write_file_proxy(tmp_path / "proxy")
    target = proxy / "example.org" / "shapes" / "@v" / "v1.0.0.zip"
    target.write_bytes(
        create_zip("example.org/shapes", "v1.0.0", [("go.mod", b"module example.org/shapes\n")])
    )
    project = resolved("modhost", "greet", modules=ModuleSettings(offline=str(proxy)))
    plan = plan_modules(project)
    with pytest.raises(ModuleChecksumError) as error:
        prepare_modules(project, plan, [DirectorySource(proxy, "the offline directory")])
    assert str(error.value).startswith(
        "checksum mismatch for example.org/shapes v1.0.0 (files): go.sum says "
        "h1:1WS+l0bTp6MJwbqFpx+R96M6gu+PGldJjdeeJ9puPgA=, the offline directory served h1:"
    )


def test_modules_from_the_offline_directory_go_in_the_context(tmp_path: Path) -> None:
    proxy = write_file_proxy(tmp_path / "proxy")
    project = resolved("modhost", "greet", modules=ModuleSettings(offline=str(proxy)))
    plan = plan_build(project)
    assert plan.modules.delivery == "context"
    assert plan.module_env == (("GOPROXY", "file:///plugwiz/goproxy"), ("GOSUMDB", "off"))
    prepared = prepare_modules(project, plan.modules, [DirectorySource(proxy)])
    assert sorted(p for p, _ in prepared.files) == [
        "plugwiz/goproxy/example.org/shapes/@v/list",
        "plugwiz/goproxy/example.org/shapes/@v/v1.0.0.info",
        "plugwiz/goproxy/example.org/shapes/@v/v1.0.0.mod",
        "plugwiz/goproxy/example.org/shapes/@v/v1.0.0.zip",
        "plugwiz/host-goproxy/example.org/colors/@v/list",
        "plugwiz/host-goproxy/example.org/colors/@v/v1.0.0.info",
        "plugwiz/host-goproxy/example.org/colors/@v/v1.0.0.mod",
        "plugwiz/host-goproxy/example.org/colors/@v/v1.0.0.zip",
    ]
    # The same module set in one proxy layout, as `plugwiz modules` writes it.
    assert sorted(p for p, _ in prepared.proxy)[0] == "example.org/colors/@v/list"


class _Unreachable:
    def describe(self) -> str:
        return "the module proxy http://proxy.invalid"

    def fetch(self, path: str) -> bytes | None:
        raise ModuleSourceError("the module proxy http://proxy.invalid is unreachable: no DNS")


def test_no_source_is_one_message_with_the_three_ways_out() -> None:
    project = resolved("modhost", "greet")
    plan = plan_modules(project)
    assert plan.delivery == "build"
    with pytest.raises(ModulesUnavailableError) as error:
        probe_modules(project, plan, _Unreachable(), lambda module: "direct: no network")
    message = str(error.value)
    assert message.splitlines()[:3] == [
        "no module source can provide 2 module(s) the build needs (nothing was built):",
        "    example.org/colors v1.0.0  needed by the host",
        "    example.org/shapes v1.0.0  needed by plugin greet",
    ]
    assert "the module proxy http://proxy.invalid is unreachable: no DNS" in message
    for way in ("1. vendor:", "2. a module proxy", "3. offline: run `plugwiz modules"):
        assert way in message
    assert error.value.missing == ("example.org/colors v1.0.0", "example.org/shapes v1.0.0")


def test_environment_settings_never_keep_credentials(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine goproxy.corp.example login ci password s3cret\n")
    env = module_environment(
        {"GOPROXY": "https://u:p4ss@proxy.example/go|direct", "NETRC": str(netrc)}
    )
    assert env.proxy == "https://proxy.example/go|direct"
    assert env.proxy_has_credentials
    env = module_environment({"GOPROXY": "https://goproxy.corp.example", "NETRC": str(netrc)})
    assert env.proxy_has_credentials and "s3cret" not in repr(env)
    env = module_environment({"GOPROXY": "https://proxy.golang.org", "NETRC": str(netrc)})
    assert not env.proxy_has_credentials
    assert redact_url_list("https://a:b@x,https://y|off") == "https://x,https://y|off"


def test_context_delivery_when_the_proxy_has_credentials() -> None:
    environment = ModuleEnvironment(proxy="https://proxy.example", proxy_has_credentials=True)
    plan = plan_build(resolved("modhost", "greet", environment=environment))
    assert plan.modules.delivery == "context"
    assert plan.network == ""
    text = emit_dockerfile(resolved("modhost", "greet", environment=environment), plan)
    assert "proxy.example" not in text


def test_loopback_proxy_gets_host_networking() -> None:
    environment = ModuleEnvironment(proxy="http://127.0.0.1:8123")
    plan = plan_build(resolved("modhost", "greet", environment=environment))
    assert plan.modules.delivery == "build" and plan.network == "host"
    assert ("GOPROXY", "http://127.0.0.1:8123") in plan.module_env


def test_project_proxy_with_credentials_is_refused() -> None:
    project = resolved("modhost", "greet", modules=ModuleSettings(proxy="https://u:p@x.example"))
    with pytest.raises(ProjectError, match="must not hold credentials"):
        plan_build(project)


def test_host_stage_does_not_change_with_the_plugins_modules() -> None:
    one = emit_dockerfile(resolved("modhost", "greet"), plan_build(resolved("modhost", "greet")))
    two = resolved("modhost", "greet", "sibling")
    other = emit_dockerfile(two, plan_build(two))
    host_stage = one[one.index("\nFROM ") : one.index("\nFROM host AS modules")]
    assert other[other.index("\nFROM ") : other.index("\nFROM host AS modules")] == host_stage
    assert "plugwiz/modules" not in host_stage and "FROM modules AS plugin-1" in one


def test_plain_host_without_module_plugins_has_no_modules_stage() -> None:
    project = resolved("modhost")
    plan = plan_build(project)
    assert not plan.modules.merged and plan.modules.delivery == "build"
    text = emit_dockerfile(project, plan)
    assert (
        "AS modules" not in text and "COPY host/go.mod host/go.sum ./\nRUN go mod download" in text
    )


GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("name", "host", "plugins", "settings"),
    [
        ("plugin-modules", "modhost", ("greet", "sibling"), ModuleSettings(offline="/srv/gp")),
        ("vendored-modules", "legacy", ("legacyext",), ModuleSettings()),
        (
            "upgraded-modules",
            "modhost",
            ("upgrade",),
            ModuleSettings(offline="/srv/gp", upgrade=("example.org/colors",)),
        ),
    ],
)
@pytest.mark.parametrize("buildkit", [False, True], ids=["classic", "buildkit"])
def test_module_dockerfiles_match_golden(
    name: str, host: str, plugins: tuple[str, ...], settings: ModuleSettings, buildkit: bool
) -> None:
    project = resolved(host, *plugins, modules=settings)
    text = emit_dockerfile(project, plan_build(project), buildkit=buildkit)
    golden = GOLDEN / f"{name}{'.buildkit' if buildkit else ''}.Dockerfile"
    if os.environ.get("PLUGWIZ_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def legacy_upgrade_plugin(tmp_path: Path) -> Path:
    """The `upgrade` fixture plugin, for the vendored legacy host."""
    plugin = tmp_path / "upgrade"
    shutil.copytree(MODPLUGINS / "upgrade", plugin)
    for name in ("go.mod", "upgrade.go"):
        path = plugin / name
        path.write_text(path.read_text().replace("example.com/modhost", "example.com/legacyhost"))
    return plugin


def test_vendored_host_upgrade_replaces_the_vendored_module(tmp_path: Path) -> None:
    legacy_upgrade_plugin(tmp_path)
    proxy = write_file_proxy(tmp_path / "proxy")
    settings = ModuleSettings(offline=str(proxy), upgrade=("example.org/colors",))
    project = resolved("legacy", "upgrade", modules=settings, base=tmp_path)
    plan = plan_build(project)
    modules = plan.modules
    assert [(n.module, n.version) for n in modules.host_needs] == [("example.org/colors", "v1.1.0")]
    files = dict(prepare_modules(project, modules, [DirectorySource(proxy)]).files)
    assert b"func Shade" in files["plugwiz/host-vendor/example.org/colors/colors.go"]
    assert files["plugwiz/host-modules/vendor/modules.txt"].decode() == (
        "# example.org/colors v1.1.0\n## explicit\nexample.org/colors\n"
    )
    assert (
        files["plugwiz/modules/vendor/modules.txt"]
        .decode()
        .startswith(
            "# example.org/colors v1.1.0\n## explicit\nexample.org/colors\n"
            "# example.com/upgrade v0.0.0\n## explicit\nexample.com/upgrade\n"
        )
    )
    assert "example.org/colors v1.1.0" in modules.host_gomod
    text = emit_dockerfile(project, plan)
    assert (
        "COPY host/ ./\nCOPY plugwiz/host-modules/ ./\n"
        "# The upgraded modules' old files go (modules.upgrade).\n"
        "RUN find vendor/example.org/colors -maxdepth 1 -type f -delete\n"
        "COPY plugwiz/host-vendor/ ./vendor/\n"
    ) in text


def test_gos_checksum_mismatch_in_the_build_names_the_module() -> None:
    from plugwiz.core.events import BuildFailed, BuildStreamParser

    parser = BuildStreamParser(resolved("modhost", "greet"))
    chunks: list[dict[str, object]] = [
        {"stream": "Step 13/25 : RUN go mod download\n"},
        {"stream": " ---> Running in 1e128431a49e\n"},
        {
            "stream": "\x1b[91mverifying example.org/shapes@v1.0.0: checksum mismatch\n"
            "\tdownloaded: h1:AAAA=\n\tgo.sum:     h1:BBBB=\n\nSECURITY ERROR\n\x1b[0m"
        },
        {
            "errorDetail": {
                "message": "The command '/bin/sh -c go mod download' returned a non-zero code: 1"
            },
            "error": "x",
        },
    ]
    events = [e for chunk in chunks for e in parser.feed(chunk)]
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.message.startswith(
        "checksum mismatch for example.org/shapes v1.0.0: go.sum says h1:BBBB=, the module "
        "source served h1:AAAA=."
    )


def test_compiler_paths_in_plugin_modules_map_to_the_users_files(tmp_path: Path) -> None:
    from plugwiz.core.events import map_compiler_path

    project = resolved("modhost", "greet", "sibling")
    greet = MODPLUGINS / "greet"
    assert map_compiler_path(project, "plugwiz_plugins/greet/format/format.go") == (
        f"{greet}/format/format.go"
    )
    assert map_compiler_path(project, "example.com/greet/internal/words/words.go") == (
        f"{greet}/internal/words/words.go"
    )
    assert map_compiler_path(project, "plugwiz_deps/1/motto/motto.go") == (
        f"{MODPLUGINS / 'siblib'}/motto/motto.go"
    )
    vendored = resolved("legacy", "legacyext")
    assert map_compiler_path(vendored, "vendor/example.com/legacyext/internal/box/box.go") == (
        f"{MODPLUGINS / 'legacyext'}/internal/box/box.go"
    )
    assert map_compiler_path(vendored, "vendor/example.org/shapes/shapes.go") is None
