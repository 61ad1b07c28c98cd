"""Azure facts tokengate relies on, kept in one place: API versions, role ids, limits, names.

Every resource type's API version is chosen here and nowhere else; the conformance tests check
each one against the official ARM provider schema of that version.
"""

from __future__ import annotations

#: resource type → API version used in every generated template.
API_VERSIONS: dict[str, str] = {
    "Microsoft.OperationalInsights/workspaces": "2025-02-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.CognitiveServices/accounts": "2025-06-01",
    "Microsoft.CognitiveServices/accounts/deployments": "2025-06-01",
    "Microsoft.ApiManagement/service": "2024-05-01",
    "Microsoft.ApiManagement/service/loggers": "2024-05-01",
    "Microsoft.ApiManagement/service/backends": "2024-05-01",
    "Microsoft.ApiManagement/service/apis": "2024-05-01",
    "Microsoft.ApiManagement/service/apis/policies": "2024-05-01",
    # largeLanguageModel (LLM logging) exists only from 2024-06-01-preview on.
    "Microsoft.ApiManagement/service/apis/diagnostics": "2024-06-01-preview",
    "Microsoft.ApiManagement/service/apis/operations": "2024-05-01",
    "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",
    "Microsoft.ApiManagement/service/subscriptions": "2024-05-01",
    "Microsoft.ApiManagement/service/products": "2024-05-01",
    "Microsoft.ApiManagement/service/products/apis": "2024-05-01",
    "Microsoft.ApiManagement/service/products/policies": "2024-05-01",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    # Subscription-scope deployments (`deployment.scope: subscription`, `tokengate up`).
    "Microsoft.Resources/resourceGroups": "2024-03-01",
    # Insights: the usage workbook, log alerts on the gateway logs, the email action group.
    "Microsoft.Insights/workbooks": "2023-06-01",
    "Microsoft.Insights/scheduledQueryRules": "2023-12-01",
    "Microsoft.Insights/actionGroups": "2023-01-01",
}

#: Built-in role definition ids (the same GUID in every tenant).
ROLE_COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
ROLE_MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

#: The audience APIM's managed identity asks a token for when calling Azure OpenAI.
COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"

#: Dimensions the emit-token-metric policy fills in itself; they may omit `value`.
BUILTIN_DIMENSIONS = frozenset(
    {
        "API ID",
        "Operation ID",
        "Product ID",
        "User ID",
        "Subscription ID",
        "Location",
        "Gateway ID",
        "Backend ID",
    }
)
#: Well-known dimensions that are not built in but have one obvious value.
KNOWN_DIMENSION_VALUES = {"Client IP": "@(context.Request.IpAddress)"}
#: Dimensions per emit-token-metric policy. Learn now says 10 dimension keys per metric; the
#: policy reference long said 5, so we keep the limit that works everywhere.
MAX_DIMENSIONS = 5

#: Service limits a generator must check before deployment, not discover during it.
MAX_POLICY_BYTES = 256 * 1024
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024
MAX_TEMPLATE_RESOURCES = 800
MAX_TEMPLATE_PARAMETERS = 256
MAX_TEMPLATE_OUTPUTS = 64

#: Length of `uniqueString(...)`, appended to globally unique names.
UNIQUE_SUFFIX_LENGTH = 13
APIM_NAME_MAX = 50
SUBDOMAIN_MAX = 64

V2_SKUS = frozenset({"BasicV2", "StandardV2", "PremiumV2"})
#: Tiers without the token-limit policies.
NO_TOKEN_LIMIT_SKUS = frozenset({"Consumption"})
#: Scale-unit ceilings per tier (Premium: per region; Consumption scales by itself).
MAX_SKU_CAPACITY = {
    "Developer": 1,
    "Basic": 2,
    "Standard": 4,
    "Premium": 12,
    "BasicV2": 10,
    "StandardV2": 10,
    "PremiumV2": 30,
    "Consumption": 1,
}

#: Per-instance entity limits by tier, from "Understanding Azure API Management service limits"
#: (Learn, 2026 update: classic tiers aligned with v2). None = no published limit. Backends have
#: no published limit since that update.
SKU_ENTITY_LIMITS: dict[str, dict[str, int | None]] = {
    "Consumption": {"products": 100, "subscriptions": None, "loggers": 100},
    "Developer": {"products": 100, "subscriptions": 10_000, "loggers": 100},
    "Basic": {"products": 200, "subscriptions": 15_000, "loggers": 100},
    "BasicV2": {"products": 200, "subscriptions": 15_000, "loggers": 100},
    "Standard": {"products": 500, "subscriptions": 25_000, "loggers": 200},
    "StandardV2": {"products": 500, "subscriptions": 25_000, "loggers": 200},
    "Premium": {"products": 2_000, "subscriptions": 75_000, "loggers": 400},
    "PremiumV2": {"products": 2_000, "subscriptions": 75_000, "loggers": 400},
}

#: Model deployment capacity bounds per deployment SKU. Standard SKUs count thousands of tokens
#: per minute; provisioned SKUs count PTUs (with a minimum purchase).
DEPLOYMENT_CAPACITY = {
    "Standard": (1, 10_000),
    "GlobalStandard": (1, 30_000),
    "DataZoneStandard": (1, 30_000),
    "ProvisionedManaged": (15, 100_000),
    "GlobalProvisionedManaged": (15, 100_000),
    "DataZoneProvisionedManaged": (15, 100_000),
}


#: Operations of the Azure AI model inference API (`llm` family): (name, method, path, title).
MODEL_INFERENCE_OPERATIONS = (
    ("chat-completions", "POST", "/chat/completions", "Chat completions"),
    ("embeddings", "POST", "/embeddings", "Embeddings"),
    ("info", "GET", "/info", "Model info"),
)


def inference_spec_url(api_version: str) -> str:
    """The published OpenAPI definition of the Azure OpenAI inference API of that version."""
    channel = "preview" if api_version.endswith("-preview") else "stable"
    return (
        "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/specification/"
        f"cognitiveservices/data-plane/AzureOpenAI/inference/{channel}/{api_version}/inference.json"
    )
