"""Hide secrets in text that passes from `az`, `azd` or ARM to the user's terminal or CI log.

tokengate never asks Azure for a key, but what az prints is not under its control: an ARM error
can quote a deployment parameter or a connection string, `az --debug` style output echoes
`Authorization: Bearer ...` headers, and a SAS URL carries its signature in `sig=`. A CI log is
kept and shared, so every such line is passed through `redact` first. One function, one list of
patterns: a pattern keeps the name of the secret (`AccountKey=`) and replaces only its value, so
the message still says what was there.
"""

from __future__ import annotations

import re

#: What replaces a secret value.
REDACTED = "<redacted>"

#: `Name=value` pairs inside connection strings (Application Insights, Storage, Service Bus,
#: Event Hubs, SQL): the value runs to the next `;`, quote or whitespace.
_CONNECTION_STRING_KEYS = (
    "InstrumentationKey",
    "AccountKey",
    "SharedAccessKey",
    "SharedAccessSignature",
    "Password",
    "Pwd",
    "ClientSecret",
)
#: JSON (or YAML-ish) properties whose string value is a secret; matched case-insensitively.
_JSON_KEYS = (
    "instrumentationKey",
    "primaryKey",
    "secondaryKey",
    "primaryConnectionString",
    "secondaryConnectionString",
    "connectionString",
    "key1",
    "key2",
    "accessToken",
    "refreshToken",
    "access_token",
    "refresh_token",
    "id_token",
    "clientSecret",
    "client_secret",
    "password",
    "subscriptionKey",
    "sasToken",
    "accountKey",
    "api-key",
    "Ocp-Apim-Subscription-Key",
)
#: HTTP headers that carry a credential (APIM subscription keys, Azure OpenAI keys).
_HEADERS = ("Ocp-Apim-Subscription-Key", "api-key", "x-api-key", "Authorization")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer eyJ... / "Bearer eyJ..." anywhere.
    (re.compile(r"(?i)(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*"), rf"\g<1>{REDACTED}"),
    # Headers as `Name: value` (the value runs to the end of the line or a quote, so the
    # token of `Authorization: Basic <token>` goes too). A value starting with `$` or `<` is
    # a shell variable or a placeholder in a command tokengate prints, not a secret.
    (
        re.compile(
            r"(?im)(\b(?:"
            + "|".join(map(re.escape, _HEADERS))
            + r")\s*:[ \t]*)(?![ \t])(?!Bearer\s)(?![$<])"
            r"(?!" + re.escape(REDACTED) + r")[^\r\n\"']+"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # JSON properties: "primaryKey": "value".
    (
        re.compile(r'(?i)("(?:' + "|".join(map(re.escape, _JSON_KEYS)) + r')"\s*:\s*")[^"]*(")'),
        rf"\g<1>{REDACTED}\g<2>",
    ),
    # Connection string pairs: AccountKey=abc==; InstrumentationKey=guid.
    (
        re.compile(r"(?i)(\b(?:" + "|".join(_CONNECTION_STRING_KEYS) + r")=)[^;\s\"'&]+"),
        rf"\g<1>{REDACTED}",
    ),
    # SAS tokens and key query parameters: ...&sig=abc%2B...; subscription-key=... in a URL.
    (
        re.compile(r"(?i)([?&;](?:sig|subscription-key|api-key|code|access_token)=)[^&\s\"'#]+"),
        rf"\g<1>{REDACTED}",
    ),
    # A bare JWT (header.payload.signature, base64url), as in `"token": "eyJ..."` of any name.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
)


def redact(text: str) -> str:
    """`text` with every secret value this module knows how to recognize replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
