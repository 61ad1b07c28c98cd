""" "Test monitoring": wait until the requests' token metrics arrive, then show them by dimension.

Rows have the shape of Application Insights `customMetrics` (name, valueSum, customDimensions)
wherever they come from: the gateway's Application Insights component through
`az monitor app-insights query` on Azure, or the emulator's records over HTTP. Ingestion into
Application Insights takes minutes, so the wait is bounded and reports progress on stderr.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from generator.deploy.runner import run
from generator.emulate.metrics import RECORDS_PATH
from generator.errors import TokengateError
from generator.expressions import csharp_string
from generator.simulate.semantics import METRIC_NAMES
from generator.smoke.http import request
from generator.smoke.target import AZ_TIMEOUT_S, AzureContext

Rows = list[dict[str, Any]]
#: Azure's clock and this machine's may differ; look this far before the first request.
AZURE_CLOCK_SLACK = timedelta(minutes=2)
SUBSCRIPTION_DIMENSION = "Subscription ID"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def app_insights_query(since: datetime) -> str:
    """KQL over customMetrics (string literals escaped as in C#: KQL reads them the same)."""
    names = ", ".join(csharp_string(name) for name in METRIC_NAMES)
    start = iso(since - AZURE_CLOCK_SLACK)
    return (
        f"customMetrics | where timestamp >= datetime({start}) | where name in ({names}) "
        "| project name, valueSum, customDimensions"
    )


def from_app_insights(context: AzureContext, since: datetime) -> Rows:
    if not context.app_insights:
        raise TokengateError(
            "the deployment reports no Application Insights component (monitoring.appInsights)"
        )
    completed = run(
        [
            "az", "monitor", "app-insights", "query",
            "--app", context.app_insights,
            "--resource-group", context.resource_group,
            "--subscription", context.subscription,
            "--analytics-query", app_insights_query(since),
            "--output", "json",
        ],
        timeout=AZ_TIMEOUT_S,
    )  # fmt: skip
    if not completed.ok:
        detail = completed.stderr.strip().splitlines()
        raise TokengateError(
            f"az monitor app-insights query failed: {detail[-1] if detail else ''}"
        )
    return query_rows(completed.stdout)


def query_rows(text: str) -> Rows:
    """`az monitor app-insights query` JSON (tables → columns, rows) → row dicts."""
    try:
        document = json.loads(text)
        table = document["tables"][0]
        columns = [column["name"] for column in table["columns"]]
        rows = [dict(zip(columns, values, strict=True)) for values in table["rows"]]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise TokengateError(
            f"unexpected answer from az monitor app-insights query ({error})"
        ) from error
    for row in rows:
        if isinstance(row.get("customDimensions"), str):
            try:
                row["customDimensions"] = json.loads(row["customDimensions"])
            except ValueError:
                row["customDimensions"] = {}
    return rows


def from_emulator(base: str, since: datetime) -> Rows:
    parts = urlsplit(base)
    url = f"{parts.scheme}://{parts.netloc}{RECORDS_PATH}?since={quote(iso(since))}"
    answer = request(url, headers={}, timeout=10)
    if answer.status == 404:
        raise TokengateError(
            f"{parts.netloc} is not tokengate emulate (no {RECORDS_PATH}): for a deployed "
            "gateway, run smoke with -g RESOURCE_GROUP"
        )
    if answer.status != 200 or not isinstance(answer.body, list):
        raise TokengateError(f"{url}: unexpected answer {answer.status}")
    return [row for row in answer.body if isinstance(row, dict)]


def of_consumer(rows: Rows, consumer: str) -> Rows:
    """Rows of this consumer when the metrics carry Subscription ID; all rows otherwise."""
    return [
        row
        for row in rows
        if (row.get("customDimensions") or {}).get(SUBSCRIPTION_DIMENSION, consumer) == consumer
    ]


def total_tokens(rows: Rows) -> int:
    return sum(int(row.get("valueSum") or 0) for row in rows if row.get("name") == METRIC_NAMES[0])


def wait_for(
    fetch: Callable[[], Rows],
    consumer: str,
    expected: int,
    *,
    timeout_s: float,
    poll_s: float,
    progress: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Rows:
    """Poll until the consumer's Total Tokens reach `expected`, or `timeout_s` passes."""
    started = clock()
    while True:
        rows = of_consumer(fetch(), consumer)
        seen = total_tokens(rows)
        elapsed = clock() - started
        progress(f"  metrics: {seen:,} of {expected:,} tokens after {elapsed:.0f} s")
        if seen >= expected or elapsed + poll_s > timeout_s:
            return rows
        sleep(poll_s)


def by_dimension(rows: Rows, dimensions: Sequence[str]) -> list[str]:
    """Total, prompt and completion tokens per value of each dimension, as a table."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        name = row.get("name")
        if name not in METRIC_NAMES:
            continue
        index = METRIC_NAMES.index(str(name))
        found = row.get("customDimensions") or {}
        for dimension in dimensions:
            value = str(found.get(dimension, "(none)")) or "(empty)"
            sums[dimension, value][index] += int(row.get("valueSum") or 0)
    table = [("dimension", "value", "total", "prompt", "completion")]
    order = {name: i for i, name in enumerate(dimensions)}
    for (dimension, value), (total, prompt, completion) in sorted(
        sums.items(), key=lambda item: (order[item[0][0]], item[0][1])
    ):
        table.append((dimension, value, f"{total:,}", f"{prompt:,}", f"{completion:,}"))
    if len(table) == 1:
        return ["  (no token metrics)"]
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    lines = []
    for cells in table:
        left = [cells[i].ljust(widths[i]) for i in range(2)]
        right = [cells[i].rjust(widths[i]) for i in range(2, 5)]
        lines.append(("  " + "  ".join(left + right)).rstrip())
    return lines
