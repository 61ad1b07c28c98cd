"""APIM policy expressions (C#) built from spec values: literals escaped, scopes prefixed.

Kept apart from the templates so the escaping is written once and unit-tested; XML escaping of
the result is the template's job (autoescape).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.model import Consumer, Gateway, Product, Route


def csharp_string(value: str) -> str:
    """A C# regular string literal for `value`."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def header_value(name: str, *, absent: str = "") -> str:
    """The C# expression for a request header's value (`absent` when the header is missing)."""
    return (
        f"context.Request.Headers.GetValueOrDefault({csharp_string(name)}, {csharp_string(absent)})"
    )


#: The policy variable validate-azure-ad-token stores the validated token in.
JWT_VARIABLE = "jwt"


def claim_value(claim: str, *, absent: str = "") -> str:
    """The C# expression for a claim of the validated Entra ID token (`absent` when missing)."""
    token = f"((Jwt)context.Variables[{csharp_string(JWT_VARIABLE)}])"
    return f"{token}.Claims.GetValueOrDefault({csharp_string(claim)}, {csharp_string(absent)})"


#: The OpenAPI path parameter that names the deployment in Azure OpenAI inference URLs.
DEPLOYMENT_PARAMETER = "deployment-id"


def route_condition(route: Route) -> str:
    """True when the request's deployment is one of the route's."""
    parameter = csharp_string(DEPLOYMENT_PARAMETER)
    deployment = f'context.Request.MatchedParameters.GetValueOrDefault({parameter}, "")'
    names = ", ".join(csharp_string(name) for name in route.deployments)
    return f"@(new [] {{ {names} }}.Contains({deployment}))"


def subscription_condition(consumer: Consumer) -> str:
    """True when the request came in on the consumer's APIM subscription."""
    name = csharp_string(consumer.name)
    return f"@(context.Subscription != null && context.Subscription.Id == {name})"


def api_counter_key(gateway: Gateway, consumer: Consumer | None) -> str:
    """Counter key of a token limit in the API policy: the default, or a consumer's branch."""
    assert gateway.token_limit is not None
    scope = f"api/{gateway.api.name}"
    if consumer is not None:
        scope += f"/consumer/{consumer.name}"
    return gateway.token_limit.counter_key.scoped(scope)


def product_counter_key(gateway: Gateway, product: Product) -> str:
    """Counter key of a product's token limit: per subscription within the product."""
    assert gateway.token_limit is not None
    return gateway.token_limit.counter_key.scoped(f"product/{product.name}", per_subscription=True)
