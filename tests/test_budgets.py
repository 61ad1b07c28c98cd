"""Budgets in money become token quotas (generator/budgets.py, issue 14).

Every expected quota here is computed by hand from the literal prices of
prices/azure-openai.json (per 1M tokens), never by calling generator/budgets.py:

    gpt-4o 2024-11-20 Global:       input 2.50, output 10.00
    gpt-4o-mini 2024-07-18 Global:  input 0.15, output 0.60
    o1 2024-12-17 Global:           input 15.00, output 60.00

blended = share * input + (1 - share) * output; quota = floor(amount / blended * 1,000,000).
Prices are written as integers of thousandths (2.50 = 2500/1000) so the floor is exact.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from support import FIXTURES

from generator import budgets, pricing
from generator.cli import main
from generator.errors import TokengateError
from generator.model import build
from generator.pipeline import compile_path

LAB_BUDGETS = FIXTURES / "specs" / "good" / "lab-budgets.yaml"

#: gpt-4o at the default share 0.75, in thousandths of a dollar per 1M tokens:
#: 0.75 * 2500 + 0.25 * 10000 = 1875 + 2500 = 4375 (= $4.375).
GPT_4O_BLENDED_MILLI = 1875 + 2500


def quota(amount_dollars: int, blended_milli: int) -> int:
    """floor(amount / (blended_milli / 1000) * 1,000,000), in integers."""
    return amount_dollars * 1_000_000 * 1000 // blended_milli


def policy_limits(spec: Path) -> list[tuple[str, str, str]]:
    """(counter key scope, token-quota, token-quota-period) of each token-limit element."""
    files = compile_path(spec).files
    xml = files["policies/api-azure-openai.xml"].content
    found = re.findall(
        r'counter-key="@\(&quot;([^&]*)&quot;[^"]*" tokens-per-minute="\d+" '
        r'token-quota="(\d+)" token-quota-period="(\w+)"',
        xml,
    )
    return [(scope, q, period) for scope, q, period in found]


def test_lab_budgets_render_the_hand_computed_quotas() -> None:
    # default: $5 daily → 5 / 4.375 * 1M = 1,142,857.14 → 1,142,857
    # team-b: $150 monthly → 150 / 4.375 * 1M = 34,285,714.28 → 34,285,714
    assert quota(5, GPT_4O_BLENDED_MILLI) == 1_142_857
    assert quota(150, GPT_4O_BLENDED_MILLI) == 34_285_714
    assert policy_limits(LAB_BUDGETS) == [
        # team-a overrides only tokensPerMinute, so it keeps the default's budget
        ("api/azure-openai/consumer/team-a:", "1142857", "Daily"),
        ("api/azure-openai/consumer/team-b:", "34285714", "Monthly"),
        ("api/azure-openai:", "1142857", "Daily"),
    ]


def test_the_budget_keeps_its_arithmetic_for_summary() -> None:
    gateway = compile_path(LAB_BUDGETS).gateway
    assert gateway.token_limit is not None and gateway.token_limit.default is not None
    budget = gateway.token_limit.default.budget
    assert budget is not None
    assert (budget.deployment, str(budget.price.input), str(budget.price.output)) == (
        "gpt-4o",
        "2.50",
        "10.00",
    )
    assert str(budget.prompt_share) == "0.75"
    assert budget.blended * 1000 == GPT_4O_BLENDED_MILLI
    assert budget.quota == 1_142_857


def lab_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(LAB_BUDGETS.read_text())
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_most_expensive_deployment_sets_the_quota(tmp_path: Path) -> None:
    data = lab_data()
    data["openai"][0]["deployments"].insert(
        0,
        {"name": "mini", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 50},
    )
    data["openai"].append(
        {
            "name": "reasoning",
            "deployments": [{"name": "o1", "model": "o1", "version": "2024-12-17", "capacity": 5}],
        }
    )
    # one o1 response may cost 100,000 * $60.00 / 1M = $6.00 (TG162): a $10 default
    data["tokenLimit"]["budget"]["amount"] = 10
    # o1 Global: 0.75 * 15000 + 0.25 * 60000 = 11250 + 15000 = 26250 (= $26.25)
    o1_blended = 11250 + 15000
    scopes = dict((s, q) for s, q, _ in policy_limits(write(tmp_path, data)))
    assert scopes["api/azure-openai:"] == str(quota(10, o1_blended)) == "380952"
    assert scopes["api/azure-openai/consumer/team-b:"] == str(quota(150, o1_blended))


def test_prompt_share_and_price_overrides_from_the_spec(tmp_path: Path) -> None:
    data = lab_data()
    data["pricing"] = {
        "promptShare": 0.5,
        "prices": [
            {
                "model": "gpt-4o",
                "version": "2024-11-20",
                "deploymentType": "Global",
                "input": 2,
                "output": 6,
            }
        ],
    }
    # 0.5 * 2000 + 0.5 * 6000 = 4000 (= $4.00): $5 → 1,250,000 tokens exactly
    scopes = dict((s, q) for s, q, _ in policy_limits(write(tmp_path, data)))
    assert scopes["api/azure-openai:"] == str(quota(5, 1000 + 3000)) == "1250000"


def test_provisioned_deployments_take_no_part(tmp_path: Path) -> None:
    data = lab_data()
    data["openai"].append(
        {
            "name": "reserved",
            "deployments": [
                {
                    "name": "o1-ptu",
                    "model": "o1",
                    "version": "2024-12-17",
                    "sku": "GlobalProvisionedManaged",
                    "capacity": 15,
                }
            ],
        }
    )
    scopes = dict((s, q) for s, q, _ in policy_limits(write(tmp_path, data)))
    assert scopes["api/azure-openai:"] == str(quota(5, GPT_4O_BLENDED_MILLI))


def test_build_refuses_a_budget_without_any_per_token_price() -> None:
    data = copy.deepcopy(lab_data())
    data["openai"][0]["deployments"][0]["sku"] = "GlobalProvisionedManaged"
    with pytest.raises(TokengateError, match="per-token price"):
        build(data, "spec.yaml")


def test_generated_tiers_of_budgets_are_deterministic() -> None:
    data = lab_data()
    data["consumers"] = [
        {"name": f"c{i}", "budget": {"amount": 1 + i % 3, "currency": "USD", "period": "Daily"}}
        for i in range(120)
    ]
    first = build(copy.deepcopy(data), "spec.yaml")
    second = build(copy.deepcopy(data), "spec.yaml")
    names = [p.name for p in first.products]
    assert names == [p.name for p in second.products]
    # $1, $2, $3 a day at gpt-4o, tokensPerMinute from the default (1000)
    assert names == [
        f"tokengate-tier-tpm1000-q{quota(n, GPT_4O_BLENDED_MILLI)}-daily" for n in (1, 2, 3)
    ]


def test_monthly_cost_ceilings_are_the_hand_computed_ones() -> None:
    from generator import cost

    found = cost.cost_ceilings(compile_path(LAB_BUDGETS).gateway)
    assert found is not None
    ceilings = dict(found.consumers)
    # team-a: the default's 1,142,857 daily in a 31-day month = 35,428,567 tokens (5,000/min *
    # 44,640 is more); at $4.375 per 1M: 35,428,567 * 4375 / 10^9 = $154.99998...
    assert ceilings["team-a"].whole_tokens == 1_142_857 * 31
    assert ceilings["team-a"].cost == Decimal(1_142_857 * 31 * 4375) / 10**9
    # team-b: 34,285,714 monthly (1,000/min * 44,640 = 44,640,000 is more)
    assert ceilings["team-b"].cost == Decimal(34_285_714 * 4375) / 10**9
    assert found.total.cost == Decimal((1_142_857 * 31 + 34_285_714) * 4375) / 10**9
    assert cost.cents(Decimal("149.99998125")) == Decimal("150.00")


def test_a_ceiling_is_the_worst_calendar_month_for_every_period() -> None:
    """Quota periods start on calendar boundaries ("the UTC timestamp truncated to the unit",
    https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy), so one
    month can spend a whole Yearly quota, and touch 31 days or 6 weeks: the ceiling counts
    the periods, checked here against the calendar itself (every month of 2024 to 2027, with
    weeks starting Monday as simulate's default)."""
    from datetime import UTC, date, datetime, timedelta

    from generator import cost
    from generator.simulate.semantics import period_bounds

    def ms(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)

    most: dict[str, int] = {}
    for year in range(2024, 2028):
        for month in range(1, 13):
            first = date(year, month, 1)
            end = date(year + month // 12, month % 12 + 1, 1)
            days = [first + timedelta(d) for d in range((end - first).days)]
            for period in ("Daily", "Weekly", "Monthly", "Yearly"):
                touched = {period_bounds(period, ms(day))[0] for day in days}
                most[period] = max(most.get(period, 0), len(touched))
            most["Hourly"] = max(most.get("Hourly", 0), 24 * len(days))
    assert {p: int(n) for p, n in cost.PERIODS_PER_MONTH.items()} == most
    assert cost.MINUTES_PER_MONTH == 31 * 24 * 60


@pytest.mark.parametrize(
    ("tpm", "quota_", "period", "tokens"),
    [
        (1000, None, None, Fraction(1000 * 44_640)),
        (None, 70_000, "Weekly", Fraction(70_000 * 6)),
        (None, 1_000, "Hourly", Fraction(1_000 * 744)),
        (None, 3_650, "Yearly", Fraction(3_650)),  # all of it can go in one month
        (1, 100_000, "Daily", Fraction(44_640)),  # tokens per minute bind
    ],
)
def test_monthly_tokens(tpm: int | None, quota_: int | None, period: Any, tokens: Fraction) -> None:
    from generator import cost
    from generator.model import Limit

    assert cost.monthly_tokens(Limit(tpm, quota_, period)) == tokens


def test_summary_shows_product_budgets_and_ceilings_past_the_listing_limit(
    tmp_path: Path,
) -> None:
    data = lab_data()
    data["products"] = [
        {
            "name": "research",
            "tokensPerMinute": 2000,
            "budget": {"amount": 35, "currency": "USD", "period": "Weekly"},
        }
    ]
    data["consumers"] = [{"name": f"c{i:03d}", "product": "research"} for i in range(150)]
    summary = compile_path(write(tmp_path, data)).files["SUMMARY.md"].content
    # $35 a week / $4.375 = 8,000,000 tokens a week; a month touches 6 weeks: 48,000,000
    # tokens (2,000/min * 44,640 = 89,280,000 is more), which cost 48 * 4.375 = $210 per
    # subscription; 150 of them: 7,200,000,000 tokens, $31,500.
    assert quota(35, GPT_4O_BLENDED_MILLI) == 8_000_000
    assert "- product research: $35.00 / 4.375 USD per 1M tokens" in summary
    assert "= 8,000,000 tokens weekly" in summary
    assert "| product research | $35.00 weekly | 7,200,000,000 | $31,500.00 |" in summary
    assert "| total (150 consumers) | | 7,200,000,000 | $31,500.00 |" in summary
    # 150 consumers are not listed one by one
    assert "| consumer c000 |" not in summary


def _price_file(tmp_path: Path, currency: str) -> Path:
    table = {
        "currency": currency,
        "effective": "2026-09-01",
        "source": "a test table",
        "prices": [
            {
                "model": "gpt-4o",
                "version": "2024-11-20",
                "deploymentType": "Global",
                "input": "4.00",
                "output": "12.00",
            },
            {
                "model": "gpt-35-turbo",
                "version": "0125",
                "deploymentType": "Regional",
                "input": "0.50",
                "output": "1.50",
            },
        ],
    }
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    return path


def test_the_budget_rules_check_the_prices_file(tmp_path: Path) -> None:
    """`--prices FILE` is the table the rules check, as the model converts at it: the model
    TG161 finds unpriced in the shipped table has a price in this one."""
    spec = FIXTURES / "specs" / "bad" / "budget-unpriced-model.yaml"
    prices = str(_price_file(tmp_path, "USD"))
    result = CliRunner().invoke(main, ["validate", str(spec), "--prices", prices])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(spec), "--prices", prices, "--out", str(out)])
    assert result.exit_code == 0, result.output
    # gpt-4o at 0.75 * 4000 + 0.25 * 12000 = 6000 thousandths ($6.00) is the dearest:
    # $20 a week → 20 / 6 * 1M = 3,333,333 tokens
    policy = (out / "policies" / "api-azure-openai.xml").read_text()
    assert f'token-quota="{quota(20, 3000 + 3000)}" token-quota-period="Weekly"' in policy
    assert quota(20, 6000) == 3_333_333


def test_a_prices_file_in_another_currency_refuses_usd_budgets(tmp_path: Path) -> None:
    prices = str(_price_file(tmp_path, "EUR"))
    result = CliRunner().invoke(main, ["validate", str(LAB_BUDGETS), "--prices", prices])
    assert result.exit_code == 2
    assert "TG160 budget in USD, but the price table of 2026-09-01 is in EUR" in result.output


def test_prices_show_works_on_the_spec_the_budget_rules_refuse(tmp_path: Path) -> None:
    """`prices show` is how to look at why TG160 fires: it checks the spec's fields only, so
    the table in EUR is shown (it used to stop at TG160 and show nothing)."""
    prices = str(_price_file(tmp_path, "EUR"))
    result = CliRunner().invoke(main, ["prices", "show", str(LAB_BUDGETS), "--prices", prices])
    assert result.exit_code == 0, result.output
    assert "currency: EUR" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(LAB_BUDGETS.read_text(encoding="utf-8").replace("amount: 5", "amount: x"))
    result = CliRunner().invoke(main, ["prices", "show", str(bad)])
    assert result.exit_code == 2
    assert "TG" in result.stderr and "bad.yaml:" in result.stderr


def test_the_largest_budget_at_the_cheapest_price_is_a_quota_the_spec_could_hold() -> None:
    """The spec schema caps a budget at 1e8 and every price table holds input and output
    prices to at least pricing.MIN_TOKEN_PRICE, so the quota a budget becomes stays within the
    quota a spec may write ($defs/quota's maximum). The conversion used to clamp after a
    division that a --prices price of 1E-100 made fail with a traceback."""
    schema = json.loads((FIXTURES.parent.parent / "schemas" / "spec.schema.json").read_text())
    largest = Decimal(schema["$defs"]["budget"]["properties"]["amount"]["maximum"])
    quota = budgets.quota_for(largest, pricing.MIN_TOKEN_PRICE)
    assert quota == 10**18
    assert quota <= schema["$defs"]["quota"]["maximum"]


def test_a_counter_per_ip_address_has_a_ceiling_per_address_and_no_total(
    tmp_path: Path,
) -> None:
    """With counterKey ip every client address has its own counter ("For each key value, a
    single counter is used", https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy):
    a consumer's $5 a day is $5 a day per address, so SUMMARY gives no total and diff no
    ceiling to follow."""
    from generator import cost

    data = yaml.safe_load(LAB_BUDGETS.read_text(encoding="utf-8"))
    data["tokenLimit"]["counterKey"] = "ip"
    compiled = compile_path(write(tmp_path, data))
    found = cost.cost_ceilings(compiled.gateway)
    assert found is not None
    assert found.counted_per == "client IP address"
    assert found.total == cost.UNLIMITED
    assert cost.monthly_ceiling(compiled.gateway) is None
    summary = compiled.files["SUMMARY.md"].content
    assert "keeps one counter per client IP address, so each ceiling is one" in summary
    assert "| no ceiling: one counter per client IP address |" in summary
