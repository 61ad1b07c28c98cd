"""Shared test helpers: fixture discovery, the real Bicep parser, official schema locations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import tree_sitter
import tree_sitter_bicep
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4
from syrupy.assertion import SnapshotAssertion

from generator.pipeline import Compiled, compile_path
from generator.render import RenderedFile

# The conftest `file_snapshot` fixture: `file_snapshot("bicep") == text` keeps a .bicep snapshot.
FileSnapshot = Callable[[str], SnapshotAssertion]
# The conftest `tree_snapshot` fixture: `tree_snapshot("lab/main.bicep") == text` keeps the
# snapshot at that path in the test's tree (tests/snapshot_tree.py).
TreeSnapshot = Callable[[str], SnapshotAssertion]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
GOOD_SPECS = sorted((FIXTURES / "specs" / "good").glob("*.yaml"))
BAD_SPECS = sorted((FIXTURES / "specs" / "bad").glob("*.yaml"))
#: Valid specs that draw warnings: exit 0, the warnings on stderr.
WARN_SPECS = sorted((FIXTURES / "specs" / "warn").glob("*.yaml"))

#: Where the official schemas live: `../shared/validation` next to the repo, unless overridden.
VALIDATION_ENV = "TOKENGATE_VALIDATION_DIR"


def run_tokengate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m generator ARGS` in its own process, in `cwd`, with this checkout importable:
    the entry point as a user runs it, from a folder that is not the repo."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def two_model_account(name: str) -> dict[str, Any]:
    """The spec's `openai` entry of an AI Services account deploying gpt-4o and gpt-4o-mini
    (capacity 50 each): the smallest gateway where a per-model limit can differ per model."""
    return {
        "name": name,
        "kind": "AIServices",
        "deployments": [
            {"name": "gpt-4o", "model": "gpt-4o", "version": "2024-11-20", "capacity": 50},
            {
                "name": "gpt-4o-mini",
                "model": "gpt-4o-mini",
                "version": "2024-07-18",
                "capacity": 50,
            },
        ],
    }


@cache
def parameters_validator() -> Draft4Validator:
    """The official ARM deploymentParameters schema (draft-04), its `$ref`s resolved locally."""
    folder = validation_dir()
    schema = json.loads((folder / "arm-deploymentParameters.2019-04-01.schema.json").read_text())
    definitions = json.loads(
        (folder / "arm-deploymentTemplate.2019-04-01.definitions.json").read_text()
    )
    registry: Registry = Registry()
    for document in (schema, definitions):
        registry = registry.with_resource(
            document["id"].rstrip("#"), DRAFT4.create_resource(document)
        )
    return Draft4Validator(schema, registry=registry)


def validation_dir() -> Path:
    """The official schemas folder; fails (never skips silently) when it is absent."""
    folder = Path(os.environ.get(VALIDATION_ENV, REPO.parent / "shared" / "validation"))
    if not folder.is_dir():
        pytest.fail(
            f"official schemas not found at {folder}: set {VALIDATION_ENV} to the folder holding "
            "the ARM, azd, SARIF schemas and the APIM policy XSDs (see shared/README.md)"
        )
    return folder


@cache
def compiled(spec: Path) -> Compiled:
    return compile_path(spec)


def rendered_files() -> Iterator[tuple[str, RenderedFile]]:
    """(fixture name, file) for every file rendered from every good fixture spec."""
    for spec in GOOD_SPECS:
        for rendered in compiled(spec).files.values():
            yield spec.stem, rendered


@cache
def bicep_parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def parse_bicep(text: str) -> tree_sitter.Tree:
    return bicep_parser().parse(text.encode("utf-8"))


def syntax_problems(tree: tree_sitter.Tree) -> list[str]:
    """Every ERROR or MISSING node, as `line:col type`."""
    problems = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            line, col = node.start_point
            problems.append(
                f"{line + 1}:{col + 1} {'MISSING' if node.is_missing else 'ERROR'} "
                f"{node.text.decode()[:60]!r}"
                if node.text
                else ""
            )
        stack.extend(node.children)
    return problems


def node_text(node: tree_sitter.Node) -> str:
    """The node's source text; tree-sitter types `text` as optional, but a tree parsed from
    bytes always keeps it, so a missing text is a test failure, not a case to handle."""
    assert node.text is not None, f"{node.type} node without source text"
    return node.text.decode()


def nodes_of_type(tree: tree_sitter.Tree, kind: str) -> list[tree_sitter.Node]:
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == kind:
            found.append(node)
        stack.extend(node.children)
    return sorted(found, key=lambda n: n.start_byte)
