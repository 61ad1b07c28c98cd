"""How tokengate names Azure resources, before the 13-character unique suffix Bicep appends.

The rules check these names against Azure's limits; render writes them into the templates.
"""

from __future__ import annotations


def apim_name_prefix(gateway: str) -> str:
    """The APIM service name before the unique suffix."""
    return f"apim-{gateway}-"


def subdomain_prefix(gateway: str, account: str) -> str:
    """The Cognitive Services account name and custom subdomain before the unique suffix."""
    return f"{gateway}-{account}-"


#: Tag key every resource tokengate deploys carries, with the gateway's name as its value (merged
#: over the user's tags; the gateway's value wins). `down` deletes a resource group only when
#: everything in it carries this tag for the gateway being taken down, so a group shared with
#: other workloads is never deleted by accident.
GATEWAY_TAG = "tokengate-gateway"
