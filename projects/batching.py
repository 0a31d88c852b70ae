"""Splitting long lists into batches: the one ``chunks`` helper of the code base.

Queries with ``__in`` lists, bulk writes and tracker requests all cap how many items they send at
once (database parameter limits, trackers' per-request maxima), so each of them walks a list batch
by batch. It lives here, in the lowest layer (projects), so that every layer above can use it:
imports point issues -> integrations -> projects, never back.
"""

from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive slices of at most ``size`` (the last one may be shorter); none for
    an empty list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
