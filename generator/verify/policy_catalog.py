"""What APIM accepts in a policy document, as far as `verify` checks it without the XSDs.

Policy names are the elements the APIM policy reference documents (the same set the official
policy XSDs declare; a test keeps the two in step). Token-policy attributes follow the Learn
reference of `azure-openai-token-limit` / `llm-token-limit` and `azure-openai-emit-token-metric`
/ `llm-emit-token-metric`, plus the optional ones the XSDs add (`id`, `prompt-type`, ...).
"""

from __future__ import annotations

SECTIONS = ("inbound", "backend", "outbound", "on-error")

POLICIES = frozenset(
    {
        "authentication-basic",
        "authentication-certificate",
        "authentication-managed-identity",
        "authentication-token",
        "authentication-token-store",
        "azure-openai-emit-token-metric",
        "azure-openai-semantic-cache-lookup",
        "azure-openai-semantic-cache-store",
        "azure-openai-token-limit",
        "block",
        "cache-lookup",
        "cache-lookup-value",
        "cache-remove-value",
        "cache-store",
        "cache-store-value",
        "check-header",
        "choose",
        "cors",
        "cosmosdb-data-source",
        "cross-domain",
        "emit-metric",
        "find-and-replace",
        "forward-request",
        "get-authorization-context",
        "graphql-data-source",
        "http-data-source",
        "include-fragment",
        "invoke-dapr-binding",
        "invoke-request",
        "ip-filter",
        "json-to-xml",
        "jsonp",
        "limit-concurrency",
        "llm-content-safety",
        "llm-emit-token-metric",
        "llm-semantic-cache-lookup",
        "llm-semantic-cache-store",
        "llm-token-limit",
        "log-to-eventhub",
        "mock-response",
        "proxy",
        "publish-event",
        "publish-to-dapr",
        "quota",
        "quota-by-key",
        "rate-limit",
        "rate-limit-by-key",
        "redirect-content-urls",
        "retry",
        "return-response",
        "rewrite-uri",
        "send-one-way-request",
        "send-request",
        "set-backend-service",
        "set-body",
        "set-header",
        "set-method",
        "set-query-parameter",
        "set-request-metric-dimension-value",
        "set-status",
        "set-url",
        "set-variable",
        "sql-data-source",
        "trace",
        "validate-azure-ad-token",
        "validate-client-certificate",
        "validate-content",
        "validate-graphql-request",
        "validate-headers",
        "validate-jwt",
        "validate-odata-request",
        "validate-parameters",
        "validate-status-code",
        "wait",
        "xml-to-json",
    }
)

#: Policies whose children are policies again (for `choose`, inside `when`/`otherwise`).
CONTAINERS = frozenset({"retry", "wait", "limit-concurrency"})
CHOOSE_BRANCHES = frozenset({"when", "otherwise"})

TOKEN_LIMIT_POLICIES = frozenset({"azure-openai-token-limit", "llm-token-limit"})
TOKEN_METRIC_POLICIES = frozenset({"azure-openai-emit-token-metric", "llm-emit-token-metric"})

TOKEN_LIMIT_ATTRIBUTES = frozenset(
    {
        "id",
        "counter-key",
        "tokens-per-minute",
        "token-quota",
        "token-quota-period",
        "estimate-prompt-tokens",
        "prompt-type",
        "ignore-prompt",
        "retry-after-header-name",
        "retry-after-variable-name",
        "remaining-tokens-header-name",
        "remaining-tokens-variable-name",
        "remaining-quota-tokens-header-name",
        "remaining-quota-tokens-variable-name",
        "tokens-consumed-header-name",
        "tokens-consumed-variable-name",
    }
)
TOKEN_LIMIT_REQUIRED = ("counter-key", "estimate-prompt-tokens")
#: The periods the Learn reference lists for `token-quota-period`.
QUOTA_PERIODS = ("Hourly", "Daily", "Weekly", "Monthly", "Yearly")
PROMPT_TYPES = ("auto", "chat-completion", "completion", "embeddings")

TOKEN_METRIC_ATTRIBUTES = frozenset({"id", "namespace", "name", "value-type", "ignore-prompt"})
METRIC_VALUE_TYPES = ("all", "total-tokens", "prompt-tokens", "completion-tokens")
DIMENSION_ATTRIBUTES = frozenset({"name", "value"})
