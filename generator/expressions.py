"""APIM policy expressions (C#) built from spec values: literals escaped, scopes prefixed.

Kept apart from the templates so the escaping is written once and unit-tested; XML escaping of
the result is the template's job (autoescape).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.model import Account, Consumer, Gateway


def csharp_string(value: str) -> str:
    """A C# regular string literal for `value`."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def header_value(name: str) -> str:
    """The C# expression for a request header's value ('' when absent)."""
    return f'context.Request.Headers.GetValueOrDefault({csharp_string(name)}, "")'


#: The OpenAPI path parameter that names the deployment in Azure OpenAI inference URLs.
DEPLOYMENT_PARAMETER = "deployment-id"


def route_condition(account: Account) -> str:
    """True when the request's deployment is hosted on `account`."""
    parameter = csharp_string(DEPLOYMENT_PARAMETER)
    deployment = f'context.Request.MatchedParameters.GetValueOrDefault({parameter}, "")'
    names = ", ".join(csharp_string(d.name) for d in account.deployments)
    return f"@(new [] {{ {names} }}.Contains({deployment}))"


def subscription_condition(consumer: Consumer) -> str:
    """True when the request came in on the consumer's APIM subscription."""
    name = csharp_string(consumer.name)
    return f"@(context.Subscription != null && context.Subscription.Id == {name})"


def limit_scope(gateway: Gateway, consumer: Consumer | None) -> str:
    """The counter-key prefix of one token-limit element: API scope, then consumer branch."""
    base = f"api/{gateway.api.name}"
    return f"{base}/consumer/{consumer.name}" if consumer else base
