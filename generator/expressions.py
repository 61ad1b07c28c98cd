"""APIM policy expressions (C#) built from spec values: literals escaped, scopes prefixed.

Kept apart from the templates so the escaping is written once and unit-tested; XML escaping of
the result is the template's job (autoescape).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.azure import ABSENT_DIMENSION_VALUE, KNOWN_DIMENSION_VALUES

if TYPE_CHECKING:
    from generator.model import Consumer, Dimension, Route
    from generator.model.kinds import ApiFamily


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


#: The calling subscription's id (the `subscription` counter key, and product-scope keys).
SUBSCRIPTION_ID = "context.Subscription.Id"

#: The caller's IP address (the `ip` counter key).
CLIENT_IP = "context.Request.IpAddress"

#: The policy variable validate-azure-ad-token stores the validated token in.
JWT_VARIABLE = "jwt"


def claim_value(claim: str, *, absent: str = "") -> str:
    """The C# expression for a claim of the validated Entra ID token (`absent` when missing)."""
    token = f"((Jwt)context.Variables[{csharp_string(JWT_VARIABLE)}])"
    return f"{token}.Claims.GetValueOrDefault({csharp_string(claim)}, {csharp_string(absent)})"


#: The OpenAPI path parameter that names the deployment in Azure OpenAI inference URLs.
DEPLOYMENT_PARAMETER = "deployment-id"


#: The deployment an `azure-openai` request is for: the route's `{deployment-id}` parameter.
ROUTE_DEPLOYMENT = (
    f"context.Request.MatchedParameters.GetValueOrDefault({csharp_string(DEPLOYMENT_PARAMETER)}, "
    '"")'
)
#: The deployment an `llm` (Azure AI model inference) request is for: the body's `model`.
#: `preserveContent: true` keeps the body for the backend: "By default when you access the
#: message body using context.Request.Body ... the original message body is lost"
#: (https://learn.microsoft.com/azure/api-management/set-body-policy). A request without a body
#: (GET /info) reads as null, which matches no deployment.
BODY_DEPLOYMENT = '(string)context.Request.Body?.As<JObject>(preserveContent: true)?["model"]'


def deployment_value(family: ApiFamily) -> str:
    """The C# expression for the deployment a request is for, in the API family's terms."""
    return BODY_DEPLOYMENT if family == "llm" else ROUTE_DEPLOYMENT


def route_condition(route: Route) -> str:
    """True when the request's deployment is one of the route's."""
    names = ", ".join(csharp_string(name) for name in route.deployments)
    return f"@(new [] {{ {names} }}.Contains({ROUTE_DEPLOYMENT}))"


def deployment_condition(family: ApiFamily, deployment: str) -> str:
    """True when the request is for `deployment` (a per-model limit applies to it)."""
    return f"@({deployment_value(family)} == {csharp_string(deployment)})"


def subscription_condition(consumer: Consumer) -> str:
    """True when the request came in on the consumer's APIM subscription."""
    name = csharp_string(consumer.name)
    return f"@(context.Subscription != null && context.Subscription.Id == {name})"


def scoped_key(
    scope: str, value: str, *, per_subscription: bool = False, deployment: str | None = None
) -> str:
    """A counter key whose value starts with `scope:`, so scopes never share a counter.

    `value` is the C# yielding the key (generator/counter_keys.py); `per_subscription` adds the
    subscription id (product scope: one counter per subscriber) unless the key already is it;
    `deployment` ends the key with `:<deployment>` (a per-model limit's own counter).
    """
    parts = [csharp_string(scope + ":")]
    if per_subscription and value != SUBSCRIPTION_ID:
        parts += [SUBSCRIPTION_ID, csharp_string(":")]
    parts.append(value)
    if deployment is not None:
        parts.append(csharp_string(":" + deployment))
    return f"@({' + '.join(parts)})"


def dimension_value(dimension: Dimension) -> str | None:
    """The `value` attribute of a metric dimension: a header or claim read (the absent value
    when missing), the spec's own literal or expression, a built-in name's known expression
    (azure.KNOWN_DIMENSION_VALUES), or None where APIM fills it in."""
    if dimension.header is not None:
        return f"@({header_value(dimension.header, absent=ABSENT_DIMENSION_VALUE)})"
    if dimension.claim is not None:
        return f"@({claim_value(dimension.claim, absent=ABSENT_DIMENSION_VALUE)})"
    if dimension.value is not None:
        return dimension.value
    return KNOWN_DIMENSION_VALUES.get(dimension.name)
