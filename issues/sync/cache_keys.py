"""Cache keys the sync shares between workers: a source's rest after a failure, its running refresh,
and once-only markers of one row."""

from integrations.models import Source


def backoff_key(source: Source) -> str:
    return f"issues:sync:backoff:{source.uuid}"


def once_key(what: str, row) -> str:
    """A cache key for one row: its id and creation time, so that a reused id is another key."""
    return f"issues:sync:{what}:{type(row).__name__}:{row.pk}:{row.created_at.timestamp()}"


def lock_key(source: Source) -> str:
    return f"issues:sync:running:{source.uuid}"
