"""Test cases, requirements and test results have attachments, like issues: upload, download, delete."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from issues.core.artefacts import artefact_path
from issues.core.models import ArtefactAttachment
from issues.core.services import add_artefact_attachments
from projects.models import Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    UserFactory,
)

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


def make(kind, project):
    if kind == "result":
        return TestResultFactory(run__project=project)
    return TestCaseFactory(project=project) if kind == "case" else RequirementFactory(project=project)


@pytest.mark.parametrize("kind", ["case", "requirement", "result"])
def test_a_member_attaches_downloads_and_deletes_a_file(client, project, kind):
    logged_in(client, project, Role.MEMBER)
    artefact = make(kind, project)

    response = upload(
        client, kind, artefact, SimpleUploadedFile("spec.txt", b"hello"), SimpleUploadedFile("s.png", b"\x89PNG")
    )

    assert response["Location"] == artefact_path(artefact) + "#attachments"
    stored = list(artefact.attachments.order_by("original_name"))
    assert [(a.original_name, a.size) for a in stored] == [("s.png", 4), ("spec.txt", 5)]
    page = client.get(artefact_path(artefact)).text
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


@pytest.mark.parametrize("kind", ["case", "result"])
def test_viewers_download_but_cannot_attach_or_delete(client, project, kind):
    artefact = make(kind, project)
    logged_in(client, project, Role.MEMBER)
    upload(client, kind, artefact, SimpleUploadedFile("spec.txt", b"hello"))
    attachment = ArtefactAttachment.objects.get()
    logged_in(client, project, Role.VIEWER)
    page = client.get(artefact_path(artefact)).text
    assert "spec.txt" in page and "Attach files" not in page and "Delete spec.txt" not in page
    assert (
        client.get(reverse("issues:artefact_attachment", args=["SHOP", kind, artefact.pk, attachment.pk])).status_code
        == 200
    )
    assert upload(client, kind, artefact, SimpleUploadedFile("x.txt", b"x")).status_code == 403
    delete_url = reverse("issues:artefact_attachment_delete", args=["SHOP", kind, artefact.pk, attachment.pk])
    assert client.get(delete_url).status_code == 403
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


def test_another_projects_result_and_its_attachment_answer_404(client, project):
    theirs = TestResultFactory(run__project=ProjectFactory(key="BANK"))
    their_file = add_artefact_attachments(theirs, [SimpleUploadedFile("secret.log", b"s")])[0]
    ours = make("result", project)
    logged_in(client, project, Role.MEMBER)

    assert upload(client, "result", theirs, SimpleUploadedFile("x.txt", b"x")).status_code == 404
    # their result addressed in our project, and their file addressed under our result
    for result in (theirs, ours):
        download = reverse("issues:artefact_attachment", args=["SHOP", "result", result.pk, their_file.pk])
        delete = reverse("issues:artefact_attachment_delete", args=["SHOP", "result", result.pk, their_file.pk])
        assert client.get(download).status_code == 404
        assert client.post(delete).status_code == 404
    assert [a.original_name for a in ArtefactAttachment.objects.all()] == ["secret.log"]


def test_a_result_stores_its_files_under_its_project_and_refuses_a_second_artefact(project):
    result = make("result", project)
    (stored,) = add_artefact_attachments(result, [SimpleUploadedFile("trace.log", b"boom", "text/plain")])

    assert (stored.project, stored.test_result, stored.kind, stored.artefact) == (project, result, "result", result)
    assert (stored.test_case, stored.requirement) == (None, None)
    assert list(result.attachments.all()) == [stored]
    stored.test_case = result.case
    with pytest.raises(IntegrityError):
        stored.save()


def test_deleting_a_result_deletes_its_attachments(project):
    result = make("result", project)
    add_artefact_attachments(result, [SimpleUploadedFile("trace.log", b"boom")])
    result.delete()
    assert not ArtefactAttachment.objects.exists()
