"""A page asks for a refresh of the stale tracker issues it shows in one round trip to Redis, however
many it shows (issue 21: 250 shown stale references were 250 SET NX, one per reference)."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from issues.links.models import ExternalReference
from issues.sync import cache_keys, refresh
from tests.factories import ExternalReferenceFactory, SourceFactory


def stale_references(count, **values):
    source = SourceFactory()
    ExternalReferenceFactory.create_batch(count, source=source, **values)
    return list(ExternalReference.objects.filter(source=source).order_by("pk"))


@pytest.mark.django_db
def test_250_shown_stale_references_cost_one_redis_round_trip(redis_round_trips, django_capture_on_commit_callbacks):
    assert isinstance(caches["default"], RedisCache)  # make test's main pass runs on the real Redis
    references = stale_references(250)
    redis_round_trips.clear()  # what storing the source told the other processes

    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert refresh.request_refresh(references) == 250

    assert len(redis_round_trips) == 1
    assert len(queued) == 1  # one task for the source, with the 250 references


@pytest.mark.django_db
def test_the_next_view_within_a_minute_asks_for_none_again_in_one_round_trip(
    redis_round_trips, django_capture_on_commit_callbacks
):
    references = stale_references(250)
    refresh.request_refresh(references[:100])
    redis_round_trips.clear()

    with django_capture_on_commit_callbacks(execute=False):
        assert refresh.request_refresh(references) == 150  # only those not asked for yet

    assert len(redis_round_trips) == 1
    stored = caches["default"].get(cache_keys.once_key("asked", references[0]))
    assert stored == 1  # the marker reads back as cache.add's would


@pytest.mark.django_db
def test_a_page_without_stale_references_does_not_ask_redis(redis_round_trips):
    fresh = stale_references(3, last_synced_at=timezone.now())
    gone = stale_references(2, deleted_remotely=True)
    redis_round_trips.clear()

    assert refresh.request_refresh(fresh + gone) == 0
    assert redis_round_trips == []


@pytest.mark.django_db
def test_the_marker_expires_after_a_minute_in_redis():
    references = stale_references(2)
    refresh.request_refresh(references)

    client = caches["default"]._cache.get_client()
    key = caches["default"].make_and_validate_key(cache_keys.once_key("asked", references[1]))
    assert 0 < client.ttl(key) <= refresh.PAGE_REQUEST_SECONDS


@pytest.mark.django_db
def test_the_locmem_cache_of_make_run_asks_once_a_minute_too(settings, django_capture_on_commit_callbacks):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert isinstance(caches["default"], LocMemCache)
    references = stale_references(3)

    with django_capture_on_commit_callbacks(execute=False):
        assert refresh.request_refresh(references[:2]) == 2
        assert refresh.request_refresh(references) == 1

    marker = cache_keys.once_key("asked", references[0])
    assert caches["default"].get(marker) == 1


def test_adding_no_keys_adds_nothing():
    assert cache_keys.add_all([], 60) == []


@pytest.mark.django_db
def test_a_reference_asked_for_more_than_a_minute_ago_is_asked_for_again(
    redis_round_trips, django_capture_on_commit_callbacks
):
    references = stale_references(1, last_synced_at=timezone.now() - timedelta(hours=1))
    refresh.request_refresh(references)
    caches["default"].delete(cache_keys.once_key("asked", references[0]))  # as Redis does after the minute

    with django_capture_on_commit_callbacks(execute=False):
        assert refresh.request_refresh(references) == 1
