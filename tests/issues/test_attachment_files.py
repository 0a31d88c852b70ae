"""An attachment's file leaves the disk with its row, whatever deleted the row: the attachment, its issue,
or by cascade its test case, requirement, run or project; and only once the delete is committed."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from issues.core.models import ArtefactAttachment, Attachment
from issues.core.services import add_artefact_attachments, add_attachments, delete_attachment, delete_issue
from tests.factories import ProjectFactory, RequirementFactory, TestCaseFactory, TestResultFactory, make_issue

pytestmark = pytest.mark.django_db


def on_disk(attachment) -> Path:
    return Path(settings.MEDIA_ROOT) / attachment.file.name


def a_file(name="trace.log"):
    return SimpleUploadedFile(name, b"boom", "text/plain")


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


def test_deleting_an_attachment_removes_its_file(project, django_capture_on_commit_callbacks):
    (stored,) = add_attachments(make_issue(project), [a_file()])
    path = on_disk(stored)
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        delete_attachment(stored)

    assert not path.exists() and not Attachment.objects.exists()


def test_deleting_an_issue_removes_its_attachments_files(project, django_capture_on_commit_callbacks):
    issue = make_issue(project)
    paths = [on_disk(stored) for stored in add_attachments(issue, [a_file("a.log"), a_file("b.png")])]

    with django_capture_on_commit_callbacks(execute=True):
        delete_issue(issue)

    assert [path.exists() for path in paths] == [False, False]


@pytest.mark.parametrize(
    "artefact",
    [
        lambda project: TestCaseFactory(project=project),
        lambda project: RequirementFactory(project=project),
        lambda project: TestResultFactory(run__project=project),
    ],
    ids=["test case", "requirement", "test result"],
)
def test_deleting_an_artefact_removes_its_attachments_files(project, artefact, django_capture_on_commit_callbacks):
    artefact = artefact(project)
    (stored,) = add_artefact_attachments(artefact, [a_file()])
    path = on_disk(stored)

    with django_capture_on_commit_callbacks(execute=True):
        artefact.delete()

    assert not path.exists() and not ArtefactAttachment.objects.exists()


def test_deleting_a_run_or_a_project_removes_every_file_below_it(project, django_capture_on_commit_callbacks):
    result = TestResultFactory(run__project=project)
    (of_result,) = add_artefact_attachments(result, [a_file()])
    (of_case,) = add_artefact_attachments(TestCaseFactory(project=project), [a_file()])
    (of_issue,) = add_attachments(make_issue(project), [a_file()])
    paths = {name: on_disk(stored) for name, stored in [("result", of_result), ("case", of_case), ("issue", of_issue)]}

    with django_capture_on_commit_callbacks(execute=True):
        result.run.delete()
    assert {name: path.exists() for name, path in paths.items()} == {"result": False, "case": True, "issue": True}

    with django_capture_on_commit_callbacks(execute=True):
        project.delete()
    assert {name: path.exists() for name, path in paths.items()} == {"result": False, "case": False, "issue": False}


def test_a_delete_that_is_rolled_back_keeps_the_file(project, django_capture_on_commit_callbacks):
    case = TestCaseFactory(project=project)
    (stored,) = add_artefact_attachments(case, [a_file()])

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        case.delete()
        raise RuntimeError("the rest of the request failed")

    assert on_disk(stored).exists() and ArtefactAttachment.objects.filter(pk=stored.pk).exists()
