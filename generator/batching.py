"""Deterministic batches, so every template stays within ARM's 800 resources and a one-consumer
change touches one batch file.

Each item goes to bucket `crc32(name) mod B`, with B the smallest power of two that keeps the
average batch at or under the target. Adding or removing an item moves nothing else, except
when B doubles (the batch count crosses a power of two), which reshuffles once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def bucket_count(names: Sequence[str], target: int, ceiling: int) -> int:
    """Smallest power of two averaging <= `target` per bucket with no bucket over `ceiling`."""
    count = 1
    while len(names) > count * target:
        count *= 2
    while max(_sizes(names, count), default=0) > ceiling:
        count *= 2
    return count


def _bucket(name: str, count: int) -> int:
    return zlib.crc32(name.casefold().encode("utf-8")) % count


def _sizes(names: Sequence[str], count: int) -> list[int]:
    sizes = [0] * count
    for name in names:
        sizes[_bucket(name, count)] += 1
    return sizes


def batches(
    items: Sequence[T], name_of: Callable[[T], str], *, target: int, ceiling: int
) -> list[list[T]]:
    """`items` split into hash buckets; items keep their input order within a bucket.

    `target` is the average batch size (room for hash skew), `ceiling` the hard maximum.
    """
    names = [name_of(item) for item in items]
    count = bucket_count(names, target, ceiling)
    buckets: list[list[T]] = [[] for _ in range(count)]
    for item, name in zip(items, names, strict=True):
        buckets[_bucket(name, count)].append(item)
    return buckets
