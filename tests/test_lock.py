"""The lock files cover what pyproject.toml asks for, so CI installs only pinned releases.

`requirements/lock` regenerates them; this test fails when a dependency is added to, or its range
changed in, pyproject.toml without re-locking.
"""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import REPO


def _pins(lock: str) -> dict[str, str]:
    text = (REPO / "requirements" / lock).read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    for name, version in re.findall(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)", text, re.M):
        pins[canonicalize_name(name)] = version
    return pins


def _requirements_of(extras: list[str]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(line) for line in project["dependencies"]]
    todo = list(extras)
    while todo:
        for line in project["optional-dependencies"][todo.pop()]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == "tokengate":
                todo.extend(requirement.extras)
            else:
                wanted.append(requirement)
    return wanted


def test_dev_lock_pins_every_dependency_within_its_range() -> None:
    pins = _pins("dev.txt")
    for requirement in _requirements_of(["dev"]):
        name = canonicalize_name(requirement.name)
        assert name in pins, (
            f"{requirement.name} is not in requirements/dev.txt: run requirements/lock"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/dev.txt pins {name}=={pins[name]}, outside {requirement}"
        )


def test_lock_pins_exact_versions_only() -> None:
    for lock in ("dev.txt", "scan.txt", "pip.txt"):
        text = (REPO / "requirements" / lock).read_text(encoding="utf-8")
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                assert "==" in line and not re.search(r"[<>~!]=?", line.split(";")[0]), line


def test_scan_lock_pins_checkov() -> None:
    assert "checkov" in _pins("scan.txt")
