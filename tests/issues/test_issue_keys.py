"""Keys that say where an issue lives: internal issues are SHOP#12, a form no tracker uses; the old
SHOP-12 is still read wherever a key is typed or sent; tracker keys are shown with their tracker
("SHOP-2 · Acme Jira") on every page, in the traceability CSV and in the API."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from issues.core.keys import internal_key, parse_internal, tracker_key
from issues.core.models import StatusCategory
from issues.filing.serializers import ReferenceSerializer
from issues.links.services import link
from issues.pulls.models import Coverage
from issues.quality.known_failures import issue_side_in
from issues.reports.traceability import matrix, matrix_csv, requirements_for
from projects.models import ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestResultFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def twins(shop):
    """Internal SHOP#2 and Jira's SHOP-2, both linked to the same failed result of a covering case."""
    make_issue(shop, name="First")
    internal = make_issue(shop, name="Internal twin")
    jira = ExternalReferenceFactory(
        key="SHOP-2",
        source__name="Acme Jira",
        title="Jira twin",
        status="In Progress",
        status_category=StatusCategory.IN_PROGRESS,
    )
    result = TestResultFactory(run__project=shop, case__project=shop, case__title="Pay", status=ResultStatus.FAILED)
    requirement = RequirementFactory(project=shop, title="Checkout")
    Coverage.objects.create(project=shop, requirement=requirement, test_case=result.case)
    link(artefact=result, issue=internal)
    link(artefact=result, reference=jira)
    return internal, jira, result


@pytest.fixture
def viewer(client, shop):
    user = MembershipFactory(project=shop, role=Role.VIEWER).user
    client.force_login(user)
    return user


class SchemeTests:
    def test_internal_keys_use_a_hash_and_tracker_keys_carry_their_tracker(self):
        assert internal_key("SHOP", 12) == "SHOP#12"
        assert tracker_key("SHOP-12", "Acme Jira") == "SHOP-12 · Acme Jira"

    @pytest.mark.parametrize(
        ("typed", "parsed"),
        [
            ("SHOP#12", ("SHOP", 12)),
            ("shop#12", ("SHOP", 12)),
            ("SHOP-12", ("SHOP", 12)),
            (" SHOP-12 ", ("SHOP", 12)),
            ("#12", (None, 12)),
            ("12", (None, 12)),
        ],
    )
    def test_both_forms_and_a_bare_number_are_read_as_internal_keys(self, typed, parsed):
        assert parse_internal(typed) == parsed

    @pytest.mark.parametrize("typed", ["acme/shop#12", "SHOP#", "SHOP#12a", "", "SHOP 12"])
    def test_anything_else_is_not_an_internal_key(self, typed):
        assert parse_internal(typed) is None


class CsvTests:
    def test_a_cell_that_lists_internal_shop_2_and_jiras_shop_2_tells_them_apart(self, shop, twins):
        lines = list(csv.reader(io.StringIO(matrix_csv(matrix(requirements_for(shop))))))

        issues_column = lines[0].index("Issues")
        (checkout,) = [line for line in lines if line[0] == "Checkout"]
        assert checkout[issues_column] == "SHOP#2 (Open); SHOP-2 · Acme Jira (In Progress)"


class LookupTests:
    @pytest.mark.parametrize("typed", ["SHOP#2", "SHOP-2", "shop-2", "#2", "2"])
    def test_the_issue_list_search_finds_an_internal_issue_by_either_key_form(self, client, viewer, shop, typed):
        make_issue(shop, name="First")
        wanted = make_issue(shop, name="Second")

        listed = client.get(reverse("issues:list", args=["SHOP"]), {"q": typed}).context["page"].object_list

        assert list(listed) == [wanted]

    @pytest.mark.parametrize("typed", ["SHOP#1", "SHOP-1"])
    def test_a_known_failure_rule_takes_an_internal_issue_in_either_form(self, shop, typed):
        issue = make_issue(shop)
        assert issue_side_in(shop, typed) == issue

    def test_another_projects_key_is_not_this_projects_issue_in_either_form(self, shop):
        make_issue(shop)
        for typed in ("BANK#1", "BANK-1"):
            with pytest.raises(ValidationError, match=f"SHOP has no issue {typed}"):
                issue_side_in(shop, typed)


class PageTests:
    def test_the_result_page_shows_the_internal_key_and_the_tracker_key_with_its_tracker(
        self, client, viewer, shop, twins
    ):
        internal, jira, result = twins

        page = client.get(reverse("projects:result", args=["SHOP", result.run_id, result.pk])).text

        assert f">{internal.key}</a>" in page and ">SHOP#2</a>" in page
        assert ">SHOP-2 · Acme Jira</a>" in page

    def test_the_run_page_shows_both_apart(self, client, viewer, shop, twins):
        _, _, result = twins

        page = client.get(reverse("projects:run", args=["SHOP", result.run_id])).text
        row = page.split(f'id="result-{result.pk}"')[1].split("</tr>")[0]

        assert ">SHOP#2</a>" in row and ">SHOP-2 · Acme Jira</a>" in row

    def test_the_traceability_matrix_shows_both_apart(self, client, viewer, shop, twins):
        page = client.get(reverse("traceability:matrix", args=["SHOP"])).text

        assert ">SHOP#2</a>" in page and ">SHOP-2 · Acme Jira</a>" in page

    def test_the_issue_page_and_list_show_the_internal_key(self, client, viewer, shop, twins):
        internal, _, _ = twins

        detail = client.get(reverse("issues:detail", args=["SHOP", internal.number])).text
        listing = client.get(reverse("issues:list", args=["SHOP"])).text

        assert '<span class="muted">SHOP#2</span> Internal twin' in detail
        assert ">SHOP#2</a>" in listing

    def test_a_pulled_requirements_work_item_is_shown_with_its_tracker(self, client, viewer, shop):
        RequirementFactory(project=shop, title="Wallets", origin_tracker="Acme Jira", origin_key="SHOP-100")

        listing = client.get(reverse("projects:requirements", args=["SHOP"])).text

        assert ">SHOP-100 · Acme Jira</span>" in listing


class ApiTests:
    def test_a_reference_says_where_it_lives_next_to_its_key(self, twins):
        _, jira, _ = twins

        data = ReferenceSerializer(jira).data

        assert (data["key"], data["source_name"], data["display_key"]) == ("SHOP-2", "Acme Jira", "SHOP-2 · Acme Jira")

    def test_an_issue_is_read_by_its_url_encoded_hash_key_and_by_the_old_form(self, client, viewer, shop, twins):
        internal, _, _ = twins

        new_form = client.get("/api/issues/SHOP%232")
        old_form = client.get("/api/issues/SHOP-2")

        assert new_form.status_code == old_form.status_code == 200
        assert new_form.json()["id"] == old_form.json()["id"] == internal.pk
        assert (new_form.json()["key"], new_form.json()["lives_in"]) == ("SHOP#2", "testmanager")
