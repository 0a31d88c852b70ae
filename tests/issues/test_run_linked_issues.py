"""The run page's linked-issues panel counts the issues linked to the run's results, once each."""

import pytest
from django.urls import reverse

from issues.links.services import link
from projects.models import ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    TestResultFactory,
    TestRunFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


def test_the_panel_counts_each_issue_linked_to_the_runs_results_once(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
    run = TestRunFactory(project=project)
    first, second = (TestResultFactory(run=run, status=ResultStatus.FAILED) for _ in range(2))
    issue, reference = make_issue(project, name="Cart empties"), ExternalReferenceFactory(key="JIRA-9")
    for result in (first, second):
        link(artefact=result, issue=issue)
    link(artefact=second, reference=reference)
    elsewhere = TestResultFactory(run=TestRunFactory(project=project))
    link(artefact=elsewhere, issue=make_issue(project, name="Not in this run"))

    panel = client.get(reverse("projects:run", args=["SHOP", run.pk])).text.split('id="linked-issues"')[1]
    panel = panel.split("</section>")[0]

    assert "Linked to its results: 2 issues" in panel
    assert "Cart empties" in panel and "2 results" in panel and "JIRA-9" in panel
    assert "Not in this run" not in panel and "No linked issues." not in panel


def test_a_run_without_linked_results_says_so(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
    run = TestRunFactory(project=project)
    TestResultFactory(run=run)

    panel = client.get(reverse("projects:run", args=["SHOP", run.pk])).text.split('id="linked-issues"')[1]

    assert "Linked to its results: 0 issues" in panel and "No linked issues." in panel
