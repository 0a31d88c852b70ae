"""Writes on issues: numbering, the version check, tags by name, attachments, links and their audit."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.models import AuditAction, AuditEvent
from issues.core.models import Attachment, Issue, Tag
from issues.core.services import (
    EditConflict,
    add_attachment,
    add_attachments,
    edit_issue,
    tags_by_name,
    update_issue,
)
from issues.links.models import Link
from issues.links.services import link, report_issue, unlink
from projects.models import Project
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TagFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


class UpdateIssueTests:
    def test_applies_changes_and_bumps_the_version(self, project):
        issue = make_issue(project, name="Old")
        updated = update_issue(issue, expected_version=1, name="New", status="in_progress")
        assert (updated.name, updated.status, updated.version) == ("New", "in_progress", 2)

    def test_a_stale_version_raises_with_the_current_issue_and_changes_nothing(self, project):
        issue = make_issue(project, name="Old")
        update_issue(Issue.objects.get(pk=issue.pk), expected_version=1, name="Theirs")
        with pytest.raises(EditConflict) as conflict:
            update_issue(issue, expected_version=1, name="Mine")
        assert conflict.value.issue.name == "Theirs"
        assert "SHOP#1 was changed by someone else" in str(conflict.value)
        assert Issue.objects.get().name == "Theirs"

    def test_only_editable_fields_may_change(self, project):
        issue = make_issue(project)
        with pytest.raises(ValidationError, match="Cannot change number"):
            update_issue(issue, expected_version=1, number=99)
        assert Issue.objects.get().number == 1


class EditIssueTests:
    def test_sets_tags_by_name(self, project):
        issue = make_issue(project, tags=[TagFactory(project=project, name="ui")])
        edited = edit_issue(issue, expected_version=1, tag_names=["api", "ui"], tag_color="#123456", name="Renamed")
        assert sorted(tag.name for tag in edited.tags.all()) == ["api", "ui"]
        assert Tag.objects.get(name="api").color == "#123456"

    def test_a_conflict_leaves_no_new_tag_behind(self, project):
        issue = make_issue(project)
        update_issue(Issue.objects.get(pk=issue.pk), expected_version=1, name="Theirs")
        with pytest.raises(EditConflict):
            edit_issue(issue, expected_version=1, tag_names=["fresh"], name="Mine")
        assert not Tag.objects.exists()


class TagsByNameTests:
    def test_reuses_existing_tags_and_creates_new_ones_once(self, project):
        ui = TagFactory(project=project, name="ui", color="#2563eb")
        tags = tags_by_name(project, [" ui ", "api", "api", ""], color="#d97706")
        assert [tag.name for tag in tags] == ["ui", "api"]
        assert tags[0] == ui and tags[1].color == "#d97706"

    def test_names_of_another_project_are_separate(self, project):
        TagFactory(name="ui")
        assert tags_by_name(project, ["ui"])[0].project == project

    def test_overlong_names_are_refused(self, project):
        with pytest.raises(ValidationError, match="at most 50 characters"):
            tags_by_name(project, ["x" * 51])
        assert not Tag.objects.exists()


class ReportIssueTests:
    def test_creates_numbered_issue_with_tags_attachments_and_link(self, project):
        reporter = UserFactory()
        result = TestResultFactory(run__project=project)
        issue = report_issue(
            project=project,
            reporter=reporter,
            name="Broken",
            tag_names=["ui"],
            artefact=result,
            attachments=[SimpleUploadedFile("a.txt", b"1"), SimpleUploadedFile("b.txt", b"22")],
        )
        assert (issue.key, issue.reporter) == ("SHOP#1", reporter)
        assert [tag.name for tag in issue.tags.all()] == ["ui"]
        assert sorted(issue.attachments.values_list("original_name", "size")) == [("a.txt", 1), ("b.txt", 2)]
        assert Link.objects.get().test_result == result

    def test_a_refused_attachment_creates_nothing_and_leaves_no_file(self, project, settings, tmp_path):
        settings.ATTACHMENT_MAX_BYTES = 5
        with pytest.raises(ValidationError, match="big.bin"):
            report_issue(
                project=project,
                reporter=None,
                name="Broken",
                tag_names=["ui"],
                artefact=TestCaseFactory(project=project),
                attachments=[SimpleUploadedFile("ok.txt", b"1"), SimpleUploadedFile("big.bin", b"123456")],
            )
        assert not Issue.objects.exists() and not Tag.objects.exists() and not Link.objects.exists()
        assert not Attachment.objects.exists()
        media = tmp_path / "media"
        assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))
        assert Project.objects.get(pk=project.pk).last_issue_number == 0

    def test_an_artefact_of_another_project_is_refused(self, project):
        with pytest.raises(ValidationError, match="another project"):
            report_issue(project=project, reporter=None, name="Broken", artefact=TestCaseFactory())
        assert not Issue.objects.exists()


class AttachmentTests:
    def test_stores_under_a_random_name_and_keeps_the_original(self, project):
        attachment = add_attachment(make_issue(project), SimpleUploadedFile("../../etc/passwd.TXT", b"x", "text/plain"))
        assert attachment.original_name == "passwd.TXT"
        assert attachment.file.name.startswith("attachments/") and attachment.file.name.endswith(".txt")
        assert "passwd" not in attachment.file.name
        assert (attachment.size, attachment.content_type) == (1, "text/plain")

    def test_the_size_limit_comes_from_settings(self, project, settings):
        settings.ATTACHMENT_MAX_BYTES = 3
        issue = make_issue(project)
        add_attachment(issue, SimpleUploadedFile("ok.txt", b"123"))
        with pytest.raises(ValidationError, match="at most"):
            add_attachment(issue, SimpleUploadedFile("big.txt", b"1234"))
        assert issue.attachments.count() == 1

    def test_add_attachments_is_all_or_nothing(self, project, settings):
        settings.ATTACHMENT_MAX_BYTES = 3
        issue = make_issue(project)
        with pytest.raises(ValidationError):
            add_attachments(issue, [SimpleUploadedFile("ok.txt", b"1"), SimpleUploadedFile("big.txt", b"1234")])
        assert not Attachment.objects.exists()


class LinkTests:
    @pytest.mark.parametrize(
        "artefact_factory,field",
        [
            (lambda project: TestCaseFactory(project=project), "test_case"),
            (lambda project: TestRunFactory(project=project), "test_run"),
            (lambda project: TestResultFactory(run__project=project), "test_result"),
            (lambda project: RequirementFactory(project=project), "requirement"),
        ],
    )
    def test_links_an_issue_to_every_artefact_kind_once(self, project, artefact_factory, field):
        artefact = artefact_factory(project)
        issue = make_issue(project)
        first = link(artefact=artefact, issue=issue)
        again = link(artefact=artefact, issue=issue)
        assert first == again and getattr(first, field) == artefact and first.project == project

    def test_needs_exactly_one_issue_side(self, project):
        case = TestCaseFactory(project=project)
        with pytest.raises(ValidationError, match="exactly one"):
            link(artefact=case)
        with pytest.raises(ValidationError, match="exactly one"):
            link(artefact=case, issue=make_issue(project), reference=ExternalReferenceFactory())

    def test_refuses_an_issue_of_another_project(self, project):
        with pytest.raises(ValidationError, match="another project"):
            link(artefact=TestCaseFactory(project=project), issue=make_issue())
        assert not Link.objects.exists()

    def test_refuses_things_that_are_not_test_artefacts(self, project):
        with pytest.raises(ValidationError, match="not Membership"):
            link(artefact=MembershipFactory(project=project), issue=make_issue(project))
        assert not Link.objects.exists()

    def test_tracker_references_are_audited_on_link_and_unlink(self, project):
        actor = UserFactory(username="mia")
        reference = ExternalReferenceFactory(key="JIRA-1")
        created = link(artefact=TestCaseFactory(project=project, title="Pay"), reference=reference, actor=actor)
        link(artefact=created.test_case, reference=reference, actor=actor)  # no second audit row
        unlink(created, actor=actor)
        events = list(AuditEvent.objects.order_by("id").values_list("action", "target", "actor_name", "project_key"))
        assert events == [
            (AuditAction.ISSUE_LINKED, "JIRA-1", "mia", "SHOP"),
            (AuditAction.ISSUE_UNLINKED, "JIRA-1", "mia", "SHOP"),
        ]
        assert not Link.objects.exists()

    def test_internal_issue_links_are_not_audited(self, project):
        created = link(artefact=TestCaseFactory(project=project), issue=make_issue(project))
        unlink(created)
        assert not AuditEvent.objects.exists()
