"""A write killed (SIGKILL) at every point of its move phase never leaves a folder that looks fine
but is not: afterwards `out/` holds the complete old set, the complete new set, or the journal,
which `render --check` (exit 1) and `verify` (exit 2, TG250) report and `render` repairs.

Kill points are exact: `TOKENGATE_TEST_PAUSE_AT=N` makes the write announce publish step N on
stderr and wait there; the test reads that line and sends SIGKILL. Most trials fork the test
process (a real process, killed for real, without paying Python's start-up each time); a few
run the real `python -m generator render` command line end to end.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import FIXTURES

from generator import pipeline
from generator.cli import main
from generator.invocation import DEFAULT_OUT, regenerate_note
from generator.manifest import JOURNAL, MANIFEST, STAGING_PREFIX, digest, read_manifest
from generator.render import RenderedFile
from generator.write import PAUSE_VARIABLE, plan, write

GOOD = FIXTURES / "specs" / "good"
#: products → insights adds 4 files, changes 19 and removes 2; back again the other way round.
PRODUCTS, INSIGHTS = GOOD / "products.yaml", GOOD / "insights.yaml"
SCENARIOS = [(PRODUCTS, INSIGHTS), (INSIGHTS, PRODUCTS)]
PAUSED = b"paused at publish step"


#: tmpfs, where fsync costs nothing: the trials test the order of the steps (a kill keeps the
#: page cache), not the disk's durability, and the shared test machine's disk is slow.
FAST_DISK = Path("/dev/shm")


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    if not FAST_DISK.is_dir():
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="tokengate-kills-", dir=FAST_DISK))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@cache
def _compiled(spec: Path, note: str) -> pipeline.Compiled:
    return pipeline.compile_spec(pipeline.load_spec(spec), note)


def compiled_for(
    spec: Path, out: Path = DEFAULT_OUT, prices: object | None = None
) -> pipeline.Compiled:
    """What rendering `spec` into `out` compiles to. Files name their spec relative to the folder
    holding `out`, so trials whose folders sit at the same depth share one compilation. The
    trials never pass --prices (`compile_path`'s `prices`)."""
    assert prices is None
    return _compiled(spec, regenerate_note(spec, out))


def files_of(spec: Path, out: Path) -> dict[str, RenderedFile]:
    return compiled_for(spec, out).files


@pytest.fixture
def cached_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI commands compile each spec once per test run instead of once per call: the same
    `Compiled`, so the commands run unchanged, only faster (the trials are about writing)."""
    monkeypatch.setattr(pipeline, "compile_path", compiled_for)


def publish_points(out: Path, files: dict[str, RenderedFile]) -> int:
    """How many pause points the write of `files` into `out` has: before the journal, before
    each move and each removal, before the manifest, before the journal goes, and at the end."""
    todo = plan(out, files)
    return 1 + len(todo.added) + len(todo.changed) + len(todo.removed) + 3


def kill_forked_write(out: Path, files: dict[str, RenderedFile], step: int) -> bytes:
    """Fork; the child writes with a pause at `step`; SIGKILL it there. Returns what it said."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.dup2(write_end, 2)
            os.environ[PAUSE_VARIABLE] = str(step)
            write(out, files)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    said = wait_for_pause(read_end)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(read_end)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, said
    return said


def wait_for_pause(descriptor: int, timeout: float = 20.0) -> bytes:
    said = b""
    deadline = time.monotonic() + timeout
    while PAUSED not in said:
        ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"the write never paused: {said!r}"
        chunk = os.read(descriptor, 4096)
        assert chunk, f"the write ended without pausing: {said!r}"
        said += chunk
    return said


def tokengate_files(out: Path) -> dict[str, bytes]:
    """Every regular file in `out` but the bookkeeping and staging folders."""
    found: dict[str, bytes] = {}
    for path in out.rglob("*"):
        relative = path.relative_to(out).as_posix()
        if relative.startswith(STAGING_PREFIX) or relative in (MANIFEST, JOURNAL):
            continue
        if path.is_file():
            found[relative] = path.read_bytes()
    return found


def state(out: Path, old: dict[str, RenderedFile], new: dict[str, RenderedFile]) -> str:
    if (out / JOURNAL).exists():
        return "journal"
    on_disk = tokengate_files(out)
    manifest = read_manifest(out)
    for name, files in (("old", old), ("new", new)):
        wanted = {path: f.content.encode("utf-8") for path, f in files.items()}
        if on_disk == wanted and manifest == {p: digest(c) for p, c in wanted.items()}:
            return name
    return "mixed without a journal"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@dataclass
class Tally:
    trials: int = 0
    held: int = 0
    states: dict[str, int] | None = None

    def count(self, name: str) -> None:
        self.states = self.states or {}
        self.states[name] = self.states.get(name, 0) + 1


def check_invariant(out: Path, old_spec: Path, new_spec: Path, found: str) -> None:
    """What the user sees after the kill, then `render` repairs: complete new set, no journal,
    no staging folder, and `render --check` clean."""
    assert found in ("old", "new", "journal"), found
    code, stdout, stderr = invoke("render", str(new_spec), "--out", str(out), "--check")
    if found == "journal":
        assert code == 1, stdout + stderr
        assert "interrupted" in stderr and "interrupted" in stdout
        code, stdout, _ = invoke("verify", str(out), "--no-checkov")
        assert code == 2 and "TG250" in stdout, stdout
    elif found == "old":
        assert code == 1, stdout + stderr  # the old set is out of date with the new spec
    else:
        assert code == 0, stdout + stderr
    code, stdout, stderr = invoke("render", str(new_spec), "--out", str(out))
    assert code == 0, stdout + stderr
    assert state(out, files_of(old_spec, out), files_of(new_spec, out)) == "new"
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]
    code, stdout, stderr = invoke("render", str(new_spec), "--out", str(out), "--check")
    assert code == 0, stdout + stderr


def trials(tmp_path: Path) -> Iterator[tuple[Path, Path, Path, int]]:
    for index, (old_spec, new_spec) in enumerate(SCENARIOS):
        probe = tmp_path / f"probe-{index}" / "out"
        write(probe, files_of(old_spec, probe))
        for step in range(publish_points(probe, files_of(new_spec, probe))):
            yield tmp_path / f"s{index}-step{step:02d}" / "out", old_spec, new_spec, step


def test_a_write_killed_at_every_step_is_complete_or_reported_and_repaired(
    scratch: Path, cached_compile: None
) -> None:
    tally = Tally()
    started = time.monotonic()
    for out, old_spec, new_spec, step in trials(scratch):
        old, new = files_of(old_spec, out), files_of(new_spec, out)
        write(out, old)
        said = kill_forked_write(out, new, step)
        assert f"step {step}".encode() in said
        found = state(out, old, new)
        tally.trials += 1
        tally.count(found)
        check_invariant(out, old_spec, new_spec, found)
        tally.held += 1
    elapsed = time.monotonic() - started
    print(f"\nkill trials: {tally.trials}, invariant held: {tally.held}, states: {tally.states}, "
          f"{elapsed:.1f} s")  # fmt: skip
    assert tally.trials >= 40 and tally.held == tally.trials
    # Every kind of outcome happened: the protocol was really interrupted at each phase.
    assert tally.states is not None and set(tally.states) == {"old", "journal", "new"}


@pytest.mark.parametrize("step", [1, 27])
def test_the_real_command_killed_mid_publish_is_reported_and_repaired(
    scratch: Path, step: int
) -> None:
    """End to end: `python -m generator render` in its own process, SIGKILLed while paused at
    `step` (1: the journal in place, nothing moved yet; 27: the new manifest in place, the
    journal not yet removed)."""
    old_spec, new_spec = SCENARIOS[0]
    out = scratch / "out"
    write(out, files_of(old_spec, out))
    command = [sys.executable, "-m", "generator", "render", str(new_spec), "--out", str(out)]
    env = {**os.environ, PAUSE_VARIABLE: str(step)}
    with subprocess.Popen(command, stderr=subprocess.PIPE, env=env) as process:
        assert process.stderr is not None
        wait_for_pause(process.stderr.fileno(), timeout=60)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    assert state(out, files_of(old_spec, out), files_of(new_spec, out)) == "journal"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cli = [sys.executable, "-m", "generator", *args]
        return subprocess.run(cli, capture_output=True, text=True, check=False, timeout=120)

    checked = run("render", str(new_spec), "--out", str(out), "--check")
    assert checked.returncode == 1 and "interrupted" in checked.stderr, checked
    verified = run("verify", str(out), "--no-checkov")
    assert verified.returncode == 2 and "TG250" in verified.stdout, verified
    repaired = run("render", str(new_spec), "--out", str(out))
    assert repaired.returncode == 0, repaired
    assert "finished an earlier write that was interrupted" in repaired.stdout
    assert state(out, files_of(old_spec, out), files_of(new_spec, out)) == "new"
