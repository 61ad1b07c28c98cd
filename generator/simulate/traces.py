"""Read a trace (CSV, JSON Lines, or a JSON array) into a Workload, with messages naming the row.

Two column vocabularies are understood. The native one (`timestamp, consumer, prompt_tokens,
completion_tokens, stream, ...`) and a Log Analytics export of `ApiManagementGatewayLlmLog`
joined with `ApiManagementGatewayLogs` (`TimeGenerated, ApimSubscriptionId, PromptTokens, ...`,
what `out/queries/llm-usage-export.kql` returns), recognised by its `TimeGenerated` column.
Problems are collected (up to a limit) and raised together as `TraceInvalid`, exit code 2.
"""

from __future__ import annotations

import csv
import json
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.errors import ExitCode, TokengateError, json_reason
from generator.load import display_path
from generator.simulate import columnar_csv
from generator.simulate.plan import Needs
from generator.simulate.workload import (
    CACHED_TOKENS,
    CLAIM_PREFIX,
    CLIENT_IP,
    COMPLETION_TOKENS,
    CONSUMER,
    COUNTER_KEY,
    DEPLOYMENT,
    DIMENSION_PREFIX,
    DURATION_MS,
    EARLIEST,
    HEADER_PREFIX,
    LATEST,
    MAX_DURATION_MS,
    MAX_TOKENS,
    PROMPT_TOKENS,
    STREAM,
    TIMESTAMP,
    Workload,
    header_field,
    to_ms,
)

#: Log Analytics column → workload field.
LOG_ANALYTICS_COLUMNS = {
    "TimeGenerated": TIMESTAMP,
    "ApimSubscriptionId": CONSUMER,
    "CallerIpAddress": CLIENT_IP,
    "PromptTokens": PROMPT_TOKENS,
    "CompletionTokens": COMPLETION_TOKENS,
    "IsStreamCompletion": STREAM,
    "DeploymentName": DEPLOYMENT,
    "TotalTime": DURATION_MS,
    # Not in the gateway's log tables: an export of your own may add it (`tokengate usage`).
    "CachedTokens": CACHED_TOKENS,
}
NATIVE_COLUMNS = (
    TIMESTAMP,
    CONSUMER,
    CLIENT_IP,
    PROMPT_TOKENS,
    COMPLETION_TOKENS,
    STREAM,
    DURATION_MS,
    DEPLOYMENT,
    COUNTER_KEY,
    CACHED_TOKENS,
)
#: Columns every trace has; the gateway adds the ones its counter keys read.
ALWAYS_REQUIRED = (TIMESTAMP, PROMPT_TOKENS, COMPLETION_TOKENS)
#: Problems reported before reading stops.
MAX_PROBLEMS = 20
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@dataclass(frozen=True)
class TraceProblem:
    """One problem at one row: `where` is `12` (a line) or `item 12` (a JSON array element)."""

    file: str
    where: str
    message: str

    def format(self) -> str:
        return f"{self.file}:{self.where}: {self.message}"


class TraceInvalid(TokengateError):
    """The trace cannot be replayed; the message lists every problem found, by row."""

    def __init__(self, problems: list[TraceProblem], *, stopped: bool = False) -> None:
        self.problems = tuple(problems)
        lines = [p.format() for p in problems]
        if stopped:
            lines.append(f"(stopped after {MAX_PROBLEMS} problems)")
        super().__init__("\n".join(lines), exit_code=ExitCode.INVALID)


def read_trace(path: Path, needs: Needs, *, trace_format: str | None = None) -> Workload:
    """Read `path` for a gateway with these `needs`; raise TraceInvalid on any problem."""
    name = display_path(path)  # in reports and messages: a name that is not UTF-8 cannot crash
    kind = trace_format or FORMATS.get(path.suffix.lower())
    if kind is None:
        raise TraceInvalid(
            [TraceProblem(name, "1", "unknown trace format: name the file .csv, .jsonl or .json")]
        )
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            if kind == "csv":
                workload = _Reader(name, needs).read_columnar(handle)
                if workload is not None:
                    return workload
                handle.seek(0)  # something to report or an unusual form: read row by row
            rows = {"csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_rows}[kind](handle)
            return _Reader(name, needs).read(rows)
    except OSError as error:
        raise TokengateError(f"{name}: cannot read the trace: {error.strerror}") from error
    except UnicodeDecodeError as error:
        line = _undecodable_line(path)
        raise TraceInvalid(
            [TraceProblem(name, line, f"not UTF-8 text ({error.reason})")]
        ) from error


def _undecodable_line(path: Path) -> str:
    """The line of the first byte that is not UTF-8 (the decoder only knows its buffer's offset)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return str(data[: error.start].count(b"\n") + 1)
    return "1"


#: A source row: where it is, and its cells by column name (None = no cell).
_Row = tuple[str, Mapping[str, Any]]


def _csv_rows(handle: Any) -> Iterator[_Row | list[str]]:
    """First the header (a list), then rows keyed by header name."""
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        if header is None:
            return
        yield header
        for row in reader:
            if not row:
                continue
            yield str(reader.line_num), dict(zip(header, row, strict=False))
    except csv.Error as error:
        raise _Bad(str(reader.line_num or 1), f"not CSV: {error}") from error


def _jsonl_rows(handle: Any) -> Iterator[_Row | list[str]]:
    first = True
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        item = _json_object(line, str(number))
        if first:
            yield list(item)
            first = False
        yield str(number), item


def _json_rows(handle: Any) -> Iterator[_Row | list[str]]:
    try:
        items = json.load(handle)
    except json.JSONDecodeError as error:
        raise _Bad(str(error.lineno), f"not JSON: {error.msg}") from error
    except (ValueError, RecursionError) as error:
        raise _Bad("1", f"not JSON tokengate can read: {json_reason(error)}") from error
    if not isinstance(items, list):
        raise _Bad("1", "a .json trace is an array of objects (one per request)")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise _Bad(f"item {number}", "not an object")
        if number == 1:
            yield list(item)
        yield f"item {number}", item


def _json_object(line: str, where: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise _Bad(where, f"not JSON: {error.msg}") from error
    except (ValueError, RecursionError) as error:
        raise _Bad(where, f"not JSON tokengate can read: {json_reason(error)}") from error
    if not isinstance(item, dict):
        raise _Bad(where, "each line is one JSON object (one request)")
    return item


class _Bad(Exception):
    """A problem that ends reading at once (the file's structure, not one value)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


class _Reader:
    def __init__(self, name: str, needs: Needs) -> None:
        self.name = name
        self.needs = needs
        self.problems: list[TraceProblem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(TraceProblem(self.name, where, message))
        if len(self.problems) >= MAX_PROBLEMS:
            raise TraceInvalid(self.problems, stopped=True)

    def read(self, rows: Iterator[_Row | list[str]]) -> Workload:
        try:
            header = next(rows, None)
            if header is None:
                raise _Bad("1", "empty trace: no header and no requests")
            assert isinstance(header, list)
            columns = self.columns(header)
            workload = self.values(columns, rows)  # type: ignore[arg-type]
        except _Bad as bad:
            self.problems.append(TraceProblem(self.name, bad.where, bad.message))
            workload = None
        if self.problems:
            raise TraceInvalid(self.problems)
        assert workload is not None
        if not len(workload):
            raise TraceInvalid([TraceProblem(self.name, "2", "no requests after the header")])
        return workload

    def columns(self, header: list[str]) -> dict[str, str]:
        """Workload field → source column name; missing required columns are problems."""
        names = [_clean(column) for column in header]
        twice = sorted({name for name in names if names.count(name) > 1})
        for name in twice:  # a row would keep only the last cell of the name
            self.problem("1", f"column {name!r} appears more than once in the header")
        log_analytics = "TimeGenerated" in names
        found: dict[str, str] = {}
        for original, name in zip(header, names, strict=True):
            if log_analytics and name in LOG_ANALYTICS_COLUMNS:
                found[LOG_ANALYTICS_COLUMNS[name]] = original
            elif name.lower().startswith(HEADER_PREFIX):
                found[header_field(name[len(HEADER_PREFIX) :].strip())] = original
            elif (
                name.startswith((DIMENSION_PREFIX, CLAIM_PREFIX))
                or (not log_analytics and name in NATIVE_COLUMNS)
                or (log_analytics and name == COUNTER_KEY)
            ):
                found[name] = original
        required = dict.fromkeys(ALWAYS_REQUIRED, "")
        required.update(self.needs.required)
        source_name = {v: k for k, v in LOG_ANALYTICS_COLUMNS.items()} if log_analytics else {}
        for fieldname, why in required.items():
            if fieldname not in found:
                column = source_name.get(fieldname, fieldname)
                self.problem("1", f"missing column {column!r}" + (f": {why}" if why else ""))
        if self.problems:
            raise TraceInvalid(self.problems)
        return found

    def read_columnar(self, handle: Any) -> Workload | None:
        """The CSV trace read by `columnar_csv`, or None when it needs reading row by row."""
        header = columnar_csv.read_header(handle)
        if header is None:
            return None
        columns = self.columns(header)
        cell = {name: i for i, name in enumerate(header)}  # the last of equal names, like dict()
        workload = self.empty_workload(columns)
        stream_column = columns.get(STREAM)
        duration_column = columns.get(DURATION_MS)
        layout = columnar_csv.Layout(
            width=len(header),
            time=cell[columns[TIMESTAMP]],
            prompt=cell[columns[PROMPT_TOKENS]],
            completion=cell[columns[COMPLETION_TOKENS]],
            stream=None if stream_column is None else cell[stream_column],
            duration=None if duration_column is None else cell[duration_column],
            text=tuple((f, cell[columns[f]]) for f in workload.text),
        )
        naive_is_utc = columns[TIMESTAMP] != TIMESTAMP
        rules = columnar_csv.Rules(
            timestamp_ms=lambda text: timestamp_ms(text, naive_is_utc),
            flag=flag_value,
            consumers=self.needs.consumers,
        )
        try:
            columnar_csv.read_columns(handle, layout, rules, workload)
        except columnar_csv.NotPlain:
            return None
        return workload if len(workload) else None

    def empty_workload(self, columns: dict[str, str]) -> Workload:
        """A workload with the columns this trace fills, described for the report."""
        workload = Workload(self.name)
        if DURATION_MS in columns:
            workload.durations = array("q")
        wanted = (set(self.needs.required) | self.needs.optional) - set(ALWAYS_REQUIRED)
        text_fields = [f for f in sorted(wanted) if f in columns and f not in (STREAM, DURATION_MS)]
        workload.text = {f: [] for f in text_fields}
        parts = ["Log Analytics export"] if columns[TIMESTAMP] != TIMESTAMP else []
        if DURATION_MS in columns:
            parts.append(f"response times from {columns[DURATION_MS]}")
        workload.description = ", ".join(parts)
        return workload

    def values(self, columns: dict[str, str], rows: Iterator[_Row]) -> Workload:
        workload = self.empty_workload(columns)
        times, prompts, completions = workload.times, workload.prompt, workload.completion
        streams = workload.stream
        durations = workload.durations
        text = workload.text
        text_fields = list(text)
        consumers = self.needs.consumers
        time_column, prompt_column = columns[TIMESTAMP], columns[PROMPT_TOKENS]
        completion_column = columns[COMPLETION_TOKENS]
        stream_column = columns.get(STREAM)
        duration_column = columns.get(DURATION_MS)
        naive_is_utc = time_column != TIMESTAMP  # Log Analytics times are UTC
        previous: int | None = None
        previous_where, previous_text = "", ""
        for where, row in rows:
            t = self.timestamp(where, row.get(time_column), naive_is_utc)
            prompt = self.count(where, prompt_column, row.get(prompt_column))
            completion = self.count(where, completion_column, row.get(completion_column))
            stream = self.flag(where, stream_column, row.get(stream_column)) if stream_column else 0
            if t is not None:
                text_time = _text(row.get(time_column)).strip()
                if previous is not None and t < previous:
                    self.problem(
                        where,
                        f"{time_column} {text_time} is earlier than {previous_text} "
                        f"({_place(previous_where)}): sort the trace by time",
                    )
                previous, previous_where, previous_text = t, where, text_time
            if durations is not None:
                assert duration_column is not None
                value = row.get(duration_column)
                duration = (
                    -1
                    if _text(value) == ""
                    else self.count(where, duration_column, value, MAX_DURATION_MS)
                )
                durations.append(-1 if duration is None else duration)
            for fieldname in text_fields:
                text[fieldname].append(_text(row.get(columns[fieldname])))
            if consumers:
                consumer = text[CONSUMER][-1]
                if consumer not in consumers:
                    self.problem(where, _unknown_consumer(consumer, columns[CONSUMER], consumers))
            times.append(t or 0)
            prompts.append(prompt or 0)
            completions.append(completion or 0)
            streams.append(stream)
        return workload

    def timestamp(self, where: str, value: Any, naive_is_utc: bool) -> int | None:
        try:
            return timestamp_ms(_text(value), naive_is_utc)
        except ValueError as error:
            self.problem(where, str(error))
            return None

    def count(self, where: str, column: str, value: Any, most: int = MAX_TOKENS) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = _text(value).strip()
            try:
                number = int(text)
            except ValueError:
                wrong = "is empty" if not text else f"{text!r} is not a whole number"
                self.problem(where, f"{column} {wrong}")
                return None
        if number < 0:
            self.problem(where, f"{column} is negative ({number})")
            return None
        if number > most:
            self.problem(
                where, f"{column} {number:,} is over the largest value tokengate accepts ({most:,})"
            )
            return None
        return number

    def flag(self, where: str, column: str, value: Any) -> int:
        if isinstance(value, bool):
            return int(value)
        flag = flag_value(_text(value))
        if flag is None:
            self.problem(where, f"{column} {_text(value).strip().lower()!r} is not true or false")
            return 0
        return flag


def timestamp_ms(text: str, naive_is_utc: bool) -> int:
    """Milliseconds of an ISO 8601 timestamp cell; ValueError with the message to report."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"timestamp {text!r} has no UTC offset: add Z for UTC")
        moment = moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"timestamp {text!r} is outside the years 1970 to 9998")
    return to_ms(moment)


def flag_value(text: str) -> int | None:
    """1 or 0 for a stream cell (true/false, 1/0, yes/no, empty), None when it is neither."""
    text = text.strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    return None


def _place(where: str) -> str:
    return f"line {where}" if where.isdigit() else where


def _clean(column: str) -> str:
    """A header cell without spaces around it or a portal export's ` [UTC]` suffix."""
    return column.strip().removesuffix("[UTC]").strip()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unknown_consumer(consumer: str, column: str, consumers: frozenset[str]) -> str:
    names = sorted(consumers)
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if not consumer:
        return f"{column} is empty: every request needs its consumer (the spec's: {listed})"
    return f"{column} {consumer!r} is not a consumer in the spec (its consumers: {listed})"
