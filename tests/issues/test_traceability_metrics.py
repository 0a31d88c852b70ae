"""The project page's charts: defects found per run and issue resolution times (internal and per tracker,
and the latest resolved issues), as inline SVG, checked against hand-built data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from issues.core.models import Issue, IssueStatus, StatusCategory
from issues.links.services import link
from issues.reports.metrics import (
    HEIGHT,
    ISSUES_SHOWN,
    bar_chart,
    defects_per_run,
    resolution_by_tracker,
    resolution_times,
)
from issues.sync.models import DefectSync
from projects.models import Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
    TestRunFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


def test_bars_scale_to_the_largest_value():
    chart = bar_chart("Title", "issues", [("a", 1), ("b", 4), ("c", 0)])

    assert [(bar.label, bar.height, bar.y) for bar in chart.bars] == [
        ("a", HEIGHT / 4, HEIGHT * 3 / 4),
        ("b", HEIGHT, 0),
        ("c", 0, HEIGHT),
    ]
    assert chart.bars[1].x == chart.bars[0].width + 4 and not chart.empty
    assert bar_chart("Title", "issues", []).empty


def test_defects_per_run_counts_each_issue_once_per_run():
    project = ProjectFactory(key="SHOP")
    first, second, empty = (TestRunFactory(project=project, name=name) for name in ("Build 1", "Build 2", "Build 3"))
    crash, bug = make_issue(project), ExternalReferenceFactory(key="BUG-1")
    for result in (TestResultFactory(run=first), TestResultFactory(run=first)):  # one issue on two results
        link(artefact=result, issue=crash)
    link(artefact=TestResultFactory(run=second), issue=crash)
    link(artefact=TestResultFactory(run=second), reference=bug)
    elsewhere = TestRunFactory(project=ProjectFactory())
    link(artefact=TestResultFactory(run=elsewhere), issue=make_issue(elsewhere.project))

    chart = defects_per_run(project)

    assert [(bar.label, bar.value) for bar in chart.bars] == [("Build 1", 1), ("Build 2", 2), ("Build 3", 0)]


def resolved(issue, *, created, resolved, estimated=False):
    """Date an issue's report and resolution, as if it happened then."""
    Issue.objects.filter(pk=issue.pk).update(created_at=created, resolved_at=resolved, resolved_at_estimated=estimated)


def tracker_issue(source, key, *, created, resolved, project=None, status_category=StatusCategory.DONE):
    reference = ExternalReferenceFactory(
        source=source, key=key, status_category=status_category, remote_created_at=created, remote_resolved_at=resolved
    )
    if project is not None:
        link(artefact=TestResultFactory(run=TestRunFactory(project=project)), reference=reference)
    return reference


@pytest.fixture
def now():
    return timezone.now()


def test_median_days_to_resolve_of_internal_issues_and_of_each_tracker(now):
    project = ProjectFactory(key="SHOP")
    for days in (1, 2, 6):
        resolved(
            make_issue(project, status=IssueStatus.RESOLVED),
            created=now - timedelta(days=days + 10),
            resolved=now - timedelta(days=10),
        )
    make_issue(project)  # open: not resolved, not counted
    jira, github = SourceFactory(name="Jira"), SourceFactory(name="GitHub")
    for key, days in (("SHOP-10", 3), ("SHOP-11", 5)):
        tracker_issue(jira, key, created=now - timedelta(days=days), resolved=now, project=project)
    tracker_issue(github, "acme/web#1", created=now - timedelta(hours=12), resolved=now, project=project)
    tracker_issue(github, "acme/web#2", created=now - timedelta(days=40), resolved=now)  # linked nowhere
    tracker_issue(
        github,
        "acme/web#3",
        created=now - timedelta(days=9),
        resolved=now,  # another project's
        project=ProjectFactory(),
    )
    tracker_issue(
        jira,
        "SHOP-12",
        created=now - timedelta(days=1),
        resolved=None,
        project=project,
        status_category=StatusCategory.TO_DO,
    )

    chart = resolution_by_tracker(project)

    assert [(bar.label, bar.value, bar.note) for bar in chart.bars] == [
        ("Internal issues", 2.0, "3 resolved issues"),
        ("GitHub", 0.5, "1 resolved issue"),
        ("Jira", 4.0, "2 resolved issues"),
    ]
    assert chart.legend and chart.title == "Median days to resolve, per tracker"


def test_a_defect_kept_in_step_with_a_tracker_counts_under_its_tracker_only(now):
    project = ProjectFactory(key="SHOP")
    jira = SourceFactory(name="Jira")
    reference = tracker_issue(jira, "SHOP-10", created=now - timedelta(days=4), resolved=now, project=project)
    defect = make_issue(project, status=IssueStatus.CLOSED)
    DefectSync.objects.create(
        issue=defect,
        reference=reference,
        synced_status=IssueStatus.CLOSED,
        synced_priority=defect.priority,
        integration=ProjectIntegrationFactory(project=project, source=jira),
    )

    assert [(bar.label, bar.value) for bar in resolution_by_tracker(project).bars] == [("Jira", 4.0)]


def test_issues_resolved_before_resolution_times_were_kept_are_marked_approximate(now):
    project = ProjectFactory(key="SHOP")
    resolved(
        make_issue(project, status=IssueStatus.CLOSED),
        created=now - timedelta(days=8),
        resolved=now - timedelta(days=4),
        estimated=True,
    )
    resolved(make_issue(project, status=IssueStatus.RESOLVED), created=now - timedelta(days=3), resolved=now)

    by_tracker, latest = resolution_by_tracker(project), resolution_times(project)

    assert [(bar.label, bar.value) for bar in by_tracker.bars] == [("Internal issues", 3.5)]
    assert by_tracker.bars[0].note == "2 resolved issues, 1 ≈ dated by their last change"
    assert [(bar.label, bar.value) for bar in latest.bars] == [("SHOP#1 ≈", 4.0), ("SHOP#2", 3.0)]
    assert by_tracker.note == latest.note == "≈ dated by its last change: resolved before resolution times were kept."


def test_the_latest_resolved_issues_internal_and_tracker_in_the_order_they_were_resolved(now):
    project = ProjectFactory(key="SHOP")
    jira = SourceFactory(name="Jira")
    for name, days, resolved_days_ago, status in (
        ("Fast", 1.5, 3, IssueStatus.RESOLVED),
        ("Slow", 10, 2, IssueStatus.CLOSED),
    ):
        resolved(
            make_issue(project, name=name, status=status),
            resolved=now - timedelta(days=resolved_days_ago),
            created=now - timedelta(days=resolved_days_ago + days),
        )
    make_issue(project, name="Open")
    tracker_issue(jira, "BUG-7", created=now - timedelta(days=6), resolved=now - timedelta(days=5), project=project)
    tracker_issue(jira, "BUG-8", created=now - timedelta(days=1), resolved=now, project=ProjectFactory())

    chart = resolution_times(project)

    assert [(bar.label, bar.value) for bar in chart.bars] == [("BUG-7 · Jira", 1.0), ("SHOP#1", 1.5), ("SHOP#2", 10.0)]
    assert chart.note == "" and chart.title == "Days to resolve, latest resolved issues"


def test_only_the_latest_ten_resolved_issues_are_drawn(now):
    project = ProjectFactory(key="SHOP")
    jira = SourceFactory(name="Jira")
    for number in range(1, 8):
        resolved(
            make_issue(project, status=IssueStatus.RESOLVED),
            created=now - timedelta(days=30),
            resolved=now - timedelta(days=number * 2),
        )
        tracker_issue(
            jira,
            f"BUG-{number}",
            created=now - timedelta(days=30),
            resolved=now - timedelta(days=number * 2 + 1),
            project=project,
        )

    labels = [bar.label for bar in resolution_times(project).bars]

    assert labels == [
        "BUG-5 · Jira",
        "SHOP#5",
        "BUG-4 · Jira",
        "SHOP#4",
        "BUG-3 · Jira",
        "SHOP#3",
        "BUG-2 · Jira",
        "SHOP#2",
        "BUG-1 · Jira",
        "SHOP#1",
    ]


def test_without_resolved_issues_the_charts_say_so():
    project = ProjectFactory(key="SHOP")
    make_issue(project)

    by_tracker, latest = resolution_by_tracker(project), resolution_times(project)

    assert by_tracker.empty and by_tracker.empty_text.startswith("No resolved issues yet.")
    assert latest.empty and latest.empty_text == "No resolved issues yet."


def test_the_charts_read_the_same_few_rows_however_many_issues_there_are(now, django_assert_max_num_queries):
    project = ProjectFactory(key="SHOP")
    jira, github = SourceFactory(name="Jira"), SourceFactory(name="GitHub")
    run = TestRunFactory(project=project)
    for number in range(30):
        issue = make_issue(project, status=IssueStatus.RESOLVED)
        link(artefact=TestResultFactory(run=run), issue=issue)
        for source in (jira, github):
            reference = tracker_issue(source, f"K-{number}", created=now - timedelta(days=number + 1), resolved=now)
            link(artefact=TestResultFactory(run=run), reference=reference)

    with django_assert_max_num_queries(6):
        charts = [defects_per_run(project), resolution_by_tracker(project), resolution_times(project)]

    assert [len(chart.bars) for chart in charts] == [1, 3, ISSUES_SHOWN] and charts[0].bars[0].value == 90


def test_the_project_page_draws_the_charts_with_a_legend_of_trackers(client, now):
    project = ProjectFactory(key="SHOP")
    link(artefact=TestResultFactory(run=TestRunFactory(project=project)), issue=make_issue(project))
    tracker_issue(SourceFactory(name="Jira"), "BUG-1", created=now - timedelta(days=2), resolved=now, project=project)
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)

    page = client.get("/projects/SHOP/").content.decode()

    assert '<svg viewBox="0 0 300 104"' in page and 'aria-label="Defects found per run"' in page
    assert 'aria-label="Median days to resolve, per tracker"' in page
    assert "<li>Jira: 2.0 days (1 resolved issue)</li>" in page
    assert 'aria-label="Days to resolve, latest resolved issues"' in page


def test_the_project_page_says_when_nothing_was_resolved(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)

    page = client.get("/projects/SHOP/").content.decode()

    assert "No resolved issues yet. Tracker issues count once linked here" in page
