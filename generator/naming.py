"""How tokengate names Azure resources, before the 13-character unique suffix Bicep appends.

The rules check these names against Azure's limits; render writes them into the templates.
"""

from __future__ import annotations

#: The tag every resource tokengate creates carries, valued with the gateway name (merged over the
#: user's tags). The deploy helper finds a gateway's resources by this exact key.
GATEWAY_TAG = "tokengate-gateway"


def apim_name_prefix(gateway: str) -> str:
    """The APIM service name before the unique suffix."""
    return f"apim-{gateway}-"


def subdomain_prefix(gateway: str, account: str) -> str:
    """The Cognitive Services account name and custom subdomain before the unique suffix."""
    return f"{gateway}-{account}-"
