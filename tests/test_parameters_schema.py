"""main.parameters.json of every good fixture validates against the official ARM
deploymentParameters schema (draft-04), with its `$ref`s resolved from local copies."""

from __future__ import annotations

import json
from functools import cache

import pytest
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4
from support import GOOD_SPECS, compiled, validation_dir


@cache
def parameters_validator() -> Draft4Validator:
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


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_parameters_file_is_valid(spec) -> None:  # type: ignore[no-untyped-def]
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
def test_parameters_match_main_bicep(spec) -> None:  # type: ignore[no-untyped-def]
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
