"""/api/issues reads a page's related rows in flat queries: the count does not grow with the page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from issues.core.models import Issue, Tag
from issues.links.models import Link

pytestmark = pytest.mark.django_db


def add_tagged_linked_issues(world, count):
    """``count`` more issues of SHOP, each with two tags and a link to every kind of artefact."""
    artefacts = world.mine
    first = Issue.objects.filter(project=artefacts.project).order_by("-number").first().number + 1
    issues = Issue.objects.bulk_create(
        Issue(project=artefacts.project, number=number, name=f"Issue {number}", reporter=world.users["member"])
        for number in range(first, first + count)
    )
    tags = [Tag.objects.get_or_create(project=artefacts.project, name=name)[0] for name in ("ui", "checkout")]
    Issue.tags.through.objects.bulk_create(Issue.tags.through(issue=issue, tag=tag) for issue in issues for tag in tags)
    kinds = {"test_case": artefacts.case, "test_run": artefacts.run, "test_result": artefacts.result}
    kinds["requirement"] = artefacts.requirement
    Link.objects.bulk_create(
        Link(project=artefacts.project, issue=issue, created_by=world.users["member"], **{field: artefact})
        for issue in issues
        for field, artefact in kinds.items()
    )


def queries_for_the_list(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/issues", {"project": "SHOP", "page_size": 500})
    assert response.status_code == 200
    return response.json(), len(captured)


def test_the_issue_list_runs_the_same_queries_for_5_and_500_tagged_linked_issues(world, client_as):
    client = client_as("viewer")
    client.get("/api/issues")  # the token's first use of the minute records it (one UPDATE)
    add_tagged_linked_issues(world, 4)
    few, queries_for_few = queries_for_the_list(client)
    add_tagged_linked_issues(world, 495)
    many, queries_for_many = queries_for_the_list(client)

    assert (few["count"], many["count"]) == (5, 500)
    assert queries_for_many == queries_for_few == 6  # token, project, count, page, tags, links
    assert all(len(issue["links"]) == 4 and issue["tags"] == ["checkout", "ui"] for issue in many["results"][:499])


def test_each_listed_issue_reads_as_it_does_on_its_own(world, client_as):
    """The list's flat rows show exactly what the single-issue endpoint shows from the relations."""
    client = client_as("viewer")
    add_tagged_linked_issues(world, 3)
    listed = client.get("/api/issues", {"project": "SHOP"}).json()["results"]

    assert len(listed) == 4
    for issue in listed:
        assert client.get(f"/api/issues/{issue['id']}").json() == issue
    assert {link["type"] for link in listed[0]["links"]} == {"case", "run", "result", "requirement"}
    result_link = next(link for link in listed[0]["links"] if link["type"] == "result")
    assert result_link["title"] == f"{world.mine.case.title} in {world.mine.run.name}"
    assert result_link["created_by"] == "member"
