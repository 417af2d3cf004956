"""explain(): each finding, its order, its fix, the verdict, text and JSON (facts built here).

The same findings on real binaries: tests/integration/test_explain_docker.py.
"""

from __future__ import annotations

import json
from dataclasses import replace

from plugwiz.core.buildinfo import BinaryFacts, Module
from plugwiz.core.explain import (
    KIND_BUILD_FLAGS,
    KIND_BUILD_PATH,
    KIND_GLIBC,
    KIND_GO_VERSION,
    KIND_HOST_CANNOT_LOAD,
    KIND_HOST_REVISION,
    KIND_MODULE_VERSION,
    KIND_NOT_A_PLUGIN,
    KIND_PACKAGE_CONTENT,
    KIND_PLATFORM,
    HostContext,
    explain,
    format_explanation,
)
from plugwiz.core.predict import gomod_modules, predict_host_facts

HOST_MODULE = "example.com/host"
SETTINGS = (
    ("-buildmode", "exe"),
    ("-compiler", "gc"),
    ("-trimpath", "true"),
    ("CGO_ENABLED", "1"),
    ("GOARCH", "amd64"),
    ("GOOS", "linux"),
    ("GOAMD64", "v1"),
)
HASHES = (
    ("runtime", "aa"),
    ("errors", "bb"),
    ("plugin", "cc"),
    (f"{HOST_MODULE}/api", "dd"),
    ("github.com/x/y", "ee"),
    ("github.com/x/y/sub", "ef"),
)
DEPS = (Module("github.com/x/y", "v1.2.0", "h1:one="),)


def host(**changes: object) -> BinaryFacts:
    values: dict[str, object] = {
        "kind": "executable",
        "go_version": "go1.19.8",
        "go_version_hint": "",
        "has_build_info": True,
        "path": f"{HOST_MODULE}/cmd/host",
        "main": Module(HOST_MODULE, "(devel)"),
        "deps": DEPS,
        "settings": SETTINGS,
        "machine": "amd64",
        "bits": 64,
        "big_endian": False,
        "needed_libraries": ("libc.so.6",),
        "needed_versions": (("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.34")),),
        "package_hashes": HASHES,
    }
    values.update(changes)
    return BinaryFacts(**values)  # type: ignore[arg-type]


def plugin(**changes: object) -> BinaryFacts:
    settings = tuple((k, "plugin" if k == "-buildmode" else v) for k, v in SETTINGS)
    hashes = (*[(p, h) for p, h in HASHES if p != "plugin"], (f"{HOST_MODULE}/plugins/p", "ff"))
    values: dict[str, object] = {
        "kind": "plugin",
        "path": f"{HOST_MODULE}/plugins/p",
        "settings": settings,
        "package_hashes": hashes,
    }
    values.update(changes)
    return host(**values)


def with_setting(facts: BinaryFacts, key: str, value: str | None) -> BinaryFacts:
    settings = [(k, v) for k, v in facts.settings if k != key]
    if value is not None:
        settings.append((key, value))
    return replace(facts, settings=tuple(settings))


def changed_hashes(facts: BinaryFacts, *packages: str) -> BinaryFacts:
    return replace(
        facts,
        package_hashes=tuple((p, "00" if p in packages else h) for p, h in facts.package_hashes),
    )


def test_a_matching_plugin_loads() -> None:
    result = explain(plugin(), host(), HostContext(runtime_glibc="2.36"))
    assert result.loads and result.exit_code == 0 and result.findings == ()
    assert result.verdict == "Nothing would stop it loading."
    assert result.shared_packages == 5 and result.mismatched_packages == ()
    text = format_explanation(result)
    assert "Nothing would stop it loading." in text and "5 shared, 0 with a different hash" in text


def test_go_version_first_with_the_hosts_release_as_fix() -> None:
    other = changed_hashes(plugin(go_version="go1.22.3"), *dict(HASHES))
    result = explain(other, host())
    first = result.findings[0]
    assert first.kind == KIND_GO_VERSION and first.blocking
    assert first.title == "the plugin was built with Go 1.22.3, the host with Go 1.19.8"
    assert first.fix == "rebuild the plugin with Go 1.19.8"
    assert len(result.findings) == 1  # everything else it changed is explained by it
    assert result.exit_code == 1
    assert result.verdict.startswith("It would not load: the plugin was built with Go 1.22.3")


def test_missing_trimpath_says_add_it() -> None:
    notrim = changed_hashes(with_setting(plugin(), "-trimpath", None), *dict(HASHES))
    first = explain(notrim, host()).findings[0]
    assert first.kind == KIND_BUILD_FLAGS
    assert first.title == "the plugin was built without -trimpath, the host with it"
    assert first.fix == "add -trimpath"
    assert first.rows == (("-trimpath", "yes", "no"),)


def test_other_hash_changing_flags_are_listed() -> None:
    other = with_setting(with_setting(plugin(), "-tags", "netgo"), "GOAMD64", "v3")
    other = changed_hashes(other, "runtime")
    first = explain(other, host()).findings[0]
    assert first.kind == KIND_BUILD_FLAGS and first.blocking
    assert first.rows == (("-tags", "(not set)", "netgo"), ("GOAMD64", "v1", "v3"))
    assert first.fix == "drop -tags; set GOAMD64=v1 as the host"


def test_flags_that_changed_no_shared_package_are_a_note() -> None:
    result = explain(with_setting(plugin(), "-gcflags", "-N -l"), host())
    (note,) = result.findings
    assert note.kind == KIND_BUILD_FLAGS and not note.blocking
    assert result.loads and "(note)" in format_explanation(result)


def test_module_version_names_both_versions_and_the_plugins_packages() -> None:
    other = replace(plugin(), deps=(Module("github.com/x/y", "v1.3.0", "h1:two="),))
    other = changed_hashes(other, "github.com/x/y/sub")
    result = explain(other, host())
    first = result.findings[0]
    assert first.kind == KIND_MODULE_VERSION and first.blocking
    assert first.title == "module github.com/x/y is v1.3.0 in the plugin but v1.2.0 in the host"
    assert first.fix == "require github.com/x/y v1.2.0 in the plugin's go.mod"
    assert first.packages == ("github.com/x/y", "github.com/x/y/sub")
    assert first.rows[0][:3] == ("github.com/x/y", "v1.2.0", "v1.3.0")


def test_module_replaced_in_the_host_says_replace() -> None:
    replaced = (Module("github.com/x/y", "v1.2.0", "h1:one=", Module("../y", "(devel)")),)
    other = changed_hashes(plugin(), "github.com/x/y")
    first = explain(other, host(deps=replaced)).findings[0]
    assert first.kind == KIND_MODULE_VERSION
    assert (
        first.fix
        == "replace github.com/x/y => ../y (devel) in the plugin's go.mod, as the host does"
    )


def test_module_not_shared_is_only_a_note() -> None:
    other = replace(
        plugin(),
        deps=(*DEPS, Module("github.com/only/plugin", "v2.0.0", "h1:p=")),
        package_hashes=(*plugin().package_hashes, ("github.com/only/plugin", "12")),
    )
    lone = host(deps=(*DEPS, Module("github.com/only/plugin", "v1.0.0", "h1:h=")))
    result = explain(other, lone)
    (note,) = result.findings
    assert note.kind == KIND_MODULE_VERSION and not note.blocking and result.loads


def test_a_module_version_is_inferred_for_a_plugin_without_build_info() -> None:
    old = plugin(go_version="", has_build_info=False, deps=(), settings=(), path="", main=None)
    old = changed_hashes(replace(old, source_files=("runtime/proc.go",)), "github.com/x/y")
    first = explain(old, host()).findings[0]
    assert first.kind == KIND_MODULE_VERSION
    assert (
        first.title == "module github.com/x/y is v1.2.0 in the host, another version in the plugin"
    )
    assert first.fix == "require github.com/x/y v1.2.0 in the plugin's go.mod"


def test_host_package_changed_shows_both_revisions() -> None:
    host_facts = with_setting(host(), "vcs.revision", "a" * 40)
    other = with_setting(plugin(), "vcs.revision", "b" * 40)
    other = with_setting(other, "vcs.modified", "true")
    other = changed_hashes(other, f"{HOST_MODULE}/api")
    first = explain(other, host_facts).findings[0]
    assert first.kind == KIND_HOST_REVISION
    assert first.title.startswith(f"package {HOST_MODULE}/api differs")
    assert first.rows[:2] == (
        ("revision", "a" * 40, "b" * 40),
        ("modified", "(not recorded)", "true"),
    )
    assert first.fix == "build it with plugwiz against this host"


def test_host_revision_from_the_context_when_the_host_has_no_vcs() -> None:
    other = with_setting(plugin(), "vcs.revision", "b" * 40)
    other = changed_hashes(other, f"{HOST_MODULE}/api")
    context = HostContext(revision="c" * 40, modified=False)
    first = explain(other, host(), context).findings[0]
    assert first.rows[:2] == (
        ("revision", "c" * 40, "b" * 40),
        ("modified", "false", "(not recorded)"),
    )
    assert f"commit {'b' * 12}, the host from {'c' * 12}" in first.detail


def test_build_path_without_trimpath() -> None:
    files_host = ("/src/api/api.go", "/usr/lib/go-1.19/src/runtime/proc.go")
    files_plugin = ("/home/me/host/api/api.go", "/usr/lib/go-1.19/src/runtime/proc.go")
    h = replace(with_setting(host(), "-trimpath", None), source_files=files_host)
    p = replace(with_setting(plugin(), "-trimpath", None), source_files=files_plugin)
    p = changed_hashes(p, f"{HOST_MODULE}/api")
    first = explain(p, h).findings[0]
    assert first.kind == KIND_BUILD_PATH
    assert first.title == "the plugin was built in /home/me/host, the host in /src"
    assert first.fix.startswith("build host and plugin with -trimpath")


def test_unexplained_package_difference() -> None:
    first = explain(changed_hashes(plugin(), "errors"), host()).findings[0]
    assert first.kind == KIND_PACKAGE_CONTENT and first.packages == ("errors",)


def test_newer_glibc_than_the_runtime_comes_first() -> None:
    needs = (("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.38")),)
    other = changed_hashes(plugin(go_version="go1.24.4", needed_versions=needs), *dict(HASHES))
    context = HostContext(runtime_glibc="2.36", runtime_label="the image app:1")
    result = explain(other, host(), context)
    assert [f.kind for f in result.findings] == [KIND_GLIBC, KIND_GO_VERSION]
    assert result.findings[0].title == "the plugin needs glibc 2.38, the image app:1 has glibc 2.36"
    assert "glibc 2.36 or older" in result.findings[0].fix


def test_platform_plugin_kind_and_a_host_that_cannot_load_plugins() -> None:
    arm = with_setting(plugin(machine="arm64"), "GOARCH", "arm64")
    assert explain(arm, host()).findings[0].kind == KIND_PLATFORM
    exe = host()
    assert explain(exe, host()).findings[0].kind == KIND_NOT_A_PLUGIN
    nocgo = with_setting(host(package_hashes=()), "CGO_ENABLED", "0")
    first = explain(plugin(), nocgo).findings[0]
    assert first.kind == KIND_HOST_CANNOT_LOAD and "CGO_ENABLED=0" in first.detail


def test_json_has_the_verdict_the_findings_and_both_sides() -> None:
    other = changed_hashes(plugin(go_version="go1.22.3"), *dict(HASHES))
    data = json.loads(json.dumps(explain(other, host(), plugin_label="p.so").to_json()))
    assert data["loads"] is False and data["verdict"].startswith("It would not load")
    assert data["plugin"]["label"] == "p.so" and data["plugin"]["go_version"] == "go1.22.3"
    assert data["host"]["go_version"] == "go1.19.8" and data["host"]["predicted"] is False
    assert data["findings"][0]["kind"] == KIND_GO_VERSION
    assert data["findings"][0]["table"]["columns"] == ["", "host", "plugin"]


GOMOD = """module example.com/host

go 1.19

require (
\tgithub.com/x/y v1.2.0 // indirect
\tgithub.com/z/w v0.1.0
)

require github.com/q/r v3.0.0+incompatible

replace github.com/z/w => ../w
replace github.com/q/r v3.0.0+incompatible => github.com/fork/r v3.0.1
"""


def test_gomod_modules_with_replacements() -> None:
    assert gomod_modules(GOMOD) == (
        Module("github.com/q/r", "v3.0.0+incompatible", "", Module("github.com/fork/r", "v3.0.1")),
        Module("github.com/x/y", "v1.2.0"),
        Module("github.com/z/w", "v0.1.0", "", Module("../w", "(devel)")),
    )


def test_predicted_host_explains_a_plugin_before_any_build() -> None:
    predicted = predict_host_facts(
        module=HOST_MODULE,
        main_package="./cmd/host",
        gomod_text=GOMOD,
        goflags=("-trimpath", "-tags=netgo"),
        build_env=(("GOAMD64", "v2"),),
        go_version="go1.19.8",
    )
    assert predicted.path == f"{HOST_MODULE}/cmd/host"
    assert predicted.setting("-tags") == "netgo" and predicted.setting("GOAMD64") == "v2"
    assert predicted.trimpath is True and predicted.package_hashes == ()
    other = replace(
        with_setting(with_setting(plugin(), "-tags", "netgo"), "GOAMD64", "v2"),
        deps=(Module("github.com/x/y", "v1.3.0", "h1:x="),),
    )
    context = HostContext(predicted=True, revision="d" * 40, modified=False)
    result = explain(other, predicted, context)
    first = result.findings[0]
    assert first.kind == KIND_MODULE_VERSION and first.blocking
    assert first.fix == "require github.com/x/y v1.2.0 in the plugin's go.mod"
    assert any("predicted" in note for note in result.notes)
    # Same facts as predicted: nothing to say (hashes cannot be compared before a build).
    same = replace(with_setting(with_setting(plugin(), "-tags", "netgo"), "GOAMD64", "v2"), deps=())
    assert explain(same, predicted, context).loads
