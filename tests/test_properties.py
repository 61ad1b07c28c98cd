"""Property tests generated from the spec's own JSON Schema: any schema-valid spec either renders
well-formed output or is refused with positioned findings; never a crash."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from support import parse_bicep, syntax_problems

from generator.errors import SpecInvalid
from generator.load import load_text
from generator.pipeline import compile_spec
from generator.resources import spec_schema


def _bounded_schema() -> dict[str, Any]:
    """The spec schema, narrowed so most examples also pass the semantic rules: small arrays,
    capacities inside every SKU's bounds, quota and period together, well-formed counter keys.
    What stays random is everything the templates must escape and every optional block."""
    schema: dict[str, Any] = json.loads(json.dumps(spec_schema()))
    properties = schema["properties"]
    properties.pop("$schema")
    properties["consumers"]["maxItems"] = 4
    properties["openai"]["maxItems"] = 2
    properties["tags"]["maxProperties"] = 2
    # Any lowercase word fits the location pattern; only region names pass the region check.
    schema["$defs"]["location"] = {"enum": ["swedencentral", "eastus2", "westeurope"]}
    properties["apim"]["properties"]["capacity"]["maximum"] = 1
    account = schema["$defs"]["account"]["properties"]
    account["deployments"]["maxItems"] = 2
    account["deployments"]["items"]["properties"]["capacity"].update(minimum=15, maximum=1000)
    together = {"quota": ["quotaPeriod"], "quotaPeriod": ["quota"]}
    schema["$defs"]["limit"]["dependentRequired"] = together
    schema["$defs"]["limit"]["properties"]["counterKey"] = {
        "enum": [
            "subscription",
            "ip",
            "header:x-end-user",
            '@(context.Request.Headers.GetValueOrDefault("x-t", "") + "&<")',
        ]
    }
    properties["consumers"]["items"]["dependentRequired"] = together
    return schema


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(from_schema(_bounded_schema()))
def test_schema_valid_specs_render_or_are_refused_cleanly(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    spec = load_text(text, "generated.yaml")
    try:
        compiled = compile_spec(spec)
    except SpecInvalid as refused:
        assert refused.findings
        assert all(f.line >= 1 and f.column >= 1 for f in refused.findings)
        # Semantic rules (TG1xx), and what one pattern per field cannot say: control characters
        # beyond C0 (TG016), literal policy fields that start an expression (TG017).
        allowed = ("TG1", "TG016", "TG017")
        assert all(f.rule_id.startswith(allowed) for f in refused.findings), refused.message
        return
    for path, rendered in compiled.files.items():
        if path.endswith(".bicep"):
            assert syntax_problems(parse_bicep(rendered.content)) == [], path
        elif path.endswith(".xml"):
            ET.fromstring(rendered.content)
        elif path.endswith("parameters.json"):
            json.loads(rendered.content)


def test_lab_spec_is_an_example_of_the_schema() -> None:
    """The generator above is meaningful only if real specs fit the bounded schema too."""
    from jsonschema import Draft202012Validator

    lab = yaml.safe_load(Path(__file__).parent.joinpath("fixtures/specs/good/lab.yaml").read_text())
    assert not list(Draft202012Validator(_bounded_schema()).iter_errors(lab))
