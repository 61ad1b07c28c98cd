"""docs/lab.md tells the truth: every command in its `console` blocks runs, against the emulator,
and prints what the page says.

Rules for the page: `$ ` starts a command, the lines after it are its standard output; a line `…`
stands for any number of lines; `^C` stops the running emulator (its last words follow). A `yaml`
block holding one consumer line (`  - { name: X, ... }`) is an edit: that consumer's line in the
spec is replaced. The emulator gets `--port 0` and its real URL stands in for
http://127.0.0.1:8080. Normalized on both sides: key prefixes, Retry-After seconds (a minute
less the time the run took), timestamps.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from emulator_support import BANNER_END, STOP_SECONDS, Emulator, running
from support import REPO

LAB = REPO / "docs" / "lab.md"
DOC_URL = "http://127.0.0.1:8080"
COMMAND_SECONDS = 120


def steps(text: str) -> Iterator[tuple[str, str, list[str]]]:
    """(kind, text, expected lines): kind is `run`, `stop` or `edit`."""
    for language, body in re.findall(r"^```(\w+)\n(.*?)^```$", text, re.M | re.S):
        lines = body.splitlines()
        if language == "yaml" and len(lines) == 1 and lines[0].startswith("  - { name: "):
            yield "edit", lines[0], []
            continue
        if language != "console":
            continue
        current: tuple[str, str, list[str]] | None = None
        for line in lines:
            if line.startswith("$ ") or line == "^C":
                if current:
                    yield current
                current = ("run", line[2:], []) if line.startswith("$ ") else ("stop", "", [])
            else:
                assert current is not None, f"output before any command: {line!r}"
                current[2].append(line)
        if current:
            yield current


def normalized(lines: list[str], url: str) -> list[str]:
    out = []
    for line in lines:
        line = line.replace(url, DOC_URL)
        line = re.sub(r"\b[0-9a-f]{4}…", "KEY…", line)
        line = re.sub(r"^(\s+\d+\s+429\s.*\s)\d+ s$", r"\1N s", line)
        line = re.sub(r'"timestamp": "[0-9T:.\-]+Z"', '"timestamp": "T"', line)
        out.append(line)
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """`…` in `expected` matches any run of lines."""
    if not expected:
        return not actual
    head, *rest = expected
    if head == "…":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == head and matches(rest, actual[1:])


def tokengate(argv: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *argv],
        cwd=folder, capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False,
    )  # fmt: skip


def test_every_command_of_the_lab_prints_what_the_page_says(tmp_path: Path) -> None:
    text = LAB.read_text(encoding="utf-8")
    ran = 0
    with ExitStack() as stack:
        emulator: Emulator | None = None
        url = DOC_URL
        for kind, command, expected in steps(text):
            if kind == "edit":
                spec = tmp_path / "tokengate.yaml"
                name = command.split("name: ", 1)[1].split(",", 1)[0]
                lines = spec.read_text(encoding="utf-8").splitlines(keepends=True)
                edited = [command + "\n" if f"{{ name: {name}," in ln else ln for ln in lines]
                assert edited != lines, f"no consumer line for {name} in the spec"
                spec.write_text("".join(edited), encoding="utf-8")
                continue
            if kind == "stop":
                assert emulator is not None, "^C with no emulator running"
                stack.close()
                assert emulator.returncode == 0, emulator.stderr
                actual = emulator.stopped_output
                emulator = None
            else:
                argv = shlex.split(command.replace(DOC_URL, url))
                if argv[:2] == ["tokengate", "emulate"]:
                    assert emulator is None, "the page starts a second emulator"
                    with_keys = argv.index("--keys") + 1
                    assert argv[with_keys] == "keys.json"
                    emulator = stack.enter_context(running(None, tmp_path, *argv[2:]))
                    url = emulator.url
                    actual = emulator.banner
                    assert actual[-1] == BANNER_END
                elif argv[0] == "tokengate":
                    done = tokengate(argv[1:], tmp_path)
                    assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
                    actual = done.stdout.splitlines()
                else:
                    done = subprocess.run(
                        argv, cwd=tmp_path, capture_output=True, text=True,
                        timeout=COMMAND_SECONDS, check=True,
                    )  # fmt: skip
                    actual = done.stdout.splitlines()
            ran += 1
            want, got = normalized(expected, url), normalized(actual, url)
            assert matches(want, got), (
                f"$ {command or '^C'}\n--- page\n"
                + "\n".join(want)
                + ("\n--- actual\n" + "\n".join(got))
            )
        assert emulator is None, (
            f"the page leaves the emulator running (stop within {STOP_SECONDS}s)"
        )
    assert ran >= 10
