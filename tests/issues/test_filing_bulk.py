"""Filing several failed results of a run at once: one issue per result or one listing them all,
in a background job (eager here) whose page and status follow the outcome of each result; failures
are reported per result and retried without filing anything twice. Against the fake Jira Cloud."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent
from issues.core.services import add_artefact_attachments
from issues.filing import services, tasks
from issues.filing.models import FilingJob, FilingState
from issues.links.models import ExternalReference, Link
from projects.models import ResultStatus, Role
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory, TestRunFactory
from tests.issues.filing_support import CREATE_PATH, jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def client(client, django_capture_on_commit_callbacks):
    """A client whose requests run what they queue once committed (the job's task, eagerly here):
    tests run inside a transaction that never commits."""

    class Committing:
        def __getattr__(self, name):
            method = getattr(client, name)
            if name not in ("get", "post"):
                return method

            def call(*args, **kwargs):
                with django_capture_on_commit_callbacks(execute=True):
                    return method(*args, **kwargs)

            return call

    return Committing()


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(user)
    return user


@pytest.fixture
def jira(fake_jira_cloud, project):
    return jira_world(fake_jira_cloud, project)


@pytest.fixture
def run(project):
    run = TestRunFactory(project=project, name="Nightly", environment="Chrome")
    for title in ("Pay with card", "Refund", "Coupon"):
        TestResultFactory(
            run=run, case__project=project, case__title=title, status=ResultStatus.FAILED, comment=f"{title} broke"
        )
    TestResultFactory(run=run, case__project=project, case__title="Browse", status=ResultStatus.PASSED)
    return run


def bulk_url(run, **query):
    base = reverse("issues:file_bulk", args=["SHOP", run.pk])
    return base + ("?" + "&".join(f"{name}={value}" for name, value in query.items()) if query else "")


def submit(client, jira, run, mode="each", results=None):
    page = client.get(bulk_url(run))
    form = page.context["form"]
    chosen = results if results is not None else [result.pk for result in run.results.filter(status="failed")]
    values = {
        "marker": form["marker"].value(),
        "issue_type": form["issue_type"].value(),
        "mode": mode,
        "results": chosen,
        f"field_{jira.environment}": "Staging",
        "field_priority": "High",
    }
    return client.post(bulk_url(run), values)


def test_only_failed_and_blocked_results_are_offered_and_the_ticked_ones_are_chosen(client, member, jira, run):
    failed = list(run.results.filter(status="failed").order_by("case__title"))
    response = client.get(bulk_url(run, result=failed[0].pk))
    form = response.context["form"]
    assert sorted(choice[1] for choice in form.fields["results"].choices) == [
        "Coupon (failed)",
        "Pay with card (failed)",
        "Refund (failed)",
    ]
    assert [str(pk) for pk in form["results"].value()] == [str(failed[0].pk)]
    assert form["field_priority"].value() == "Medium"


def test_one_issue_per_result_each_linked_and_linked_back(client, member, jira, run):
    response = submit(client, jira, run)
    job = FilingJob.objects.get()
    assert response["Location"] == reverse("issues:filing_job", args=["SHOP", job.pk])
    assert {item.state for item in job.items.all()} == {FilingState.FILED}
    assert job.finished_at is not None
    assert len(jira.fake.issues) == 3
    for item in job.items.select_related("reference", "result__case"):
        remote = jira.fake.issue(item.reference.key)
        assert remote.summary == f"{item.result.case.title} failed in Nightly"
        assert f"{item.result.case.title} broke" in jira.description_of(remote.key)
        assert remote.priority == "High" and remote.custom_fields[jira.environment]["value"] == "Staging"
        assert Link.objects.get(external_reference=item.reference).test_result == item.result
        assert remote.remote_links[0]["object"]["url"].endswith(f"/results/{item.result_id}/")
    assert AuditEvent.objects.filter(action=AuditAction.ISSUE_CREATED, actor=member).count() == 3

    status = client.get(reverse("issues:filing_job_status", args=["SHOP", job.pk])).json()
    assert (status["total"], status["filed"], status["failed"], status["done"]) == (3, 3, 0, True)
    assert {item["key"] for item in status["items"]} == set(jira.fake.issues)


def test_one_combined_issue_lists_every_result_in_a_table(client, member, jira, run):
    submit(client, jira, run, mode="combined")
    (remote,) = jira.fake.issues.values()
    assert remote.summary == "3 tests failed in Nightly"
    description = jira.description_of(remote.key)
    for title in ("Pay with card", "Refund", "Coupon"):
        assert title in description and f"{title} broke" in description
    reference = ExternalReference.objects.get()
    assert Link.objects.filter(external_reference=reference).count() == 3
    assert len(remote.remote_links) == 3  # one per result page
    assert set(FilingJob.objects.get().items.values_list("reference", flat=True)) == {reference.pk}


def attach(result, name: str, content: bytes):
    add_artefact_attachments(result, [SimpleUploadedFile(name, content, "text/plain")])


def test_each_results_files_go_with_its_own_issue_and_a_refused_one_is_named(client, member, jira, run):
    pay, refund = (run.results.get(case__title=title) for title in ("Pay with card", "Refund"))
    attach(pay, "pay.log", b"card declined")
    attach(refund, "refund.log", b"x" * 50)
    jira.fake.max_attachment_bytes = 20
    page = client.get(bulk_url(run))
    assert "the files attached to a result go with its issue" in page.text

    submit(client, jira, run)

    job = FilingJob.objects.get()
    assert {item.state for item in job.items.all()} == {FilingState.FILED}  # a refused file fails no issue
    files = {
        item.result.case.title: [(a.filename, a.content) for a in jira.fake.issue(item.reference.key).attachments]
        for item in job.items.select_related("reference", "result__case")
    }
    assert files == {"Pay with card": [("pay.log", b"card declined")], "Refund": [], "Coupon": []}
    refused = job.items.get(result=refund)
    assert any("refund.log was not sent to Acme Jira" in note for note in refused.notes)


def test_one_combined_issue_takes_every_results_files(client, member, jira, run):
    pay, refund = (run.results.get(case__title=title) for title in ("Pay with card", "Refund"))
    attach(pay, "pay.log", b"card declined")
    attach(refund, "refund.log", b"no refund")

    submit(client, jira, run, mode="combined")

    assert sorted(a.filename for a in jira.only_issue().attachments) == ["pay.log", "refund.log"]


def test_a_failure_is_reported_for_its_result_and_a_retry_files_it_once(client, member, jira, run):
    jira.fake.fail_next(
        500, {"errorMessages": ["Internal server error"], "errors": {}}, method="POST", path=CREATE_PATH
    )
    submit(client, jira, run)
    job = FilingJob.objects.get()
    failed = job.items.get(state=FilingState.FAILED)
    assert "Internal server error" in failed.error and "retrying looks for it first" in failed.error
    assert job.items.filter(state=FilingState.FILED).count() == 2 and len(jira.fake.issues) == 2
    page = client.get(reverse("issues:filing_job", args=["SHOP", job.pk]))
    assert (
        "Internal server error" in page.text
        and 'id="retry-form"' in page.text
        and " hidden" not in (page.text.split('id="retry-form"')[1].split(">")[0])
    )

    response = client.post(reverse("issues:filing_job_retry", args=["SHOP", job.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == FilingState.FILED and failed.attempts == 2
    assert len(jira.fake.issues) == 3 and Link.objects.count() == 3
    assert len(jira.creates()) == 4  # three filed, one lost to the error


def test_a_retry_after_a_lost_answer_finds_the_issue_by_its_marker(client, member, jira, run):
    jira.fake.fail_next(504, "Gateway Timeout", method="POST", path=CREATE_PATH)
    submit(client, jira, run)
    lost = FilingJob.objects.get().items.get(state=FilingState.FAILED)
    behind = jira.fake.add_issue(
        "SHOP", "Created behind the timeout", issue_type="Bug", description=f"Filed from testmanager, ref {lost.marker}"
    )

    client.post(reverse("issues:filing_job_retry", args=["SHOP", lost.job_id]))
    lost.refresh_from_db()
    assert lost.state == FilingState.FILED and lost.reference.key == behind.key
    assert len(jira.fake.issues) == 3 and len(jira.creates()) == 3


def test_a_job_delivered_again_after_its_worker_died_finds_the_issue_the_dead_run_was_creating(
    client, member, jira, run, monkeypatch
):
    monkeypatch.setattr(tasks.run_filing_job, "delay", lambda job_id: None)  # the worker that takes it dies
    submit(client, jira, run)
    job = FilingJob.objects.get()
    dying = job.items.order_by("pk").first()
    # What the dead run left: the result tried once, its marker "sending", the issue created in Jira.
    job.items.filter(pk=dying.pk).update(attempts=1)
    cache.set(services._attempt_key(jira.integration, dying.marker), services.SENDING, services.SENDING_SECONDS)
    behind = jira.fake.add_issue(
        "SHOP",
        "Created as the worker died",
        issue_type="Bug",
        description=f"Filed from testmanager, ref {dying.marker}",
    )

    services.run_job(job, redelivered=True)

    dying.refresh_from_db()
    assert dying.state == FilingState.FILED and dying.reference.key == behind.key
    assert {item.state for item in job.items.all()} == {FilingState.FILED}
    assert len(jira.fake.issues) == 3 and len(jira.creates()) == 2
    assert Link.objects.filter(external_reference=dying.reference).get().test_result_id == dying.result_id


def test_the_same_bulk_form_submitted_twice_starts_one_job(client, member, jira, run):
    page = client.get(bulk_url(run))
    form = page.context["form"]
    values = {
        "marker": form["marker"].value(),
        "issue_type": form["issue_type"].value(),
        "mode": "each",
        "results": [result.pk for result in run.results.filter(status="failed")],
        f"field_{jira.environment}": "Staging",
    }
    first, second = client.post(bulk_url(run), values), client.post(bulk_url(run), values)
    assert first["Location"] == second["Location"]
    assert FilingJob.objects.count() == 1 and len(jira.fake.issues) == 3


def test_nothing_to_retry_while_every_result_is_filed(client, member, jira, run):
    submit(client, jira, run)
    job = FilingJob.objects.get()
    response = client.post(reverse("issues:filing_job_retry", args=["SHOP", job.pk]), follow=True)
    assert "Nothing to retry" in response.text and len(jira.fake.issues) == 3


def test_required_fields_and_a_choice_of_results_are_asked_for(client, member, jira, run):
    page = client.get(bulk_url(run))
    form = page.context["form"]
    response = client.post(
        bulk_url(run), {"marker": form["marker"].value(), "issue_type": form["issue_type"].value(), "mode": "each"}
    )
    errors = response.context["form"].errors
    assert errors["results"] == ["Choose at least one result."]
    assert errors[f"field_{jira.environment}"] == ["This field is required."]
    assert not FilingJob.objects.exists() and jira.fake.issues == {}


def test_viewers_watch_a_job_but_may_neither_start_nor_retry_one(client, project, jira, run):
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(member)
    submit(client, jira, run)
    job = FilingJob.objects.get()
    client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
    assert client.get(reverse("issues:filing_job", args=["SHOP", job.pk])).status_code == 200
    assert client.get(bulk_url(run)).status_code == 403
    assert client.post(reverse("issues:filing_job_retry", args=["SHOP", job.pk])).status_code == 403


def test_another_projects_job_and_run_are_not_found(client, member, jira, run):
    other = TestRunFactory()
    assert client.get(reverse("issues:file_bulk", args=["SHOP", other.pk])).status_code == 404
    submit(client, jira, run)
    job = FilingJob.objects.get()
    outsider_project = ProjectFactory(key="BANK")
    client.force_login(MembershipFactory(project=outsider_project, role=Role.ADMIN).user)
    assert client.get(reverse("issues:filing_job", args=["SHOP", job.pk])).status_code == 404
    assert client.get(reverse("issues:filing_job", args=["BANK", job.pk])).status_code == 404


def test_the_field_mappings_fill_each_issue_with_its_own_results_facts(client, member, jira, run):
    """Bulk filing reads the defect field mappings as filing one failure does: a field the run's form left
    empty takes what the mapping gives each result (its comment here)."""
    failure = jira.fake.add_field("SHOP", "Bug", "Failure", "text")
    jira.integration.field_mappings = {
        "defect": {"fields": {failure.field_id: {"source": "value", "value": "{result.comment}"}}}
    }
    jira.integration.save()

    submit(client, jira, run)

    job = FilingJob.objects.get()
    assert {item.state for item in job.items.all()} == {FilingState.FILED}
    for item in job.items.select_related("reference", "result__case"):
        assert jira.fake.issue(item.reference.key).custom_fields[failure.field_id] == f"{item.result.case.title} broke"
