"""What the generated policies do to a request, read from the Gateway model.

The policies give every request at most one all-models token-limit element (a budget): a
product's limit for a consumer subscribed to a product, a consumer's own branch of the API
policy, or the API default; and, when that scope has a per-model limit for the request's
deployment, one per-model element after it (a budget with a `deployment`). Counter keys are
the exact expressions `render` writes into those elements (`counter_keys.api_counter_key` /
`product_counter_key`), evaluated per request, so the scope prefixes match APIM's counters.
`resolve` turns a workload into the engine's integer columns.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import count, repeat
from typing import Any, Literal

from generator import counter_keys, expressions
from generator.errors import TokengateError
from generator.model import Gateway, Limit, ModelLimit
from generator.simulate import evaluate
from generator.simulate.evaluate import Expression, Field, Text
from generator.simulate.workload import (
    CONSUMER,
    COUNTER_KEY,
    DEPLOYMENT,
    Workload,
    dimension_field,
)

#: A dimension value the workload does not carry (APIM fills it from data a trace lacks).
NOT_IN_WORKLOAD = "(not in workload)"
#: Fields the plan derives from the consumer or the deployment rather than reading them.
PRODUCT = "@product"
BACKEND = "@backend"
#: Built-in dimensions tokengate can fill in from the workload or the model.
_BUILTIN_FROM_FIELD = {"Subscription ID": CONSUMER, "Product ID": PRODUCT, "Backend ID": BACKEND}
_SOURCE_OF_DERIVED = {PRODUCT: CONSUMER, BACKEND: DEPLOYMENT}


@dataclass(frozen=True)
class Budget:
    """One token-limit element of the generated policies."""

    kind: Literal["default", "consumer", "product"]
    #: The consumer or product name; "" for the default.
    name: str
    limit: Limit
    #: The counter-key attribute exactly as rendered, and its evaluable form.
    counter_key_text: str
    counter_key: Expression
    #: The deployment of a per-model limit; None for an all-models limit.
    deployment: str | None = None

    @property
    def label(self) -> str:
        scope = "default" if self.kind == "default" else f"{self.kind} {self.name}"
        return scope if self.deployment is None else f"{scope} {self.deployment}"


@dataclass(frozen=True)
class Dimension:
    name: str
    value: Expression


@dataclass(frozen=True)
class Needs:
    """Workload fields a simulation of this gateway reads: required ones with the reason."""

    required: Mapping[str, str]
    optional: frozenset[str]
    #: The spec's consumer names; empty when the spec declares none (any subscription goes).
    consumers: frozenset[str]


@dataclass(frozen=True)
class Plan:
    gateway: Gateway
    budgets: tuple[Budget, ...]
    #: Consumer name → index into `budgets`; None = no token limit applies.
    budget_of_consumer: Mapping[str, int | None]
    #: Budget of a request whose subscription is not a spec consumer (specs without consumers).
    outside_budget: int | None
    dimensions: tuple[Dimension, ...]
    #: Consumer name → deployment → the budget of its per-model limit (consumers without one
    #: are left out); and the same for requests outside the spec's consumers.
    model_budgets_of_consumer: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    outside_model_budgets: Mapping[str, int] = field(default_factory=dict)

    @property
    def has_model_limits(self) -> bool:
        return any(b.deployment is not None for b in self.budgets)

    @property
    def estimate_prompt_tokens(self) -> bool:
        limit = self.gateway.token_limit
        return limit.estimate_prompt_tokens if limit else True

    def needs(self) -> Needs:
        required: dict[str, str] = {}
        if self.gateway.consumers:
            required[CONSUMER] = "it names the consumer (APIM subscription) of each request"
        for budget in self.budgets:
            for part in budget.counter_key.fields:
                why = f"the counter key {budget.counter_key_text} reads it"
                if part.source:
                    why = f"tokengate cannot evaluate `{part.source}` in the counter key"
                required.setdefault(part.name, why)
        if self.has_model_limits:
            required[DEPLOYMENT] = "per-model limits apply to the requests for their deployment"
        optional = {f.name for d in self.dimensions for f in d.value.fields}
        optional |= {DEPLOYMENT}
        optional -= {PRODUCT, BACKEND}
        return Needs(
            required, frozenset(optional - required.keys()), frozenset(self.budget_of_consumer)
        )

    def resolve(self, workload: Workload) -> Resolved:
        return _Resolver(self, workload).run()


def build(gateway: Gateway) -> Plan:
    """The budgets and dimensions of `gateway`, mirroring its API and product policies."""
    budgets: list[Budget] = []
    by_consumer: dict[str, int | None] = {}
    token_limit = gateway.token_limit
    if token_limit is None:
        return Plan(
            gateway,
            (),
            dict.fromkeys((c.name for c in gateway.consumers), None),
            None,
            _dimensions(gateway),
        )

    def add(
        kind: Literal["default", "consumer", "product"],
        name: str,
        limit: Limit,
        key_text: str,
        deployment: str | None = None,
    ) -> int:
        key = evaluate.compile_value(key_text, COUNTER_KEY)
        budgets.append(Budget(kind, name, limit, key_text, key, deployment))
        return len(budgets) - 1

    def add_models(
        kind: Literal["default", "consumer", "product"],
        name: str,
        model_limits: tuple[ModelLimit, ...],
        key_of: Callable[[str], str],
    ) -> dict[str, int]:
        return {
            m.deployment: add(kind, name, m.limit, key_of(m.deployment), m.deployment)
            for m in model_limits
        }

    default = None
    if token_limit.default is not None:
        default = add(
            "default", "", token_limit.default, counter_keys.api_counter_key(gateway, None)
        )
    default_models = add_models(
        "default",
        "",
        token_limit.model_limits,
        lambda d: counter_keys.api_counter_key(gateway, None, d),
    )
    product_budget: dict[str, int | None] = {}
    product_models: dict[str, dict[str, int]] = {}
    for product in gateway.products:
        product_budget[product.name] = (
            add(
                "product",
                product.name,
                product.limit,
                counter_keys.product_counter_key(gateway, product),
            )
            if product.limit is not None
            else None
        )
        product_models[product.name] = add_models(
            "product",
            product.name,
            product.model_limits,
            partial(counter_keys.product_counter_key, gateway, product),
        )
    branches = {c.name for c in gateway.branch_consumers}
    models_of: dict[str, Mapping[str, int]] = {}
    for consumer in gateway.consumers:
        if consumer.product is not None:
            by_consumer[consumer.name] = product_budget.get(consumer.product)
            models_of[consumer.name] = product_models.get(consumer.product, {})
        elif consumer.name in branches:
            by_consumer[consumer.name] = (
                add(
                    "consumer",
                    consumer.name,
                    consumer.limit,
                    counter_keys.api_counter_key(gateway, consumer),
                )
                if consumer.limit is not None
                else None
            )
            models_of[consumer.name] = add_models(
                "consumer",
                consumer.name,
                consumer.model_limits,
                partial(counter_keys.api_counter_key, gateway, consumer),
            )
        else:
            by_consumer[consumer.name] = default
            models_of[consumer.name] = default_models
    return Plan(
        gateway,
        tuple(budgets),
        by_consumer,
        default,
        _dimensions(gateway),
        {name: models for name, models in models_of.items() if models},
        default_models,
    )


def _dimensions(gateway: Gateway) -> tuple[Dimension, ...]:
    metrics = gateway.token_metrics
    if metrics is None:
        return ()
    found = []
    for dimension in metrics.dimensions:
        fallback = dimension_field(dimension.name)
        expression = expressions.dimension_value(dimension)
        if expression is not None:
            value = evaluate.compile_value(expression, fallback)
            parts = tuple(
                Field(p.name, NOT_IN_WORKLOAD, p.source)
                if isinstance(p, Field) and p.name == fallback
                else p
                for p in value.parts
            )
            value = Expression(parts)
        elif dimension.name == "API ID":
            value = Expression((Text(gateway.api.name),))
        elif dimension.name in _BUILTIN_FROM_FIELD:
            value = Expression((Field(_BUILTIN_FROM_FIELD[dimension.name]),))
        else:
            value = Expression((Field(fallback, NOT_IN_WORKLOAD),))
        found.append(Dimension(dimension.name, value))
    return tuple(found)


@dataclass(frozen=True)
class TallyGroup:
    """Requests summed together by the engine: the rows equal in every column the dimensions,
    the consumer and the deployment are read from. Each group has one dimension combination,
    one consumer and one deployment ("" where the workload has no such column), so the report
    folds the groups' sums into metric values and into cost rows without reading the workload
    again. Two groups may agree on all three (rows that differ in a column the dimensions read
    but evaluate to the same values): folding does not mind."""

    combo: int
    consumer: str
    deployment: str


@dataclass
class Resolved:
    """The workload as the engine reads it, coded: rows equal in every column the policies
    and the report read (the consumer, the counter keys' fields, the dimensions' fields, the
    deployment) share a code, and what the engine needs per row is a table per code, mapped
    over the codes in C when a per-row column is asked for."""

    #: Per request: its code. A code is also the engine's tally group.
    code_of: array[int]
    #: Per code: the index into `budgets` of the all-models limit (-1: no limit applies) and
    #: the counter it counts on; the tally group (its combo, consumer and deployment).
    code_budget: list[int]
    code_counter: list[int]
    groups: list[TallyGroup]
    #: Per counter: its key value as APIM computes it ("" for requests under no limit), the
    #: budget it was first used by (-1: none), and the consumers counted on it, sorted.
    counter_keys: list[str]
    counter_budget: list[int]
    counter_consumers: list[tuple[str, ...]]
    #: Per combo: one value per plan dimension.
    combos: list[tuple[str, ...]]
    #: Per code, when the plan has per-model limits: the budget and counter of the per-model
    #: limit its deployment falls under (-1: none). Empty when the plan has none.
    code_model_budget: list[int] = field(default_factory=list)
    code_model_counter: list[int] = field(default_factory=list)

    def per_row(self, table: list[int]) -> array[int]:
        """`table` (one value per code) as a column of one value per request."""
        return array("l", map(table.__getitem__, self.code_of))

    @property
    def group_of(self) -> array[int]:
        return self.code_of

    @cached_property
    def budget_of(self) -> array[int]:
        return self.per_row(self.code_budget)

    @cached_property
    def counter_of(self) -> array[int]:
        return self.per_row(self.code_counter)

    @cached_property
    def model_budget_of(self) -> array[int]:
        return self.per_row(self.code_model_budget) if self.code_model_budget else array("l")

    @cached_property
    def model_counter_of(self) -> array[int]:
        return self.per_row(self.code_model_counter) if self.code_model_counter else array("l")


class _Resolver:
    """Evaluates counter keys and dimension values once per distinct input, not once per row:
    each row is coded by the tuple of column values the expressions read (`coded`, in C), and
    only each code's first row is evaluated."""

    def __init__(self, plan: Plan, workload: Workload) -> None:
        self.plan = plan
        self.workload = workload
        self.n = len(workload)

    def sources(self, names: Iterable[str]) -> list[str]:
        """The workload columns behind `names` (derived fields read consumer or deployment)."""
        return sorted({_SOURCE_OF_DERIVED.get(name, name) for name in names})

    def coded(self, sources: list[str]) -> tuple[array[int], list[tuple[str, ...]]]:
        """Each row's code and the distinct rows (as tuples of their `sources` values), code
        by code in order of first appearance; a column the workload lacks reads as "".

        One pass in C: a `defaultdict` whose factory is a counter's `__next__` hands out the
        next code to a new row, over the column itself (hashes of its strings are cached) or a
        `zip` of the columns. Evaluating once per distinct row is what makes resolving cheap.
        """
        text = self.workload.text
        columns = [text.get(name, repeat("", self.n)) for name in sources]
        code_of: defaultdict[Any, int] = defaultdict(count().__next__)
        if len(columns) == 1:
            codes = array("l", map(code_of.__getitem__, columns[0]))
            return codes, [(value,) for value in code_of]
        rows = zip(*columns, strict=True) if columns else repeat((), self.n)
        return array("l", map(code_of.__getitem__, rows)), list(code_of)

    def values(self, sources: list[str], raw: tuple[str, ...]) -> Callable[[str], str]:
        """Field lookup for one distinct input, with the derived fields computed."""
        found = dict(zip(sources, raw, strict=True))

        def value_of(name: str) -> str:
            if name == PRODUCT:
                return self.products.get(found[CONSUMER], "")
            if name == BACKEND:
                routes = self.backends
                if len(set(routes.values())) == 1:
                    return next(iter(routes.values()))
                if DEPLOYMENT not in self.workload.text:
                    return NOT_IN_WORKLOAD
                return routes.get(found[DEPLOYMENT], NOT_IN_WORKLOAD)
            return found.get(name, "")

        return value_of

    @cached_property
    def products(self) -> dict[str, str]:
        return {c.name: c.product or "" for c in self.plan.gateway.consumers}

    @cached_property
    def backends(self) -> dict[str, str]:
        """Deployment → the backend (or pool) its route sends requests to."""
        gateway = self.plan.gateway
        if gateway.routes:
            return {name: r.backend_id for r in gateway.routes for name in r.deployments}
        return {d.name: a.backend_id for a in gateway.accounts for d in a.deployments}

    def run(self) -> Resolved:
        plan = self.plan
        per_model = plan.has_model_limits
        text = self.workload.text
        limit_names = {CONSUMER} | {f.name for b in plan.budgets for f in b.counter_key.fields}
        if per_model:
            limit_names.add(DEPLOYMENT)
        limit_sources = self.sources(limit_names)
        dimension_names = {f.name for d in plan.dimensions for f in d.value.fields}
        sources = self.sources(limit_names | dimension_names | {CONSUMER, DEPLOYMENT})
        limit_at = [sources.index(name) for name in limit_sources]
        present = [name in text for name in sources]
        at_consumer, at_deployment = sources.index(CONSUMER), sources.index(DEPLOYMENT)
        code_of, distinct = self.coded(sources)
        counters = _Counters()
        limits_of: dict[tuple[str, ...], tuple[int, int, int, int]] = {}
        combo_ids: dict[tuple[str, ...], int] = {}
        resolved = Resolved(code_of, [], [], [], counters.keys, counters.budget, [], [])
        # Code by code in order of first appearance, so counter ids, combo ids and the first
        # unknown consumer are those of a row-by-row pass; limits are evaluated once per
        # distinct input of the limits, dimensions once per code.
        for raw in distinct:
            limit_raw = tuple(raw[i] for i in limit_at)
            limits = limits_of.get(limit_raw)
            if limits is None:
                limits = limits_of[limit_raw] = self.limits(limit_sources, limit_raw, counters)
            budget, counter, model_budget, model_counter = limits
            resolved.code_budget.append(budget)
            resolved.code_counter.append(counter)
            if per_model:
                resolved.code_model_budget.append(model_budget)
                resolved.code_model_counter.append(model_counter)
            # A column the workload lacks reads as "(not in workload)" in a dimension.
            shown = tuple(v if p else NOT_IN_WORKLOAD for v, p in zip(raw, present, strict=True))
            value_of = self.values(sources, shown)
            combo = tuple(d.value.evaluate(value_of) for d in plan.dimensions)
            number = combo_ids.get(combo)
            if number is None:
                number = combo_ids[combo] = len(resolved.combos)
                resolved.combos.append(combo)
            consumer = raw[at_consumer] if present[at_consumer] else ""
            deployment = raw[at_deployment] if present[at_deployment] else ""
            resolved.groups.append(TallyGroup(number, consumer, deployment))
        if not plan.dimensions and not resolved.combos:  # the one empty combination
            resolved.combos.append(())
        resolved.counter_consumers = [tuple(sorted(names)) for names in counters.consumers]
        return resolved

    def limits(
        self, sources: list[str], raw: tuple[str, ...], counters: _Counters
    ) -> tuple[int, int, int, int]:
        """(budget, counter, per-model budget, per-model counter) of one distinct input of the
        limits (-1: none)."""
        plan = self.plan
        consumer = raw[sources.index(CONSUMER)]
        budget = self.budget_for(consumer)
        value_of = self.values(sources, raw)
        key = plan.budgets[budget].counter_key.evaluate(value_of) if budget >= 0 else ""
        counter = counters.counter_for(budget, key, consumer)
        model_budget = model_counter = -1
        if plan.has_model_limits:
            deployment = raw[sources.index(DEPLOYMENT)]
            model_budget = self.model_budgets_for(consumer).get(deployment, -1)
            if model_budget >= 0:
                model_key = plan.budgets[model_budget].counter_key.evaluate(value_of)
                model_counter = counters.counter_for(model_budget, model_key, consumer)
        return budget, counter, model_budget, model_counter

    def model_budgets_for(self, consumer: str) -> Mapping[str, int]:
        """Deployment → per-model budget of the consumer's scope (checked by `budget_for`)."""
        plan = self.plan
        if consumer in plan.budget_of_consumer:
            return plan.model_budgets_of_consumer.get(consumer, {})
        return plan.outside_model_budgets

    def budget_for(self, consumer: str) -> int:
        plan = self.plan
        if consumer in plan.budget_of_consumer:
            budget = plan.budget_of_consumer[consumer]
        elif plan.gateway.consumers:
            raise TokengateError(
                f"{self.workload.source}: consumer {consumer!r} is not in the spec"
            )
        else:
            budget = plan.outside_budget
        return -1 if budget is None else budget


class _Counters:
    """The counters as they are first used: one per key value, whichever scope computed it
    (APIM's rule); requests under no limit are grouped per consumer."""

    def __init__(self) -> None:
        self.ids: dict[tuple[bool, str], int] = {}
        self.keys: list[str] = []
        self.budget: list[int] = []
        self.consumers: list[set[str]] = []

    def counter_for(self, budget: int, key: str, consumer: str) -> int:
        signature = (budget >= 0, key if budget >= 0 else consumer)
        counter = self.ids.get(signature)
        if counter is None:
            counter = self.ids[signature] = len(self.keys)
            self.keys.append(key)
            self.budget.append(budget)
            self.consumers.append(set())
        self.consumers[counter].add(consumer)
        return counter
