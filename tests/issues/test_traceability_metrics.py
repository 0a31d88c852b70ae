"""The project page's charts: defects found per run and issue resolution times, as inline SVG."""

from datetime import timedelta

import pytest
from django.utils import timezone

from issues.metrics import HEIGHT, bar_chart, defects_per_run, resolution_times
from issues.models import Issue, IssueStatus
from issues.services import link
from projects.models import Role
from tests.factories import (
    ExternalReferenceFactory, MembershipFactory, ProjectFactory, TestResultFactory, TestRunFactory, make_issue,
)

pytestmark = pytest.mark.django_db


def test_bars_scale_to_the_largest_value():
    chart = bar_chart("Title", "issues", [("a", 1), ("b", 4), ("c", 0)])

    assert [(bar.label, bar.height, bar.y) for bar in chart.bars] == [("a", HEIGHT / 4, HEIGHT * 3 / 4),
                                                                       ("b", HEIGHT, 0), ("c", 0, HEIGHT)]
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


def test_resolution_time_of_the_latest_resolved_issues():
    project = ProjectFactory(key="SHOP")
    now = timezone.now()
    for name, days, status in (("Fast", 1.5, IssueStatus.RESOLVED), ("Slow", 10, IssueStatus.CLOSED),
                               ("Open", 3, IssueStatus.OPEN)):
        issue = make_issue(project, name=name, status=status)
        Issue.objects.filter(pk=issue.pk).update(created_at=now - timedelta(days=days),
                                                 updated_at=now - timedelta(minutes=len(name)))

    chart = resolution_times(project)

    assert [(bar.label, bar.value) for bar in chart.bars] == [("SHOP-1", 1.5), ("SHOP-2", 10.0)]


def test_the_project_page_draws_both_charts(client):
    project = ProjectFactory(key="SHOP")
    link(artefact=TestResultFactory(run=TestRunFactory(project=project)), issue=make_issue(project))
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)

    page = client.get("/projects/SHOP/").content.decode()

    assert '<svg viewBox="0 0 300 104"' in page and 'aria-label="Defects found per run"' in page
    assert "Days to resolve (report to last change)" in page and "Nothing to show yet." in page
