"""main.parameters.json of every good fixture validates against the official ARM
deploymentParameters schema (draft-04), with its `$ref`s resolved from local copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import GOOD_SPECS, compiled, parameters_validator


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_parameters_file_is_valid(spec: Path) -> None:
    document = json.loads(compiled(spec).files["main.parameters.json"].content)
    errors = sorted(parameters_validator().iter_errors(document), key=str)
    assert errors == [], "\n".join(e.message for e in errors)


def test_validator_can_fail() -> None:
    """The schema really constrains: a parameter without `value` or `reference` is rejected."""
    bad = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"x": {"nothing": 1}},
    }
    assert list(parameters_validator().iter_errors(bad))


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_parameters_match_main_bicep(spec: Path) -> None:
    """Every parameter in the file is declared in main.bicep, and every required one is given."""
    files = compiled(spec).files
    given = set(json.loads(files["main.parameters.json"].content)["parameters"])
    declared, required = set(), set()
    for line in files["main.bicep"].content.splitlines():
        if line.startswith("param "):
            name = line.split()[1]
            declared.add(name)
            if "=" not in line:
                required.add(name)
    assert given <= declared
    assert required <= given
