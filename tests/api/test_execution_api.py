"""The API of run execution and milestones: results assigned to members (field and `?assignee=`
filter), runs in a milestone, milestones and plans made here, with their validation and permissions."""

import pytest

from projects.models import Milestone, ResultStatus, TestPlan, TestResult
from tests.factories import TestResultFactory, TestRunFactory

pytestmark = pytest.mark.django_db


def result_url(result):
    return f"/api/testresults/{result.pk}"


class AssigneeTests:
    def test_a_member_assigns_a_result_without_recording_it(self, world, client_as):
        result = world.mine.result
        before = (result.status, result.recorded_at)
        response = client_as("member").patch(result_url(result), {"assignee": "admin"}, format="json")
        assert response.status_code == 200 and response.json()["assignee"] == "admin"
        result.refresh_from_db()
        assert result.assignee == world.users["admin"]
        assert (result.status, result.recorded_at, result.recorded_by) == (*before, None)

    def test_status_and_assignee_together(self, world, client_as):
        response = client_as("member").patch(
            result_url(world.mine.result), {"status": "passed", "assignee": "member"}, format="json"
        )
        assert (response.json()["status"], response.json()["assignee"]) == ("passed", "member")

    def test_null_unassigns(self, world, client_as):
        TestResult.objects.filter(pk=world.mine.result.pk).update(assignee=world.users["member"])
        response = client_as("member").patch(result_url(world.mine.result), {"assignee": None}, format="json")
        assert response.json()["assignee"] is None

    @pytest.mark.parametrize(
        "who,message",
        [
            ("viewer", "assignee: viewer cannot record results in SHOP."),
            ("outsider", "assignee: outsider cannot record results in SHOP."),
            ("nobody-here", "assignee: No user with username nobody-here."),
        ],
    )
    def test_only_members_who_record_results_can_be_assigned(self, world, client_as, who, message):
        response = client_as("member").patch(result_url(world.mine.result), {"assignee": who}, format="json")
        assert response.status_code == 400 and response.json()["message"] == message
        assert TestResult.objects.get(pk=world.mine.result.pk).assignee is None

    def test_a_viewer_cannot_assign(self, world, client_as):
        response = client_as("viewer").patch(result_url(world.mine.result), {"assignee": "member"}, format="json")
        assert response.status_code == 403

    def test_another_projects_result_answers_404(self, world, client_as):
        response = client_as("member").patch(result_url(world.other.result), {"assignee": "member"}, format="json")
        assert response.status_code == 404

    def test_my_results_filter(self, world, client_as):
        mine = TestResultFactory(run=world.mine.run, assignee=world.users["member"], status=ResultStatus.UNTESTED)
        TestResultFactory(run=world.mine.run, assignee=world.users["admin"])
        TestResultFactory(run=world.other.run, assignee=world.users["member"])  # a project member cannot see
        client = client_as("member")
        assert [r["id"] for r in client.get("/api/testresults?assignee=me").json()["results"]] == [mine.pk]
        assert [r["id"] for r in client.get("/api/testresults?assignee=member").json()["results"]] == [mine.pk]


class RunMilestoneTests:
    def test_a_run_is_created_in_a_milestone(self, world, client_as):
        milestone = Milestone.objects.create(project=world.project, name="2.0")
        response = client_as("member").post(
            "/api/testruns", {"project": "SHOP", "name": "Nightly", "milestone": milestone.pk}, format="json"
        )
        assert response.status_code == 201 and response.json()["milestone"] == milestone.pk

    def test_another_projects_milestone_is_refused(self, world, client_as):
        other = Milestone.objects.create(project=world.other.project, name="Vault")
        response = client_as("outsider").patch(
            f"/api/testruns/{world.other.run.pk}", {"milestone": other.pk}, format="json"
        )
        assert response.status_code == 200  # its own project's milestone
        foreign = client_as("member").patch(
            f"/api/testruns/{world.mine.run.pk}", {"milestone": other.pk}, format="json"
        )
        assert foreign.status_code == 400 and "milestone" in foreign.json()["errors"]


class MilestoneApiTests:
    def test_create_list_update_delete(self, world, client_as):
        client = client_as("member")
        created = client.post(
            "/api/milestones",
            {"project": "SHOP", "name": "2.0", "start_date": "2026-12-01", "due_date": "2026-12-20"},
            format="json",
        )
        assert created.status_code == 201
        body = created.json()
        assert (body["name"], body["due_date"], body["created_by"]) == ("2.0", "2026-12-20", "member")
        assert [m["id"] for m in client.get("/api/milestones?project=SHOP").json()["results"]] == [body["id"]]
        changed = client.patch(f"/api/milestones/{body['id']}", {"due_date": "2026-12-24"}, format="json")
        assert changed.json()["due_date"] == "2026-12-24"
        assert client.delete(f"/api/milestones/{body['id']}").status_code == 204
        assert not Milestone.objects.exists()

    def test_a_due_date_before_the_start_is_a_400_naming_the_field(self, world, client_as):
        client = client_as("member")
        response = client.post(
            "/api/milestones",
            {"project": "SHOP", "name": "2.0", "start_date": "2026-12-20", "due_date": "2026-12-01"},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {"due_date": ["The due date cannot be before the start date."]}
        milestone = Milestone.objects.create(project=world.project, name="2.1", due_date="2026-12-10")
        later_start = client.patch(f"/api/milestones/{milestone.pk}", {"start_date": "2026-12-11"}, format="json")
        assert later_start.status_code == 400 and "due_date" in later_start.json()["errors"]

    def test_viewers_read_and_cannot_write(self, world, client_as):
        milestone = Milestone.objects.create(project=world.project, name="2.0")
        viewer = client_as("viewer")
        assert viewer.get(f"/api/milestones/{milestone.pk}").status_code == 200
        assert viewer.post("/api/milestones", {"project": "SHOP", "name": "x"}, format="json").status_code == 403
        assert viewer.delete(f"/api/milestones/{milestone.pk}").status_code == 403

    def test_another_projects_milestone_is_hidden(self, world, client_as):
        other = Milestone.objects.create(project=world.other.project, name="Vault")
        assert client_as("member").get(f"/api/milestones/{other.pk}").status_code == 404
        refused = client_as("member").post("/api/milestones", {"project": "BANK", "name": "x"}, format="json")
        assert refused.status_code == 400 and "project" in refused.json()["errors"]


class TestPlanApiTests:
    def test_a_plan_of_runs_for_a_milestone(self, world, client_as):
        milestone = Milestone.objects.create(project=world.project, name="2.0")
        second = TestRunFactory(project=world.project)
        client = client_as("member")
        created = client.post(
            "/api/testplans",
            {"project": "SHOP", "milestone": milestone.pk, "name": "Browsers", "runs": [world.mine.run.pk, second.pk]},
            format="json",
        )
        assert created.status_code == 201
        assert sorted(created.json()["runs"]) == sorted([world.mine.run.pk, second.pk])
        plan_id = created.json()["id"]
        trimmed = client.patch(f"/api/testplans/{plan_id}", {"runs": [second.pk]}, format="json")
        assert trimmed.json()["runs"] == [second.pk]
        assert [p["id"] for p in client.get(f"/api/testplans?milestone={milestone.pk}").json()["results"]] == [plan_id]

    def test_another_projects_runs_and_milestones_are_refused(self, world, client_as):
        milestone = Milestone.objects.create(project=world.project, name="2.0")
        foreign = Milestone.objects.create(project=world.other.project, name="Vault")
        client = client_as("member")
        with_foreign_run = client.post(
            "/api/testplans",
            {"project": "SHOP", "milestone": milestone.pk, "name": "x", "runs": [world.other.run.pk]},
            format="json",
        )
        assert with_foreign_run.status_code == 400 and "runs" in with_foreign_run.json()["errors"]
        with_foreign_milestone = client.post(
            "/api/testplans", {"project": "SHOP", "milestone": foreign.pk, "name": "x"}, format="json"
        )
        assert with_foreign_milestone.status_code == 400 and "milestone" in with_foreign_milestone.json()["errors"]
        assert not TestPlan.objects.exists()

    def test_viewers_cannot_make_plans(self, world, client_as):
        milestone = Milestone.objects.create(project=world.project, name="2.0")
        response = client_as("viewer").post(
            "/api/testplans", {"project": "SHOP", "milestone": milestone.pk, "name": "x"}, format="json"
        )
        assert response.status_code == 403 and not TestPlan.objects.exists()


class BulkApiTests:
    def test_five_results_get_a_status_and_an_assignee(self, world, client_as):
        results = [
            TestResultFactory(run=world.mine.run, status=ResultStatus.UNTESTED, comment="kept") for _ in range(5)
        ]
        response = client_as("member").post(
            "/api/testresults/bulk",
            {"results": [r.pk for r in results], "status": "passed", "assignee": "admin"},
            format="json",
        )
        assert response.status_code == 200 and response.json() == {"updated": 5}
        stored = TestResult.objects.filter(pk__in=[r.pk for r in results])
        assert set(stored.values_list("status", "comment", "assignee__username", "recorded_by__username")) == {
            ("passed", "kept", "admin", "member")
        }

    def test_nothing_changes_when_one_assignment_is_refused(self, world, client_as):
        result = TestResultFactory(run=world.mine.run, status=ResultStatus.UNTESTED)
        response = client_as("member").post(
            "/api/testresults/bulk", {"results": [result.pk], "status": "passed", "assignee": "viewer"}, format="json"
        )
        assert response.status_code == 400 and "assignee" in response.json()["errors"]
        result.refresh_from_db()
        assert (result.status, result.assignee) == ("untested", None)

    def test_another_projects_result_is_unknown_and_nothing_changes(self, world, client_as):
        mine = TestResultFactory(run=world.mine.run, status=ResultStatus.UNTESTED)
        response = client_as("member").post(
            "/api/testresults/bulk", {"results": [mine.pk, world.other.result.pk], "status": "passed"}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {"results": [f"No test result with id {world.other.result.pk}."]}
        mine.refresh_from_db()
        assert mine.status == "untested"

    def test_viewers_get_403(self, world, client_as):
        response = client_as("viewer").post(
            "/api/testresults/bulk", {"results": [world.mine.result.pk], "status": "passed"}, format="json"
        )
        assert response.status_code == 403
        assert TestResult.objects.get(pk=world.mine.result.pk).status == "failed"

    @pytest.mark.parametrize(
        "body,field",
        [
            ({"results": [], "status": "passed"}, "results"),
            ({"results": "x", "status": "passed"}, "results"),
            ({"status": "exploded"}, "status"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, world, client_as, body, field):
        body = {"results": [world.mine.result.pk], **body}
        response = client_as("member").post("/api/testresults/bulk", body, format="json")
        assert response.status_code == 400 and field in response.json()["errors"]

    def test_a_status_or_an_assignee_is_needed(self, world, client_as):
        response = client_as("member").post("/api/testresults/bulk", {"results": [world.mine.result.pk]}, format="json")
        assert response.status_code == 400
        assert response.json()["message"] == "Give a status, an assignee, or both."
