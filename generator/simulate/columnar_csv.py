"""The fast path for CSV traces: whole columns at a time, in C, for traces with nothing to report.

A million-row trace read cell by cell spends most of its time in Python bytecode: a dict per row,
a function call per cell. Here rows are read in small chunks, turned into columns
(`zip(*rows)`) and converted by C-level `map`s: `datetime.fromisoformat` over the timestamps,
and memo dicts for the values columns repeat (token counts, flags, consumer names).

The fast path never decides anything the row-by-row reader in `traces` would not: it uses the
same parsers, and as soon as a chunk holds anything that reader would report (a ragged row, a
value that is not a whole number, a negative count, an unknown consumer, an unsorted time, a
timestamp it refuses) it gives up, and `read_trace` reads the file again row by row, which
finds and words every problem. tests/test_simulate_fast_paths.py checks that both paths give
identical workloads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, islice, repeat
from operator import floordiv, sub
from typing import TextIO, TypeVar

from generator.simulate.workload import (
    CONSUMER,
    EARLIEST,
    LATEST,
    MAX_DURATION_MS,
    MAX_TOKENS,
    Workload,
)

#: Rows converted at a time: enough for C loops to dominate, few enough that a chunk's strings
#: stay in the processor's cache (measured: 256 rows read twice as fast as 32,768).
CHUNK_ROWS = 256
#: Characters read at a time from a trace without quotes: about 250 rows of a native trace.
BLOCK_CHARS = 20_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
#: The row reader's bounds (workload.py): a cell past them is the row reader's to word.
_EARLIEST_MS = (EARLIEST - _EPOCH) // _MS
_LATEST_MS = (LATEST - _EPOCH) // _MS
_LARGEST = min(MAX_TOKENS, MAX_DURATION_MS)

#: Distinct values a memo keeps before it starts again.
MEMO_SIZE = 65_536

K = TypeVar("K")
V = TypeVar("V")


class NotPlain(Exception):
    """The trace needs the row-by-row reader: it has a problem to report, or an unusual form."""


class _Memo(dict[K, V]):
    """A dict that computes a missing value once (`compute` raises NotPlain to give up)."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: K) -> V:
        if len(self) >= MEMO_SIZE:  # a column of ever new values: keep memory bounded
            self.clear()
        value = self[key] = self.compute(key)
        return value


@dataclass(frozen=True)
class Layout:
    """Which cell of a row holds each workload field (None: the trace has no such column)."""

    width: int
    time: int
    prompt: int
    completion: int
    stream: int | None
    duration: int | None
    #: Text fields in the order the workload lists them, and their cells.
    text: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Rules:
    """How the row-by-row reader turns single cells into values, reused for unusual cells."""

    #: Milliseconds of a timestamp cell; raises ValueError when the reader would report it.
    timestamp_ms: Callable[[str], int]
    #: 0 or 1 for a stream cell; None when the reader would report it.
    flag: Callable[[str], int | None]
    #: The spec's consumers (empty: any).
    consumers: frozenset[str]


def read_header(handle: TextIO) -> list[str] | None:
    """The header row, or None when it needs the row reader (quoted, or no header)."""
    line = handle.readline()
    if not line or '"' in line:
        return None
    return next(csv.reader([line]), None)


def read_columns(handle: TextIO, layout: Layout, rules: Rules, into: Workload) -> None:
    """Append every row after the header to `into`; raises NotPlain (with `into` half filled)
    to give up.

    A trace without quotes or carriage returns is split on newlines and commas, in C, which is
    exactly what the csv module does with such text; one with them goes through the csv module,
    whose rows are then turned into columns in chunks.
    """
    converter = _Converter(layout, rules, into)
    text = handle.read(BLOCK_CHARS)
    while text:
        if '"' in text or "\r" in text:  # the csv module's turn, from this line on
            rows = csv.reader(chain(io.StringIO(text + handle.readline()), handle))
            while chunk := list(islice(rows, CHUNK_ROWS)):
                converter.add_rows(chunk)
            return
        more = handle.read(BLOCK_CHARS)
        end = len(text) if not more else text.rfind("\n") + 1
        converter.add_lines(text[:end])
        text = text[end:] + more


class _Converter:
    def __init__(self, layout: Layout, rules: Rules, workload: Workload) -> None:
        self.layout = layout
        self.rules = rules
        self.workload = workload
        self.previous = -1
        #: Whole numbers by their text: a dict lookup costs half an `int()`, and token counts
        #: and response times repeat.
        self.numbers: _Memo[str, int] = _Memo(_whole_number)
        self.flags: _Memo[str, int] = _Memo(self._flag)
        #: An empty response time cell is -1: the row has none, as the row reader has it.
        self.durations: _Memo[str, int] = _Memo(
            lambda text: -1 if text == "" else _whole_number(text)
        )
        #: One string object per distinct text value: a million rows of a few consumers and
        #: addresses keep a few strings, not millions of copies.
        self.distinct: list[dict[str, str]] = [{} for _ in layout.text]

    def add_rows(self, chunk: list[list[str]]) -> None:
        """Rows from the csv module."""
        if min(map(len, chunk)) == 0:  # blank lines: the row reader skips them too
            chunk = [row for row in chunk if row]
            if not chunk:
                return
        if set(map(len, chunk)) != {self.layout.width}:
            raise NotPlain("a row without the header's number of cells")
        self.add(list(zip(*chunk, strict=True)))

    def add_lines(self, text: str) -> None:
        """Whole lines of text without quotes or carriage returns."""
        lines = text.split("\n")
        if "" in lines:  # blank lines (and the end of the last line)
            lines = [line for line in lines if line]
            if not lines:
                return
        if max(map(len, lines)) > csv.field_size_limit():
            raise NotPlain("a line longer than the csv module takes")
        width = self.layout.width
        if set(map(str.count, lines, repeat(","))) != {width - 1}:
            raise NotPlain("a row without the header's number of cells")
        cells = ",".join(lines).split(",")
        self.add([cells[column::width] for column in range(width)])

    def add(self, columns: list[Sequence[str]]) -> None:
        layout, workload = self.layout, self.workload
        times = self.times(columns[layout.time])
        if times[0] < self.previous or times != sorted(times):  # sorted() of a sorted list: O(n)
            raise NotPlain("unsorted")
        if times[0] < _EARLIEST_MS or times[-1] >= _LATEST_MS:  # sorted: the ends are the bounds
            raise NotPlain("a timestamp outside the years the row reader accepts")
        self.previous = times[-1]
        workload.times.extend(times)
        number = self.numbers.__getitem__
        workload.prompt.fromlist(list(map(number, columns[layout.prompt])))
        workload.completion.fromlist(list(map(number, columns[layout.completion])))
        if layout.stream is not None:
            workload.stream.extend(map(self.flags.__getitem__, columns[layout.stream]))
        else:
            workload.stream.extend(bytes(len(times)))
        if layout.duration is not None:
            assert workload.durations is not None
            workload.durations.fromlist(
                list(map(self.durations.__getitem__, columns[layout.duration]))
            )
        consumers = self.rules.consumers
        for (fieldname, cell), distinct in zip(layout.text, self.distinct, strict=True):
            column = columns[cell]
            if fieldname == CONSUMER and consumers and not consumers.issuperset(column):
                raise NotPlain("an unknown consumer")
            workload.text[fieldname].extend(map(distinct.setdefault, column, column))

    def times(self, column: Sequence[str]) -> list[int]:
        """Ms of each timestamp: `datetime.fromisoformat` mapped over the column in C, the same
        parser and arithmetic as `workload.to_ms`; a chunk with a cell it refuses or without
        an offset is parsed cell by cell with the row reader's rules."""
        try:
            moments = map(datetime.fromisoformat, column)
            return list(map(floordiv, map(sub, moments, repeat(_EPOCH)), repeat(_MS)))
        except (ValueError, TypeError):  # TypeError: naive minus aware
            return [self._timestamp_ms(text) for text in column]

    def _timestamp_ms(self, text: str) -> int:
        try:
            return self.rules.timestamp_ms(text)
        except ValueError as error:
            raise NotPlain(str(error)) from error

    def _flag(self, text: str) -> int:
        value = self.rules.flag(text)
        if value is None:
            raise NotPlain(f"stream {text!r}")
        return value


def _whole_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError as error:
        raise NotPlain("not a whole number") from error
    if not 0 <= number <= _LARGEST:
        raise NotPlain("negative, or larger than the row reader accepts")
    return number
