"""Milestones and plans made in the project: members create, edit and delete them (after a
confirmation), viewers only read, dates are checked, and the releases and sprints pulled from
trackers are listed alongside, each marked with its tracker."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from issues.pulls.models import Plan, PlanKind
from projects.models import Milestone, ResultStatus, Role, TestPlan, TestRun
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
    TestRunFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(user)
    return user


@pytest.fixture
def viewer(client, project):
    user = MembershipFactory(project=project, role=Role.VIEWER).user
    client.force_login(user)
    return user


@pytest.fixture
def milestone(project):
    return Milestone.objects.create(
        project=project, name="Release 2.0", start_date=date(2026, 12, 1), due_date=date(2026, 12, 20)
    )


def url(name, *args):
    return reverse(f"projects:{name}", args=args)


class MilestonePagesTests:
    def test_a_member_creates_a_milestone(self, client, member, project):
        response = client.post(
            url("milestone_create", "SHOP"),
            {"name": "Release 2.0", "start_date": "2026-12-01", "due_date": "2026-12-20", "description": "Checkout"},
        )
        milestone = Milestone.objects.get()
        assert response["Location"] == url("milestone", "SHOP", milestone.pk)
        assert (milestone.project, milestone.due_date, milestone.created_by) == (project, date(2026, 12, 20), member)

    def test_a_due_date_before_the_start_is_refused_naming_the_field(self, client, member):
        response = client.post(
            url("milestone_create", "SHOP"), {"name": "Backwards", "start_date": "2026-12-20", "due_date": "2026-12-01"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors == {"due_date": ["The due date cannot be before the start date."]}
        assert not Milestone.objects.exists()

    def test_a_milestone_needs_a_name_and_every_input_has_a_label(self, client, member):
        response = client.post(url("milestone_create", "SHOP"), {"name": ""})
        assert "This field is required." in response.text
        for field in ("name", "start_date", "due_date", "description"):
            assert f'<label for="id_{field}">' in response.text

    def test_a_member_edits_a_milestone(self, client, member, milestone):
        client.post(
            url("milestone_edit", "SHOP", milestone.pk),
            {"name": "Release 2.1", "start_date": "2026-12-01", "due_date": "2026-12-24"},
        )
        milestone.refresh_from_db()
        assert (milestone.name, milestone.due_date) == ("Release 2.1", date(2026, 12, 24))

    def test_deleting_asks_first_and_keeps_the_runs(self, client, member, project, milestone):
        run = TestRunFactory(project=project, milestone=milestone)
        TestPlan.objects.create(project=project, milestone=milestone, name="Browsers")
        confirm = client.get(url("milestone_delete", "SHOP", milestone.pk))
        assert "Delete milestone “Release 2.0”?" in confirm.text and "Its 1 plan(s) are deleted too" in confirm.text
        assert Milestone.objects.exists()
        response = client.post(url("milestone_delete", "SHOP", milestone.pk))
        assert response["Location"] == url("milestones", "SHOP")
        assert not Milestone.objects.exists() and not TestPlan.objects.exists()
        run.refresh_from_db()
        assert run.milestone is None

    def test_viewers_read_but_cannot_create_edit_or_delete(self, client, viewer, milestone):
        listing = client.get(url("milestones", "SHOP"))
        assert "Release 2.0" in listing.text and "New milestone" not in listing.text
        assert client.get(url("milestone_create", "SHOP")).status_code == 403
        assert client.post(url("milestone_edit", "SHOP", milestone.pk), {"name": "X"}).status_code == 403
        assert client.post(url("milestone_delete", "SHOP", milestone.pk)).status_code == 403
        assert Milestone.objects.get().name == "Release 2.0"

    def test_another_projects_milestone_answers_404(self, client, member):
        other = Milestone.objects.create(project=ProjectFactory(key="BANK"), name="Vault")
        assert client.get(url("milestone", "SHOP", other.pk)).status_code == 404
        assert client.post(url("milestone_delete", "SHOP", other.pk)).status_code == 404
        assert client.get(url("milestone", "BANK", other.pk)).status_code == 404

    def test_the_milestone_shows_the_progress_of_its_runs_and_plans(self, client, member, project, milestone):
        own = TestRunFactory(project=project, milestone=milestone, name="Own run")
        planned = TestRunFactory(project=project, name="Planned run")
        TestPlan.objects.create(project=project, milestone=milestone, name="Browsers").runs.add(planned)
        TestResultFactory(run=own, status=ResultStatus.PASSED)
        TestResultFactory(run=planned, status=ResultStatus.UNTESTED)
        response = client.get(url("milestone", "SHOP", milestone.pk))
        assert response.context["progress"]["tested"] == 1 and response.context["progress"]["total"] == 2
        assert "Own run" in response.text and "Planned run" in response.text and "Browsers" in response.text

    def test_the_list_reads_progress_in_the_same_number_of_queries_for_any_number_of_milestones(
        self, client, member, project, milestone
    ):
        def queries():
            with CaptureQueriesContext(connection) as captured:
                client.get(url("milestones", "SHOP"))
            return len(captured)

        TestResultFactory(run=TestRunFactory(project=project, milestone=milestone))
        one = queries()
        for n in range(5):
            other = Milestone.objects.create(project=project, name=f"Sprint {n}")
            TestResultFactory(run=TestRunFactory(project=project, milestone=other))
        assert queries() == one

    def test_empty_states(self, client, member):
        listing = client.get(url("milestones", "SHOP")).text
        assert "No milestone made here yet." in listing
        assert "No release or sprint pulled from a tracker." in listing

    def test_pulled_releases_and_sprints_appear_alongside_marked_with_their_tracker(
        self, client, member, project, milestone
    ):
        integration = ProjectIntegrationFactory(project=project, source=SourceFactory(name="Acme Jira"))
        for kind, name in ((PlanKind.RELEASE, "v3.1"), (PlanKind.SPRINT, "Sprint 7")):
            Plan.objects.create(
                project=project, integration=integration, kind=kind, remote_id=name, name=name, pulled_at=timezone.now()
            )
        Plan.objects.create(
            project=project,
            kind=PlanKind.RELEASE,
            remote_id="old",
            name="Gone",
            deleted_remotely=True,
            pulled_at=timezone.now(),
        )
        page = client.get(url("milestones", "SHOP")).text
        pulled = page.split('id="pulled-plans"')[1]
        assert "v3.1" in pulled and "Sprint 7" in pulled and pulled.count("Acme Jira") == 2
        assert "Gone" not in pulled
        assert "Release 2.0" in page.split('id="pulled-plans"')[0]


class PlanPagesTests:
    def test_a_member_makes_a_plan_of_runs_for_a_milestone(self, client, member, project, milestone):
        runs = [TestRunFactory(project=project) for _ in range(2)]
        form = client.get(url("plan_create", "SHOP"), {"milestone": milestone.pk})
        assert form.context["form"].initial["milestone"] == str(milestone.pk)
        response = client.post(
            url("plan_create", "SHOP"),
            {"name": "Browsers", "milestone": milestone.pk, "runs": [run.pk for run in runs]},
        )
        assert response["Location"] == url("milestone", "SHOP", milestone.pk)
        plan = TestPlan.objects.get()
        assert (plan.milestone, set(plan.runs.all()), plan.created_by) == (milestone, set(runs), member)

    def test_another_projects_run_or_milestone_cannot_be_chosen(self, client, member, project, milestone):
        bank = ProjectFactory(key="BANK")
        foreign_run = TestRunFactory(project=bank)
        foreign_milestone = Milestone.objects.create(project=bank, name="Vault")
        response = client.post(
            url("plan_create", "SHOP"), {"name": "Mixed", "milestone": foreign_milestone.pk, "runs": [foreign_run.pk]}
        )
        errors = response.context["form"].errors
        assert set(errors) == {"milestone", "runs"}
        assert not TestPlan.objects.exists()

    def test_a_plan_is_edited_and_deleted_after_confirmation(self, client, member, project, milestone):
        plan = TestPlan.objects.create(project=project, milestone=milestone, name="Browsers")
        run = TestRunFactory(project=project)
        client.post(
            url("plan_edit", "SHOP", plan.pk), {"name": "All browsers", "milestone": milestone.pk, "runs": [run.pk]}
        )
        plan.refresh_from_db()
        assert (plan.name, list(plan.runs.all())) == ("All browsers", [run])
        assert "Delete plan “All browsers”?" in client.get(url("plan_delete", "SHOP", plan.pk)).text
        client.post(url("plan_delete", "SHOP", plan.pk))
        assert not TestPlan.objects.exists() and TestRun.objects.filter(pk=run.pk).exists()

    def test_viewers_cannot_make_plans(self, client, viewer, milestone):
        assert client.post(url("plan_create", "SHOP"), {"name": "X", "milestone": milestone.pk}).status_code == 403
        assert not TestPlan.objects.exists()


class RunMilestoneTests:
    def test_a_new_run_can_belong_to_a_milestone_of_its_project(self, client, member, project, milestone):
        client.post(url("run_create", "SHOP"), {"name": "Nightly", "milestone": milestone.pk})
        assert TestRun.objects.get().milestone == milestone

    def test_another_projects_milestone_is_not_a_choice(self, client, member):
        other = Milestone.objects.create(project=ProjectFactory(key="BANK"), name="Vault")
        response = client.post(url("run_create", "SHOP"), {"name": "Nightly", "milestone": other.pk})
        assert "milestone" in response.context["form"].errors and not TestRun.objects.exists()


def test_the_database_refuses_a_milestone_due_before_it_starts(project):
    with pytest.raises(IntegrityError), transaction.atomic():
        Milestone.objects.create(
            project=project, name="Backwards", start_date=date(2026, 12, 2), due_date=date(2026, 12, 1)
        )
    Milestone.objects.create(project=project, name="One day", start_date=date(2026, 12, 1), due_date=date(2026, 12, 1))
