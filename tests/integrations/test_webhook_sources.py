"""The source a webhook delivery is posted to is kept in the process briefly (integrations.selectors.
webhook_source): a busy tracker's deliveries cost no source query and no decryption, yet every change to
the source (saved, enabled, disconnected, deleted, in this process or another) is seen by the next one,
and the decrypted secret never leaves the process."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations import selectors, services
from tests.issues.sync_support import SECRET, jira_cloud_source, post

NEW_SECRET = "whsec-rotated-9876543210"


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    return fake_jira_cloud, jira_cloud_source(fake_jira_cloud)


def source_queries(captured) -> list[str]:
    return [query["sql"] for query in captured if '"integrations_source"' in query["sql"]]


@pytest.mark.django_db
def test_the_source_is_read_once_for_many_deliveries(jira):
    _, source = jira

    with CaptureQueriesContext(connection) as captured:
        first = selectors.webhook_source(source.uuid)
        again = selectors.webhook_source(source.uuid)

    assert first.pk == again.pk == source.pk and first.webhook_secret == SECRET
    assert len(source_queries(captured)) == 1
    assert first is not again  # each delivery gets its own instance


@pytest.mark.django_db
def test_an_unknown_address_is_kept_as_none_and_forged_addresses_do_not_grow_the_process(jira):
    assert selectors.webhook_source("00000000-0000-0000-0000-000000000000") is None
    for number in range(selectors.WEBHOOK_SOURCES_KEPT + 10):
        selectors.webhook_source(f"00000000-0000-0000-0000-{number:012d}")

    assert len(selectors._webhook_sources) <= selectors.WEBHOOK_SOURCES_KEPT


@pytest.mark.django_db
def test_a_rotated_secret_is_used_by_the_next_delivery(jira, admin_user):
    fake, source = jira
    client = Client()
    assert post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET)).status_code == 200

    source.webhook_secret = NEW_SECRET
    services.save_source(source, actor=admin_user)

    assert post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET)).status_code == 401
    assert post(client, source, fake.issue_delivery("SHOP-1", secret=NEW_SECRET)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        lambda source, actor: services.set_source_enabled(source, False, actor=actor),
        lambda source, actor: services.disconnect_source(source, actor=actor),
        lambda source, actor: services.delete_source(source, actor=actor),
    ],
    ids=["disabled", "disconnected", "deleted"],
)
def test_a_source_that_stops_taking_webhooks_refuses_the_next_delivery(jira, admin_user, change):
    """Disabling and disconnecting write with update(), which sends no post_save: they forget too."""
    fake, source = jira
    client = Client()
    assert post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET)).status_code == 200

    change(source, admin_user)

    assert post(client, source, fake.issue_delivery("SHOP-1", secret=SECRET)).status_code == 404


@pytest.mark.django_db
def test_a_change_made_in_another_process_is_seen_within_a_check_interval(jira, monkeypatch):
    """Another process bumps the generation in the shared cache (its own kept sources are its own); this
    process reads the generation at most every WEBHOOK_SOURCES_CHECK_SECONDS, not on every delivery."""
    _, source = jira
    now = selectors.time.monotonic()
    monkeypatch.setattr(selectors.time, "monotonic", lambda: now)
    selectors.webhook_source(source.uuid)

    cache.set(selectors.WEBHOOK_SOURCES_GENERATION_KEY, "bumped-by-another-process", timeout=None)
    with CaptureQueriesContext(connection) as within:
        selectors.webhook_source(source.uuid)
    monkeypatch.setattr(selectors.time, "monotonic", lambda: now + selectors.WEBHOOK_SOURCES_CHECK_SECONDS)
    with CaptureQueriesContext(connection) as after:
        selectors.webhook_source(source.uuid)

    assert (len(source_queries(within)), len(source_queries(after))) == (0, 1)


@pytest.mark.django_db
def test_a_kept_source_expires(jira, monkeypatch):
    _, source = jira
    selectors.webhook_source(source.uuid)
    later = selectors.time.monotonic() + selectors.WEBHOOK_SOURCE_SECONDS + 1
    monkeypatch.setattr(selectors.time, "monotonic", lambda: later)

    with CaptureQueriesContext(connection) as captured:
        selectors.webhook_source(source.uuid)

    assert len(source_queries(captured)) == 1


@pytest.mark.django_db
def test_the_decrypted_secret_never_reaches_the_shared_cache(jira):
    fake, source = jira
    assert post(Client(), source, fake.issue_delivery("SHOP-1", secret=SECRET)).status_code == 200

    redis = cache._cache.get_client()
    stored = b"".join(redis.get(key) or b"" for key in redis.keys("*"))
    assert redis.keys("*") and SECRET.encode() not in stored
