"""out/SUMMARY.md, the reviewer's page: its tables hold the model's numbers, each limit is turned
into tokens a day as the page says, and it stays short from 5 to 10,000 consumers."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml
from insights_support import insights_variant
from support import GOOD_SPECS, compiled
from test_scale import platform_spec

from generator.load import load_text
from generator.model import Gateway, Limit
from generator.pipeline import Compiled, compile_spec

#: The conversion the page states: Hourly times 24, Daily as is, Weekly, Monthly and Yearly
#: divided by 7, 30 and 365.
QUOTA_PER_DAY = {
    "Hourly": lambda q: q * 24,
    "Daily": lambda q: q,
    "Weekly": lambda q: q // 7,
    "Monthly": lambda q: q // 30,
    "Yearly": lambda q: q // 365,
}


def tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Every table of the page, under the heading above it, as rows of {column: cell}."""
    found: dict[str, list[dict[str, str]]] = {}
    heading = ""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(
                    dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=True))
                )
            found[heading] = rows
    return found


def number(cell: str) -> int | None:
    return int(cell.split()[0].replace(",", "")) if cell else None


def expected_cells(limit: Limit | None) -> dict[str, int | str | None]:
    if limit is None:
        return {"tokens/min": None, "quota": None}
    tpm, quota = limit.tokens_per_minute, limit.quota
    return {
        "tokens/min": tpm,
        "quota": quota,
        "period": limit.quota_period if quota is not None else "",
        "tokens/day by tokens/min": tpm * 1440 if tpm is not None else None,
        "tokens/day by quota": QUOTA_PER_DAY[limit.quota_period](quota)  # type: ignore[index]
        if quota is not None
        else None,
    }


def actual_cells(row: dict[str, str]) -> dict[str, int | str | None]:
    if row["tokens/min"] == "unlimited":
        return {"tokens/min": None, "quota": None}
    return {
        key: (row[key] if key == "period" else number(row[key]))
        for key in (
            "tokens/min",
            "quota",
            "period",
            "tokens/day by tokens/min",
            "tokens/day by quota",
        )
    }


def summary(result: Compiled) -> str:
    return result.files["SUMMARY.md"].content


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_every_consumer_and_product_row_holds_the_model(spec: Any) -> None:
    result = compiled(spec)
    gateway: Gateway = result.gateway
    found = tables(summary(result))
    if gateway.consumers:
        rows = found[f"Consumers ({len(gateway.consumers):,})"]
        assert [r["consumer"] for r in rows] == [c.name for c in gateway.consumers]
        for consumer, row in zip(gateway.consumers, rows, strict=True):
            assert actual_cells(row) == expected_cells(consumer.limit), consumer.name
    if gateway.products:
        rows = found[f"Products ({len(gateway.products)})"]
        for product, row in zip(gateway.products, rows, strict=True):
            assert row["product"] == product.name
            assert actual_cells(row) == expected_cells(product.limit)
            members = sum(c.product == product.name for c in gateway.consumers)
            assert number(row["consumers"]) == members


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_backends_list_every_deployment_with_its_capacity(spec: Any) -> None:
    result = compiled(spec)
    gateway: Gateway = result.gateway
    rows = tables(summary(result))["Backends"]
    expected = [(a, d) for a in gateway.accounts for d in a.deployments]
    assert [(r["account"], r["deployment"]) for r in rows] == [
        (a.name, d.name) for a, d in expected
    ]
    for (account, deployment), row in zip(expected, rows, strict=True):
        assert (row["region"], row["SKU"]) == (account.location, deployment.sku)
        if "Provisioned" in deployment.sku:
            assert row["capacity"] == f"{deployment.capacity:,} PTU"
        else:
            assert row["capacity"] == f"{deployment.capacity * 1000:,} tokens/min"
        if gateway.pools:
            assert (number(row["priority"]), number(row["weight"])) == (
                account.priority,
                account.weight,
            )
        else:
            assert "priority" not in row, "priority and weight only mean something in a pool"


def test_features_name_the_alert_thresholds_and_recipients() -> None:
    result = insights_variant()
    features = {r["feature"]: r["setting"] for r in tables(summary(result))["Features"]}
    assert features["workbook"] == "on"
    assert features["alerts"] == (
        "a consumer above 80% of its quota; 429s above 5% of requests; "
        "email finops@example.com, platform-oncall@example.com"
    )


def test_features_say_why_a_quota_alert_is_off() -> None:
    def rate_limits_only(data: dict[str, Any]) -> None:
        data["tokenLimit"] = {"tokensPerMinute": 1000}
        data["products"] = []
        data["consumers"] = [{"name": "team-a"}]
        data["insights"]["alerts"] = {"quotaPercent": 90}

    features = {
        r["feature"]: r["setting"]
        for r in tables(summary(insights_variant(rate_limits_only)))["Features"]
    }
    assert features["alerts"] == "off: no budget has a quota to compare with"


@cache
def platform(consumers: int) -> Compiled:
    return compile_spec(load_text(yaml.safe_dump(platform_spec(consumers)), "platform.yaml"))


def test_hundred_consumers_are_listed_one_by_one() -> None:
    result = platform(100)
    rows = tables(summary(result))["Consumers (100)"]
    assert len(rows) == 100


@pytest.mark.parametrize("consumers", [101, 10_000])
def test_past_a_hundred_only_consumers_with_their_own_budget_are_listed(consumers: int) -> None:
    result = platform(consumers)
    gateway = result.gateway
    page = summary(result)
    section = page.split(f"## Consumers ({consumers:,})", 1)[1].split("\n## ", 1)[0]
    listed = [r["consumer"] for r in tables(section).get("", [])]
    assert listed == [c.name for c in gateway.branch_consumers]
    in_products = sum(1 for c in gateway.consumers if c.product)
    assert f"{in_products:,} in products" in section
    product_rows = tables(page)[f"Products ({len(gateway.products)})"]
    assert sum(number(r["consumers"]) or 0 for r in product_rows) == in_products
    assert len(page.splitlines()) < 60, "the page must stay short"


def test_spec_text_cannot_break_a_table() -> None:
    """Pipes and backticks in names, expressions and display names stay inside their cell."""

    def hostile(data: dict[str, Any]) -> None:
        data["tokenMetrics"]["dimensions"] = [{"name": "a|b `c`", "value": "v"}]
        data["products"][0]["displayName"] = "Fin|ance"
        data["tokenLimit"]["counterKey"] = (
            '@(context.Request.Headers.GetValueOrDefault("x", "") + "|")'
        )

    page = summary(insights_variant(hostile))
    cells_per_row = []
    for line in page.splitlines():
        if line.startswith("|"):
            cells_per_row.append((line, len(re.findall(r"(?<!\\)\|", line))))
        elif cells_per_row:
            widths = {count for _, count in cells_per_row}
            assert len(widths) == 1, cells_per_row
            cells_per_row = []
    assert "Fin\\|ance" in page


def test_past_a_hundred_products_the_busiest_are_listed() -> None:
    def many_products(data: dict[str, Any]) -> None:
        data["apim"]["sku"] = "StandardV2"
        data["products"] = [{"name": f"tier-{i:03d}", "tokensPerMinute": 1_000} for i in range(150)]
        # tier-149 gets the most consumers, tier-000 none.
        data["consumers"] = [
            {"name": f"app-{i:04d}", "product": f"tier-{1 + i % 149 if i < 1490 else 149:03d}"}
            for i in range(1_600)
        ]

    result = insights_variant(many_products)
    page = summary(result)
    rows = tables(page)["Products (150)"]
    counts = {
        p.name: sum(c.product == p.name for c in result.gateway.consumers)
        for p in result.gateway.products
    }
    ranked = sorted(counts, key=lambda name: -counts[name])  # stable: spec order among equals
    assert [r["product"] for r in rows] == ranked[:100]
    rest = sum(counts[name] for name in ranked[100:])
    assert f"the other 50 have {rest:,} between them" in page
