"""Project pages: home, test cases, runs, results and requirements, for members and viewers."""

from datetime import timedelta

import pytest
from django import forms
from django.urls import reverse

from issues.links.services import link
from projects.forms import format_duration, parse_duration_text
from projects.models import ResultStatus, Role, TestCase, TestResult, TestRun
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


def step_rows(*pairs) -> dict:
    """The steps formset as the case form posts it: (action, expected) rows."""
    data = {"steps-TOTAL_FORMS": str(len(pairs)), "steps-INITIAL_FORMS": "0"}
    for index, (action, expected) in enumerate(pairs):
        data.update({f"steps-{index}-action": action, f"steps-{index}-expected": expected})
    return data


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    membership = MembershipFactory(project=project, role=Role.MEMBER)
    client.force_login(membership.user)
    return membership.user


@pytest.fixture
def viewer(client, project):
    membership = MembershipFactory(project=project, role=Role.VIEWER)
    client.force_login(membership.user)
    return membership.user


def url(name, *args):
    return reverse(f"projects:{name}", args=args)


class ProjectListAndHomeTests:
    def test_lists_only_the_users_projects(self, client, member, project):
        ProjectFactory(key="SECRET")
        response = client.get(url("list"))
        assert response.status_code == 200
        assert "SHOP" in response.text and "SECRET" not in response.text

    def test_home_summarises_runs_cases_and_unresolved_issues(self, client, viewer, project):
        result = TestResultFactory(run__project=project, run__name="Nightly", case__title="Pay with card")
        make_issue(project)
        response = client.get(url("home", "SHOP"))
        assert response.status_code == 200
        assert "1 failed" in response.text
        assert "Pay with card" in response.text
        assert "1 unresolved issue" in response.text
        assert url("run", "SHOP", result.run.pk) in response.text

    def test_home_of_an_empty_project_invites_members_to_start(self, client, member):
        response = client.get(url("home", "SHOP"))
        assert "No test runs yet." in response.text and "Start a run" in response.text
        assert "Write the first one" in response.text

    def test_anonymous_users_are_sent_to_log_in(self, client, project):
        response = client.get(url("home", "SHOP"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


class CaseListTests:
    def test_folder_filter_includes_subfolders_and_nothing_else(self, client, viewer, project):
        TestCaseFactory(project=project, folder="Checkout", title="Pay with card")
        TestCaseFactory(project=project, folder="Checkout/Coupons", title="Apply coupon")
        TestCaseFactory(project=project, folder="CheckoutLegacy", title="Old checkout")
        TestCaseFactory(project=project, folder="Accounts", title="Sign up")
        response = client.get(url("cases", "SHOP"), {"folder": "Checkout"})
        titles = [case.title for case in response.context["page"].object_list]
        assert titles == ["Pay with card", "Apply coupon"]
        folders = {folder["path"]: folder["count"] for folder in response.context["folders"]}
        assert folders == {"Accounts": 1, "Checkout": 2, "Checkout/Coupons": 1, "CheckoutLegacy": 1}

    def test_search_matches_title_and_steps_within_the_folder(self, client, viewer, project):
        TestCaseFactory(
            project=project,
            folder="Checkout",
            title="Pay with card",
            steps=[{"action": "Enter the CVC", "expected": ""}],
        )
        TestCaseFactory(project=project, folder="Checkout", title="CVC is masked", steps=[])
        TestCaseFactory(project=project, folder="Accounts", title="Change CVC hint", steps=[])
        TestCaseFactory(project=project, folder="Checkout", title="Apply coupon", steps=[])
        response = client.get(url("cases", "SHOP"), {"folder": "Checkout", "q": "cvc"})
        assert sorted(case.title for case in response.context["page"].object_list) == ["CVC is masked", "Pay with card"]

    def test_no_match_says_so(self, client, viewer, project):
        TestCaseFactory(project=project)
        response = client.get(url("cases", "SHOP"), {"q": "nothing like this"})
        assert "No test case matches “nothing like this”." in response.text

    def test_is_paginated_by_fifty(self, client, viewer, project):
        TestCaseFactory.create_batch(51, project=project)
        first = client.get(url("cases", "SHOP"))
        second = client.get(url("cases", "SHOP"), {"page": 2})
        assert len(first.context["page"].object_list) == 50
        assert len(second.context["page"].object_list) == 1
        assert "51 test cases · page 1 of 2" in first.text
        assert client.get(url("cases", "SHOP"), {"page": "junk"}).context["page"].number == 1

    def test_viewers_get_no_new_case_button(self, client, viewer):
        assert "New test case" not in client.get(url("cases", "SHOP")).text

    def test_members_get_the_new_case_button(self, client, member):
        assert "New test case" in client.get(url("cases", "SHOP")).text


class CaseEditingTests:
    def test_member_creates_a_case_with_a_normalized_folder(self, client, member, project):
        response = client.post(
            url("case_create", "SHOP"),
            {
                "title": "Pay with card",
                "folder": " Checkout // Payment/ ",
                "priority": "high",
                **step_rows(("Open the cart", ""), ("", ""), ("Pay", "Paid")),
            },
        )
        case = TestCase.objects.get(project=project)
        assert response.status_code == 302 and response["Location"] == url("case", "SHOP", case.pk)
        assert (case.title, case.folder, case.created_by) == ("Pay with card", "Checkout/Payment", member)
        # The empty row between them is no step; the others keep their order and expected results.
        assert case.steps == [{"action": "Open the cart", "expected": ""}, {"action": "Pay", "expected": "Paid"}]
        assert case.priority == "high"

    def test_a_blank_title_is_refused_and_nothing_is_created(self, client, member, project):
        response = client.post(
            url("case_create", "SHOP"), {"title": "   ", "priority": "medium", **step_rows(("typed steps", ""))}
        )
        assert response.status_code == 200
        assert "This field is required." in response.text
        assert "typed steps" in response.text
        assert not TestCase.objects.exists()

    def test_member_edits_a_case(self, client, member, project):
        case = TestCaseFactory(project=project, title="Old")
        form = client.get(url("case_edit", "SHOP", case.pk))
        assert 'value="Old"' in form.text
        assert form.text.count('name="steps-') > 2 * len(case.steps)  # the case's steps and empty rows for more
        assert "Press the button" in form.text
        client.post(
            url("case_edit", "SHOP", case.pk),
            {"title": "New", "folder": "A/B", "priority": "low", "estimate": "1m 30s", **step_rows(("s", "e"))},
        )
        case.refresh_from_db()
        assert (case.title, case.folder, case.steps) == ("New", "A/B", [{"action": "s", "expected": "e"}])
        assert (case.priority, case.estimate) == ("low", timedelta(seconds=90))

    def test_viewers_may_not_open_or_post_the_case_forms(self, client, viewer, project):
        case = TestCaseFactory(project=project, title="Keep")
        assert client.get(url("case_create", "SHOP")).status_code == 403
        assert client.post(url("case_create", "SHOP"), {"title": "Forged"}).status_code == 403
        assert client.get(url("case_edit", "SHOP", case.pk)).status_code == 403
        assert client.post(url("case_edit", "SHOP", case.pk), {"title": "Forged"}).status_code == 403
        case.refresh_from_db()
        assert case.title == "Keep" and TestCase.objects.count() == 1

    def test_case_detail_renders_markdown_steps_and_linked_issues(self, client, viewer, project):
        case = TestCaseFactory(project=project, steps=[{"action": "Open **cart**", "expected": "It *opens*"}])
        issue = make_issue(project, name="Cart is empty")
        reference = ExternalReferenceFactory(
            key="JIRA-7", title="Remote cart bug", status="In Review", status_category="in_progress"
        )
        link(artefact=case, issue=issue)
        link(artefact=case, reference=reference)
        response = client.get(url("case", "SHOP", case.pk))
        assert "<strong>cart</strong>" in response.text and "<em>opens</em>" in response.text
        assert "SHOP#1" in response.text and "Cart is empty" in response.text
        assert 'href="https://example.atlassian.net/browse/JIRA-7"' in response.text
        assert '<span class="badge cat-in_progress">In Review</span>' in response.text
        assert "Edit" not in response.text.split('id="linked-issues"')[0].split("<h1>")[1]
        assert "Create linked issue" not in response.text


class RunTests:
    def test_run_list_counts_results(self, client, viewer, project):
        run = TestRunFactory(project=project, name="Nightly")
        TestResultFactory(run=run, status=ResultStatus.FAILED)
        TestResultFactory(run=run, status=ResultStatus.PASSED)
        response = client.get(url("runs", "SHOP"))
        assert "Nightly" in response.text and "1 failed" in response.text
        assert "New run" not in response.text

    def test_member_starts_a_run_of_one_folder(self, client, member, project):
        pay = TestCaseFactory(project=project, folder="Checkout")
        coupon = TestCaseFactory(project=project, folder="Checkout/Coupons")
        TestCaseFactory(project=project, folder="Accounts")
        response = client.post(
            url("run_create", "SHOP"), {"name": "Release 2.5", "environment": "staging", "folder": "Checkout"}
        )
        run = TestRun.objects.get(project=project)
        assert response["Location"] == url("run", "SHOP", run.pk)
        assert set(run.results.values_list("case", "status")) == {(pay.pk, "untested"), (coupon.pk, "untested")}
        assert run.created_by == member

    def test_a_run_needs_a_name_and_a_known_folder(self, client, member, project):
        response = client.post(url("run_create", "SHOP"), {"name": "", "folder": "Nowhere"})
        assert "This field is required." in response.text
        assert "Select a valid choice." in response.text
        assert not TestRun.objects.exists()

    def test_run_detail_filters_by_status_and_offers_issue_creation_on_failures(self, client, member, project):
        run = TestRunFactory(project=project)
        failed = TestResultFactory(run=run, status=ResultStatus.FAILED, case__title="Broken")
        TestResultFactory(run=run, status=ResultStatus.PASSED, case__title="Fine")
        response = client.get(url("run", "SHOP", run.pk))
        assert "1 failed" in response.text and "1 passed" in response.text
        assert f"{reverse('issues:file_issue', args=['SHOP'])}?result={failed.pk}" in response.text
        assert response.text.count(f"{reverse('issues:file_issue', args=['SHOP'])}?result=") == 1
        only_passed = client.get(url("run", "SHOP", run.pk), {"status": "passed"})
        assert [r.case.title for r in only_passed.context["page"].object_list] == ["Fine"]

    def test_run_detail_shows_issues_linked_to_each_result(self, client, viewer, project):
        result = TestResultFactory(run__project=project)
        link(artefact=result, issue=make_issue(project, name="Checkout crashes"))
        response = client.get(url("run", "SHOP", result.run.pk))
        row = response.text.split(f'id="result-{result.pk}"')[1].split("</tr>")[0]
        assert "SHOP#1" in row and "Checkout crashes" in row

    def test_viewers_see_results_without_record_or_create_controls(self, client, viewer, project):
        result = TestResultFactory(run__project=project)
        response = client.get(url("run", "SHOP", result.run.pk))
        assert "Record" not in response.text and "Create issue" not in response.text

    def test_an_unknown_status_filter_is_reported_and_ignored(self, client, viewer, project):
        result = TestResultFactory(run__project=project)
        response = client.get(url("run", "SHOP", result.run.pk), {"status": "exploded"})
        assert "Select a valid choice." in response.text
        assert list(response.context["page"].object_list) == [result]


class RecordResultTests:
    def test_member_records_status_comment_and_duration(self, client, member, project):
        result = TestResultFactory(run__project=project, status=ResultStatus.UNTESTED, comment="", duration=None)
        page = url("result", "SHOP", result.run.pk, result.pk)
        response = client.post(page, {"status": "failed", "comment": "Spinner forever", "duration": "1m 30s"})
        assert response["Location"] == f"{url('run', 'SHOP', result.run.pk)}#result-{result.pk}"
        result.refresh_from_db()
        assert (result.status, result.comment, result.duration, result.recorded_by) == (
            "failed",
            "Spinner forever",
            timedelta(seconds=90),
            member,
        )

    def test_result_page_of_a_failure_offers_create_issue(self, client, member, project):
        result = TestResultFactory(run__project=project, status=ResultStatus.FAILED)
        response = client.get(url("result", "SHOP", result.run.pk, result.pk))
        assert 'id="create-issue"' in response.text and 'id="record-result"' in response.text
        assert 'value="3s"' in response.text

    @pytest.mark.parametrize(
        "duration,error",
        [
            ("soon", "Enter a duration such as 45, 45s, 1m 30s, 1h 5m or 1:30."),
            ("200h", "A single test result cannot take longer than 7 days."),
            ("9" * 40, "A single test result cannot take longer than 7 days."),
            ("9" * 51, "Enter a duration such as 45, 45s, 1m 30s, 1h 5m or 1:30."),
        ],
    )
    def test_bad_durations_are_refused_and_nothing_changes(self, client, member, project, duration, error):
        result = TestResultFactory(run__project=project, status=ResultStatus.UNTESTED, comment="")
        response = client.post(
            url("result", "SHOP", result.run.pk, result.pk),
            {"status": "passed", "comment": "typed", "duration": duration},
        )
        assert response.status_code == 200
        assert error in response.text and "typed" in response.text
        result.refresh_from_db()
        assert (result.status, result.comment) == ("untested", "")

    def test_an_unknown_status_is_refused(self, client, member, project):
        result = TestResultFactory(run__project=project, status=ResultStatus.UNTESTED)
        response = client.post(url("result", "SHOP", result.run.pk, result.pk), {"status": "exploded"})
        assert "Select a valid choice." in response.text
        assert TestResult.objects.get().status == "untested"

    def test_viewers_read_results_but_cannot_record(self, client, viewer, project):
        result = TestResultFactory(run__project=project, status=ResultStatus.FAILED)
        page = url("result", "SHOP", result.run.pk, result.pk)
        response = client.get(page)
        assert response.status_code == 200
        assert 'id="record-result"' not in response.text and 'id="create-issue"' not in response.text
        assert client.post(page, {"status": "passed"}).status_code == 403
        assert TestResult.objects.get().status == "failed"

    def test_a_result_is_only_found_under_its_own_run(self, client, member, project):
        result = TestResultFactory(run__project=project)
        other_run = TestRunFactory(project=project)
        assert client.get(url("result", "SHOP", other_run.pk, result.pk)).status_code == 404


class RequirementTests:
    def test_list_filters_by_state_and_text(self, client, viewer, project):
        RequirementFactory(project=project, title="Pay by card", state="active")
        RequirementFactory(project=project, title="Pay by invoice", state="draft")
        RequirementFactory(project=project, title="Sign up", state="active")
        response = client.get(url("requirements", "SHOP"), {"state": "active", "q": "pay"})
        assert [r.title for r in response.context["page"].object_list] == ["Pay by card"]

    def test_detail_links_to_its_tracker_origin_and_issues(self, client, viewer, project):
        requirement = RequirementFactory(
            project=project,
            description="Must support *Visa*",
            origin_tracker="Jira",
            origin_key="REQ-4",
            origin_url="https://example.atlassian.net/browse/REQ-4",
        )
        link(artefact=requirement, issue=make_issue(project, name="Visa declined"))
        response = client.get(url("requirement", "SHOP", requirement.pk))
        assert "<em>Visa</em>" in response.text
        assert 'href="https://example.atlassian.net/browse/REQ-4"' in response.text
        assert "Visa declined" in response.text

    def test_empty_list_explains_where_requirements_come_from(self, client, viewer):
        assert "pulled from a tracker" in client.get(url("requirements", "SHOP")).text


class DurationNotationTests:
    @pytest.mark.parametrize(
        "text,seconds",
        [
            ("45", 45),
            ("45s", 45),
            ("1m 30s", 90),
            ("1m30s", 90),
            ("2h", 7200),
            ("1h 5m", 3900),
            ("1:30", 90),
            ("1:02:03", 3723),
            ("2.5s", 2.5),
            (" 10 S ", 10),
        ],
    )
    def test_accepted_notations(self, text, seconds):
        assert parse_duration_text(text) == timedelta(seconds=seconds)

    def test_empty_means_unknown(self):
        assert parse_duration_text("  ") is None

    @pytest.mark.parametrize("text", ["soon", "1x", "-5", "1:2:3:4", "h"])
    def test_refused_notations(self, text):
        with pytest.raises(forms.ValidationError):
            parse_duration_text(text)

    @pytest.mark.parametrize(
        "seconds,text", [(0, "0s"), (2.5, "2.5s"), (90, "1m 30s"), (3600, "1h"), (3723, "1h 2m 3s")]
    )
    def test_formatting_round_trips(self, seconds, text):
        assert format_duration(timedelta(seconds=seconds)) == text
        assert parse_duration_text(text) == timedelta(seconds=seconds)
