"""Test cases covering a pulled requirement are listed in one comment on its remote item, edited
(never posted again) when the coverage changes. Against the fake Jira Cloud, Azure DevOps and GitHub."""

import pytest
from django.core.exceptions import ValidationError

from integrations.mappings import default_priority_mapping
from integrations.models import AuthType, Provider
from issues.pulls.coverage import NO_COVERAGE, cover, uncover, update_comment
from issues.pulls.models import Coverage, PulledRequirement
from issues.pulls.requirements import pull_requirements, save_settings
from projects.models import Requirement
from tests.factories import ProjectFactory, ProjectIntegrationFactory, SourceFactory, TestCaseFactory
from tests.fakes.fixtures import ADO_PAT, CLOUD_API_TOKEN, CLOUD_LOGIN, GITHUB_LOGIN, GITHUB_TOKEN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

SITE = "https://tm.example.com/"


def pull_one(source, external_project, requirements_filter, *, comment=True):
    integration = ProjectIntegrationFactory(
        project=ProjectFactory(key="SHOP"),
        source=source,
        external_project=external_project,
        priority_mapping=default_priority_mapping(),
    )
    save_settings(
        integration,
        pull_requirements=True,
        requirements_filter=requirements_filter,
        requirement_types=[],
        state_mapping={},
        release_field="",
        release_date_fields=[],
        sprint_field="",
        comment_linked_tests=comment,
    )
    pull_requirements(integration)
    return Requirement.objects.get()


@pytest.fixture
def jira(fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.story = fake_jira_cloud.add_issue("SHOP", "Pay by card", issue_type="Story", labels=["req"])
    fake_jira_cloud.source = SourceFactory(
        provider=Provider.JIRA_CLOUD,
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        can_add_comments=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    return fake_jira_cloud


def comments_on(fake, key):
    from tests.fakes.jira import plain_text

    return [plain_text(comment.body) for comment in fake.issue(key).comments]


def test_the_covering_tests_comment_is_posted_once_then_edited_as_links_change(jira, committed):
    requirement = pull_one(jira.source, "SHOP", "labels = req")
    checkout = TestCaseFactory(project=requirement.project, title="Checkout with a card")
    refund = TestCaseFactory(project=requirement.project, title="Refund to the card")

    committed(cover, requirement, checkout, site_url=SITE)
    assert len(comments_on(jira, jira.story.key)) == 1
    assert "Covered by 1 test in testmanager" in comments_on(jira, jira.story.key)[0]

    committed(cover, requirement, refund, site_url=SITE)
    committed(cover, requirement, refund, site_url=SITE)  # again: nothing changes
    [text] = comments_on(jira, jira.story.key)
    assert "Covered by 2 tests in testmanager" in text
    assert "Checkout with a card" in text and "Refund to the card" in text

    committed(uncover, Coverage.objects.get(test_case=checkout), site_url=SITE)
    [text] = comments_on(jira, jira.story.key)
    assert "Covered by 1 test" in text and "Checkout with a card" not in text

    committed(uncover, Coverage.objects.get(test_case=refund), site_url=SITE)
    assert comments_on(jira, jira.story.key) == [NO_COVERAGE]
    assert len(jira.requests_to("POST", r"/rest/api/3/issue/[^/]+/comment")) == 1
    assert len(jira.requests_to("PUT", r"/rest/api/3/issue/[^/]+/comment/.+")) == 3


def test_the_comment_links_each_test_case_page(jira, committed):
    requirement = pull_one(jira.source, "SHOP", "labels = req")
    case = TestCaseFactory(project=requirement.project, title="Checkout [fast]")

    committed(cover, requirement, case, site_url=SITE)

    posted = PulledRequirement.objects.get().coverage_comment
    assert posted == (
        f"Covered by 1 test in testmanager:\n\n- [Checkout \\[fast\\]]({SITE}projects/SHOP/cases/{case.pk}/)"
    )


def test_a_comment_deleted_in_the_tracker_is_posted_again(jira, committed):
    requirement = pull_one(jira.source, "SHOP", "labels = req")
    committed(cover, requirement, TestCaseFactory(project=requirement.project), site_url=SITE)
    jira.issue(jira.story.key).comments.clear()

    committed(cover, requirement, TestCaseFactory(project=requirement.project), site_url=SITE)

    [text] = comments_on(jira, jira.story.key)
    assert "Covered by 2 tests" in text


def test_nothing_is_posted_without_the_option_or_the_capability(jira, committed):
    requirement = pull_one(jira.source, "SHOP", "labels = req", comment=False)
    committed(cover, requirement, TestCaseFactory(project=requirement.project), site_url=SITE)
    assert comments_on(jira, jira.story.key) == []

    integration = PulledRequirement.objects.get().integration
    integration.comment_linked_tests = True
    integration.save()
    jira.source.can_add_comments = False
    jira.source.save()
    assert update_comment(requirement.pk, SITE) == f"not commented: {jira.source.name} may not add comments"
    assert comments_on(jira, jira.story.key) == []


def test_an_own_requirement_gets_no_comment_and_cases_of_another_project_are_refused(jira, committed):
    own = Requirement.objects.create(project=ProjectFactory(key="BANK"), title="Written here")
    committed(cover, own, TestCaseFactory(project=own.project), site_url=SITE)
    assert Coverage.objects.filter(requirement=own).count() == 1
    assert jira.requests == []
    with pytest.raises(ValidationError, match="only cover requirements of its own project"):
        cover(own, TestCaseFactory(), site_url=SITE)


def test_azure_devops_gets_the_same_single_comment(fake_azure_devops, committed):
    fake = fake_azure_devops
    fake.add_project("Fabrikam")
    item = fake.add_work_item("Fabrikam", "User Story", "Pay by card", System_Tags="req")
    source = SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        base_url=fake.base_url,
        allow_http=True,
        can_add_comments=True,
        auth_type=AuthType.PAT,
        credentials={"token": ADO_PAT},
        issue_url_template="",
    )
    requirement = pull_one(source, "Fabrikam", "[System.Tags] CONTAINS 'req'")

    committed(cover, requirement, TestCaseFactory(project=requirement.project, title="Checkout"), site_url=SITE)
    committed(cover, requirement, TestCaseFactory(project=requirement.project, title="Refund"), site_url=SITE)

    [comment] = fake.work_item(item.id).comments
    assert "Covered by 2 tests in testmanager" in comment.text and "Refund" in comment.text


def test_github_gets_one_comment_edited_as_links_change(fake_github, committed):
    fake = fake_github
    fake.add_repo("acme/shop")
    story = fake.add_issue("acme/shop", "Pay by card", author=GITHUB_LOGIN, labels=("requirement",))
    source = SourceFactory(
        provider=Provider.GITHUB,
        base_url=fake.web_url,
        allow_http=True,
        can_add_comments=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITHUB_TOKEN},
        issue_url_template="",
    )
    requirement = pull_one(source, "acme/shop", "label:requirement")
    checkout = TestCaseFactory(project=requirement.project, title="Checkout")

    committed(cover, requirement, checkout, site_url=SITE)
    committed(cover, requirement, TestCaseFactory(project=requirement.project, title="Refund"), site_url=SITE)
    committed(uncover, Coverage.objects.get(test_case=checkout), site_url=SITE)

    [comment] = story.comments
    assert comment.body.startswith("Covered by 1 test in testmanager") and "Refund" in comment.body
    assert "Checkout" not in comment.body
    assert str(comment.id) == PulledRequirement.objects.get().coverage_comment_id
    assert len(fake.requests_to("POST", r".*/issues/\d+/comments")) == 1
    assert len(fake.requests_to("PATCH", r".*/issues/comments/\d+")) == 2


def test_a_comment_the_tracker_refuses_leaves_the_coverage_recorded(jira, committed, caplog):
    requirement = pull_one(jira.source, "SHOP", "labels = req")
    jira.delete_issue(jira.story.key)

    coverage = committed(cover, requirement, TestCaseFactory(project=requirement.project), site_url=SITE)

    assert Coverage.objects.get() == coverage
    assert "The covering-tests comment of requirement" in caplog.text and "was not updated" in caplog.text
    assert PulledRequirement.objects.get().coverage_comment_id == ""
