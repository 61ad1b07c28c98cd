"""The shipped price table and the cost arithmetic (generator/pricing.py).

Prices are the Azure Retail Prices API's text meters per 1M tokens
(https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from generator import pricing
from generator.errors import TokengateError


def test_shipped_table_has_a_date_a_source_and_one_price_per_key() -> None:
    table = pricing.shipped()
    assert table.currency == "USD"
    assert table.effective == "2026-08-11"
    assert "prices.azure.com" in table.source
    keys = [(p.model, p.version, p.deployment_type, p.region) for p in table.prices]
    assert len(keys) == len(set(keys))


def test_gpt_4o_global_is_the_list_price() -> None:
    """gpt-4o 2024-11-20 Global: $2.50 input, $1.25 cached input, $10.00 output per 1M."""
    price = pricing.shipped().find("gpt-4o", "2024-11-20", "Global")
    assert price is not None
    assert (price.input, price.cached_input, price.output) == (
        Decimal("2.50"),
        Decimal("1.25"),
        Decimal("10.00"),
    )


def test_cost_counts_cached_input_at_its_own_rate() -> None:
    price = pricing.Price("m", None, "Global", Decimal("2"), Decimal("8"), Decimal("1"))
    # 1,000 input of which 400 cached, 500 output: (600*2 + 400*1 + 500*8) / 1M
    assert price.cost(1_000, 500, cached_tokens=400) == Decimal("0.0056")


def test_blended_price_is_the_prompt_share_of_input_plus_the_rest_of_output() -> None:
    price = pricing.Price("m", None, "Global", Decimal("2.50"), Decimal("10.00"))
    assert price.blended(Decimal("0.75")) == Decimal("4.375")


def test_find_prefers_the_exact_version_and_the_region_s_own_price() -> None:
    common = pricing.Price("m", None, "Regional", Decimal(1), Decimal(2))
    versioned = pricing.Price("m", "v1", "Regional", Decimal(3), Decimal(4))
    regional = pricing.Price("m", "v1", "Regional", Decimal(5), Decimal(6), region="westus")
    table = pricing.PriceTable("USD", "", "", (common, versioned, regional))
    assert table.find("m", "v2", "Regional") is common
    assert table.find("m", "v1", "Regional") is versioned
    assert table.find("m", "v1", "Regional", "westus") is regional
    assert table.find("m", "v1", "Global") is None


def test_provisioned_skus_have_no_per_token_price() -> None:
    """Provisioned deployments are billed per PTU-hour
    (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/provisioned-throughput)."""
    assert pricing.deployment_type("GlobalStandard") == "Global"
    assert pricing.deployment_type("DataZoneStandard") == "DataZone"
    assert pricing.deployment_type("Standard") == "Regional"
    assert pricing.deployment_type("ProvisionedManaged") is None


@pytest.mark.parametrize(
    "entry",
    [
        {"model": "m", "deploymentType": "Global", "input": "-1", "output": "1"},
        {"model": "m", "deploymentType": "Global", "input": "NaN", "output": "1"},
        {"model": "m", "deploymentType": "Global", "input": True, "output": "1"},
        {"model": "m", "deploymentType": "Batch", "input": "1", "output": "1"},
        {"model": "", "deploymentType": "Global", "input": "1", "output": "1"},
    ],
)
def test_bad_prices_are_messages(entry: dict[str, object]) -> None:
    with pytest.raises(TokengateError, match=r"prices\.json: prices"):
        pricing.parse_table({"prices": [entry]}, "prices.json")
