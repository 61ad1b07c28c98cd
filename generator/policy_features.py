"""The policy features: which fragment fills which policy section, in which order, and when.

An APIM policy document has four sections (inbound, backend, outbound, on-error). Each policy
feature is one fragment file, `policy_templates/features/<name>.xml.j2`, with one macro per
section it fills (`on-error` is the macro `on_error`). Whether a feature applies to a gateway (or
to one of its products) is decided here, in Python, from the model; `api-policy.xml.j2` and
`product-policy.xml.j2` only loop over the planned sections and call the fragments' macros.

Adding a feature therefore means one entry in FEATURES plus one fragment file (and the schema,
model and fixtures it needs); tests/test_policy_features.py keeps the two lists one-to-one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from generator.model import Gateway, Product


class Section(Enum):
    """A section of an APIM policy document, in document order."""

    INBOUND = "inbound"
    BACKEND = "backend"
    OUTBOUND = "outbound"
    ON_ERROR = "on-error"

    @property
    def macro(self) -> str:
        """The fragment macro that fills this section (`on-error` is not a Jinja name)."""
        return self.value.replace("-", "_")


class Scope(Enum):
    """Which policy document a feature belongs to."""

    API = "api"
    PRODUCT = "product"


#: Decides from the model whether a feature applies; `product` is None at API scope.
Applies = Callable[[Gateway, Product | None], bool]


@dataclass(frozen=True)
class PolicyFeature:
    """One policy feature: a fragment file filling some sections of one policy document."""

    name: str
    scope: Scope
    sections: tuple[Section, ...]
    applies: Applies
    #: Sections where the feature's elements stand instead of `<base />` (the backend retry
    #: forwards the request itself, so the inherited forward-request must not run as well).
    replaces_base: frozenset[Section] = frozenset()

    @property
    def template(self) -> str:
        return f"features/{self.name}.xml.j2"


def _always(gateway: Gateway, product: Product | None) -> bool:
    return True


def _entra(gateway: Gateway, product: Product | None) -> bool:
    return gateway.auth.entra is not None


def _api_token_limit(gateway: Gateway, product: Product | None) -> bool:
    """A limit element at API scope: own-budget branches, or a default budget (all-models or
    per-model)."""
    limit = gateway.token_limit
    return limit is not None and bool(
        gateway.branch_consumers or limit.default or limit.model_limits
    )


def _token_metric(gateway: Gateway, product: Product | None) -> bool:
    return gateway.token_metrics is not None


def _backend_retry(gateway: Gateway, product: Product | None) -> bool:
    """Retries only make sense through a pool: a lone backend would be asked again at once."""
    return bool(gateway.pools and gateway.retries)


def _product_token_limit(gateway: Gateway, product: Product | None) -> bool:
    return product is not None and product.is_limited


_INBOUND = (Section.INBOUND,)

#: Every policy feature, in the order its elements appear within each section.
FEATURES: tuple[PolicyFeature, ...] = (
    PolicyFeature("entra-validation", Scope.API, _INBOUND, _entra),
    PolicyFeature("managed-identity", Scope.API, _INBOUND, _always),
    PolicyFeature("backend-routing", Scope.API, _INBOUND, _always),
    PolicyFeature("token-limit", Scope.API, _INBOUND, _api_token_limit),
    PolicyFeature("token-metric", Scope.API, _INBOUND, _token_metric),
    PolicyFeature("key-removal", Scope.API, _INBOUND, _always),
    PolicyFeature(
        "backend-retry",
        Scope.API,
        (Section.BACKEND,),
        _backend_retry,
        replaces_base=frozenset({Section.BACKEND}),
    ),
    PolicyFeature("product-token-limit", Scope.PRODUCT, _INBOUND, _product_token_limit),
)


@dataclass(frozen=True)
class SectionPlan:
    """One section of a policy document: `<base />` or not, then the fragments that fill it."""

    name: str
    macro: str
    base: bool
    features: tuple[PolicyFeature, ...]


def policy_sections(gateway: Gateway, product: Product | None = None) -> tuple[SectionPlan, ...]:
    """The sections of the API policy (no product) or of one product's policy, in order."""
    scope = Scope.API if product is None else Scope.PRODUCT
    applied = [f for f in FEATURES if f.scope is scope and f.applies(gateway, product)]
    plans = []
    for section in Section:
        filling = tuple(f for f in applied if section in f.sections)
        base = not any(section in f.replaces_base for f in filling)
        plans.append(SectionPlan(section.value, section.macro, base, filling))
    return tuple(plans)
