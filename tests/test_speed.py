"""What keeps a render fast, tested for what it must not break (no timings here: those are in
benchmarks/run.py): the shipped schema is valid without a runtime `check_schema`, the template
cache never serves a stale or foreign template, and the CLI imports no heavy module up front."""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from support import REPO

from generator import render, template_cache
from generator.errors import SpecInvalid
from generator.load import load_text
from generator.pipeline import compile_path
from generator.resources import spec_schema
from generator.template_cache import ChecksumBytecodeCache, bytecode_cache, cache_folder

#: Imported by some commands only; `import generator.cli` and `--help` must not pay for them.
HEAVY_MODULES = ("jinja2", "jsonschema", "yaml", "lxml", "tree_sitter", "subprocess")


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    """Validation no longer checks the schema on every run; this check replaces it."""
    Draft202012Validator.check_schema(spec_schema())


def test_the_schema_check_catches_a_broken_schema() -> None:
    broken = copy.deepcopy(spec_schema())
    broken["properties"]["name"]["type"] = "text"  # not a JSON Schema type
    with pytest.raises(SchemaError):
        Draft202012Validator.check_schema(broken)


def _counting_compiles(env: jinja2.Environment) -> list[str]:
    """Record the name of every template `env` compiles from source (a cache miss)."""
    compiled: list[str] = []
    original = env.compile

    def compile_and_count(source: Any, name: str | None = None, *args: Any, **kw: Any) -> Any:
        compiled.append(str(name))
        return original(source, name, *args, **kw)

    env.compile = compile_and_count  # type: ignore[method-assign]
    return compiled


def _render_lab(env: jinja2.Environment) -> dict[str, str]:
    gateway = compile_path(None).gateway
    jobs, _ = render.plan(gateway)
    return {job.path: env.get_template(job.template).render(**job.context) for job in jobs}


def test_a_second_run_compiles_nothing_and_renders_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(template_cache.DISABLE_VARIABLE, "1")
    uncached = render.environment.__wrapped__()
    assert uncached.bytecode_cache is None
    expected = _render_lab(uncached)

    monkeypatch.delenv(template_cache.DISABLE_VARIABLE)
    first = render.environment.__wrapped__()
    first_compiles = _counting_compiles(first)
    assert _render_lab(first) == expected
    assert "main.bicep.j2" in first_compiles
    entries = list(cache_folder().iterdir())
    assert len(entries) == len(set(first_compiles))
    assert cache_folder().is_relative_to(tmp_path)

    second = render.environment.__wrapped__()
    second_compiles = _counting_compiles(second)
    assert _render_lab(second) == expected
    assert second_compiles == []


def _dict_env(folder: Path, templates: dict[str, str], options: str = "a") -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader(templates),
        bytecode_cache=ChecksumBytecodeCache(folder, options),
        autoescape=False,
    )


def test_a_changed_template_is_compiled_again_never_served_stale(tmp_path: Path) -> None:
    old = _dict_env(tmp_path, {"t.j2": "old {{ x }}"})
    assert old.get_template("t.j2").render(x=1) == "old 1"
    new = _dict_env(tmp_path, {"t.j2": "new {{ x }}"})
    compiles = _counting_compiles(new)
    assert new.get_template("t.j2").render(x=1) == "new 1"
    assert compiles == ["t.j2"]


def test_other_environment_options_do_not_share_entries(tmp_path: Path) -> None:
    _dict_env(tmp_path, {"t.j2": "{{ x }}"}, options="trim").get_template("t.j2")
    other = _dict_env(tmp_path, {"t.j2": "{{ x }}"}, options="no-trim")
    compiles = _counting_compiles(other)
    other.get_template("t.j2")
    assert compiles == ["t.j2"]
    assert len(list(tmp_path.iterdir())) == 2


def test_a_corrupt_entry_is_compiled_again(tmp_path: Path) -> None:
    _dict_env(tmp_path, {"t.j2": "good {{ x }}"}).get_template("t.j2")
    for entry in tmp_path.iterdir():
        entry.write_bytes(b"not bytecode")
    again = _dict_env(tmp_path, {"t.j2": "good {{ x }}"})
    compiles = _counting_compiles(again)
    assert again.get_template("t.j2").render(x=2) == "good 2"
    assert compiles == ["t.j2"]


def test_a_cache_that_cannot_be_written_only_costs_compiling(tmp_path: Path) -> None:
    env = _dict_env(tmp_path / "missing", {"t.j2": "still {{ x }}"})
    assert env.get_template("t.j2").render(x=3) == "still 3"
    assert not (tmp_path / "missing").exists()


def test_a_folder_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are unmarshalled into code: a folder another user can write is refused."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(template_cache.DISABLE_VARIABLE, raising=False)
    assert bytecode_cache("x") is not None
    cache_folder().chmod(0o777)
    assert bytecode_cache("x") is None
    cache_folder().chmod(0o700)
    assert bytecode_cache("x") is not None


def test_a_symlinked_or_blocked_folder_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(template_cache.DISABLE_VARIABLE, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "linked" / "tokengate").mkdir(parents=True)
    (tmp_path / "linked" / "tokengate" / "templates").symlink_to(elsewhere)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "linked"))
    assert bytecode_cache("x") is None
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "tokengate").write_text("a file, not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
    assert bytecode_cache("x") is None


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(template_cache.DISABLE_VARIABLE, "1")
    assert bytecode_cache("x") is None
    assert not (tmp_path / "tokengate").exists()


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG spec says relative paths are invalid; a render must not cache into the cwd."""
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cache_folder() == Path.home() / ".cache" / "tokengate" / "templates"


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    loaded = set(done.stdout.split())
    return [m for m in HEAVY_MODULES if m in loaded]


def test_importing_the_cli_imports_no_heavy_module() -> None:
    assert _imported_after("import generator.cli") == []


def test_help_imports_no_heavy_module() -> None:
    code = (
        "from generator.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert _imported_after(code) == []


def test_the_benchmark_floor_writes_the_files_render_writes(tmp_path: Path) -> None:
    """benchmarks/floor.py is only a fair floor while it renders exactly our output."""
    env = {**os.environ, template_cache.DISABLE_VARIABLE: "1"}
    floor = [sys.executable, str(REPO / "benchmarks" / "floor.py")]
    subprocess.run([*floor, "prepare", "data"], cwd=tmp_path, env=env, check=True)
    subprocess.run([*floor, "render", "data", "floor"], cwd=tmp_path, env=env, check=True)
    ours = tmp_path / "ours"
    ours.mkdir()
    subprocess.run(
        [sys.executable, "-m", "generator", "render"],
        cwd=ours,
        env=env,
        check=True,
        capture_output=True,
    )
    written = {
        p.relative_to(ours / "out"): p.read_bytes()
        for p in (ours / "out").rglob("*")
        if p.is_file() and not p.name.startswith(".tokengate")
    }
    floored = {
        p.relative_to(tmp_path / "floor"): p.read_bytes()
        for p in (tmp_path / "floor").rglob("*")
        if p.is_file()
    }
    assert written and floored == written


@pytest.mark.parametrize("text", ["name: ok\n", "name: [unclosed\n", ""])
def test_loading_restores_the_cycle_collector(text: str) -> None:
    """The collector is paused while a spec loads (speed) and on again after, even on errors."""
    assert gc.isenabled()
    with contextlib.suppress(SpecInvalid):
        load_text(text, "spec.yaml")
    assert gc.isenabled()


def test_loading_leaves_a_paused_collector_paused() -> None:
    gc.disable()
    try:
        load_text("name: ok\n", "spec.yaml")
        assert not gc.isenabled()
    finally:
        gc.enable()
