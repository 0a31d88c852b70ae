"""Cache keys the sync shares between workers: a source's rest after a failure, its running refresh,
and once-only markers of one row."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from integrations.models import Source


def backoff_key(source: Source) -> str:
    return f"issues:sync:backoff:{source.uuid}"


def once_key(what: str, row) -> str:
    """A cache key for one row: its id and creation time, so that a reused id is another key."""
    return f"issues:sync:{what}:{type(row).__name__}:{row.pk}:{row.created_at.timestamp()}"


def lock_key(source: Source) -> str:
    return f"issues:sync:running:{source.uuid}"


def add_all(keys: list[str], seconds: int) -> list[bool]:
    """``cache.add(key, 1, seconds)`` of every key, whether each was added (not there yet), in one round
    trip to Redis: a pipeline of SET NX, so that a page asking for 250 references waits for Redis once,
    not 250 times. Another cache (the in-process locmem of ``make run``) adds them one by one."""
    cache = caches["default"]
    if not keys:
        return []
    if not isinstance(cache, RedisCache):
        return [cache.add(key, 1, seconds) for key in keys]
    # Django's RedisCache offers no add_many: its client (the write server's redis.Redis) pipelines them.
    # 1 is stored as Redis stores cache.add's 1 (Django's serializer keeps an int as it is).
    pipeline = cache._cache.get_client(write=True).pipeline(transaction=False)
    for key in keys:
        pipeline.set(cache.make_and_validate_key(key), 1, ex=cache.get_backend_timeout(seconds), nx=True)
    return [bool(added) for added in pipeline.execute()]
