"""/api/issues pages by number (`?page=N`) or by cursor (`?cursor=`, keyset reads for deep pages)."""

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext

from issues.core.models import Issue
from projects.pagination import INVALID_CURSOR, OTHER_ORDERING
from tests.factories import UserFactory, make_issue

from .conftest import bearer_client

pytestmark = pytest.mark.django_db


def add_issues(project, count):
    return [make_issue(project, name=f"Issue {number}") for number in range(count)]


def numbers(answer):
    return [issue["number"] for issue in answer["results"]]


def walk(client, first_url, params, direction, between=lambda: None):
    """Every page from first_url on, following `direction` links; ``between`` runs before each next read."""
    pages, answer = [], client.get(first_url, params).json()
    pages.append(numbers(answer))
    while answer[direction]:
        between()
        answer = client.get(answer[direction]).json()
        pages.append(numbers(answer))
    return pages, answer


def test_a_cursor_walk_forward_shows_every_issue_once_while_issues_are_added(world, client_as):
    client = client_as("viewer")
    add_issues(world.project, 11)  # 12 with the world's own
    before = list(Issue.objects.filter(project=world.project).order_by("-number").values_list("number", flat=True))

    pages, last = walk(
        client,
        "/api/issues",
        {"project": "SHOP", "cursor": "", "page_size": 5},
        "next",
        lambda: add_issues(world.project, 2),
    )

    assert [len(page) for page in pages] == [5, 5, 2]
    assert [number for page in pages for number in page] == before  # new issues are above the walk's start
    assert "count" not in last and last["previous"]


def test_a_cursor_walk_backward_from_the_end_reaches_issues_added_meanwhile(world, client_as):
    client = client_as("viewer")
    add_issues(world.project, 11)
    answer = client.get("/api/issues", {"project": "SHOP", "cursor": "", "page_size": 5}).json()
    while answer["next"]:
        answer = client.get(answer["next"]).json()
    seen = numbers(answer)

    while answer["previous"]:
        add_issues(world.project, 1)
        answer = client.get(answer["previous"]).json()
        seen = numbers(answer) + seen

    everything = list(Issue.objects.filter(project=world.project).order_by("-number").values_list("number", flat=True))
    # 12 issues make three pages; the three added before each step back make a fourth on top
    assert seen == everything and len(everything) == 12 + 3
    assert answer["next"] and answer["previous"] is None


def test_a_cursor_keeps_the_requested_ordering_and_its_ties(world, client_as):
    """`ordering=status` is not unique: the id breaks ties, so a walk still shows each issue once."""
    client = client_as("viewer")
    add_issues(world.project, 6)
    pages, _ = walk(
        client, "/api/issues", {"project": "SHOP", "cursor": "", "page_size": 3, "ordering": "status"}, "next"
    )

    walked = [number for page in pages for number in page]
    by_page_number = numbers(
        client.get("/api/issues", {"project": "SHOP", "ordering": "status", "page_size": 10}).json()
    )
    assert sorted(walked) == sorted(by_page_number) == list(range(1, 8))
    assert len(pages) == 3


def test_a_cursor_walks_an_ordering_of_mixed_directions(world, client_as):
    """`status` up and `number` down cannot be one row comparison: the cursor still shows each issue once."""
    client = client_as("viewer")
    issues = add_issues(world.project, 6)
    Issue.objects.filter(pk__in=[issue.pk for issue in issues[::2]]).update(status="in_progress")
    params = {"project": "SHOP", "cursor": "", "page_size": 2, "ordering": "status,-number"}

    pages, _ = walk(client, "/api/issues", params, "next")

    by_page_number = client.get("/api/issues", {"project": "SHOP", "ordering": "status,-number"}).json()
    assert [number for page in pages for number in page] == numbers(by_page_number)
    assert len(pages) == 4


def test_page_numbers_still_work_with_count_and_page_links(world, client_as):
    client = client_as("viewer")
    add_issues(world.project, 11)

    answer = client.get("/api/issues", {"project": "SHOP", "page": 2, "page_size": 5}).json()

    assert answer["count"] == 12
    assert numbers(answer) == [7, 6, 5, 4, 3]
    assert "page=3" in answer["next"] and "cursor" not in answer["next"]
    assert client.get(answer["next"]).json()["results"][-1]["number"] == 1
    assert client.get("/api/issues", {"project": "SHOP", "page": 4, "page_size": 5}).status_code == 404


@pytest.mark.parametrize(
    "cursor, message",
    [
        ("garbage", INVALID_CURSOR),
        ("W1siLW51bWJlciJdLFsxXSxmYWxzZV0:1tQ:forged", INVALID_CURSOR),
    ],
)
def test_a_bad_cursor_is_a_400_naming_it(world, client_as, cursor, message):
    answer = client_as("viewer").get("/api/issues", {"cursor": cursor})

    assert answer.status_code == 400
    assert answer.json()["errors"] == {"cursor": [message]}


def test_a_changed_cursor_is_refused_rather_than_read_as_another_position(world, client_as):
    client = client_as("viewer")
    add_issues(world.project, 3)
    link = client.get("/api/issues", {"project": "SHOP", "cursor": "", "page_size": 2}).json()["next"]
    cursor = link.split("cursor=")[1].split("&")[0]
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")

    answer = client.get("/api/issues", {"project": "SHOP", "cursor": tampered})

    assert answer.status_code == 400 and answer.json()["errors"] == {"cursor": [INVALID_CURSOR]}


def test_a_cursor_read_with_another_ordering_is_a_400(world, client_as):
    client = client_as("viewer")
    add_issues(world.project, 3)
    link = client.get("/api/issues", {"project": "SHOP", "cursor": "", "page_size": 2}).json()["next"]

    answer = client.get(link + "&ordering=-updated_at")

    assert answer.status_code == 400 and answer.json()["errors"] == {"cursor": [OTHER_ORDERING]}


def test_a_cursor_never_shows_another_projects_issues(world, client_as):
    """A system admin's cursor stands on BANK's issue; a SHOP viewer following it sees SHOP's issues only."""
    add_issues(world.other.project, 3)
    admin = bearer_client(UserFactory(is_superuser=True))
    first = admin.get("/api/issues", {"cursor": "", "page_size": 2, "ordering": "-id"}).json()
    assert {issue["project"] for issue in first["results"]} == {"BANK"}
    viewer = client_as("viewer")

    followed = viewer.get(first["next"]).json()
    asked_for_bank = viewer.get("/api/issues", {"project": "BANK", "cursor": ""}).json()

    assert {issue["project"] for issue in followed["results"]} == {"SHOP"}
    assert asked_for_bank == {"next": None, "previous": None, "results": []}
    bank_issue = Issue.objects.filter(project=world.other.project).first()
    assert viewer.get(f"/api/issues/{bank_issue.pk}").status_code == 404


def test_a_cursor_page_runs_the_same_queries_for_5_and_500_issues(world, client_as):
    client = client_as("viewer")
    client.get("/api/issues")  # the token's first use of the minute records it (one UPDATE)

    def queries_for_a_page(size):
        with CaptureQueriesContext(connection) as captured:
            answer = client.get("/api/issues", {"project": "SHOP", "cursor": "", "page_size": size})
        assert len(answer.json()["results"]) == size
        return len(captured)

    add_issues(world.project, 4)
    few = queries_for_a_page(5)
    Issue.objects.bulk_create(
        Issue(project=world.project, number=number, name=f"Issue {number}") for number in range(6, 501)
    )
    assert queries_for_a_page(500) == few == 5  # token, project, page, tags, links: no COUNT(*)


def test_the_schema_documents_page_numbers_and_the_cursor(world, client_as):
    schema = yaml.safe_load(client_as("viewer").get("/api/schema/").content)
    listing = schema["paths"]["/api/issues"]["get"]

    assert {"page", "page_size", "cursor"} <= {parameter["name"] for parameter in listing["parameters"]}
    page_schema = schema["components"]["schemas"]["PaginatedIssueList"]
    assert page_schema["required"] == ["results"]
    assert "cursor" in page_schema["properties"]["next"]["description"]


@pytest.mark.postgres
def test_a_deep_page_by_number_reads_its_ids_from_the_list_index_alone(world, client_as):
    """The OFFSET runs on the covering (project, -number) index: no table rows read, no sort."""
    assert connection.vendor == "postgresql"
    client = client_as("viewer")
    add_issues(world.project, 3)
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/issues", {"project": "SHOP", "page": 2, "page_size": 2})
    page_query = next(query["sql"] for query in captured.captured_queries if "OFFSET" in query["sql"])

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {page_query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Only Scan using issue_list_order_id" in plan
    assert "Sort" not in plan.split("Limit")[1].split("Index Only Scan")[0]  # nothing sorted under the OFFSET


@pytest.mark.postgres
def test_a_cursor_page_starts_in_the_list_index_at_its_position(world, client_as):
    """One row comparison, `(project, number) < (p, n)`, is the index scan's condition: no row before it is read."""
    assert connection.vendor == "postgresql"
    client = client_as("viewer")
    add_issues(world.project, 3)
    link = client.get("/api/issues", {"project": "SHOP", "cursor": "", "page_size": 2}).json()["next"]
    with CaptureQueriesContext(connection) as captured:
        client.get(link)
    page_query = next(query["sql"] for query in captured.captured_queries if "LIMIT 3" in query["sql"])

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {page_query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Cond: ((ROW(project_id, number) < ROW(" in plan
    assert "Filter" not in plan.split("Index Cond")[0].rsplit("\n", 1)[-1]
