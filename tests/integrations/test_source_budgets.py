"""Default request budgets by tracker: a source whose admin sets no budget gets its tracker's, and that
budget lets one refresh run read 10,000 linked issues (a run spends ``REFRESH_BUDGET_SHARE`` of it)."""

import math

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from integrations.models import AUTH_TYPES_BY_PROVIDER, DEFAULT_REQUESTS_PER_MINUTE, Provider, Source
from integrations.providers import provider_class
from issues.sync.refresh import REFRESH_BUDGET_SHARE
from tests.factories import SourceFactory, UserFactory
from tests.integrations.test_sources import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture(autouse=True)
def _no_health_checks(monkeypatch):
    from integrations import tasks

    monkeypatch.setattr(tasks.check_source_health, "delay", lambda *args: None)


@pytest.mark.parametrize("provider", [p for p in Provider.values if p != Provider.CUSTOM])
def test_one_run_within_the_default_budget_reads_ten_thousand_references(provider):
    per_request = provider_class(provider).keys_per_request
    run_budget = math.floor(DEFAULT_REQUESTS_PER_MINUTE[provider] * REFRESH_BUDGET_SHARE)
    states = 1 if provider in (Provider.AZURE_DEVOPS, Provider.REDMINE) else 0  # one read of the states
    assert run_budget * per_request >= 10_000
    assert math.ceil(10_000 / per_request) + states <= run_budget


def test_a_source_saved_without_a_budget_gets_its_trackers_default():
    assert SourceFactory(provider=Provider.GITHUB, auth_type="pat").rate_limit_per_minute == 200
    assert SourceFactory(provider=Provider.AZURE_DEVOPS, auth_type="pat").rate_limit_per_minute == 120
    assert (
        SourceFactory(provider=Provider.GITLAB, auth_type="pat", rate_limit_per_minute=30).rate_limit_per_minute == 30
    )


def test_the_admin_leaves_the_budget_blank_for_the_default_or_sets_one(admin_client):
    add = reverse("admin:integrations_source_add")
    response = admin_client.post(add, form_data(rate_limit_per_minute=""))
    assert response.status_code == 302
    source = Source.objects.get(name="Acme Jira")
    assert source.rate_limit_per_minute == 200

    change = reverse("admin:integrations_source_change", args=[source.pk])
    response = admin_client.post(change, form_data(rate_limit_per_minute="45", credential_api_token=""))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.rate_limit_per_minute == 45

    response = admin_client.post(change, form_data(rate_limit_per_minute="0", credential_api_token=""))
    assert response.status_code == 200
    assert "rate_limit_per_minute" in response.context["adminform"].form.errors
    source.refresh_from_db()
    assert source.rate_limit_per_minute == 45


BEFORE = [("integrations", "0012_source_redmine_provider")]
AFTER = [("integrations", "0013_sources_on_the_old_budget_take_their_trackers_default")]


def old_source(model, provider, budget) -> int:
    auth_type = AUTH_TYPES_BY_PROVIDER[provider][0]
    return model.objects.create(
        provider=provider,
        name=f"old {provider}",
        base_url="https://tracker.example.com",
        auth_type=auth_type,
        rate_limit_per_minute=budget,
    ).pk


@pytest.mark.django_db(transaction=True)
def test_sources_left_on_the_old_default_of_120_take_their_trackers_and_chosen_budgets_stay():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Old = executor.loader.project_state(BEFORE).apps.get_model("integrations", "Source")
    left = {
        provider: old_source(Old, provider, 120)
        for provider in (Provider.JIRA_CLOUD, Provider.GITHUB, Provider.AZURE_DEVOPS, Provider.CUSTOM)
    }
    chosen = old_source(Old, Provider.GITLAB, 60)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    budgets = dict(Source.objects.values_list("pk", "rate_limit_per_minute"))
    assert {provider: budgets[pk] for provider, pk in left.items()} == {
        provider: DEFAULT_REQUESTS_PER_MINUTE[provider] for provider in left
    }
    assert budgets[chosen] == 60
