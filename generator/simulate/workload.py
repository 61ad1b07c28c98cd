"""The requests to replay, as columns: what trace readers and the synthetic generator produce.

Columns (typed arrays, not a list of objects) keep a million requests in tens of megabytes and let
the engine index them directly. Text attributes are looked up by field name; the names are the
trace column names, so an error message can name the column the user has to add.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: Largest token count of one request, and longest response time (ms), a trace may give: the
#: spec's largest limit (2**31 - 1, schema maximum of tokensPerMinute and quota) is far above
#: any model's context, and the workload's columns are 64-bit.
MAX_TOKENS = 2**31 - 1
MAX_DURATION_MS = 2**31 - 1
#: Times a trace may hold: quota periods (Yearly, Monthly) are computed as calendar dates, and
#: Python's dates end in the year 9999.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)

#: Field names (and native trace column names).
TIMESTAMP = "timestamp"
CONSUMER = "consumer"
CLIENT_IP = "client_ip"
PROMPT_TOKENS = "prompt_tokens"
COMPLETION_TOKENS = "completion_tokens"
STREAM = "stream"
DURATION_MS = "duration_ms"
DEPLOYMENT = "deployment"
#: The cached part of the prompt tokens (read only by `tokengate usage`, when the trace has it).
CACHED_TOKENS = "cached_tokens"
#: The value of a counter key tokengate cannot evaluate (a policy expression it does not read).
COUNTER_KEY = "counter_key"
HEADER_PREFIX = "header:"
CLAIM_PREFIX = "claim:"
DIMENSION_PREFIX = "dimension:"


def header_field(name: str) -> str:
    """The field holding a request header (HTTP header names are case-insensitive)."""
    return HEADER_PREFIX + name.lower()


def claim_field(name: str) -> str:
    """The field holding a claim of the caller's validated Entra ID token."""
    return CLAIM_PREFIX + name


def dimension_field(name: str) -> str:
    return DIMENSION_PREFIX + name


@dataclass
class Workload:
    """Requests in arrival order. `durations` (ms) is None when the source has no response
    times; a negative entry marks one row without."""

    #: Short name for messages and headers (a file name, `synthetic workload (seed 1)`).
    source: str
    times: array[int] = field(default_factory=lambda: array("q"))
    prompt: array[int] = field(default_factory=lambda: array("q"))
    completion: array[int] = field(default_factory=lambda: array("q"))
    stream: bytearray = field(default_factory=bytearray)
    durations: array[int] | None = None
    #: Text attributes by field name (consumer, client_ip, header:<name>, ...), one per request.
    text: dict[str, list[str]] = field(default_factory=dict)
    #: How it was made, for the report (the synthetic profile, the trace's vocabulary).
    description: str = ""

    def __len__(self) -> int:
        return len(self.times)

    @property
    def without_duration(self) -> int:
        """Requests whose response time the source does not give."""
        if self.durations is None:
            return len(self)
        return sum(1 for d in self.durations if d < 0)

    @property
    def span_ms(self) -> int:
        return self.times[-1] - self.times[0] if self.times else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (exact integer arithmetic)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def iso(ms: int) -> str:
    """`2025-01-06T09:30:00.250Z`-style UTC text for a time in ms (milliseconds only if any)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "Z"
