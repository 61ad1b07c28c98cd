"""Platform scale: 1,000 and 10,000 consumers stay inside ARM and APIM limits by construction,
and adding one consumer changes only the files of its batch."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import GOOD_SPECS, FileSnapshot, parse_bicep, syntax_problems

from generator import azure
from generator.errors import SpecInvalid
from generator.limits import MAX_LOAD_TEXT_CHARS, footprints
from generator.load import load_text
from generator.pipeline import Compiled, compile_spec

TIERS = ("bronze", "silver", "gold")


def platform_spec(consumers: int, *, sku: str = "PremiumV2") -> dict[str, Any]:
    """Consumers spread over three products; every 50th with its own budget (one of five)."""
    data: dict[str, Any] = yaml.safe_load((GOOD_SPECS[0].parent / "lab.yaml").read_text())
    data["apim"]["sku"] = sku
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    data["products"] = [
        {"name": t, "tokensPerMinute": 1_000 * (i + 1)} for i, t in enumerate(TIERS)
    ]
    data["consumers"] = [
        {"name": f"app-{i:05d}", "tokensPerMinute": 2_000 * (1 + (i // 50) % 5)}
        if i % 50 == 0
        else {"name": f"app-{i:05d}", "product": TIERS[i % 3]}
        for i in range(consumers)
    ]
    return data


@cache
def compiled(consumers: int) -> Compiled:
    return compile_spec(load_text(yaml.safe_dump(platform_spec(consumers)), "platform.yaml"))


@pytest.mark.parametrize("consumers", [1_000, 10_000])
def test_every_template_within_arm_limits(consumers: int) -> None:
    result = compiled(consumers)
    for path, fp in footprints(result.gateway, result.files).items():
        assert fp.resources <= azure.MAX_TEMPLATE_RESOURCES, path
        assert fp.parameters <= azure.MAX_TEMPLATE_PARAMETERS, path
        assert fp.outputs <= azure.MAX_TEMPLATE_OUTPUTS, path
        assert fp.estimated_bytes <= azure.MAX_TEMPLATE_BYTES, path


@pytest.mark.parametrize("consumers", [1_000, 10_000])
def test_every_policy_small_and_well_formed(consumers: int) -> None:
    result = compiled(consumers)
    policies = [f for p, f in result.files.items() if p.endswith(".xml")]
    assert len(policies) == 1 + len(result.gateway.products)
    for policy in policies:
        assert policy.size <= azure.MAX_POLICY_BYTES
        assert len(policy.content) <= MAX_LOAD_TEXT_CHARS
        ET.fromstring(policy.content)


@pytest.mark.parametrize("consumers", [1_000, 10_000])
def test_all_bicep_parses(consumers: int) -> None:
    result = compiled(consumers)
    for path, rendered in result.files.items():
        if path.endswith(".bicep"):
            assert syntax_problems(parse_bicep(rendered.content)) == [], path


def test_structure_at_ten_thousand() -> None:
    gateway = compiled(10_000).gateway
    generated = [p for p in gateway.products if p.generated]
    assert len(generated) == 5, "200 own budgets with five values become five tiers"
    assert gateway.branch_consumers == ()
    batches = [p for p in compiled(10_000).files if p.startswith("subscriptions/")]
    assert len(batches) == 32


def test_adding_a_consumer_touches_only_its_batch() -> None:
    base = platform_spec(10_000)
    grown = platform_spec(10_000)
    grown["consumers"].append({"name": "newcomer", "product": "silver"})
    before = compiled(10_000).files
    after = compile_spec(load_text(yaml.safe_dump(grown), "platform.yaml")).files
    changed = sorted(p for p in after if p not in before or after[p].content != before[p].content)
    # SUMMARY.md is the reviewers' report (it counts consumers); every deployable file but the
    # consumer's batch stays byte for byte the same.
    deployable = [p for p in changed if p != "SUMMARY.md"]
    assert len(deployable) == 1 and deployable[0].startswith("subscriptions/batch-"), changed
    assert "newcomer" in after[deployable[0]].content
    assert set(before) == set(after)
    assert base != grown


def test_sku_limits_name_the_tier(file_snapshot: FileSnapshot) -> None:
    data = platform_spec(16_000, sku="BasicV2")
    with pytest.raises(SpecInvalid) as raised:
        compile_spec(load_text(yaml.safe_dump(data), "platform.yaml"))
    assert raised.value.message == file_snapshot("txt")


def test_spec_file_round_trip(tmp_path: Path) -> None:
    """The generated spec is an ordinary spec file: the CLI path gives the same output."""
    from generator.invocation import regenerate_note
    from generator.pipeline import compile_path

    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(platform_spec(1_000)), encoding="utf-8")
    in_memory = compile_spec(
        load_text(yaml.safe_dump(platform_spec(1_000)), "platform.yaml"), regenerate_note(path)
    )
    assert {p: f.content for p, f in compile_path(path).files.items()} == {
        p: f.content for p, f in in_memory.files.items()
    }
