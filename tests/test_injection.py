"""Hostile strings in every free-text field never break the Bicep, the XML or the JSON:
each value comes back out of the parsed file exactly as the spec wrote it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from support import parse_bicep, syntax_problems

from generator.pipeline import compile_path

HOSTILE = [
    "it's",
    "${subscription().id}",
    "</policies><policies>",
    "a & b",
    'say "hi"',
    "back\\slash",
    "-- not a comment end -->",
    "multi\nline",
]


def spec_with(value: str) -> dict:  # type: ignore[type-arg]
    header = "x-" + "".join(c for c in value if c in "'&$*+.^_`|~!#%") + "h"
    return {
        "name": "inject",
        "location": "swedencentral",
        "tags": {"note": value},
        "apim": {"publisherEmail": "ops@example.com", "publisherName": value},
        "openai": [
            {
                "name": "main",
                "deployments": [
                    {"name": "gpt-4o", "model": "gpt-4o", "version": "2024-11-20", "capacity": 10}
                ],
            }
        ],
        "api": {"displayName": value},
        "tokenLimit": {"tokensPerMinute": 100, "counterKey": f"header:{header}"},
        "tokenMetrics": {
            "namespace": "ns",
            "dimensions": [
                {"name": value.replace("\n", " "), "header": header},
                {"name": "Custom", "value": f'@("{value.replace(chr(10), " ")}")'},
            ],
        },
        "products": [
            {
                "name": "gold",
                "displayName": value,
                "description": value,
                "quota": 9,
                "quotaPeriod": "Daily",
            }
        ],
        "consumers": [
            {"name": "team-a", "displayName": value, "tokensPerMinute": 5},
            {"name": "team-b", "displayName": value, "product": "gold"},
        ],
    }


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_round_trip(value: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(spec_with(value)), encoding="utf-8")
    files = compile_path(spec).files

    for path, rendered in files.items():
        if path.endswith(".bicep"):
            assert syntax_problems(parse_bicep(rendered.content)) == [], path

    parameters = json.loads(files["main.parameters.json"].content)["parameters"]
    assert parameters["publisherName"]["value"] == value
    assert parameters["tags"]["value"] == {"note": value}
    subscriptions = json.loads(files["subscriptions/batch-000.json"].content)
    assert [s["displayName"] for s in subscriptions] == [value, value]

    policy = ET.fromstring(files["policies/api-azure-openai.xml"].content)
    dimensions = policy.findall(".//dimension")
    assert dimensions[0].get("name") == value.replace("\n", " ")
    assert value.replace("\n", " ") in (dimensions[1].get("value") or "")
    assert [child.tag for child in policy] == ["inbound", "backend", "outbound", "on-error"]

    for module in ("modules/api.bicep", "modules/products.bicep"):
        text = files[module].content
        for line in text.splitlines():
            if line.strip().startswith(("displayName:", "description:")):
                literal = line.split(":", 1)[1].strip()
                if not literal.startswith("'"):
                    continue  # a reference like item.description, not a literal
                assert literal.startswith("'") and literal.endswith("'"), line
                assert "${" not in literal.replace("\\${", ""), "an interpolation got out"
    product_policy = ET.fromstring(files["policies/product-gold.xml"].content)
    assert [child.tag for child in product_policy] == ["inbound", "backend", "outbound", "on-error"]


def test_header_name_reaches_csharp_literal_escaped(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    data = spec_with("x")
    data["tokenLimit"]["counterKey"] = "header:x-'&$h"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    policy = ET.fromstring(compile_path(spec).files["policies/api-azure-openai.xml"].content)
    key = policy.find(".//azure-openai-token-limit").get("counter-key")  # type: ignore[union-attr]
    assert (
        key == '@("api/azure-openai/consumer/team-a:" + '
        'context.Request.Headers.GetValueOrDefault("x-\'&$h", ""))'
    )


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("it's", "'it\\'s'"),
        ("${x}", "'\\${x}'"),
        ("a\\${x}", "'a\\\\\\${x}'"),
        ("tab\tline\nbell\x07", "'tab\\tline\\nbell\\u{7}'"),
    ],
)
def test_bicep_string_literals(value: str, literal: str) -> None:
    from generator.render import bicep_string

    assert bicep_string(value) == literal
    tree = parse_bicep(f"var x = {literal}\n")
    assert syntax_problems(tree) == []
