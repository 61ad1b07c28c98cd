"""What a spec change means: the difference of two `Gateway` models, as one line per change.

The comparison walks the model's dataclasses generically, so new model fields show up without
code here: named items (accounts, deployments, consumers, products, dimensions) are matched by
name, `Limit`s are compared field by field, everything else value by value. Labels use the
policy's attribute names (`tokens-per-minute`), which is what reviewers see in the XML.
A few changes carry a note on what Azure does with them (a resource replaced, a tier change).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from generator import azure, cost
from generator.model import CounterKey, Gateway, Limit, Route
from generator.pricing import PriceTable

#: Fields that are not part of the deployed gateway, or are derived from ones that are
#: compared: a consumer's effective limit is its own override (compared) merged over the default
#: or its product's limit (compared once there, not once per consumer); the same for its
#: per-model limits (`model_override` is compared).
SKIPPED = frozenset(
    {
        ("Gateway", "source"),
        ("Gateway", "regenerate_note"),
        ("Consumer", "limit"),
        ("Consumer", "model_limits"),
        ("Product", "generated"),
        # A budget's quota is its limit's (compared there); its price and prompt share are the
        # gateway's (compared once there, and in the monthly cost ceiling).
        ("Budget", "quota"),
        ("Budget", "deployment"),
        ("Budget", "price"),
        ("Budget", "prompt_share"),
    }
)
#: What an unset limit field means: a consumer without an override gets the default.
UNSET = {("Consumer", "override"): "default"}
#: Beyond this many items added or removed at once, the names are summarized.
MAX_LISTED = 10

#: What each named collection calls one of its items (others: the field name less its "s").
ITEM_NOUNS = {
    "accounts": "account",
    "deployments": "deployment",
    "consumers": "consumer",
    "products": "product",
    "dimensions": "dimension",
    "model_limits": "per-model limit",
    "model_override": "per-model limit",
}
SECTION_NOUNS = {
    "apim": "APIM",
    "api": "API",
    "token_limit": "token limit",
    "token_metrics": "token metrics",
}
LABELS = {
    "tokens_per_minute": "tokens-per-minute",
    "quota": "token-quota",
    "quota_period": "token-quota-period",
    "estimate_prompt_tokens": "estimate-prompt-tokens",
    "counter_key": "counter-key",
}

REMOVED_NOTE = "an incremental deployment (the default) leaves it in Azure until deleted there"
MOVE_NOTE = (
    "Azure does not move an existing resource to another region: the deployment fails for "
    "resources that already exist"
)
NOTES = {
    ("Gateway", "name"): (
        "every resource name derives from it: a second gateway is created next to the first, "
        "which stays until deleted"
    ),
    ("Gateway", "location"): MOVE_NOTE,
    ("Account", "location"): MOVE_NOTE,
}
#: Tier changes API Management makes in place (Learn, "Upgrade and scale an API Management
#: instance"): within the classic tiers, and between Basic v2 and Standard v2.
IN_PLACE_TIER_GROUPS = (
    frozenset({"Developer", "Basic", "Standard", "Premium"}),
    frozenset({"BasicV2", "StandardV2"}),
)


@dataclass(frozen=True)
class Change:
    subject: str
    text: str
    note: str = ""

    @property
    def summary(self) -> str:
        """`consumer team-c added`, `consumer team-a: tokens-per-minute 5000 → 8000`."""
        separator = " " if self.text.endswith(("added", "removed")) else ": "
        return f"{self.subject}{separator}{self.text}" if self.subject else self.text

    def line(self) -> str:
        return f"{self.summary} ({self.note})" if self.note else self.summary


def model_changes(old: Gateway, new: Gateway) -> list[Change]:
    """Every difference between the two models, in the model's field order, then how the
    monthly cost ceiling moves (generator/cost.py)."""
    return [*_compare(old, new, ""), *_cost_change(old, new)]


def _cost_change(old: Gateway, new: Gateway) -> Iterator[Change]:
    before, after = cost.monthly_ceiling(old), cost.monthly_ceiling(new)
    if before is None or after is None:
        return
    (was, currency, _), (now, new_currency, whom) = before, after
    if was.cost is not None and now.cost is not None:
        if currency != new_currency:
            return
        shown_was, shown_now = cost.cents(was.cost), cost.cents(now.cost)
        if shown_was == shown_now:
            return
        moved = cost.money_text(shown_now - shown_was, currency, signed=True)
        range_ = f"{cost.money_text(shown_was, currency)} → {cost.money_text(shown_now, currency)}"
        yield Change("monthly cost ceiling", f"{moved} a month at most {whom} ({range_})")
    elif was.cost != now.cost:
        old_text = "none" if was.cost is None else cost.money_text(cost.cents(was.cost), currency)
        new_text = (
            "none" if now.cost is None else cost.money_text(cost.cents(now.cost), new_currency)
        )
        yield Change(
            "monthly cost ceiling",
            f"{old_text} → {new_text}",
            "a consumer without any token limit has no cost ceiling",
        )


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", "-"))


def _join(subject: str, part: str) -> str:
    return f"{subject} {part}".strip()


def _compare(old: Any, new: Any, subject: str, unset: str = "none") -> Iterator[Change]:
    owner = type(new).__name__
    for field in fields(new):
        if (owner, field.name) in SKIPPED:
            continue
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before == after:
            continue
        if _named(before) or _named(after):
            noun = ITEM_NOUNS.get(field.name, _label(field.name).removesuffix("s"))
            yield from _named_items(before, after, _join(subject, noun))
        elif isinstance(before, Limit | None) and isinstance(after, Limit | None):
            word = UNSET.get((owner, field.name), "none")
            yield from _compare(before or Limit(), after or Limit(), subject, word)
        elif isinstance(before, PriceTable) or isinstance(after, PriceTable):
            yield from _prices(before, after, subject)
        elif _is_model(before) and _is_model(after):
            section = _join(subject, SECTION_NOUNS.get(field.name, _label(field.name)))
            yield from _compare(before, after, section)
        elif _is_model(before) or _is_model(after):
            section = _join(subject, SECTION_NOUNS.get(field.name, _label(field.name)))
            yield Change(section, "added" if before is None else "removed")
        elif field.name == "tags":
            yield from _tags(dict(before), dict(after), subject)
        elif field.name == "routes":
            yield from _routes(before, after, subject)
        else:
            text = f"{_label(field.name)} {_show(before, unset)} → {_show(after, unset)}"
            yield Change(subject, text, _note(owner, field.name, before, after))


def _named(value: Any) -> bool:
    """A tuple of model items that have names (accounts, consumers, ...)."""
    return (
        isinstance(value, tuple)
        and bool(value)
        and all(is_dataclass(item) and hasattr(item, "name") for item in value)
    )


def _is_model(value: Any) -> bool:
    return is_dataclass(value) and not isinstance(value, type | CounterKey)


def _named_items(before: tuple[Any, ...], after: tuple[Any, ...], noun: str) -> Iterator[Change]:
    old = {item.name: item for item in before}
    new = {item.name: item for item in after}
    added = [name for name in new if name not in old]
    removed = [name for name in old if name not in new]
    yield from _listed(noun, added, "added", "")
    for name, item in new.items():
        if name in old and old[name] != item:
            yield from _compare(old[name], item, f"{noun} {name}")
    yield from _listed(noun, removed, "removed", REMOVED_NOTE if _deployed(noun) else "")


def _listed(noun: str, names: list[str], what: str, note: str) -> Iterator[Change]:
    if len(names) <= MAX_LISTED:
        for name in names:
            yield Change(f"{noun} {name}", what, note)
        return
    shown = ", ".join(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    yield Change(f"{noun}s", f"{len(names):,} {what}: {shown} and {more:,} more", note)


def _deployed(noun: str) -> bool:
    """Removed items that are Azure resources (a dimension is only a line in a policy)."""
    return noun.split()[-1] in ("account", "deployment", "consumer", "product")


def _tags(before: dict[str, str], after: dict[str, str], subject: str) -> Iterator[Change]:
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            text = f"{_show(before.get(key))} → {_show(after.get(key))}"
            yield Change(_join(subject, f"tag {key}"), text)


def _routes(before: tuple[Route, ...], after: tuple[Route, ...], subject: str) -> Iterator[Change]:
    """Routes embed whole accounts, whose changes are reported as account changes; what a route
    adds is only where each deployment's requests go (a backend, or a pool)."""
    old, new = _route_lines(before), _route_lines(after)
    if old != new:
        yield Change(subject, f"routes [{', '.join(old)}] → [{', '.join(new)}]")


def _prices(before: PriceTable | None, after: PriceTable | None, subject: str) -> Iterator[Change]:
    """A price table is a few hundred numbers: say which prices changed, not every field."""
    old = {} if before is None else {_price_key(p): p for p in before.prices}
    new = {} if after is None else {_price_key(p): p for p in after.prices}
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        shown = ", ".join(changed[:MAX_LISTED])
        more = f" and {len(changed) - MAX_LISTED:,} more" if len(changed) > MAX_LISTED else ""
        yield Change(_join(subject, "prices"), f"{len(changed):,} changed: {shown}{more}")
    for name in ("currency", "effective"):
        was, now = getattr(before, name, None), getattr(after, name, None)
        if was != now:
            yield Change(_join(subject, "prices"), f"{name} {_show(was)} → {_show(now)}")


def _price_key(price: Any) -> str:
    parts = [price.model, price.version or "any version", price.deployment_type]
    return " ".join([*parts, price.region] if price.region else parts)


def _route_lines(routes: tuple[Route, ...]) -> list[str]:
    return [f"{route.backend_id}: {' '.join(route.deployments)}" for route in routes]


def _show(value: Any, unset: str = "none") -> str:
    if value is None:
        return unset
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, CounterKey):
        return value.kind if not value.argument else f"{value.kind}:{value.argument}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)


def _note(owner: str, field: str, before: Any, after: Any) -> str:
    if (owner, field) == ("Apim", "sku"):
        return tier_change_note(str(before), str(after))
    return NOTES.get((owner, field), "")


def tier_change_note(before: str, after: str) -> str:
    if "Consumption" in (before, after):
        return (
            "API Management cannot change to or from Consumption in place: the service is replaced"
        )
    if any(before in group and after in group for group in IN_PLACE_TIER_GROUPS):
        return "API Management changes tier in place, which takes 15 to 45 minutes"
    family = "v2" if after in azure.V2_SKUS else "classic"
    return f"no documented in-place change to this {family} tier: plan to replace the service"
