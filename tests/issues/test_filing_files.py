"""Files go with a filing: uploaded on the filing form, or an internal issue's attachments handed to
``file_issue`` (what a push sends). Trackers that take files get them (Jira here, over real HTTP;
each tracker's own upload is specified in tests/integrations); GitHub, which takes none, gets links
to the permission-checked download here. A file that does not arrive is named, and the issue is
filed all the same."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent, AuthType, Provider
from issues.core.services import add_artefact_attachments, add_attachment, create_issue
from issues.filing import services
from issues.links.models import ExternalReference
from projects.models import ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
    UserFactory,
)
from tests.fakes.fixtures import GITHUB_LOGIN, GITHUB_TOKEN
from tests.issues.filing_support import jira_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER, user__username="mia").user
    client.force_login(user)
    return user


@pytest.fixture
def result(project):
    return TestResultFactory(run__project=project, case__title="Pay with card", status=ResultStatus.FAILED)


@pytest.fixture
def github(fake_github, project):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    source = SourceFactory(
        provider=Provider.GITHUB,
        name="GitHub",
        base_url=fake_github.web_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": GITHUB_TOKEN},
        issue_url_template="",
        can_create_issues=True,
    )
    return ProjectIntegrationFactory(
        project=project, source=source, external_project="acme/shop", default_issue_type="Issue", is_primary=True
    )


def file_url(result) -> str:
    return f"{reverse('issues:file_issue', args=['SHOP'])}?result={result.pk}"


def form_values(response) -> dict:
    return {field.html_name: field.value() for field in response.context["form"] if field.value() is not None}


class FilingFormFilesTests:
    def test_files_chosen_on_the_form_reach_jira_with_their_names_and_bytes(
        self, client, member, result, fake_jira_cloud, project
    ):
        jira = jira_world(fake_jira_cloud, project)
        url = file_url(result)
        form = client.get(url)
        assert 'type="file"' in form.text and 'name="files"' in form.text
        values = {
            **form_values(form),
            f"field_{jira.environment}": "Staging",
            "files": [
                SimpleUploadedFile("trace.log", b"Traceback (most recent call last)", "text/plain"),
                SimpleUploadedFile("screen.png", b"\x89PNG\r\n", "image/png"),
            ],
        }

        response = client.post(url, values)

        assert response.status_code == 302
        stored = jira.only_issue().attachments
        assert [(a.filename, a.content) for a in stored] == [
            ("trace.log", b"Traceback (most recent call last)"),
            ("screen.png", b"\x89PNG\r\n"),
        ]
        audit = AuditEvent.objects.get(action=AuditAction.ISSUE_CREATED)
        assert (audit.details["files_sent"], audit.details["files_not_sent"]) == (["trace.log", "screen.png"], [])

    def test_a_file_jira_finds_too_large_is_named_on_the_page_and_the_issue_is_filed(
        self, client, member, result, fake_jira_cloud, project
    ):
        jira = jira_world(fake_jira_cloud, project)
        fake_jira_cloud.max_attachment_bytes = 5
        url = file_url(result)
        values = {
            **form_values(client.get(url)),
            f"field_{jira.environment}": "Staging",
            "files": [SimpleUploadedFile("ok.txt", b"ok"), SimpleUploadedFile("huge.bin", b"0" * 10)],
        }

        page = client.post(url, values, follow=True)

        key = ExternalReference.objects.get().key
        assert f"{key} is filed in Acme Jira" in page.text
        assert "huge.bin was not sent to Acme Jira" in page.text
        assert [a.filename for a in jira.only_issue().attachments] == ["ok.txt"]
        assert AuditEvent.objects.get(action=AuditAction.ISSUE_CREATED).details["files_not_sent"] == ["huge.bin"]

    def test_the_github_form_says_files_are_not_sent_and_offers_no_file_input(self, client, member, result, github):
        page = client.get(file_url(result))

        assert page.status_code == 200
        assert 'name="files"' not in page.text
        assert 'id="files-by-link"' in page.text
        assert "GitHub takes no files through its API" in page.text


class IssueAttachmentsToGitHubTests:
    @pytest.fixture
    def internal(self, project, member):
        issue = create_issue(project=project, name="Receipt missing", reporter=member)
        add_attachment(issue, SimpleUploadedFile("receipt.log", b"no receipt", "text/plain"), uploaded_by=member)
        return issue

    def file_with_attachments(self, github, member, result, internal):
        draft = services.build_draft(
            github,
            issue_type="Issue",
            title="Receipt missing",
            description="It broke.",
            values={},
            kinds={},
            reporter=member,
        )
        return services.file_issue(
            integration=github,
            actor=member,
            draft=draft,
            artefacts=[result],
            marker=services.new_marker(),
            site_url="http://testserver/",
            attachments=services.stored_files(internal.attachments.all(), "http://testserver/"),
        )

    def test_the_description_links_each_attachment_to_its_download_here(
        self, client, fake_github, github, member, result, internal
    ):
        filed = self.file_with_attachments(github, member, result, internal)

        attachment = internal.attachments.get()
        download = reverse("issues:attachment", args=["SHOP", internal.number, attachment.pk])
        body = fake_github.issue("acme/shop", 1).body
        assert f"**Attachments**\n\n- [receipt.log](http://testserver{download})" in body
        assert (filed.notes, filed.unsent_files) == ((), ())
        assert b"".join(client.get(download).streaming_content) == b"no receipt"

    def test_the_linked_download_asks_for_sign_in_and_access_to_the_project(
        self, client, fake_github, github, member, result, internal
    ):
        self.file_with_attachments(github, member, result, internal)
        download = reverse("issues:attachment", args=["SHOP", internal.number, internal.attachments.get().pk])

        client.logout()
        assert client.get(download).status_code == 302  # to the sign-in page
        stranger = UserFactory()
        MembershipFactory(project=ProjectFactory(key="OTHER"), user=stranger)
        client.force_login(stranger)
        assert client.get(download).status_code == 404

    def test_an_attachment_whose_stored_file_is_gone_is_named_and_the_issue_is_filed(
        self, fake_github, github, member, result, internal
    ):
        internal.attachments.get().file.delete(save=False)

        filed = self.file_with_attachments(github, member, result, internal)

        assert filed.created and filed.unsent_files == ("receipt.log",)
        assert filed.notes == (
            "receipt.log was not linked on GitHub: its file is missing from this installation's storage.",
        )
        assert "receipt.log" not in fake_github.issue("acme/shop", 1).body


class ResultAttachmentsTests:
    """A failed result's own files (a screenshot, the log) go with an issue filed from it: the form
    lists them, trackers that take files get them before the files chosen on the form, GitHub gets
    links to their permission-checked download."""

    @pytest.fixture
    def attached(self, result, member):
        add_artefact_attachments(
            result, [SimpleUploadedFile("failure.png", b"\x89PNG shot", "image/png")], uploaded_by=member
        )
        return result.attachments.get()

    def test_the_form_lists_the_results_files_and_jira_gets_them_with_the_forms_files(
        self, client, member, result, attached, fake_jira_cloud, project
    ):
        jira = jira_world(fake_jira_cloud, project)
        url = file_url(result)
        form = client.get(url)
        assert 'id="result-files"' in form.text and "Sent to Acme Jira with the issue" in form.text
        assert "failure.png" in form.text
        values = {
            **form_values(form),
            f"field_{jira.environment}": "Staging",
            "files": [SimpleUploadedFile("trace.log", b"Traceback", "text/plain")],
        }

        assert client.post(url, values).status_code == 302

        assert [(a.filename, a.content) for a in jira.only_issue().attachments] == [
            ("failure.png", b"\x89PNG shot"),
            ("trace.log", b"Traceback"),
        ]
        attachment_posts = fake_jira_cloud.requests_to("POST", r"/rest/api/3/issue/[^/]+/attachments")
        assert len(attachment_posts) == 2
        audit = AuditEvent.objects.get(action=AuditAction.ISSUE_CREATED)
        assert audit.details["files_sent"] == ["failure.png", "trace.log"]

    def test_a_result_file_jira_refuses_is_named_and_the_issue_is_filed(
        self, client, member, result, attached, fake_jira_cloud, project
    ):
        jira = jira_world(fake_jira_cloud, project)
        fake_jira_cloud.max_attachment_bytes = 5
        url = file_url(result)
        values = {**form_values(client.get(url)), f"field_{jira.environment}": "Staging"}

        page = client.post(url, values, follow=True)

        key = ExternalReference.objects.get().key
        assert f"{key} is filed in Acme Jira" in page.text
        assert "failure.png was not sent to Acme Jira" in page.text
        assert jira.only_issue().attachments == []
        assert list(result.attachments.all()) == [attached]  # kept here all the same

    def test_a_result_without_files_lists_none(self, client, member, result, fake_jira_cloud, project):
        jira_world(fake_jira_cloud, project)
        assert 'id="result-files"' not in client.get(file_url(result)).text

    def test_github_gets_a_link_to_the_permission_checked_download(
        self, client, member, result, attached, fake_github, github
    ):
        url = file_url(result)
        form = client.get(url)
        assert "Linked in the description with the issue" in form.text and "failure.png" in form.text

        assert client.post(url, form_values(form)).status_code == 302

        download = reverse("issues:artefact_attachment", args=["SHOP", "result", result.pk, attached.pk])
        body = fake_github.issue("acme/shop", 1).body
        assert f"- [failure.png](http://testserver{download})" in body
        assert b"".join(client.get(download).streaming_content) == b"\x89PNG shot"
        client.force_login(MembershipFactory(project=ProjectFactory(key="OTHER")).user)
        assert client.get(download).status_code == 404
        client.logout()
        assert client.get(download).status_code == 302  # to the sign-in page
