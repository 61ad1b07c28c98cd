"""Token metrics as the emit-token-metric policy sends them, kept two ways.

- Prometheus text format at `/metrics`: counters per metric and per combination of the spec's
  dimension values (a dimension name becomes a label: lower-cased, non-alphanumerics as `_`),
  plus requests per consumer and status code.
- Application Insights `customMetrics` rows (name, value, valueCount, valueSum, valueMin,
  valueMax, customDimensions, timestamp), one per metric per request, appended to a JSON Lines
  file and kept in memory for `tokengate smoke --monitoring` (served at RECORDS_PATH).

Refused requests send no token metrics (the `metrics of refused requests` assumption).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from generator.simulate.semantics import METRIC_NAMES

#: Where the emulator serves its customMetrics rows (JSON array; `?since=<ISO time>` filters).
RECORDS_PATH = "/.tokengate/customMetrics"
#: Prometheus metric names of the three token metrics (same order as METRIC_NAMES).
PROMETHEUS_NAMES = (
    "tokengate_total_tokens_total",
    "tokengate_prompt_tokens_total",
    "tokengate_completion_tokens_total",
)
REQUESTS_METRIC = "tokengate_requests_total"
#: Rows kept in memory for RECORDS_PATH; older ones stay only in the file.
KEPT_ROWS = 100_000

_LABEL_CHARACTERS = re.compile(r"[^a-zA-Z0-9_]")


def label_name(dimension: str) -> str:
    name = _LABEL_CHARACTERS.sub("_", dimension.strip().lower())
    return name if name and not name[0].isdigit() else f"d_{name}"


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escaped(value)}"' for name, value in pairs) + "}"


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Metrics:
    def __init__(self, namespace: str, records: Path | None) -> None:
        self.namespace = namespace
        self.tokens: Counter[tuple[int, tuple[tuple[str, str], ...]]] = Counter()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.rows: list[dict[str, Any]] = []
        self.handle: IO[str] | None = None
        if records is not None:
            records.parent.mkdir(parents=True, exist_ok=True)
            self.handle = records.open("a", encoding="utf-8")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def request(self, consumer: str, status: int) -> None:
        self.requests[consumer, status] += 1

    def usage(self, prompt: int, completion: int, dimensions: tuple[tuple[str, str], ...]) -> None:
        """One allowed request's metrics: Total, Prompt and Completion Tokens."""
        labels = tuple((label_name(name), value) for name, value in dimensions)
        timestamp = iso_now()
        lines = []
        for index, value in enumerate((prompt + completion, prompt, completion)):
            self.tokens[index, labels] += value
            row = {
                "timestamp": timestamp,
                "name": METRIC_NAMES[index],
                "value": value,
                "valueCount": 1,
                "valueSum": value,
                "valueMin": value,
                "valueMax": value,
                "customDimensions": dict(dimensions),
            }
            self.rows.append(row)
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        if len(self.rows) > KEPT_ROWS:
            del self.rows[: len(self.rows) - KEPT_ROWS]
        if self.handle is not None:
            self.handle.writelines(lines)
            self.handle.flush()

    def since(self, moment: str) -> list[dict[str, Any]]:
        """Rows at or after `moment` (ISO text compares in time order: same format, UTC)."""
        return [row for row in self.rows if row["timestamp"] >= moment]

    def prometheus(self) -> str:
        """The Prometheus text exposition format (version 0.0.4), series in a stable order."""
        out: list[str] = []
        for index, name in enumerate(PROMETHEUS_NAMES):
            out.append(
                f"# HELP {name} {METRIC_NAMES[index]} of allowed requests "
                f"(namespace {self.namespace})."
            )
            out.append(f"# TYPE {name} counter")
            for (metric, labels), value in sorted(self.tokens.items()):
                if metric == index:
                    out.append(f"{name}{_labels(labels)} {value}")
        out.append(f"# HELP {REQUESTS_METRIC} Requests per consumer and status code.")
        out.append(f"# TYPE {REQUESTS_METRIC} counter")
        for (consumer, status), count in sorted(self.requests.items()):
            labels = (("consumer", consumer), ("status", str(status)))
            out.append(f"{REQUESTS_METRIC}{_labels(labels)} {count}")
        return "\n".join(out) + "\n"
