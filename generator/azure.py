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
    # PremiumV2 tiers use PREMIUM_V2_SERVICE_API_VERSION instead (see service_api_version).
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

#: The first Microsoft.ApiManagement/service API version whose ARM schema lists `PremiumV2`
#: (2024-05-01's `sku.name` enum stops at StandardV2; see
#: ../shared/validation/arm/schemas/2025-03-01-preview/Microsoft.ApiManagement.json).
PREMIUM_V2_SERVICE_API_VERSION = "2025-03-01-preview"


def service_api_version(sku: str) -> str:
    """The API version of the APIM service resource for a tier.

    Only PremiumV2 needs the preview version: every other tier stays on the stable one, and the
    child resources (APIs, backends, loggers) keep their own stable versions on every tier.
    """
    if sku == "PremiumV2":
        return PREMIUM_V2_SERVICE_API_VERSION
    return API_VERSIONS["Microsoft.ApiManagement/service"]


def rendered_api_versions(resource_type: str) -> frozenset[str]:
    """Every API version tokengate may render for a type (verify accepts only these)."""
    versions = {API_VERSIONS[resource_type]} if resource_type in API_VERSIONS else set()
    if resource_type == "Microsoft.ApiManagement/service":
        versions.add(PREMIUM_V2_SERVICE_API_VERSION)
    return frozenset(versions)


#: Built-in role definition ids (the same GUID in every tenant).
#: Azure OpenAI inference (`azure-openai` family): Cognitive Services OpenAI User.
ROLE_COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
#: Model inference on AI Services (`llm` family) needs Cognitive Services User
#: (https://learn.microsoft.com/azure/foundry/foundry-models/how-to/configure-entra-id).
ROLE_COGNITIVE_SERVICES_USER = "a97b65f3-24c7-4388-baec-2e87135dc908"
ROLE_MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

#: The audience APIM's managed identity asks a token for when calling Azure OpenAI.
COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"


def inference_role(family: str) -> str:
    """The role APIM's identity gets on each account for the API family it serves."""
    return ROLE_COGNITIVE_SERVICES_USER if family == "llm" else ROLE_COGNITIVE_SERVICES_OPENAI_USER


#: Dimensions the emit-token-metric policy fills in itself; they may omit `value`. These are the
#: default dimensions https://learn.microsoft.com/azure/api-management/azure-openai-emit-token-metric-policy
#: lists; `Backend ID` is not among them, so it needs a value like any custom dimension.
BUILTIN_DIMENSIONS = frozenset(
    {
        "API ID",
        "Operation ID",
        "Product ID",
        "User ID",
        "Subscription ID",
        "Location",
        "Gateway ID",
    }
)
#: Value a header dimension takes when the request lacks the header: a visible bucket rather
#: than an empty string (an empty dimension value is a series nobody can tell apart or filter).
ABSENT_DIMENSION_VALUE = "unknown"
#: Well-known dimensions that are not built in but have one obvious value.
KNOWN_DIMENSION_VALUES = {"Client IP": "@(context.Request.IpAddress)"}
#: Dimensions per emit-token-metric policy. Azure Monitor allows 10 dimension keys per metric
#: (https://learn.microsoft.com/azure/azure-monitor/metrics/metrics-custom-overview#design-limitations-and-considerations),
#: but https://learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy says APIM
#: uses 5 of them for its own dimensions, leaving 5: the stricter limit is kept.
MAX_DIMENSIONS = 5
#: Active time series per region and subscription within 12 hours (same two pages): the
#: product of each dimension's distinct values, over every metric the policy emits.
MAX_ACTIVE_TIME_SERIES = 50_000

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


#: The azure-rest-api-specs commit the OpenAPI definition is imported from. Pinned, not `main`:
#: a path moved or a file rewritten on `main` would otherwise change or break a deployment that
#: tokengate's output did not change. (Shipping the document inside the output instead is not
#: possible: 2024-10-21's inference.json is 135,741 characters, over Bicep's 131,072-character
#: loadTextContent limit.)
INFERENCE_SPEC_COMMIT = "132b90d1f06386034a6c2b34e903dbd3b03f9806"


def inference_spec_url(api_version: str) -> str:
    """The published OpenAPI definition of the Azure OpenAI inference API of that version."""
    channel = "preview" if api_version.endswith("-preview") else "stable"
    return (
        f"https://raw.githubusercontent.com/Azure/azure-rest-api-specs/{INFERENCE_SPEC_COMMIT}/"
        "specification/cognitiveservices/data-plane/AzureOpenAI/inference/"
        f"{channel}/{api_version}/inference.json"
    )
