"""The closed sets of words the model carries, as `Literal` types.

mypy then refuses a misspelt period, family or scope anywhere downstream. The values are the
schema's enums (schemas/spec.schema.json); tests/test_model_kinds.py keeps the two equal, so a
schema change that is not made here fails the suite instead of passing through as a plain `str`.
"""

from __future__ import annotations

from typing import Literal

#: `$defs/quotaPeriod`: the `quota-period` attribute of the token-limit policies.
QuotaPeriod = Literal["Hourly", "Daily", "Weekly", "Monthly", "Yearly"]

#: `api.family`: `azure-openai` (deployment in the URL) or `llm` (model inference, model in body).
ApiFamily = Literal["azure-openai", "llm"]

#: `deployment.scope`: what `tokengate deploy` targets.
DeploymentScope = Literal["resourceGroup", "subscription"]

#: The forms of a `counterKey` (a pattern in the schema, not an enum; see its description).
CounterKeyKind = Literal["subscription", "ip", "header", "claim", "expression"]
