"""The traceability matrix: requirement -> covering test cases -> latest results -> linked issues,
its counts against hand-built data, its filters, its CSV export, a constant number of queries, and
the coverage page where test cases are linked to a requirement."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from issues.core.models import IssueStatus, StatusCategory
from issues.links.services import link
from issues.pulls.models import Coverage, PulledRequirement
from issues.reports.traceability import matrix, matrix_csv, requirements_for, totals
from projects.models import Requirement, ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


def covers(requirement, *cases):
    for case in cases:
        Coverage.objects.create(project=requirement.project, requirement=requirement, test_case=case)


@pytest.fixture
def shop():
    """Five requirements of SHOP with known coverage, results and issues (see each line), and a
    requirement of another project that must never show."""
    project = ProjectFactory(key="SHOP")
    c1, c2, c3, c4 = (TestCaseFactory(project=project, title=title) for title in ("Refund", "Pay", "Decline", "Gift"))
    old_run, new_run = TestRunFactory(project=project, name="Build 1"), TestRunFactory(project=project, name="Build 2")
    old = {case: TestResultFactory(run=old_run, case=case, status=ResultStatus.FAILED) for case in (c1, c3)}
    new = {
        case: TestResultFactory(run=new_run, case=case, status=status)
        for case, status in ((c1, ResultStatus.PASSED), (c2, ResultStatus.PASSED), (c3, ResultStatus.FAILED))
    }
    refunds = RequirementFactory(project=project, title="Refunds", priority="P0", state="active")
    covers(refunds, c1, c2)  # both pass now: passing
    link(artefact=old[c1], issue=make_issue(project, name="Refund failed once", status=IssueStatus.RESOLVED))
    checkout = RequirementFactory(project=project, title="Checkout", priority="P1")
    covers(checkout, c2, c3)  # c3 fails: failing
    bug = ExternalReferenceFactory(
        key="BUG-7", source__name="Jira", status="To Do", status_category=StatusCategory.TO_DO
    )
    link(artefact=new[c3], reference=bug)
    link(artefact=checkout, issue=make_issue(project, name="Checkout is slow"))
    gifts = RequirementFactory(project=project, title="Gift cards", priority="P2")
    covers(gifts, c4)  # never run: not run yet
    vouchers = RequirementFactory(project=project, title="Vouchers", priority="P3")
    link(artefact=vouchers, issue=make_issue(project, name="Vouchers spec", status=IssueStatus.CLOSED))
    origin = ExternalReferenceFactory(key="SHOP-100", status="In Progress", status_category=StatusCategory.IN_PROGRESS)
    wallets = RequirementFactory(
        project=project, title="Wallets", priority="P1", origin_tracker="Jira", origin_key="SHOP-100"
    )
    PulledRequirement.objects.create(requirement=wallets, reference=origin, release="2.0", pulled_at=origin.created_at)
    link(artefact=wallets, reference=origin)  # its own origin: not an issue of the row
    covers(wallets, c3)
    elsewhere = RequirementFactory(project=ProjectFactory(key="BANK"), title="Elsewhere")
    covers(elsewhere, TestCaseFactory(project=elsewhere.project))
    return project


def key_of(link):
    return link.issue.key if link.issue else link.external_reference.key


def by_title(rows):
    return {row.requirement.title: row for row in rows}


def test_the_matrix_follows_requirements_to_cases_latest_results_and_issues(shop):
    rows = by_title(matrix(requirements_for(shop)))

    assert list(rows) == ["Refunds", "Checkout", "Wallets", "Gift cards", "Vouchers"]  # by priority, then title
    assert {title: row.coverage for title, row in rows.items()} == {
        "Refunds": "passing",
        "Checkout": "failing",
        "Wallets": "failing",
        "Gift cards": "not_run",
        "Vouchers": "uncovered",
    }
    checkout = rows["Checkout"]
    assert [(case.case.title, case.latest.status, case.latest.run.name) for case in checkout.cases] == [
        ("Decline", "failed", "Build 2"),
        ("Pay", "passed", "Build 2"),
    ]
    assert [key_of(link) for link in checkout.all_links()] == ["SHOP#2", "BUG-7"]
    assert rows["Refunds"].all_links() == []  # the resolved issue is on an older result
    assert rows["Wallets"].links == [] and [key_of(link) for link in rows["Wallets"].all_links()] == ["BUG-7"]
    assert rows["Gift cards"].cases[0].latest is None


def test_the_totals_count_the_hand_built_project(shop):
    assert vars(totals(matrix(requirements_for(shop)))) == {
        "requirements": 5,
        "covered": 4,
        "passing": 1,
        "failing": 2,
        "not_run": 1,
        "uncovered": 1,
        "open_issues": 2,  # SHOP-2 on Checkout, BUG-7 on Decline's latest result (under two requirements)
    }


def test_the_matrix_filters_by_release_state_text_and_coverage(shop):
    def titles(**filters):
        coverage = filters.pop("coverage", "")
        return [row.requirement.title for row in matrix(requirements_for(shop, **filters), coverage=coverage)]

    assert titles(release="2.0") == ["Wallets"]
    assert titles(state="active") == ["Refunds"]
    assert titles(text="decline") == ["Checkout", "Wallets"]  # by a covering test case's title
    assert titles(coverage="failing") == ["Checkout", "Wallets"]
    assert titles(coverage="uncovered") == ["Vouchers"]


def test_the_matrix_reads_in_a_constant_number_of_queries(shop):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            rows = matrix(requirements_for(shop))
            totals(rows)
            matrix_csv(rows)
        return len(captured)

    before = queries()
    run = TestRunFactory(project=shop)
    for number in range(6):
        requirement = RequirementFactory(project=shop, title=f"More {number}")
        cases = [TestCaseFactory(project=shop) for _ in range(3)]
        covers(requirement, *cases)
        for case in cases:
            result = TestResultFactory(run=run, case=case, status=ResultStatus.FAILED)
            link(artefact=result, issue=make_issue(shop))
            link(artefact=case, reference=ExternalReferenceFactory())

    assert queries() == before == 4


def test_the_csv_has_a_line_per_requirement_and_covering_case_and_disarms_formulas(shop):
    RequirementFactory(project=shop, title='=HYPERLINK("http://evil")', priority="P3")

    lines = list(csv.reader(io.StringIO(matrix_csv(matrix(requirements_for(shop))))))

    assert lines[0][:3] == ["Requirement", "Origin", "State"]
    checkout = [line for line in lines if line[0] == "Checkout"]
    assert [(line[8] != "", line[9], line[10], line[11], line[13]) for line in checkout] == [
        (True, "Decline", "Failed", "Build 2", "SHOP#2 (Open); BUG-7 · Jira (To Do)"),
        (True, "Pay", "Passed", "Build 2", "SHOP#2 (Open)"),
    ]
    [vouchers] = [line for line in lines if line[0] == "Vouchers"]
    assert (vouchers[7], vouchers[9], vouchers[13]) == ("Not covered", "", "SHOP#3 (Closed)")
    [wallets] = [line for line in lines if line[0] == "Wallets"]
    assert (wallets[1], wallets[4]) == ("SHOP-100 · Jira", "2.0")
    assert '\'=HYPERLINK("http://evil")' in [line[0] for line in lines]


# -- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def viewer(shop):
    return MembershipFactory(project=shop, role=Role.VIEWER).user


@pytest.fixture
def member(shop):
    return MembershipFactory(project=shop, role=Role.MEMBER).user


def test_the_matrix_page_shows_the_counts_and_the_rows(client, shop, viewer):
    client.force_login(viewer)

    page = client.get("/projects/SHOP/traceability/?coverage=failing").content.decode()

    assert "<strong>2</strong> requirements" in page and "BUG-7" in page and "Refunds" not in page
    assert 'href="/projects/SHOP/traceability/export.csv?coverage=failing"' in page


def test_the_csv_download_is_named_after_the_project_and_filtered(client, shop, viewer):
    client.force_login(viewer)

    response = client.get("/projects/SHOP/traceability/export.csv?release=2.0")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="SHOP-traceability.csv"'
    assert [line[0] for line in csv.reader(io.StringIO(response.content.decode()))] == ["Requirement", "Wallets"]


def test_a_member_links_and_unlinks_a_covering_test_case(client, shop, member):
    client.force_login(member)
    vouchers = Requirement.objects.get(title="Vouchers")
    case = TestCaseFactory(project=shop, title="Redeem a voucher")

    found = client.get(f"/projects/SHOP/requirements/{vouchers.pk}/coverage/?q=voucher").content.decode()
    assert "Redeem a voucher" in found

    response = client.post(f"/projects/SHOP/requirements/{vouchers.pk}/coverage/", {"case": case.pk})
    assert response.status_code == 302
    assert list(vouchers.coverage.values_list("test_case__title", flat=True)) == ["Redeem a voucher"]
    detail = client.get(f"/projects/SHOP/requirements/{vouchers.pk}/").content.decode()
    assert "Redeem a voucher" in detail and "Not run yet" in detail

    client.post(f"/projects/SHOP/requirements/{vouchers.pk}/coverage/", {"case": case.pk, "remove": "1"})
    assert not vouchers.coverage.exists()


def test_a_viewer_sees_the_coverage_but_may_not_change_it(client, shop, viewer):
    client.force_login(viewer)
    checkout = Requirement.objects.get(title="Checkout")

    page = client.get(f"/projects/SHOP/requirements/{checkout.pk}/coverage/?q=gift").content.decode()
    response = client.post(
        f"/projects/SHOP/requirements/{checkout.pk}/coverage/", {"case": TestCaseFactory(project=shop).pk}
    )

    assert "Decline" in page and "Add a test case" not in page
    assert response.status_code == 403 and checkout.coverage.count() == 2


def test_a_case_of_another_project_cannot_cover(client, shop, member):
    client.force_login(member)
    checkout = Requirement.objects.get(title="Checkout")
    foreign = TestCaseFactory(project=ProjectFactory(key="BANK2"))

    response = client.post(f"/projects/SHOP/requirements/{checkout.pk}/coverage/", {"case": foreign.pk})

    assert response.status_code == 404 and checkout.coverage.count() == 2
