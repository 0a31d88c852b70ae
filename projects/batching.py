"""Splitting long lists into batches: the one ``chunks`` helper of the code base.

Queries with ``__in`` lists, bulk writes and tracker requests all cap how many items they send at
once (database parameter limits, trackers' per-request maxima), so each of them walks a list batch
by batch. It lives here, in the lowest layer (projects), so that every layer above can use it:
imports point issues -> integrations -> projects, never back.
"""

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive slices of at most ``size`` (the last one may be shorter); none for
    an empty list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` (any iterable, read as it goes: a stream need not fit in memory) in consecutive lists
    of at most ``size``; none for no items."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
