"""Lookups by key are scoped to the asking project (issue 17 point 16): a title one project typed for a
key of a tracker testmanager does not read is that project's words; another project sharing the
source types the same key and gets the answer for a key nobody linked (the key check on the page)
or "no issue" (linking it, on the page and through the API), never that title. What a tracker says
itself stays visible to every project reading that tracker."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import AuthType, Provider
from issues.filing import services as filing_services
from issues.links.models import ExternalReference, Link
from projects.models import ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
)
from tests.issues.filing_support import jira_world

pytestmark = pytest.mark.django_db

TYPED = "Card numbers written to the access log"


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bugzilla():
    """A custom tracker shared with every project: testmanager does not read it."""
    return SourceFactory(
        provider=Provider.CUSTOM,
        name="Bugzilla",
        auth_type=AuthType.NONE,
        credentials={},
        base_url="https://bugs.example.com",
        key_pattern=r"^\d+$",
        issue_url_template="{baseUrl}/show_bug.cgi?id={key}",
        all_projects=True,
    )


def world(key, source):
    project = ProjectFactory(key=key)
    integration = ProjectIntegrationFactory(project=project, source=source, external_project="", default_issue_type="")
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    result = TestResultFactory(run__project=project, case__project=project, status=ResultStatus.FAILED)
    return project, integration, member, result


@pytest.fixture
def typed(bugzilla):
    """SHOP linked Bugzilla 4242 and typed its title."""
    project, integration, member, result = world("SHOP", bugzilla)
    filing_services.link_existing(
        integration=integration, actor=member, typed_key="4242", artefact=result, site_url="http://t/", title=TYPED
    )
    return integration, member


@pytest.fixture
def outsider(bugzilla):
    return world("OUT", bugzilla)


def check(client, project_key, integration, key):
    return client.get(reverse("issues:link_check", args=[project_key]), {"to": integration.pk, "key": key})


def test_the_key_check_of_another_project_answers_as_for_a_key_nobody_linked(client, typed, outsider):
    _, integration, member, _ = outsider
    client.force_login(member)

    answer = check(client, "OUT", integration, "4242")
    never_linked = check(client, "OUT", integration, "777")

    assert answer.status_code == 200 and TYPED not in answer.content.decode()
    assert answer.json() == {
        **never_linked.json(),
        "key": "4242",
        "url": "https://bugs.example.com/show_bug.cgi?id=4242",
    }
    assert answer.json()["title"] == ""


def test_the_project_that_typed_the_title_still_sees_it(client, typed):
    integration, member = typed
    client.force_login(member)

    assert check(client, "SHOP", integration, "4242").json()["title"] == TYPED


def test_linking_the_key_from_another_project_says_no_such_issue_and_shows_no_title(client, typed, outsider):
    project, integration, member, result = outsider
    client.force_login(member)
    url = f"{reverse('issues:link_issue', args=['OUT'])}?result={result.pk}&to={integration.pk}"

    response = client.post(url, {"key": "4242", "title": "Something else"})

    assert response.status_code == 200 and TYPED not in response.content.decode()
    assert response.context["form"].errors["key"] == ["Bugzilla has no issue 4242 this project can link."]
    assert not Link.objects.filter(project=project).exists()
    assert ExternalReference.objects.get(key="4242").title == TYPED  # SHOP's words are left alone


def test_linking_the_key_through_the_api_from_another_project_says_no_such_issue_and_shows_no_title(typed, outsider):
    project, integration, member, result = outsider
    api = APIClient()
    api.force_authenticate(member)

    response = api.post(
        f"/api/integrations/{integration.pk}/link-issue",
        {"key": "4242", "artefacts": [{"type": "result", "id": result.pk}]},
        format="json",
    )

    assert response.status_code == 400 and TYPED not in response.content.decode()
    assert response.json()["errors"]["key"] == ["Bugzilla has no issue 4242 this project can link."]
    assert not Link.objects.filter(project=project).exists()


def test_a_key_linked_nowhere_any_more_takes_the_title_the_next_project_types(client, typed, outsider):
    Link.objects.all().delete()
    project, integration, member, result = outsider
    client.force_login(member)

    assert check(client, "OUT", integration, "4242").json()["title"] == ""
    filing_services.link_existing(
        integration=integration, actor=member, typed_key="4242", artefact=result, site_url="http://t/", title="Ours"
    )
    assert ExternalReference.objects.get(key="4242").title == "Ours"


def test_what_a_read_tracker_says_about_a_key_is_seen_by_every_project_reading_it(client, fake_jira_cloud):
    shop = ProjectFactory(key="SHOP")
    jira = jira_world(fake_jira_cloud, shop)
    remote = jira.fake.add_issue("SHOP", "Card payments time out")
    shop_member = MembershipFactory(project=shop, role=Role.MEMBER).user
    result = TestResultFactory(run__project=shop, case__project=shop, status=ResultStatus.FAILED)
    filing_services.link_existing(
        integration=jira.integration, actor=shop_member, typed_key=remote.key, artefact=result, site_url="http://t/"
    )
    web = ProjectFactory(key="WEB")
    reading = ProjectIntegrationFactory(project=web, source=jira.source, external_project="SHOP")
    client.force_login(MembershipFactory(project=web, role=Role.MEMBER).user)

    assert check(client, "WEB", reading, remote.key).json()["title"] == "Card payments time out"


def test_a_search_through_a_shared_jira_looks_only_in_the_asking_projects_jira_projects(fake_jira_cloud):
    shop = ProjectFactory(key="SHOP")
    jira = jira_world(fake_jira_cloud, shop)
    jira.fake.add_project("WEB", "Web", issue_types=("Bug",))
    jira.fake.add_issue("SHOP", "Card payments time out")
    theirs = jira.fake.add_issue("WEB", "Card payments double charge")
    web = ProjectFactory(key="WEB")
    reading = ProjectIntegrationFactory(project=web, source=jira.source, external_project="WEB")
    member = MembershipFactory(project=web, role=Role.MEMBER).user

    found = filing_services.search(reading, member, "payments")

    assert [issue.key for issue in found] == [theirs.key]
    (sent,) = [request for request in jira.fake.requests if request.path.endswith("/search/jql")]
    assert sent.json()["jql"] == (
        '(summary ~ "payments" OR description ~ "payments") AND project in ("WEB") ORDER BY updated DESC'
    )
