"""Pushing internal issues from the pages: "Push to <tracker>" on an issue shows what the tracker will
receive and pushes once confirmed; "Keep in step with an existing issue" links it by key; the issues
list pushes the selected issues in a background job. Against the fake Jira Cloud over real HTTP."""

import pytest
from django.urls import reverse

from integrations.mappings import default_priority_mapping, default_status_mapping
from integrations.models import AuthType, Provider
from issues.filing.models import FilingJob
from issues.sync.models import DefectSync
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, make_issue
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def jira(fake_jira_cloud, project):
    fake_jira_cloud.add_project("SHOP", issue_types=("Bug", "Task"))
    source = SourceFactory(
        provider=Provider.JIRA_CLOUD,
        name="Acme Jira",
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
        issue_url_template="",
        can_create_issues=True,
    )
    fake_jira_cloud.integration = ProjectIntegrationFactory(
        project=project,
        source=source,
        external_project="SHOP",
        default_issue_type="Bug",
        is_primary=True,
        priority_mapping=default_priority_mapping(),
        status_mapping=default_status_mapping(),
        sync_defects=True,
        push_defect_changes=True,
    )
    return fake_jira_cloud


def login(client, project, role):
    user = MembershipFactory(project=project, role=role).user
    client.force_login(user)
    return user


def push_url(issue, integration):
    return reverse("issues:push", args=[issue.project.key, issue.number, integration.pk])


def test_the_issue_page_offers_a_push_that_previews_then_creates_and_keeps_in_step(client, project, jira):
    login(client, project, Role.MEMBER)
    issue = make_issue(project, name="Card payments time out", description="Pay with **Visa**.", priority="critical")
    page = client.get(reverse("issues:detail", args=["SHOP", issue.number])).content.decode()
    assert "Push to Acme Jira" in page and push_url(issue, jira.integration) in page

    preview = client.get(push_url(issue, jira.integration)).content.decode()

    assert "Card payments time out" in preview and "High" in preview and "Bug" in preview
    assert jira.issues == {}  # a preview creates nothing

    done = client.post(push_url(issue, jira.integration), follow=True).content.decode()

    assert "Pushed to Acme Jira as SHOP-1" in done and "Kept in step with" in done
    assert "Push to Acme Jira" not in done
    assert DefectSync.objects.get(issue=issue).reference.key == "SHOP-1"


def test_pushing_again_is_refused_with_the_key(client, project, jira):
    login(client, project, Role.MEMBER)
    issue = make_issue(project)
    client.post(push_url(issue, jira.integration))

    again = client.post(push_url(issue, jira.integration), follow=True).content.decode()

    assert "already kept in step with SHOP-1" in again and len(jira.issues) == 1


def test_viewers_see_no_push_and_may_not_push(client, project, jira):
    login(client, project, Role.VIEWER)
    issue = make_issue(project)

    assert "Push to" not in client.get(reverse("issues:detail", args=["SHOP", issue.number])).content.decode()
    assert client.post(push_url(issue, jira.integration)).status_code == 403
    assert jira.issues == {}


def test_a_tracker_that_is_down_is_reported_and_nothing_is_written(client, project, jira):
    login(client, project, Role.MEMBER)
    issue = make_issue(project)
    jira.stop()

    page = client.post(push_url(issue, jira.integration), follow=True).content.decode()

    assert "Nothing was pushed" in page and not DefectSync.objects.exists()


def test_an_issue_is_kept_in_step_with_an_existing_tracker_issue_by_key(client, project, jira):
    login(client, project, Role.MEMBER)
    jira.add_issue("SHOP", "Card payments time out", status="In Progress")
    issue = make_issue(project)

    page = client.post(
        reverse("issues:link_tracker", args=["SHOP", issue.number]),
        {"integration": jira.integration.pk, "key": "SHOP-1"},
        follow=True,
    ).content.decode()

    assert f"{issue.key} is now kept in step with SHOP-1" in page
    assert DefectSync.objects.get(issue=issue).synced_status == "in_progress"


def test_the_list_pushes_the_selected_issues_in_a_job(client, project, jira, django_capture_on_commit_callbacks):
    login(client, project, Role.MEMBER)
    first, second, left = (make_issue(project, name=name) for name in ("Checkout fails", "No receipt", "Slow"))
    listing = client.get(reverse("issues:list", args=["SHOP"])).content.decode()
    assert 'id="push-selected"' in listing and f'aria-label="Select {first.key}"' in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("issues:push_selected", args=["SHOP"]),
            {"integration": jira.integration.pk, "issue": [first.number, second.number]},
            follow=True,
        )

    job = FilingJob.objects.get()
    assert response.redirect_chain[-1][0] == reverse("issues:filing_job", args=["SHOP", job.pk])
    page = response.content.decode()
    assert "Pushing issues" in page and first.key in page and second.key in page
    assert {sync.issue for sync in DefectSync.objects.all()} == {first, second}
    assert not DefectSync.objects.filter(issue=left).exists()


def test_pushing_nothing_selected_says_so(client, project, jira):
    login(client, project, Role.MEMBER)
    make_issue(project)

    page = client.post(
        reverse("issues:push_selected", args=["SHOP"]), {"integration": jira.integration.pk}, follow=True
    ).content.decode()

    assert "Select the issues to push first." in page and not FilingJob.objects.exists()


def test_an_issue_a_job_could_not_push_is_pushed_by_the_retry_and_only_once(
    client, project, jira, django_capture_on_commit_callbacks
):
    login(client, project, Role.MEMBER)
    issue = make_issue(project, name="Checkout fails")
    jira.fail_next(500, {"errorMessages": ["Internal server error"]}, method="POST", path=r"/rest/api/3/issue")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("issues:push_selected", args=["SHOP"]), {"integration": jira.integration.pk, "issue": 1})
    job = FilingJob.objects.get()
    item = job.items.get()
    assert item.state == "failed" and "may have been created" in item.error and jira.issues == {}
    assert "Retry failed issues" in client.get(reverse("issues:filing_job", args=["SHOP", job.pk])).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("issues:filing_job_retry", args=["SHOP", job.pk]))

    item.refresh_from_db()
    assert item.state == "filed" and item.reference.key == "SHOP-1" and len(jira.issues) == 1
    assert DefectSync.objects.get(issue=issue).reference == item.reference


def test_every_tracker_that_takes_new_issues_is_offered_the_primary_first(client, project, jira):
    login(client, project, Role.MEMBER)
    for provider, name, auth_type in (
        (Provider.GITHUB, "A GitHub", AuthType.PAT),
        (Provider.CUSTOM, "A custom tracker", AuthType.NONE),
    ):
        ProjectIntegrationFactory(
            project=project,
            source=SourceFactory(
                provider=provider, name=name, can_create_issues=True, auth_type=auth_type, credentials={}
            ),
            external_project="acme/shop",
        )
    issue = make_issue(project)

    page = client.get(reverse("issues:detail", args=["SHOP", issue.number])).content.decode()

    offered = page[page.index('id="push-targets"') :]
    assert offered.index("Push to Acme Jira") < offered.index("Push to A GitHub")
    assert "Push to A custom tracker" not in page  # it takes no issues through an API


def test_an_issue_is_kept_in_step_with_a_tracker_issue_found_by_search(client, project, jira):
    login(client, project, Role.MEMBER)
    jira.add_issue("SHOP", "Card payments time out")
    jira.add_issue("SHOP", "Receipts lack the VAT")
    issue = make_issue(project)
    search = reverse("issues:link_tracker_search", args=["SHOP", issue.number])

    found = client.get(search, {"integration": jira.integration.pk, "q": "payments"}).content.decode()

    assert "Card payments time out" in found and "Receipts lack the VAT" not in found
    assert f'aria-label="Keep {issue.key} in step with SHOP-1"' in found
    client.post(
        reverse("issues:link_tracker", args=["SHOP", issue.number]),
        {"integration": jira.integration.pk, "key": "SHOP-1"},
    )
    assert DefectSync.objects.get(issue=issue).reference.key == "SHOP-1"

    nothing = client.get(search, {"integration": jira.integration.pk, "q": "refunds"}).content.decode()
    assert "Nothing in Acme Jira matches “refunds”" in nothing
