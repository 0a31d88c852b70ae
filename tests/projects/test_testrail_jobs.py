"""Import jobs: upload, preview, confirm, run as a task; one transaction per file; progress and log."""

import logging

import pytest
from django.core.exceptions import ValidationError

from issues.imports import services
from issues.imports.tasks import import_testrail
from issues.links.models import ExternalReference, Link
from projects.importers.testrail import TestRailError
from projects.models import ImportJob, ImportStatus, TestCase, TestResult, TestRun
from tests.factories import ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.projects.testrail_support import fixture, import_through_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def jira(project):
    source = SourceFactory(name="Jira", key_pattern="")
    return ProjectIntegrationFactory(project=project, source=source, is_primary=True)


class UploadTests:
    def test_a_refused_file_stores_nothing(self, project):
        with pytest.raises(TestRailError, match="not well-formed XML"):
            services.upload(project, None, "broken.xml", fixture("broken.xml"))
        assert not ImportJob.objects.exists()

    def test_the_upload_keeps_the_file_and_the_defaults_of_its_preview(self, project, jira):
        job = services.upload(project, None, "run-results.csv", fixture("run-results.csv"))

        assert (job.status, job.filename, job.size) == (ImportStatus.PREVIEW, "run-results.csv", len(job.data))
        assert job.options["run_name"] == "Release 2.4 regression"
        assert job.options["integration"] == jira.pk
        assert job.options["mapping"]["statuses"]["Retest"] == "retest"
        assert not TestRun.objects.exists()

    def test_a_new_upload_replaces_the_users_unconfirmed_preview_only(self, project):
        me, colleague = UserFactory(), UserFactory()
        services.upload(project, me, "suite.xml", fixture("suite.xml"))
        theirs = services.upload(project, colleague, "suite.xml", fixture("suite.xml"))
        mine = services.upload(project, me, "cases.csv", fixture("cases.csv"))
        assert set(ImportJob.objects.all()) == {theirs, mine}

    def test_an_import_is_confirmed_once(self, project):
        job = services.upload(project, None, "suite.xml", fixture("suite.xml"))
        services.confirm(job, job.options)
        with pytest.raises(ValidationError, match="already been started"):
            services.confirm(job, job.options)
        with pytest.raises(ValidationError, match="has not started can be cancelled"):
            services.discard(job)


class PreviewTests:
    def test_the_preview_says_what_would_be_created_updated_and_left_alone_and_writes_nothing(self, project):
        import_through_job(project, "suite.xml")
        newer = fixture("suite.xml").replace(b"Apply a discount code", b"Apply a coupon code")
        job = services.upload(project, None, "suite.xml", newer + b"\n")
        job.options["mapping"]["priorities"]["Low"] = ""
        services.save_options(job, job.options)

        preview = services.preview(job)

        assert {case.key: action for case, action in preview.sample} == {
            "C101": "unchanged",
            "C102": "updated",
            "C103": "unchanged",
            "C104": "updated",
            "C105": "unchanged",
        }
        assert (preview.count_created, preview.count_updated, preview.count_unchanged) == (0, 2, 3)
        assert [entry.item for entry in preview.export.problems] == ["A case written by hand, without an id", "C105"]
        assert TestCase.objects.get(import_key="C102").title == "Apply a discount code"

    def test_the_preview_of_a_run_names_the_run_and_sorts_the_defects(self, project, jira):
        import_through_job(project, "run-results.csv")
        job = services.upload(project, None, "run-results.csv", fixture("run-results.csv"))

        preview = services.preview(job)

        assert (preview.run.name, preview.results_updated) == ("Release 2.4 regression", 6)
        assert preview.count_created == 0 and preview.count_unchanged == 6
        assert preview.defects.link_count == 3  # SHOP-12 and SHOP-13 of C102, SHOP-12 of C104
        assert sorted(entry.item for entry in preview.defects.skipped) == ["gateway outage", "shop-99"]


class RunTests:
    def test_the_task_imports_the_file_and_records_log_counts_and_run(self, project, jira):
        job = services.upload(project, None, "run-results.csv", fixture("run-results.csv"))
        services.confirm(job, job.options)

        import_testrail.delay(job.pk)

        job.refresh_from_db()
        assert job.status == ImportStatus.DONE
        assert job.counts == {
            "case": {"created": 6},
            "result": {"created": 6, "skipped": 1},
            "defect": {"created": 3, "skipped": 2},
        }
        assert job.run == TestRun.objects.get() and (job.processed, job.total) == (6, 6)
        assert job.data == b"" and job.finished_at is not None and job.error == ""
        assert {
            "kind": "result",
            "action": "created",
            "item": "C102",
            "message": "Failed in “Release 2.4 regression”",
        } in job.log

    def test_a_failure_midway_leaves_nothing_behind_and_ends_the_job(self, project, jira, monkeypatch, caplog):
        def tracker_down(*args, **kwargs):
            raise ConnectionError("audit store unreachable")

        monkeypatch.setattr(services, "record_audit", tracker_down)

        with caplog.at_level(logging.ERROR, logger="issues.imports"):
            job = import_through_job(project, "run-results.csv")

        assert (job.status, job.error) == (ImportStatus.FAILED, services.UNEXPECTED_ERROR)
        assert "audit store unreachable" in caplog.text
        assert not (
            TestCase.objects.exists()
            or TestRun.objects.exists()
            or TestResult.objects.exists()
            or ExternalReference.objects.exists()
            or Link.objects.exists()
        )
        job.refresh_from_db()
        assert job.status == ImportStatus.FAILED and job.data == b""

    def test_a_finished_job_is_not_imported_again(self, project):
        job = import_through_job(project, "suite.xml")
        TestCase.objects.all().delete()

        assert services.run_job(job.pk).status == ImportStatus.DONE
        assert not TestCase.objects.exists()

    def test_a_job_left_running_by_a_dead_worker_is_imported_when_delivered_again(self, project):
        job = services.upload(project, None, "suite.xml", fixture("suite.xml"))
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)

        assert services.run_job(job.pk).status == ImportStatus.DONE
        assert TestCase.objects.count() == 5

    def test_a_job_still_in_preview_is_not_run(self, project):
        job = services.upload(project, None, "suite.xml", fixture("suite.xml"))
        assert services.run_job(job.pk).status == ImportStatus.PREVIEW
        assert not TestCase.objects.exists()


class ProgressTests:
    def test_progress_reported_inside_the_import_is_readable_from_elsewhere(self, project):
        job = services.upload(project, None, "suite.xml", fixture("suite.xml"))
        services.confirm(job, job.options)
        assert job.start(total=5)

        job.report_progress(3)

        elsewhere = ImportJob.objects.get(pk=job.pk)
        assert (elsewhere.status, elsewhere.live_processed(), elsewhere.total) == (ImportStatus.RUNNING, 3, 5)

    def test_a_finished_job_reports_everything_processed(self, project):
        job = import_through_job(project, "suite.xml")
        assert (job.live_processed(), job.total) == (5, 5)
