"""The counter-key forms, written once: what a spec may put in `tokenLimit.counterKey`.

One table serves every stage that knows the forms: the schema's description and TG113's message
(`forms_text`, checked against the schema by tests/test_counter_keys.py), parsing into the model
(`parse`), and the C# the policy and the simulator evaluate (`value_expression`). A new form is
one row here (and its `CounterKeyKind` literal).

The counter key is APIM's `counter-key` attribute: "Key to use for the token limit policy. For
each key value, a single counter is used for all scopes at which the policy is configured"
(https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy), hence the
scope prefix `api_counter_key` and `product_counter_key` put in front (`expressions.scoped_key`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator.expressions import CLIENT_IP, SUBSCRIPTION_ID, claim_value, header_value, scoped_key
from generator.model.gateway import Consumer, CounterKey, Gateway, Product
from generator.model.kinds import CounterKeyKind


@dataclass(frozen=True)
class CounterKeyForm:
    kind: CounterKeyKind
    #: How the form is written in a spec: the literal, or the prefix before its argument.
    spelling: str
    #: The form as the schema's description and TG113 name it.
    shown: str
    #: The C# (without `@(...)`) yielding the key value, from the form's argument.
    value: Callable[[str], str]
    #: True: `spelling` is a prefix followed by an argument (`header:x-user`).
    takes_argument: bool = False
    #: What one counter is kept per, when that is not the subscription: a cost ceiling is then
    #: one such value's (generator/cost.py). None: per subscription.
    counted_per: str | None = None


def _expression_body(text: str) -> str:
    """`@(expr)` → `(expr)`: the user's expression, parenthesised, inside our concatenation."""
    return f"({text.strip()[2:-1]})"


#: Every form, in the order they are documented. `expression` is last: it is what is left.
FORMS: tuple[CounterKeyForm, ...] = (
    CounterKeyForm("subscription", "subscription", "subscription", lambda _: SUBSCRIPTION_ID),
    CounterKeyForm("ip", "ip", "ip", lambda _: CLIENT_IP, counted_per="client IP address"),
    CounterKeyForm(
        "header",
        "header:",
        "header:<name>",
        header_value,
        takes_argument=True,
        counted_per="header value",
    ),
    CounterKeyForm(
        "claim",
        "claim:",
        "claim:<name> (Entra ID token claim)",
        claim_value,
        takes_argument=True,
        counted_per="claim value",
    ),
    CounterKeyForm(
        "expression",
        "@(",
        "a single policy expression @(...)",
        _expression_body,
        counted_per="value of the counter-key expression",
    ),
)

_BY_KIND = {form.kind: form for form in FORMS}


def forms_text(separator: str = " | ") -> str:
    """The forms as a list for people: the schema description, TG113's message."""
    return separator.join(form.shown for form in FORMS)


def parse(text: str) -> CounterKey:
    """A validated `counterKey` value → its kind and argument (anything else is an expression)."""
    for form in FORMS[:-1]:
        if form.takes_argument and text.startswith(form.spelling):
            return CounterKey(form.kind, text.removeprefix(form.spelling))
        if not form.takes_argument and text == form.spelling:
            return CounterKey(form.kind)
    return CounterKey("expression", text)


def counted_per(key: CounterKey) -> str | None:
    """What one counter is kept per when that is not the subscription; None when it is."""
    return _BY_KIND[key.kind].counted_per


def value_expression(key: CounterKey) -> str:
    """The C# expression (no `@(...)`) that yields the key value."""
    return _BY_KIND[key.kind].value(key.argument)


def api_counter_key(
    gateway: Gateway, consumer: Consumer | None, deployment: str | None = None
) -> str:
    """Counter key of a token limit in the API policy: the default, or a consumer's branch.

    With `deployment`, the key of that deployment's per-model limit: the same key followed by
    `:<deployment>`, so per-model counters never mix with each other or the all-models one. The
    element sits in a branch taken only for that deployment, so the name is a literal here.
    """
    assert gateway.token_limit is not None
    scope = f"api/{gateway.api.name}"
    if consumer is not None:
        scope += f"/consumer/{consumer.name}"
    value = value_expression(gateway.token_limit.counter_key)
    return scoped_key(scope, value, deployment=deployment)


def product_counter_key(gateway: Gateway, product: Product, deployment: str | None = None) -> str:
    """Counter key of a product's token limit: per subscription within the product (and per
    deployment for a per-model limit, as in `api_counter_key`)."""
    assert gateway.token_limit is not None
    value = value_expression(gateway.token_limit.counter_key)
    return scoped_key(
        f"product/{product.name}", value, per_subscription=True, deployment=deployment
    )
