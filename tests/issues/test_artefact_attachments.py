"""Test cases and requirements have attachments, like issues: upload, download, delete."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from issues.core.models import ArtefactAttachment
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, RequirementFactory, TestCaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


def logged_in(client, project, role):
    client.force_login(MembershipFactory(project=project, role=role).user)


def upload(client, kind, artefact, *files):
    return client.post(
        reverse("issues:artefact_attachment_add", args=["SHOP", kind, artefact.pk]), {"attachments": list(files)}
    )


@pytest.mark.parametrize("kind", ["case", "requirement"])
def test_a_member_attaches_downloads_and_deletes_a_file(client, project, kind):
    logged_in(client, project, Role.MEMBER)
    artefact = TestCaseFactory(project=project) if kind == "case" else RequirementFactory(project=project)
    page_name = "projects:case" if kind == "case" else "projects:requirement"

    response = upload(
        client, kind, artefact, SimpleUploadedFile("spec.txt", b"hello"), SimpleUploadedFile("s.png", b"\x89PNG")
    )

    assert response["Location"] == reverse(page_name, args=["SHOP", artefact.pk]) + "#attachments"
    stored = list(artefact.attachments.order_by("original_name"))
    assert [(a.original_name, a.size) for a in stored] == [("s.png", 4), ("spec.txt", 5)]
    page = client.get(reverse(page_name, args=["SHOP", artefact.pk])).text
    assert "spec.txt" in page and 'id="attachments"' in page
    download = client.get(reverse("issues:artefact_attachment", args=["SHOP", kind, artefact.pk, stored[1].pk]))
    assert b"".join(download.streaming_content) == b"hello"
    assert download["Content-Disposition"].startswith("attachment") and "sandbox" in download["Content-Security-Policy"]

    delete_url = reverse("issues:artefact_attachment_delete", args=["SHOP", kind, artefact.pk, stored[1].pk])
    assert "Delete the attachment “spec.txt”" in client.get(delete_url).text  # asked before deleting
    client.post(delete_url)
    assert [a.original_name for a in artefact.attachments.all()] == ["s.png"]


def test_an_oversized_file_attaches_nothing(client, project, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    logged_in(client, project, Role.MEMBER)
    case = TestCaseFactory(project=project)
    response = upload(
        client, "case", case, SimpleUploadedFile("ok.txt", b"ok"), SimpleUploadedFile("big.log", b"x" * 2048)
    )
    assert "Nothing was attached" in client.get(response["Location"]).text
    assert not ArtefactAttachment.objects.exists()


def test_viewers_download_but_cannot_attach_or_delete(client, project):
    case = TestCaseFactory(project=project)
    logged_in(client, project, Role.MEMBER)
    upload(client, "case", case, SimpleUploadedFile("spec.txt", b"hello"))
    attachment = ArtefactAttachment.objects.get()
    logged_in(client, project, Role.VIEWER)
    page = client.get(reverse("projects:case", args=["SHOP", case.pk])).text
    assert "spec.txt" in page and "Attach files" not in page
    assert (
        client.get(reverse("issues:artefact_attachment", args=["SHOP", "case", case.pk, attachment.pk])).status_code
        == 200
    )
    assert upload(client, "case", case, SimpleUploadedFile("x.txt", b"x")).status_code == 403
    delete_url = reverse("issues:artefact_attachment_delete", args=["SHOP", "case", case.pk, attachment.pk])
    assert client.post(delete_url).status_code == 403
    assert ArtefactAttachment.objects.count() == 1


def test_other_projects_and_unknown_kinds_answer_404(client, project):
    other_case = TestCaseFactory(project=ProjectFactory(key="BANK"))
    logged_in(client, project, Role.MEMBER)
    assert upload(client, "case", other_case, SimpleUploadedFile("x.txt", b"x")).status_code == 404
    case = TestCaseFactory(project=project)
    assert upload(client, "run", case, SimpleUploadedFile("x.txt", b"x")).status_code == 404
    client.force_login(UserFactory())
    assert upload(client, "case", case, SimpleUploadedFile("x.txt", b"x")).status_code == 404
    assert not ArtefactAttachment.objects.exists()
