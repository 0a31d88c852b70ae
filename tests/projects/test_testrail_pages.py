"""The Import pages: upload, preview with the mapping, confirm, progress and log; who may use them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from issues.imports import services
from projects.models import CaseField, CaseFieldKind, ImportJob, ImportStatus, Role, TestCase
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory
from tests.projects.testrail_support import fixture, import_through_job, nested_suite

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    membership = MembershipFactory(project=project, role=Role.MEMBER)
    client.force_login(membership.user)
    return membership.user


def start_url(key="SHOP"):
    return reverse("imports:start", args=[key])


def job_url(job, key="SHOP", name="job"):
    return reverse(f"imports:{name}", args=[key, job.pk])


def upload(client, name, data=None):
    return client.post(start_url(), {"file": SimpleUploadedFile(name, fixture(name) if data is None else data)})


def settings_of(response, **changes) -> dict:
    """The preview form's current values, as the browser would post them back, with some changed."""
    form = response.context["form"]
    data = {name: ("" if form[name].value() is None else form[name].value()) for name in form.fields}
    return {**data, **changes}


def field_for(rows, value):
    return next(field.name for shown, _, field in rows if shown == value)


class UploadAndPreviewTests:
    def test_members_find_the_import_on_the_project_home(self, client, member):
        response = client.get(reverse("projects:home", args=["SHOP"]))
        assert start_url() in response.text

    def test_an_upload_shows_the_preview_and_changes_nothing(self, client, member, project):
        response = upload(client, "suite.xml")
        job = ImportJob.objects.get()
        assert response.status_code == 302 and response["Location"] == job_url(job)

        preview = client.get(job_url(job))

        assert preview.status_code == 200
        text = preview.text
        assert "TestRail XML export of the suite “Web shop”: 4 sections" in text
        assert "Create <strong>5</strong> test cases" in text
        assert "it has no TestRail case id (C123)" in text and "C105 appears a second time" in text
        assert "支付宝付款" in text and "Checkout/Payment providers/PayPal - Wallets" in text
        form = preview.context["form"]
        assert form[field_for(form.priority_rows(), "High")].value() == "high"
        assert [custom.name for custom, _, _ in form.field_rows()] == ["automation_type", "browsers", "status"]
        assert not TestCase.objects.exists()

    @pytest.mark.parametrize(
        "name, data, message",
        [
            ("broken.xml", None, "The file is not well-formed XML: mismatched tag: line 17, column 5."),
            ("billion-laughs.xml", None, "The XML declares entities or external references, which are refused"),
            ("external-entity.xml", None, "The XML declares entities or external references, which are refused"),
            ("broken.csv", None, "The file is not valid CSV (line 3)"),
            (
                "latin1.csv",
                '"ID","Title"\n"C1","Café"\n'.encode("latin-1"),
                "is not readable as UTF-8 text: byte 23 (0xE9)",
            ),
            ("deep.xml", nested_suite(40_000), "Sections are nested more than 100 levels deep"),
        ],
        ids=["broken-xml", "billion-laughs", "external-entity", "broken-csv", "latin1", "nested-40000-deep"],
    )
    def test_a_file_that_cannot_be_imported_is_refused_with_the_reason_and_nothing_is_stored(
        self, client, member, name, data, message
    ):
        response = upload(client, name, data)

        assert response.status_code == 200
        assert message in response.context["form"].errors["file"][0]
        assert not ImportJob.objects.exists() and not TestCase.objects.exists()

    def test_updating_the_preview_keeps_the_mapping_and_shows_its_effect(self, client, member):
        upload(client, "suite.xml")
        job = ImportJob.objects.get()
        form = client.get(job_url(job)).context["form"]
        high = field_for(form.priority_rows(), "High")

        response = client.post(
            job_url(job), settings_of(client.get(job_url(job)), **{high: "critical"}, action="refresh")
        )

        assert response.status_code == 200
        job.refresh_from_db()
        assert job.status == ImportStatus.PREVIEW and job.options["mapping"]["priorities"]["High"] == "critical"
        assert response.context["form"][high].value() == "critical"
        assert not TestCase.objects.exists()

    def test_a_custom_field_can_be_sent_to_a_project_field_of_another_name(
        self, client, member, project, django_capture_on_commit_callbacks
    ):
        CaseField.objects.create(project=project, name="tool", label="Tool", kind=CaseFieldKind.TEXT)
        upload(client, "suite.xml")
        job = ImportJob.objects.get()
        preview = client.get(job_url(job))
        target = next(
            target.name
            for custom, _, target in preview.context["form"].field_rows()
            if custom.name == "automation_type"
        )
        assert '<option value="custom:tool">Tool (tool)</option>' in preview.text

        with django_capture_on_commit_callbacks(execute=True):
            client.post(job_url(job), settings_of(preview, **{target: "custom:tool"}, action="import"))

        assert TestCase.objects.get(import_key="C101").custom_fields == {"tool": "Ranorex"}
        assert list(project.case_fields.values_list("name", flat=True)) == ["tool", "browsers", "status"]

    def test_a_run_export_asks_for_the_run_and_the_tracker_of_its_defects(self, client, member, project):
        jira = ProjectIntegrationFactory(
            project=project, source=SourceFactory(name="Jira", key_pattern=""), is_primary=True
        )
        upload(client, "run-results.csv")

        response = client.get(job_url(ImportJob.objects.get()))

        form = response.context["form"]
        assert form["run_name"].value() == "Release 2.4 regression"
        assert form["integration"].value() == jira.pk
        assert "Jira → SHOP (primary)" in response.text
        assert "Link <strong>3</strong> defects" in response.text and "skip <strong>2</strong>" in response.text
        assert "“shop-99” is not a Jira issue key" in response.text
        assert form[field_for(form.status_rows(), "Retest")].value() == "retest"

    def test_an_invalid_choice_is_shown_and_nothing_starts(self, client, member):
        upload(client, "run-results.csv")
        job = ImportJob.objects.get()

        response = client.post(job_url(job), settings_of(client.get(job_url(job)), run_name="", action="import"))

        assert response.status_code == 200 and response.context["form"].errors["run_name"]
        job.refresh_from_db()
        assert job.status == ImportStatus.PREVIEW and not TestCase.objects.exists()

    def test_cancelling_drops_the_preview(self, client, member):
        upload(client, "suite.xml")
        job = ImportJob.objects.get()
        response = client.post(job_url(job, name="cancel"))
        assert response.status_code == 302 and response["Location"] == start_url()
        assert not ImportJob.objects.exists() and not TestCase.objects.exists()


class ImportAndLogTests:
    def test_importing_runs_the_job_and_the_page_shows_the_outcome_and_the_log(
        self, client, member, django_capture_on_commit_callbacks
    ):
        upload(client, "suite.xml")
        job = ImportJob.objects.get()

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(job_url(job), settings_of(client.get(job_url(job)), action="import"))

        assert response.status_code == 302 and response["Location"] == job_url(job)
        page = client.get(job_url(job))
        job.refresh_from_db()
        assert job.status == ImportStatus.DONE and TestCase.objects.count() == 5
        assert '<progress id="import-progress" max="5" value="5">' in page.text
        assert "Test cases: 5 created, 2 skipped" in page.text
        assert [entry.item for entry in page.context["page"].object_list][:2] == [
            "A case written by hand, without an id",
            "C105",
        ]

    def test_the_log_can_be_narrowed_to_one_action(self, client, member, project):
        job = import_through_job(project, "suite.xml")
        response = client.get(job_url(job), {"show": "skipped"})
        # Two cases, and three references with no tracker to link them to.
        entries = response.context["page"].object_list
        assert [(entry.kind, entry.action) for entry in entries] == [
            *[("case", "skipped")] * 2,
            *[("reference", "skipped")] * 3,
        ]

    def test_a_started_import_cannot_be_started_again(self, client, member, project):
        job = import_through_job(project, "suite.xml")
        TestCase.objects.all().delete()
        response = client.post(job_url(job), {"action": "import"})
        assert response.status_code == 302 and not TestCase.objects.exists()

    def test_the_status_view_reports_the_progress_of_a_running_import(self, client, member, project):
        job = services.upload(project, member, "suite.xml", fixture("suite.xml"))
        services.confirm(job, job.options)
        job.start(total=5)
        job.report_progress(2)

        response = client.get(job_url(job, name="status"))

        assert response.json() == {
            "status": "running",
            "status_label": "Running",
            "finished": False,
            "processed": 2,
            "total": 5,
            "counts": {},
            "error": "",
        }

    def test_the_import_page_lists_earlier_imports(self, client, member, project):
        job = import_through_job(project, "run-results.csv")
        response = client.get(start_url())
        assert job_url(job) in response.text and "Release 2.4 regression" in response.text


class AccessTests:
    @pytest.fixture
    def job(self, project):
        return services.upload(project, None, "suite.xml", fixture("suite.xml"))

    def pages(self, job):
        upload_data = {"file": SimpleUploadedFile("s.xml", fixture("suite.xml"))}
        return [
            ("get", start_url(), {}),
            ("post", start_url(), upload_data),
            ("get", job_url(job), {}),
            ("post", job_url(job), {"action": "import"}),
            ("get", job_url(job, name="status"), {}),
            ("post", job_url(job, name="cancel"), {}),
        ]

    def test_viewers_may_not_import(self, client, project, job):
        client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
        assert "import-link" not in client.get(reverse("projects:home", args=["SHOP"])).text
        for method, url, data in self.pages(job):
            assert getattr(client, method)(url, data).status_code == 403, (method, url)
        job.refresh_from_db()
        assert job.status == ImportStatus.PREVIEW and not TestCase.objects.exists()

    def test_outsiders_learn_nothing(self, client, project, job):
        client.force_login(MembershipFactory(project=ProjectFactory(key="OTHER"), role=Role.ADMIN).user)
        for method, url, data in self.pages(job):
            assert getattr(client, method)(url, data).status_code == 404, (method, url)
        assert ImportJob.objects.get() == job and not TestCase.objects.exists()

    def test_a_job_of_another_project_is_not_found_under_this_one(self, client, member, job):
        MembershipFactory(project=ProjectFactory(key="OTHER"), user=member, role=Role.ADMIN)
        for name in ("job", "status"):
            assert client.get(job_url(job, key="OTHER", name=name)).status_code == 404
        assert client.post(job_url(job, key="OTHER", name="cancel")).status_code == 404
        assert ImportJob.objects.filter(pk=job.pk).exists()

    def test_anonymous_visitors_are_sent_to_log_in(self, client, job):
        response = client.get(start_url())
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
