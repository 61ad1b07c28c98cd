"""Hostile strings in every free-text field never break the Bicep, the XML or the JSON:
each value comes back out of the parsed file exactly as the spec wrote it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

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


def spec_with(value: str) -> dict[str, Any]:
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
    limit = policy.find(".//azure-openai-token-limit")
    assert limit is not None
    key = limit.get("counter-key")
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


# --- Output writers escape for their language -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("team-a", '"team-a"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines\tand\rreturn", '"two\\nlines\\tand\\rreturn"'),
    ],
)
def test_kql_string_literals(value: str, literal: str) -> None:
    """Kusto: backslash escapes the quote, tab, newline and itself
    (https://learn.microsoft.com/kusto/query/scalar-data-types/string)."""
    from generator.render import kql_string

    assert kql_string(value) == literal


def test_kql_string_refuses_what_kusto_cannot_escape() -> None:
    from generator.errors import TokengateError
    from generator.render import kql_string

    with pytest.raises(TokengateError, match="U\\+0007"):
        kql_string("bell\x07")


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\u2028b", "a\x85b", "a\x00b", "a\x1eb"])
def test_kql_comment_stays_on_its_line(value: str) -> None:
    from generator.render import kql_comment

    text = f"// {kql_comment(value)}\nprint 1"
    assert text.splitlines() == [f"// {kql_comment(value)}", "print 1"]
    assert kql_comment(value).startswith("a") and kql_comment(value).endswith("b")


def test_markdown_text_escapes_cells_and_html() -> None:
    from generator.render import markdown_text

    assert markdown_text("a|b<script>&`x`*[l](u)\\") == (
        "a\\|b&lt;script&gt;&amp;\\`x\\`\\*\\[l\\](u)\\\\"
    )
    assert markdown_text("two\nlines") == "two lines"


def test_summary_writes_product_text_as_text(tmp_path: Path) -> None:
    data = spec_with("x")
    data["products"][0]["displayName"] = "Gold | <script>alert(1)</script> & *more*"
    data["apim"]["publisherEmail"] = "ops@example.com"
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    summary = compile_path(spec).files["SUMMARY.md"].content
    row = next(line for line in summary.splitlines() if line.startswith("| gold |"))
    assert "<script>" not in summary
    assert row.endswith("| Gold \\| &lt;script&gt;alert(1)&lt;/script&gt; &amp; \\*more\\* |")
    cells = [cell for cell in row.replace("\\|", "").split("|")[1:-1]]
    header = next(line for line in summary.splitlines() if line.startswith("| product |"))
    assert len(cells) == len(header.split("|")[1:-1])


def test_text_that_only_looks_like_a_header_read_is_no_column(tmp_path: Path) -> None:
    """A dimension value `Headers.GetValueOrDefault(x` (no quoted name) crashed the export
    template; the header columns now come from Python and take only real header names."""
    data = spec_with("x")
    data["tokenMetrics"]["dimensions"][1]["value"] = "Headers.GetValueOrDefault(x"
    data["tokenMetrics"]["dimensions"].append(
        {"name": "Odd", "value": '@(context.Request.Headers.GetValueOrDefault("a b\\"c", ""))'}
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    export = compile_path(spec).files["queries/llm-usage-export.kql"].content
    header = "x-" + "".join(c for c in "x" if c in "'&$*+.^_`|~!#%") + "h"
    assert f'["header:{header}"] = tostring(RequestHeaders["{header}"])' in export
    assert "header:a b" not in export
    assert "GetValueOrDefault(x" not in export


def test_every_literal_policy_value_is_guarded(tmp_path: Path) -> None:
    """Every spec string that reaches the policy XML as a whole attribute or element value must
    be either refused when it starts an expression (LITERAL_POLICY_FIELDS), an expression by
    design (counterKey, dimension values), or a GUID or enum (the schema allows no '@' or '{')."""
    from generator.validate.hygiene import LITERAL_POLICY_FIELDS, matches

    def unique(value: object, path: tuple[str | int, ...]) -> object:
        # One marker per field, so a value found in the XML tells which field it came from.
        if isinstance(value, dict):
            return {k: unique(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [unique(v, (*path, i)) for i, v in enumerate(value)]
        if value == "marker":
            return "marker-" + "-".join(str(p) for p in path)
        return value

    data = unique(spec_with("marker"), ())
    assert isinstance(data, dict)
    data["auth"] = {
        "entra": {
            "tenantId": "00000000-0000-0000-0000-000000000001",
            "clientApplicationIds": ["11111111-1111-1111-1111-111111111111"],
            "audiences": ["aud-marker"],
        }
    }
    data["tokenMetrics"]["namespace"] = "namespace-marker"
    data["tokenMetrics"]["dimensions"].append("API ID")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    files = compile_path(spec).files
    written: set[str] = set()
    for path, rendered in files.items():
        if path.startswith("policies/"):
            for element in ET.fromstring(rendered.content).iter():
                written.update(element.attrib.values())
                written.add((element.text or "").strip())

    by_design = (("tokenLimit", "counterKey"), ("tokenMetrics", "dimensions", "*", "value"))
    guids = (("auth", "entra", "tenantId"), ("auth", "entra", "clientApplicationIds", "*"))
    enums = (("tokenLimit", "quotaPeriod"), ("products", "*", "quotaPeriod"))

    def strings(
        value: object, path: tuple[str | int, ...]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        if isinstance(value, dict):
            return [s for k, v in value.items() for s in strings(v, (*path, k))]
        if isinstance(value, list):
            return [s for i, v in enumerate(value) for s in strings(v, (*path, i))]
        return [(path, value)] if isinstance(value, str) else []

    reached = [(path, text) for path, text in strings(data, ()) if text in written]
    assert any(path == ("tokenMetrics", "namespace") for path, _ in reached)
    assert any(path[:3] == ("auth", "entra", "audiences") for path, _ in reached)
    unguarded = [
        path
        for path, _ in reached
        if not matches(path, LITERAL_POLICY_FIELDS) and not matches(path, by_design + guids + enums)
    ]
    assert unguarded == [], unguarded
