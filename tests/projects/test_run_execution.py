"""Executing a run from its page: a result saved from its row (status buttons, comment and duration
in place) as a form post or a fetch asking for JSON, several results at once (status, assignee,
filing), and "My results"."""

from datetime import timedelta

import pytest
from django.urls import reverse

from issues.links.models import Link
from issues.quality.models import KnownFailureRule
from projects.models import Milestone, ResultStatus, Role, TestResult
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def run(project):
    return TestRunFactory(project=project, name="Nightly")


def untested(run, title, **fields):
    return TestResultFactory(
        run=run, case__title=title, status=ResultStatus.UNTESTED, comment="", duration=None, **fields
    )


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER, user__username="mia").user
    client.force_login(user)
    return user


@pytest.fixture
def viewer(client, project):
    user = MembershipFactory(project=project, role=Role.VIEWER, user__username="vic").user
    client.force_login(user)
    return user


def save_url(result, key="SHOP"):
    return reverse("projects:result_save", args=[key, result.run_id, result.pk])


def bulk_url(run, key="SHOP"):
    return reverse("projects:results_bulk", args=[key, run.pk])


def run_url(run):
    return reverse("projects:run", args=["SHOP", run.pk])


class SaveFromTheRowTests:
    def test_a_status_button_saves_the_status_and_keeps_comment_and_duration(self, client, member, run):
        result = TestResultFactory(run=run, status=ResultStatus.UNTESTED, comment="Seen once", duration=None)
        result.duration = timedelta(seconds=90)
        result.save()
        response = client.post(save_url(result), {"status": "passed"})
        assert response["Location"] == f"{run_url(run)}#result-{result.pk}"
        result.refresh_from_db()
        assert (result.status, result.comment, result.duration, result.recorded_by) == (
            "passed",
            "Seen once",
            timedelta(seconds=90),
            member,
        )

    def test_a_fetch_gets_the_saved_values_and_the_runs_new_counts(self, client, member, run):
        first, _second = untested(run, "Cart"), untested(run, "Pay")
        answer = client.post(save_url(first), {"status": "failed"}, **JSON).json()
        assert (answer["status"], answer["status_label"]) == ("failed", "Failed")
        counts = {count["status"]: count["count"] for count in answer["counts"]}
        assert (counts["failed"], counts["untested"]) == (1, 1)
        assert answer["progress"]["tested"] == 1 and answer["progress"]["total"] == 2
        assert answer["progress"]["percent"] == 50

    def test_comment_and_duration_edited_in_place_leave_the_status(self, client, member, run):
        result = untested(run, "Cart")
        answer = client.post(save_url(result), {"comment": "Slow but fine", "duration": "1m 30s"}, **JSON).json()
        assert (answer["status"], answer["comment"], answer["duration"]) == ("untested", "Slow but fine", "1m 30s")
        result.refresh_from_db()
        assert (result.comment, result.duration) == ("Slow but fine", timedelta(seconds=90))

    def test_a_bad_duration_answers_400_naming_the_field_and_nothing_changes(self, client, member, run):
        result = untested(run, "Cart")
        response = client.post(save_url(result), {"status": "passed", "duration": "soon"}, **JSON)
        assert response.status_code == 400
        assert "duration" in response.json()["errors"]
        result.refresh_from_db()
        assert result.status == "untested"

    def test_an_unknown_status_is_refused_without_javascript_too(self, client, member, run):
        result = untested(run, "Cart")
        response = client.post(save_url(result), {"status": "exploded"}, follow=True)
        assert "was not saved: status:" in response.text
        result.refresh_from_db()
        assert result.status == "untested"

    def test_saving_a_failure_applies_the_known_failure_rules(self, client, member, project, run):
        result = untested(run, "Pay")
        result.comment = "TimeoutError: payment gateway"
        result.save()
        issue = make_issue(project, name="Gateway times out")
        KnownFailureRule.objects.create(project=project, pattern="TimeoutError", issue=issue)
        client.post(save_url(result), {"status": "failed"}, **JSON)
        assert Link.objects.filter(test_result=result, issue=issue).exists()

    def test_viewers_get_403_and_nothing_changes(self, client, viewer, run):
        result = untested(run, "Cart")
        assert client.post(save_url(result), {"status": "passed"}, **JSON).status_code == 403
        result.refresh_from_db()
        assert result.status == "untested"

    def test_another_projects_result_answers_404(self, client, member, run):
        elsewhere = untested(TestRunFactory(project=ProjectFactory(key="BANK")), "Vault")
        assert client.post(save_url(elsewhere, "BANK"), {"status": "passed"}).status_code == 404
        # Nor through this project's address with the other project's run and result ids.
        assert client.post(save_url(elsewhere), {"status": "passed"}).status_code == 404
        elsewhere.refresh_from_db()
        assert elsewhere.status == "untested"

    def test_saving_needs_a_post(self, client, member, run):
        assert client.get(save_url(untested(run, "Cart"))).status_code == 405


class RunPageTests:
    def test_members_get_status_buttons_with_accessible_names_and_the_progress_bar(self, client, member, run):
        result = untested(run, "Cart")
        untested(run, "Pay").delete()
        TestResultFactory(run=run, case__title="Pay", status=ResultStatus.PASSED)
        page = client.get(run_url(run)).text
        assert 'aria-label="Failed: Cart"' in page and 'aria-label="Retest: Cart"' in page
        assert f'data-save-url="{save_url(result)}"' in page
        assert 'role="progressbar"' in page and 'aria-valuenow="50"' in page
        assert "projects/run.js" in page

    def test_viewers_get_neither_buttons_nor_script(self, client, viewer, run):
        untested(run, "Cart")
        page = client.get(run_url(run)).text
        assert 'class="status-buttons"' not in page and "projects/run.js" not in page
        assert 'role="progressbar"' in page

    def test_the_page_names_the_runs_milestone(self, client, member, project, run):
        run.milestone = Milestone.objects.create(project=project, name="Release 2.0")
        run.save()
        assert "Release 2.0" in client.get(run_url(run)).text


class BulkTests:
    def test_five_selected_results_get_one_status(self, client, member, run):
        results = [untested(run, f"Case {n}") for n in range(7)]
        chosen = results[:5]
        response = client.post(
            bulk_url(run), {"result": [r.pk for r in chosen], "action": "status", "status": "blocked"}, follow=True
        )
        assert "Set 5 results to blocked." in response.text
        statuses = dict(TestResult.objects.filter(run=run).values_list("pk", "status"))
        assert [statuses[r.pk] for r in chosen] == ["blocked"] * 5
        assert [statuses[r.pk] for r in results[5:]] == ["untested"] * 2
        assert TestResult.objects.get(pk=chosen[0].pk).recorded_by == member

    def test_bulk_status_applies_the_known_failure_rules(self, client, member, project, run):
        results = [untested(run, f"Case {n}") for n in range(2)]
        TestResult.objects.filter(pk__in=[r.pk for r in results]).update(comment="TimeoutError")
        issue = make_issue(project)
        KnownFailureRule.objects.create(project=project, pattern="TimeoutError", issue=issue)
        client.post(bulk_url(run), {"result": [r.pk for r in results], "action": "status", "status": "failed"})
        assert Link.objects.filter(issue=issue).count() == 2

    def test_a_status_is_needed_to_set_one(self, client, member, run):
        result = untested(run, "Cart")
        response = client.post(bulk_url(run), {"result": [result.pk], "action": "status"}, follow=True)
        assert "Nothing was changed: status: Choose the status to set." in response.text

    def test_nothing_selected_is_reported(self, client, member, run):
        response = client.post(bulk_url(run), {"action": "status", "status": "passed"}, follow=True)
        assert "Select at least one result." in response.text

    def test_selected_results_are_assigned_to_a_member_and_unassigned(self, client, member, project, run):
        tester = MembershipFactory(project=project, role=Role.MEMBER, user__username="tess").user
        results = [untested(run, f"Case {n}") for n in range(3)]
        response = client.post(
            bulk_url(run), {"result": [r.pk for r in results], "action": "assign", "assignee": tester.pk}, follow=True
        )
        assert "Assigned 3 results to tess." in response.text
        assert set(TestResult.objects.values_list("assignee", flat=True)) == {tester.pk}
        client.post(bulk_url(run), {"result": [results[0].pk], "action": "assign", "assignee": ""})
        assert TestResult.objects.get(pk=results[0].pk).assignee is None

    def test_viewers_and_outsiders_cannot_be_assigned(self, client, member, project, run):
        viewer = MembershipFactory(project=project, role=Role.VIEWER).user
        outsider = UserFactory()
        result = untested(run, "Cart")
        for user in (viewer, outsider):
            response = client.post(
                bulk_url(run), {"result": [result.pk], "action": "assign", "assignee": user.pk}, follow=True
            )
            assert "Nothing was changed: assignee:" in response.text
        assert TestResult.objects.get(pk=result.pk).assignee is None

    def test_another_runs_results_cannot_be_selected(self, client, member, project, run):
        other = untested(TestRunFactory(project=project), "Elsewhere")
        response = client.post(
            bulk_url(run), {"result": [other.pk], "action": "status", "status": "passed"}, follow=True
        )
        assert "Nothing was changed: result:" in response.text
        assert TestResult.objects.get(pk=other.pk).status == "untested"

    def test_filing_the_selection_opens_the_bulk_filing_page_with_it(self, client, member, run):
        failed = [TestResultFactory(run=run, status=ResultStatus.FAILED) for _ in range(2)]
        response = client.post(bulk_url(run), {"result": [r.pk for r in failed], "action": "file"})
        expected = reverse("issues:file_bulk", args=["SHOP", run.pk])
        assert response["Location"] == f"{expected}?result={failed[0].pk}&result={failed[1].pk}"

    def test_viewers_get_403(self, client, viewer, run):
        result = untested(run, "Cart")
        response = client.post(bulk_url(run), {"result": [result.pk], "action": "status", "status": "passed"})
        assert response.status_code == 403
        assert TestResult.objects.get(pk=result.pk).status == "untested"

    def test_another_projects_run_answers_404(self, client, member):
        other = TestRunFactory(project=ProjectFactory(key="BANK"))
        assert client.post(bulk_url(other, "BANK"), {"action": "status"}).status_code == 404


class MyResultsTests:
    def test_lists_what_is_assigned_to_me_across_runs_untested_first(self, client, member, project, run):
        later = TestRunFactory(project=project, name="Smoke")
        done = TestResultFactory(run=run, case__title="Done one", status=ResultStatus.PASSED, assignee=member)
        todo = untested(later, "To do", assignee=member)
        untested(run, "Someone else's", assignee=UserFactory())
        response = client.get(reverse("projects:my_results"))
        assert [r.pk for r in response.context["page"].object_list] == [todo.pk, done.pk]
        assert "Someone else" not in response.text and "Smoke" in response.text and "Nightly" in response.text

    def test_results_of_projects_i_left_are_not_listed(self, client, member):
        elsewhere = untested(TestRunFactory(project=ProjectFactory(key="BANK")), "Vault", assignee=member)
        response = client.get(reverse("projects:my_results"))
        assert elsewhere.case.title not in response.text

    def test_empty_state_and_pagination(self, client, member, run):
        assert "Nothing is assigned to you." in client.get(reverse("projects:my_results")).text
        for n in range(51):
            untested(run, f"Case {n:02d}", assignee=member)
        first = client.get(reverse("projects:my_results"))
        assert len(first.context["page"].object_list) == 50 and "page 1 of 2" in first.text
        second = client.get(reverse("projects:my_results"), {"page": 2})
        assert len(second.context["page"].object_list) == 1

    def test_needs_a_login(self, client):
        assert client.get(reverse("projects:my_results"))["Location"].startswith("/accounts/login/")
