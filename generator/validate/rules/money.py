"""Budgets in money that cannot work: wrong currency, no price to convert at, too small.

The price table is the one the model uses (generator/budgets.py `spec_prices`: the base table,
`--prices FILE` or the shipped one, with the spec's `pricing.prices` in front).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from generator import budgets, pricing
from generator.findings import Finding
from generator.load import LoadedSpec, PathKey
from generator.model.build import _accounts
from generator.validate.rules.registry import limit_blocks, rule


def _budget_blocks(data: dict[str, Any]) -> list[tuple[PathKey, dict[str, Any]]]:
    return [
        ((*path, "budget"), block["budget"])
        for path, block in limit_blocks(data)
        if "budget" in block
    ]


def _table_name(table: pricing.PriceTable) -> str:
    return f"the price table of {table.effective}" if table.effective else "the price table"


@rule("TG160", "A budget in money is in the price table's currency")
def budget_currency(spec: LoadedSpec) -> Iterator[Finding]:
    found = _budget_blocks(spec.data)
    if not found:
        return
    table = budgets.spec_prices(spec.data, spec.prices)
    for path, budget in found:
        if budget["currency"] != table.currency:
            yield budget_currency.finding(
                spec,
                (*path, "currency"),
                f"budget in {budget['currency']}, but {_table_name(table)} is in "
                f"{table.currency}: tokengate does not convert currencies; give the budget in "
                f"{table.currency}",
            )


@rule("TG161", "Every deployment a budget in money reaches has a per-token price")
def budget_prices(spec: LoadedSpec) -> Iterator[Finding]:
    found = _budget_blocks(spec.data)
    if not found:
        return
    table = budgets.spec_prices(spec.data, spec.prices)
    reached = budgets.reachable(_accounts(spec.data), table)
    if not any(item.metered for item in reached):
        first = found[0][0]
        yield budget_prices.finding(
            spec,
            first,
            "no deployment is billed per token (all are provisioned, billed per PTU-hour), so "
            "a budget in money cannot be turned into a token quota: use quota and quotaPeriod",
        )
        return
    line = spec.mark_of(found[0][0]).line
    for i, account in enumerate(spec.data["openai"]):
        for j, deployment in enumerate(account["deployments"]):
            kind = pricing.deployment_type(deployment["sku"])
            if kind is None:
                continue
            location = account.get("location", spec.data["location"])
            if table.find(deployment["model"], deployment["version"], kind, location) is None:
                yield budget_prices.finding(
                    spec,
                    ("openai", i, "deployments", j, "model"),
                    f"deployment '{deployment['name']}' ({deployment['model']} "
                    f"{deployment['version']}, {kind}) has no price in {_table_name(table)}, and "
                    f"the budget in money at line {line} needs the price of every deployment a "
                    "consumer can reach: add it under pricing.prices",
                )


@rule("TG162", "A budget in money pays for at least one request at the model's max output tokens")
def budget_below_one_request(spec: LoadedSpec) -> Iterator[Finding]:
    found = _budget_blocks(spec.data)
    if not found:
        return
    table = budgets.spec_prices(spec.data, spec.prices)
    costs: list[tuple[Decimal, str, int, Decimal]] = []
    for item in budgets.reachable(_accounts(spec.data), table):
        tokens = budgets.max_output_tokens(item.deployment.model, item.deployment.version)
        if item.price is None or tokens is None:
            continue
        output = item.price.output
        costs.append((tokens * output / pricing.PER_TOKENS, item.deployment.name, tokens, output))
    at = budgets.dearest(_accounts(spec.data), table, budgets.prompt_share(spec.data))
    for path, budget in found:
        if budget["currency"] != table.currency or at is None:
            continue  # TG160, TG161
        amount = Decimal(str(budget["amount"]))
        if budgets.quota_for(amount, at.blended) < 1:
            yield budget_below_one_request.finding(
                spec,
                (*path, "amount"),
                f"budget of {amount:f} {table.currency} buys no token at {at.deployment}'s "
                f"blended price of {at.blended.normalize():f} {table.currency} per 1M tokens",
            )
            continue
        if not costs:
            continue
        cost, deployment, tokens, output = max(costs, key=lambda c: c[0])
        if amount < cost:
            yield budget_below_one_request.finding(
                spec,
                (*path, "amount"),
                f"budget of {amount:f} {table.currency} is less than one response of "
                f"deployment '{deployment}' at its max output tokens ({tokens:,} tokens x "
                f"{output} {table.currency} per 1M = {cost} {table.currency}): one "
                "request could spend it all",
            )
