"""An artefact page shows one page of its linked issues, open ones first, with the counts by status of
all of them: 5,000 links cost the page what 50 do (issue 21: 5,000 links were 880 ms and 2.9 MB)."""

import re
from urllib.parse import urljoin

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from issues.core.models import Issue, IssueStatus
from issues.links.models import ExternalReference, Link
from issues.links.selectors import LINKS_PER_PAGE, link_page
from issues.sync import cache_keys
from projects.models import Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    link_many,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    project = ProjectFactory(key="SHOP")
    client.force_login(MembershipFactory(project=project, role=Role.MEMBER).user)
    return project


def case_page(client, case, **query):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("projects:case", args=[case.project.key, case.pk]), query)
    assert response.status_code == 200
    return response.text, len(queries)


def shown_link_ids(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="link-(\d+)"', html)]


def test_a_case_with_5000_links_costs_the_queries_and_html_of_one_with_50(client, member):
    few, many = TestCaseFactory(project=member), TestCaseFactory(project=member)
    link_many(few, 50)
    link_many(many, 5000)
    case_page(client, few)  # the session and the project's first reads are not what is compared

    few_html, few_queries = case_page(client, few)
    many_html, many_queries = case_page(client, many)

    assert many_queries == few_queries
    assert len(shown_link_ids(few_html)) == len(shown_link_ids(many_html)) == LINKS_PER_PAGE
    assert len(many_html.encode()) < len(few_html.encode()) * 1.1  # the page navigation is all it adds
    assert "page 1 of 100" in many_html


def test_the_counts_by_status_cover_every_link_of_every_page(client, member):
    case = TestCaseFactory(project=member)
    link_many(case, 120)  # 24 internal: 6 of each status; 96 tracker issues: 24 per category

    page = link_page(case)

    by_category = {count.category: count.count for count in page.counts}
    assert by_category == {"todo": 6 + 24, "in_progress": 6 + 24, "done": 12 + 24, "unknown": 24}
    assert (page.total, page.to_trackers, page.pages) == (120, 96, 3)
    html, _ = case_page(client, case)
    assert "120 linked issues:" in html
    assert re.search(r'data-category="done">36 done<', html)
    assert re.search(r'data-category="todo">30 to do<', html)


def test_paging_shows_every_link_exactly_once_open_ones_first(member):
    case = TestCaseFactory(project=member)
    link_many(case, 130)

    pages = [link_page(case, number) for number in (1, 2, 3)]
    shown = [link for page in pages for link in page.links]

    assert sorted(link.pk for link in shown) == sorted(Link.objects.filter(test_case=case).values_list("pk", flat=True))
    done = [link.category == "done" for link in shown]
    assert done == sorted(done)  # every open issue comes before every done one
    assert [len(page.links) for page in pages] == [50, 50, 30]


def test_among_open_issues_the_most_recently_updated_come_first(member):
    case = TestCaseFactory(project=member)
    link_many(case, 10)
    internal = Issue.objects.filter(project=member, status=IssueStatus.OPEN).first()
    internal.name = "Just changed"
    internal.save()

    assert link_page(case).links[0].issue == internal


def test_the_page_links_walk_every_page_without_javascript(client, member):
    case = TestCaseFactory(project=member)
    link_many(case, 120)
    url, seen = reverse("projects:case", args=["SHOP", case.pk]), []

    while url:
        html = client.get(url).text
        seen += shown_link_ids(html)
        following = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = following and urljoin(url, following.group(1).replace("&amp;", "&"))

    assert sorted(seen) == sorted(Link.objects.filter(test_case=case).values_list("pk", flat=True))
    assert 'rel="prev"' in html and "page 3 of 3" in html


@pytest.mark.parametrize(
    ("asked", "shown"), [("0", 1), ("x", 1), ("-2", 1), ("99", 3), ("", 1), ("²", 1), ("9" * 5000, 3)]
)
def test_a_malformed_or_out_of_range_page_shows_the_nearest(member, asked, shown):
    case = TestCaseFactory(project=member)
    link_many(case, 120)

    assert link_page(case, asked).number == shown


def test_the_run_result_and_requirement_pages_are_paged_too(client, member):
    run = TestRunFactory(project=member)
    artefacts = {
        "projects:run": (run, [member.key, run.pk]),
        "projects:requirement": (requirement := RequirementFactory(project=member), [member.key, requirement.pk]),
        "projects:result": (result := TestResultFactory(run=run), [member.key, run.pk, result.pk]),
    }
    for name, (artefact, args) in artefacts.items():
        link_many(artefact, 60)
        html = client.get(reverse(name, args=args), {"links_page": 2}).text
        assert len(shown_link_ids(html)) == 10, name
        assert "60 linked issues:" in html and "page 2 of 2" in html, name


def test_a_link_recorded_under_another_project_is_neither_shown_nor_counted(client, member):
    case = TestCaseFactory(project=member)
    link_many(case, 3)
    other = ProjectFactory(key="OTHER")
    stray = Link.objects.create(project=other, test_case=case, external_reference=ExternalReferenceFactory())

    html, _ = case_page(client, case)

    assert link_page(case).total == 3
    assert stray.pk not in shown_link_ids(html) and "3 linked issues:" in html


def test_another_projects_case_answers_404(client, member):
    elsewhere = TestCaseFactory(project=ProjectFactory(key="OTHER"))
    link_many(elsewhere, 3)

    response = client.get(reverse("projects:case", args=["OTHER", elsewhere.pk]))
    assert response.status_code == 404
    response = client.get(reverse("projects:case", args=["SHOP", elsewhere.pk]))
    assert response.status_code == 404


def test_the_page_asks_to_refresh_only_the_stale_tracker_issues_it_shows(client, member):
    case = TestCaseFactory(project=member)
    link_many(case, 120)

    html, _ = case_page(client, case)

    shown = {link.external_reference_id for link in link_page(case).links if link.external_reference_id}
    asked = {
        reference.pk
        for reference in ExternalReference.objects.filter(links__test_case=case)
        if caches["default"].get(cache_keys.once_key("asked", reference))
    }
    assert asked == shown and len(asked) < 96
    assert "Refresh now" in html  # a member may refresh all of them


def test_a_page_view_costs_one_redis_round_trip_however_many_links(client, member, redis_round_trips):
    case = TestCaseFactory(project=member)
    link_many(case, 250)
    case_page(client, case)  # the login's session and the first reads
    caches["default"].clear()
    redis_round_trips.clear()

    case_page(client, case)

    assert len(redis_round_trips) == 1


def test_fresh_issues_cost_no_redis_round_trip(client, member, redis_round_trips):
    case = TestCaseFactory(project=member)
    link_many(case, 60, synced=timezone.now())
    redis_round_trips.clear()

    case_page(client, case)

    assert redis_round_trips == []
