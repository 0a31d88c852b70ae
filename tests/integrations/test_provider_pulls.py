"""Pulling work items (``pull``), releases and sprints (``plans``) and editing a comment in place
(``update_comment``): Jira Cloud, Jira Data Center, Azure DevOps and GitHub over real HTTP against
their fakes. GitLab and Linear have modules of their own (test_gitlab_pulls.py, test_linear_pulls.py)."""

import json
from datetime import UTC, date, datetime

import pytest

from integrations.errors import NotFound, PermissionDenied, RemoteValidationError
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import FieldValue, NotConfigured, PullQuery
from integrations.providers.github import PAGE_SIZE
from tests.factories import SourceFactory
from tests.fakes.fixtures import ADO_PAT, CLOUD_API_TOKEN, CLOUD_LOGIN, GITHUB_LOGIN, GITHUB_TOKEN, SERVER_PAT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture(params=["cloud", "server"])
def jira(request):
    """A fake Jira (Cloud, or Data Center under /jira) with the projects SHOP and OTHER, and its provider."""
    if request.param == "cloud":
        fake = request.getfixturevalue("fake_jira_cloud")
        source = SourceFactory(
            provider=Provider.JIRA_CLOUD,
            base_url=fake.base_url,
            allow_http=True,
            auth_type=AuthType.API_TOKEN,
            credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
        )
    else:
        fake = request.getfixturevalue("fake_jira_server")
        source = SourceFactory(
            provider=Provider.JIRA_SERVER,
            base_url=fake.base_url,
            allow_http=True,
            auth_type=AuthType.PAT,
            credentials={"token": SERVER_PAT},
        )
    fake.add_project("SHOP")
    fake.add_project("OTHER")
    fake.provider = provider_for(source)
    return fake


def searched_jql(fake) -> list[str]:
    searches = fake.requests_to("POST", r"/rest/api/(3/search/jql|2/search)")
    return [json.loads(request.body)["jql"] for request in searches]


# -- Jira ----------------------------------------------------------------------------------------


def test_a_jira_pull_takes_the_filtered_items_of_the_project_and_types_with_the_fields_asked_for(jira):
    target = jira.add_field("SHOP", "Story", "Target date", "date")
    jira.add_version("SHOP", "2.0", release_date="2025-06-30")
    jira.add_version("SHOP", "2.1", release_date="2025-09-30")
    story = jira.add_issue(
        "SHOP", "Pay by card", issue_type="Story", description="Cards and wallets", labels=["req"], priority="High"
    )
    story.custom_fields[target.field_id] = "2025-05-15"
    jira.set_fix_versions(story.key, "2.1", "2.0")
    plain = jira.add_issue("SHOP", "Pay by invoice", issue_type="Story", priority="Highest")
    jira.add_issue("SHOP", "Card declined", issue_type="Bug", labels=["req"])
    jira.add_issue("SHOP", "Not asked for", issue_type="Story", labels=["later"])
    jira.add_issue("OTHER", "Another project", issue_type="Story", labels=["req"])

    result = jira.provider.pull(
        PullQuery(
            project="SHOP",
            filter="labels = req OR priority = Highest ORDER BY created DESC",
            item_types=("Story",),
            fields=(target.field_id, "fixVersions", "duedate"),
        )
    )

    assert searched_jql(jira) == [
        'project = "SHOP" AND (labels = req OR priority = Highest) AND issuetype in ("Story") ORDER BY key ASC'
    ]
    assert [item.key for item in result.items] == [story.key, plain.key]
    item = result.items[0]
    assert (item.title, item.description, item.status, item.status_category, item.priority, item.item_type) == (
        "Pay by card",
        "Cards and wallets",
        "To Do",
        "todo",
        "High",
        "Story",
    )
    assert item.url == f"{jira.base_url}/browse/{story.key}"
    assert item.fields == {
        target.field_id: FieldValue("2025-05-15", date(2025, 5, 15)),
        "fixVersions": FieldValue("2.1, 2.0", date(2025, 6, 30)),  # the earliest release
        "duedate": FieldValue(),
    }
    assert result.deleted == frozenset()


def test_a_jira_pull_reads_the_sprint_field_in_the_form_each_deployment_answers(jira):
    story = jira.add_issue("SHOP", "Pay by card", issue_type="Story", labels=["req"])
    sprint_field = jira.add_sprint_field("SHOP", "Story")
    jira.set_sprints(
        story.key,
        sprint_field.field_id,
        jira.add_sprint(3, "Sprint 1", state="closed", end_date="2025-04-14T17:00:00.000Z"),
        jira.add_sprint(3, "Sprint 2", state="active", end_date="2025-04-28T17:00:00.000Z"),
        jira.add_sprint(3, "Sprint 3"),
    )

    result = jira.provider.pull(PullQuery(project="SHOP", filter="labels = req", fields=(sprint_field.field_id,)))

    [item] = result.items
    assert item.fields == {sprint_field.field_id: FieldValue("Sprint 2", date(2025, 4, 28))}


def test_of_the_known_jira_keys_only_the_deleted_issues_count_as_deleted(jira):
    kept = jira.add_issue("SHOP", "Still matching", labels=["req"])
    unlabelled = jira.add_issue("SHOP", "No longer matching")
    gone = jira.add_issue("SHOP", "Deleted")
    jira.delete_issue(gone.key)
    jira.add_project("SECRET")
    hidden = jira.add_issue("SECRET", "Hidden from the account", labels=["req"])
    jira.forbid_project("SECRET")

    result = jira.provider.pull(
        PullQuery(project="SHOP", filter="labels = req"), known=[kept.key, unlabelled.key, gone.key, hidden.key]
    )

    assert [item.key for item in result.items] == [kept.key]
    assert result.deleted == {gone.key}


def test_a_jira_pull_needs_a_project_or_a_filter(jira):
    with pytest.raises(NotConfigured, match="needs a Jira project or a JQL filter"):
        jira.provider.pull(PullQuery(project="", filter="  "))
    assert searched_jql(jira) == []


def test_a_jira_filter_jira_refuses_fails_the_pull_with_jiras_reason(jira):
    with pytest.raises(RemoteValidationError):
        jira.provider.pull(PullQuery(project="SHOP", filter="labels = = req"))


def test_a_jira_comment_is_edited_in_place(jira):
    issue = jira.add_issue("SHOP", "Pay by card")
    comment_id = jira.provider.add_comment(issue.key, "Covered by 1 test")

    jira.provider.update_comment(issue.key, comment_id, "Covered by **2** tests")

    [comment] = jira.provider.comments(issue.key)
    assert (comment.id, comment.body) == (comment_id, "Covered by **2** tests")
    with pytest.raises(NotFound):
        jira.provider.update_comment(issue.key, "424242", "Covered by nothing")


def test_jira_field_values_read_sprints_options_users_and_date_times():
    from integrations.providers.jira import jira_field_value

    sprints = [
        {"id": 1, "name": "Sprint 1", "state": "closed", "endDate": "2025-01-14T17:00:00.000Z"},
        {"id": 2, "name": "Sprint 2", "state": "active", "endDate": "2025-01-28T17:00:00.000Z"},
        {"id": 3, "name": "Sprint 3", "state": "future"},
    ]
    assert jira_field_value(sprints) == FieldValue("Sprint 2", date(2025, 1, 28))
    assert jira_field_value(sprints[::2]) == FieldValue("Sprint 3")  # none active: the last
    assert jira_field_value({"value": "Gold", "id": "10001"}) == FieldValue("Gold")
    assert jira_field_value({"displayName": "Ada Lovelace"}) == FieldValue("Ada Lovelace")
    assert jira_field_value("2025-02-03T10:00:00.000+0100") == FieldValue(
        "2025-02-03T10:00:00.000+0100", date(2025, 2, 3)
    )
    assert jira_field_value("2025-02-03 is the day") == FieldValue("2025-02-03 is the day")
    assert jira_field_value(3.5) == FieldValue("3.5")
    assert jira_field_value(None) == jira_field_value([]) == FieldValue()


def legacy_sprint(id_, state, name, end="<null>"):
    """A sprint as older Jira Server and Data Center versions write it in the sprint field."""
    return (
        f"com.atlassian.greenhopper.service.sprint.Sprint@14b1c3{id_}9[id={id_},rapidViewId=1,state={state},"
        f"name={name},startDate=2024-01-01T10:00:00.000Z,endDate={end},completeDate=<null>,sequence={id_}]"
    )


def test_jira_field_values_read_sprints_in_the_legacy_string_form_of_jira_data_center():
    from integrations.providers.jira import jira_field_value

    sprints = [
        legacy_sprint(1, "CLOSED", "Sprint 1", end="2024-01-14T10:00:00.000Z"),
        legacy_sprint(2, "ACTIVE", "Sprint 2, hardening", end="2024-01-28T10:00:00.000Z"),
        legacy_sprint(3, "FUTURE", "Sprint 3"),
    ]
    assert jira_field_value(sprints) == FieldValue("Sprint 2, hardening", date(2024, 1, 28))
    assert jira_field_value(sprints[::2]) == FieldValue("Sprint 3")  # none active: the last
    assert jira_field_value(sprints[0]) == FieldValue("Sprint 1", date(2024, 1, 14))
    reordered = (
        "com.atlassian.greenhopper.service.sprint.Sprint@3fd7dd59[rapidViewId=58,state=CLOSED,name=Week 7,"
        "endDate=2016-02-23T14:24:00.000Z,completeDate=,goal=Cards, wallets, refunds,id=48]"
    )
    assert jira_field_value([reordered]) == FieldValue("Week 7", date(2016, 2, 23))
    unterminated = "com.atlassian.greenhopper.service.sprint.Sprint@14b1c359[id=1,state=ACTIVE,name=Sprint 1"
    nameless = "com.atlassian.greenhopper.service.sprint.Sprint@14b1c359[id=1,state=ACTIVE]"
    assert jira_field_value(unterminated) == FieldValue(unterminated)
    assert jira_field_value([nameless]) == FieldValue(nameless)
    assert jira_field_value([nameless, sprints[0]]) == FieldValue("Sprint 1", date(2024, 1, 14))


# -- Azure DevOps --------------------------------------------------------------------------------


@pytest.fixture
def ado(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    fake_azure_devops.add_project("Contoso")
    source = SourceFactory(
        provider=Provider.AZURE_DEVOPS,
        base_url=fake_azure_devops.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": ADO_PAT},
        issue_url_template="",
    )
    fake_azure_devops.provider = provider_for(source)
    return fake_azure_devops


def test_an_azure_devops_pull_takes_the_matching_work_items_of_the_project_and_types(ado):
    ado.add_field("Fabrikam", "User Story", "Microsoft.VSTS.Scheduling.TargetDate", "Target Date", "dateTime")
    ado.add_field("Fabrikam", "Task", "Microsoft.VSTS.Scheduling.DueDate", "Due Date", "dateTime")
    story = ado.add_work_item(
        "Fabrikam",
        "User Story",
        "Pay by card",
        System_Tags="req",
        System_Description="<p>Cards <b>and</b> wallets</p>",
        Microsoft_VSTS_Common_Priority=1,
        Microsoft_VSTS_Scheduling_TargetDate=datetime(2025, 5, 15, tzinfo=UTC),
    )
    ado.add_work_item("Fabrikam", "User Story", "Not tagged")
    ado.add_work_item("Fabrikam", "Bug", "Card declined", System_Tags="req")
    ado.add_work_item("Contoso", "User Story", "Another project", System_Tags="req")

    result = ado.provider.pull(
        PullQuery(
            project="Fabrikam",
            filter="[System.Tags] CONTAINS 'req'",
            item_types=("User Story",),
            fields=(
                "Microsoft.VSTS.Scheduling.TargetDate",
                "System.IterationPath",
                "Microsoft.VSTS.Scheduling.DueDate",
            ),
        )
    )

    [query] = [json.loads(r.body)["query"] for r in ado.requests_to("POST", r"/Fabrikam/_apis/wit/wiql")]
    assert query == (
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'Fabrikam' AND "
        "([System.Tags] CONTAINS 'req') AND [System.WorkItemType] IN ('User Story') ORDER BY [System.Id]"
    )
    [item] = result.items
    assert (item.key, item.title, item.description, item.status, item.priority, item.item_type) == (
        str(story.id),
        "Pay by card",
        "Cards **and** wallets",
        "New",
        "1",
        "User Story",
    )
    assert item.fields == {
        "Microsoft.VSTS.Scheduling.TargetDate": FieldValue("2025-05-15", date(2025, 5, 15)),
        "System.IterationPath": FieldValue("Fabrikam"),
        "Microsoft.VSTS.Scheduling.DueDate": FieldValue(),
    }


def test_of_the_known_work_items_only_those_in_the_recycle_bin_count_as_deleted(ado):
    kept = ado.add_work_item("Fabrikam", "User Story", "Still matching", System_Tags="req")
    untagged = ado.add_work_item("Fabrikam", "User Story", "No longer matching")
    gone = ado.add_work_item("Fabrikam", "User Story", "Deleted", System_Tags="req")
    ado.delete_work_item(gone.id)
    ado.add_project("Secret", members={})
    hidden = ado.add_work_item("Secret", "User Story", "Unreadable", System_Tags="req")

    result = ado.provider.pull(
        PullQuery(project="Fabrikam", filter="[System.Tags] CONTAINS 'req'"),
        known=[str(kept.id), str(untagged.id), str(gone.id), str(hidden.id)],
    )

    assert [item.key for item in result.items] == [str(kept.id)]
    assert result.deleted == {str(gone.id)}


def test_an_azure_devops_pull_takes_a_condition_not_a_whole_query(ado):
    with pytest.raises(RemoteValidationError, match="WIQL condition only"):
        ado.provider.pull(PullQuery(project="Fabrikam", filter="SELECT [System.Id] FROM WorkItems"))
    with pytest.raises(NotConfigured, match="names no Azure DevOps project"):
        ado.provider.pull(PullQuery(project=" ", filter="[System.Tags] CONTAINS 'req'"))
    assert ado.requests_to("POST", r".*/wiql") == []


def test_an_azure_devops_comment_is_edited_in_place(ado):
    story = ado.add_work_item("Fabrikam", "User Story", "Pay by card")
    comment_id = ado.provider.add_comment(str(story.id), "Covered by 1 test")

    ado.provider.update_comment(str(story.id), comment_id, "Covered by **2** tests")

    [comment] = ado.provider.comments(str(story.id))
    assert (comment.id, comment.body) == (comment_id, "Covered by **2** tests")
    with pytest.raises(NotFound):
        ado.provider.update_comment(str(story.id), "424242", "Covered by nothing")


# -- releases and sprints ------------------------------------------------------------------------


def test_jira_plans_are_the_projects_versions_and_the_boards_sprints(jira):
    jira.add_version("SHOP", "2.0", start_date="2025-04-01", release_date="2025-06-30", released=True)
    jira.add_version("SHOP", "3.0")
    jira.projects["SHOP"].versions.append({"id": "999", "name": "1.0", "archived": True, "released": True})
    jira.add_sprint(
        7, "Sprint 1", state="closed", start_date="2025-05-01T08:00:00.000Z", end_date="2025-05-14T17:00:00.000Z"
    )
    jira.add_sprint(7, "Sprint 2", state="active", start_date="2025-05-15T08:00:00.000Z")

    plans = jira.provider.plans("shop", board="7")

    assert [(plan.kind, plan.name, plan.start, plan.end, plan.done) for plan in plans] == [
        ("release", "2.0", date(2025, 4, 1), date(2025, 6, 30), True),
        ("release", "3.0", None, None, False),
        ("sprint", "Sprint 1", date(2025, 5, 1), date(2025, 5, 14), True),
        ("sprint", "Sprint 2", date(2025, 5, 15), None, False),
    ]
    assert [plan.kind for plan in jira.provider.plans("SHOP")] == ["release", "release"]  # no board, no sprints


def test_a_jira_board_is_named_by_its_number(jira):
    with pytest.raises(RemoteValidationError, match="“Team board” is not a Jira board id"):
        jira.provider.plans("SHOP", board="Team board")
    with pytest.raises(NotFound):
        jira.provider.plans("SHOP", board="404")


def test_azure_devops_plans_are_iterations_releases_above_their_sprints(ado):
    ado.add_iteration(
        "Fabrikam",
        "Release 1\\Sprint 1",
        start=datetime(2020, 1, 6, tzinfo=UTC),
        finish=datetime(2020, 1, 17, tzinfo=UTC),
    )
    ado.add_iteration(
        "Fabrikam",
        "Release 1\\Sprint 2",
        start=datetime(2099, 1, 20, tzinfo=UTC),
        finish=datetime(2099, 1, 31, tzinfo=UTC),
    )
    ado.add_iteration("Fabrikam", "Hotfixes")

    plans = ado.provider.plans("Fabrikam")

    assert [(plan.kind, plan.name, plan.start, plan.end, plan.done) for plan in plans] == [
        ("release", "Release 1", None, None, False),
        ("sprint", "Sprint 1", date(2020, 1, 6), date(2020, 1, 17), True),
        ("sprint", "Sprint 2", date(2099, 1, 20), date(2099, 1, 31), False),
        ("sprint", "Hotfixes", None, None, False),
    ]
    assert len({plan.id for plan in plans}) == 4


# -- GitHub --------------------------------------------------------------------------------------


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.add_repo("acme/web")
    source = SourceFactory(
        provider=Provider.GITHUB,
        base_url=fake_github.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITHUB_TOKEN},
        issue_url_template="",
    )
    fake_github.provider = provider_for(source)
    return fake_github


def test_a_github_pull_takes_the_repositorys_issues_the_qualifiers_select(github):
    release = github.add_milestone("acme/shop", "v2.0")
    story = github.add_issue(
        "acme/shop",
        "Pay by card",
        author=GITHUB_LOGIN,
        body="Cards **and** wallets",
        labels=("requirement", "checkout"),
    )
    github.edit_issue("acme/shop", story.number, milestone=release)
    github.add_issue("acme/shop", "Not a requirement", author=GITHUB_LOGIN, labels=("bug",))
    github.add_issue("acme/shop", "A pull request", author=GITHUB_LOGIN, labels=("requirement",), pull_request=True)
    github.add_issue("acme/web", "Another repository", author=GITHUB_LOGIN, labels=("requirement",))

    result = github.provider.pull(
        PullQuery(project="acme/shop", filter="label:requirement", fields=("milestone", "labels", "closed_at"))
    )

    [item] = result.items
    assert (item.key, item.title, item.description, item.status, item.status_category) == (
        "acme/shop#1",
        "Pay by card",
        "Cards **and** wallets",
        "Open",
        "todo",
    )
    assert item.fields == {
        "milestone": FieldValue("v2.0"),
        "labels": FieldValue("requirement, checkout"),
        "closed_at": FieldValue(),
    }
    [search] = github.requests_to("GET", r"/search/issues")
    assert search.param("q") == "label:requirement is:issue repo:acme/shop"


def test_of_the_known_github_keys_only_the_deleted_issues_count_as_deleted(github):
    kept = github.add_issue("acme/shop", "Still labelled", author=GITHUB_LOGIN, labels=("requirement",))
    unlabelled = github.add_issue("acme/shop", "No longer labelled", author=GITHUB_LOGIN)
    gone = github.add_issue("acme/shop", "Deleted", author=GITHUB_LOGIN, labels=("requirement",))
    github.delete_issue("acme/shop", gone.number)

    result = github.provider.pull(
        PullQuery(project="acme/shop", filter="label:requirement"),
        known=[f"acme/shop#{n}" for n in (kept.number, unlabelled.number, gone.number)],
    )

    assert [item.key for item in result.items] == [f"acme/shop#{kept.number}"]
    assert result.deleted == {f"acme/shop#{gone.number}"}


def test_github_issues_have_no_types_to_select_by(github):
    with pytest.raises(RemoteValidationError, match="no work item types"):
        github.provider.pull(PullQuery(project="acme/shop", item_types=("Story",)))
    with pytest.raises(NotConfigured, match="not a GitHub repository"):
        github.provider.pull(PullQuery(project="shop"))


def test_a_github_pull_gives_the_milestone_its_due_date(github):
    release = github.add_milestone("acme/shop", "v2.0", due_on=datetime(2025, 9, 30, 7, tzinfo=UTC))
    story = github.add_issue("acme/shop", "Pay by card", author=GITHUB_LOGIN, labels=("requirement",))
    github.edit_issue("acme/shop", story.number, milestone=release)
    github.add_issue("acme/shop", "Not planned yet", author=GITHUB_LOGIN, labels=("requirement",))

    result = github.provider.pull(PullQuery(project="acme/shop", filter="label:requirement", fields=("milestone",)))

    assert [item.fields["milestone"] for item in result.items] == [FieldValue("v2.0", date(2025, 9, 30)), FieldValue()]


def test_a_github_comment_is_edited_in_place(github):
    issue = github.add_issue("acme/shop", "Pay by card", author=GITHUB_LOGIN)
    key = f"acme/shop#{issue.number}"
    comment_id = github.provider.add_comment(key, "Covered by 1 test")

    github.provider.update_comment(key, comment_id, "Covered by **2** tests")

    [comment] = github.provider.comments(key)
    assert (comment.id, comment.body) == (comment_id, "Covered by **2** tests")
    [edit] = github.requests_to("PATCH", r".*/issues/comments/.*")
    assert edit.path.endswith(f"/repos/acme/shop/issues/comments/{comment_id}")
    with pytest.raises(NotFound):
        github.provider.update_comment(key, "424242", "Covered by nothing")
    github.delete_issue("acme/shop", issue.number)
    with pytest.raises(NotFound):
        github.provider.update_comment(key, comment_id, "Covered by nothing")


def test_a_github_comment_of_someone_else_is_not_edited_without_push_access(github):
    github.add_user("alice")
    issue = github.add_issue("acme/shop", "Pay by card", author="alice")
    comment = github.add_comment("acme/shop", issue.number, "Alice's words", author="alice")

    with pytest.raises(PermissionDenied):
        github.provider.update_comment(f"acme/shop#{issue.number}", str(comment.id), "Covered by 1 test")
    assert comment.body == "Alice's words"


def test_github_plans_are_the_repositorys_milestones_without_sprints(github):
    github.add_milestone("acme/shop", "v1.0", state="closed", due_on=datetime(2025, 6, 30, 7, tzinfo=UTC))
    github.add_milestone("acme/shop", "v2.0", due_on=datetime(2025, 9, 30, 7, tzinfo=UTC))
    github.add_milestone("acme/shop", "Someday")
    for number in range(PAGE_SIZE):  # a second page
        github.add_milestone("acme/shop", f"Patch {number}", due_on=datetime(2026, 1, 1, tzinfo=UTC))
    github.add_milestone("acme/web", "Another repository")

    plans = github.provider.plans("acme/shop", board="7")

    assert [(plan.kind, plan.id, plan.name, plan.start, plan.end, plan.done) for plan in plans[:2]] == [
        ("release", "1", "v1.0", None, date(2025, 6, 30), True),
        ("release", "2", "v2.0", None, date(2025, 9, 30), False),
    ]
    assert (plans[-1].name, plans[-1].end) == ("Someday", None)
    assert len(plans) == PAGE_SIZE + 3 and {plan.kind for plan in plans} == {"release"}
    assert [request.param("state") for request in github.requests_to("GET", r".*/milestones")] == ["all", "all"]


def test_github_plans_need_a_repository_the_account_can_see(github):
    with pytest.raises(NotConfigured, match="names no GitHub repository"):
        github.provider.plans(" ")
    with pytest.raises(NotFound):
        github.provider.plans("acme/secret")
