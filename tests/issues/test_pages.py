"""Issue pages: list and filters, create (also from a failed result), edit with the version check,
attachments, links, and Markdown that stays inert."""

import uuid
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues.core.models import Attachment, Issue, Tag
from issues.core.services import add_attachment, update_issue
from issues.links.models import Link
from issues.links.services import link
from projects.models import ResultStatus, Role
from projects.services import record_result
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
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    membership = MembershipFactory(project=project, role=Role.MEMBER, user__username="mia")
    client.force_login(membership.user)
    return membership.user


@pytest.fixture
def viewer(client, project):
    membership = MembershipFactory(project=project, role=Role.VIEWER, user__username="vic")
    client.force_login(membership.user)
    return membership.user


def url(name, *args):
    return reverse(f"issues:{name}", args=["SHOP", *args])


def form_data(**overrides):
    return {
        "name": "Checkout fails",
        "description": "",
        "status": "open",
        "priority": "major",
        "assignee": "",
        "tags": "",
        "tag_color": "#6b7280",
        **overrides,
    }


class IssueListTests:
    def test_filters_combine(self, client, viewer, project):
        ui = TagFactory(project=project, name="ui")
        wanted = make_issue(project, name="Button hidden", priority="critical", assignee=viewer, tags=[ui])
        make_issue(project, name="Button hidden too", priority="minor", assignee=viewer, tags=[ui])
        make_issue(project, name="Other", priority="critical", tags=[ui])
        response = client.get(
            url("list"),
            {"q": "button", "priority": "critical", "tag": "ui", "assignee": str(viewer.pk), "status": "open"},
        )
        assert list(response.context["page"].object_list) == [wanted]

    def test_unresolved_and_unassigned(self, client, viewer, project):
        open_issue = make_issue(project, name="A")
        make_issue(project, name="B", status="in_progress", assignee=viewer)
        make_issue(project, name="C", status="closed")
        unresolved = client.get(url("list"), {"status": "unresolved"}).context["page"].object_list
        assert [issue.name for issue in unresolved] == ["B", "A"]
        unassigned = client.get(url("list"), {"assignee": "none", "status": "unresolved"}).context["page"]
        assert list(unassigned.object_list) == [open_issue]

    @pytest.mark.parametrize("text", ["2", "#2", "SHOP-2", "shop-2"])
    def test_search_finds_an_issue_by_number(self, client, viewer, project, text):
        make_issue(project, name="first")
        second = make_issue(project, name="second")
        assert list(client.get(url("list"), {"q": text}).context["page"].object_list) == [second]

    def test_search_matches_the_description(self, client, viewer, project):
        make_issue(project, name="Crash", description="Stack trace mentions PaymentGateway")
        make_issue(project, name="Other")
        assert [i.name for i in client.get(url("list"), {"q": "paymentgateway"}).context["page"].object_list] == [
            "Crash"
        ]

    def test_invalid_filters_are_reported_and_ignored(self, client, viewer, project):
        make_issue(project)
        response = client.get(url("list"), {"status": "wontfix", "tag": "no-such-tag"})
        assert "Ignored:" in response.text and "Select a valid choice." in response.text
        assert response.context["page"].paginator.count == 1

    def test_paginated_newest_first(self, client, viewer, project):
        for number in range(55):
            make_issue(project, name=f"Issue {number}")
        first = client.get(url("list"))
        assert first.context["page"].object_list[0].key == "SHOP#55"
        assert "55 issues · page 1 of 2" in first.text
        assert len(client.get(url("list"), {"page": 2}).context["page"].object_list) == 5

    def test_empty_states(self, client, member, project):
        assert "Report the first one" in client.get(url("list")).text
        make_issue(project, name="Something")
        assert "No issue matches these filters." in client.get(url("list"), {"q": "zzz"}).text

    def test_viewers_have_no_new_issue_button(self, client, viewer):
        assert "New issue" not in client.get(url("list")).text


class CreateIssueTests:
    def test_member_creates_an_issue_with_new_and_existing_tags(self, client, member, project):
        TagFactory(project=project, name="ui", color="#2563eb")
        response = client.post(
            url("create"),
            form_data(
                description="**bold**",
                priority="critical",
                assignee=str(member.pk),
                tags="ui, checkout, ui",
                tag_color="#d97706",
            ),
        )
        issue = Issue.objects.get()
        assert response["Location"] == url("detail", 1)
        assert (issue.key, issue.priority, issue.assignee, issue.reporter) == ("SHOP#1", "critical", member, member)
        assert {(tag.name, tag.color) for tag in issue.tags.all()} == {("ui", "#2563eb"), ("checkout", "#d97706")}

    def test_the_assignee_must_be_a_project_member(self, client, member, project):
        outsider = UserFactory()
        response = client.post(url("create"), form_data(assignee=str(outsider.pk)))
        assert "Select a valid choice." in response.text
        assert not Issue.objects.exists()

    @pytest.mark.parametrize(
        "overrides,error",
        [
            ({"name": ""}, "This field is required."),
            ({"status": "wontfix"}, "Select a valid choice."),
            ({"priority": "urgent"}, "Select a valid choice."),
            ({"tags": "x" * 51}, "Tag names are at most 50 characters"),
            ({"tag_color": "red"}, "Choose a colour as #rrggbb"),
        ],
    )
    def test_bad_input_is_explained_and_nothing_is_created(self, client, member, project, overrides, error):
        response = client.post(url("create"), form_data(description="typed text", **overrides))
        assert response.status_code == 200
        assert error in response.text and "typed text" in response.text
        assert not Issue.objects.exists() and not Tag.objects.exists()

    def test_attachments_over_the_limit_are_refused_and_nothing_is_created(self, client, member, project, settings):
        settings.ATTACHMENT_MAX_BYTES = 1024
        files = [SimpleUploadedFile("small.txt", b"ok"), SimpleUploadedFile("huge.log", b"x" * 2048)]
        response = client.post(url("create"), {**form_data(tags="new-tag"), "attachments": files})
        assert "huge.log is 2.0\xa0KB. Attachments may be at most 1.0\xa0KB each." in response.text
        assert "choose them again" in response.text
        assert not Issue.objects.exists() and not Attachment.objects.exists() and not Tag.objects.exists()

    def test_several_attachments_are_stored(self, client, member, project):
        files = [SimpleUploadedFile("a.txt", b"first"), SimpleUploadedFile("shot.png", b"\x89PNG")]
        client.post(url("create"), {**form_data(), "attachments": files})
        assert sorted(Issue.objects.get().attachments.values_list("original_name", "size")) == [
            ("a.txt", 5),
            ("shot.png", 4),
        ]

    def test_create_from_a_failed_result_is_prefilled_and_links_the_result(self, client, member, project):
        result = TestResultFactory(
            run__project=project,
            run__name="Nightly",
            run__environment="staging",
            status=ResultStatus.FAILED,
            case__title="Pay with card",
            case__steps=[{"action": "Open cart", "expected": ""}, {"action": "Pay", "expected": "Receipt shown"}],
            comment="Spinner forever",
        )
        form = client.get(url("create"), {"result": result.pk})
        initial = form.context["form"].initial
        result_url = f"http://testserver{reverse('projects:result', args=['SHOP', result.run.pk, result.pk])}"
        assert initial["name"] == "Pay with card failed in Nightly"
        for part in (
            "1. Open cart\n2. Pay",
            "**Expected:** Receipt shown",
            "Receipt shown",
            "Spinner forever",
            f"[Nightly]({result_url})",
            "(staging)",
            "### Actual result",
        ):
            assert part in initial["description"]
        assert "linked to test result" in form.text
        assert form.text.count(f'href="{reverse("projects:result", args=["SHOP", result.run.pk, result.pk])}"') == 2

        response = client.post(
            f"{url('create')}?result={result.pk}", form_data(name=initial["name"], description=initial["description"])
        )
        issue = Issue.objects.get()
        assert response["Location"] == url("detail", issue.number)
        assert list(Link.objects.values_list("issue", "test_result")) == [(issue.pk, result.pk)]

    def test_create_issue_on_a_failure_opens_the_internal_form_with_the_failed_steps_text(
        self, client, member, project
    ):
        result = TestResultFactory(run__project=project, run__name="Nightly", case__title="Pay with card")
        record_result(
            result,
            status=ResultStatus.FAILED,
            comment="Spinner forever",
            step_results=[
                {"action": "Open the cart", "expected": "The cart lists the item", "status": "passed"},
                {"action": "Press Pay", "expected": "A receipt is shown", "status": "failed"},
            ],
        )
        run_page = client.get(reverse("projects:run", args=["SHOP", result.run.pk])).text
        create = f"{url('file_issue')}?result={result.pk}"
        assert f'href="{create}" data-role="create-issue"' in run_page

        # No tracker can take it: "Create issue" is the internal form, prefilled with the result.
        opened = client.get(create, follow=True)

        assert opened.redirect_chain == [(f"{url('create')}?result={result.pk}", 302)]
        initial = opened.context["form"].initial
        assert initial["name"] == "Pay with card failed in Nightly"
        assert "### Failed step\n\nStep 2: Press Pay\n\n**Expected:** A receipt is shown" in initial["description"]
        assert "Spinner forever" in initial["description"]
        assert "Press Pay" in opened.text and "A receipt is shown" in opened.text  # in the textarea

    def test_create_from_a_run_is_prefilled_with_its_failed_results(self, client, member, project):
        run = TestRunFactory(project=project, name="Nightly")
        for title in ("Pay with card", "Apply a coupon"):
            TestResultFactory(run=run, case__project=project, case__title=title, status=ResultStatus.FAILED)
        TestResultFactory(run=run, case__project=project, case__title="Sign in", status=ResultStatus.PASSED)

        initial = client.get(url("create"), {"run": run.pk}).context["form"].initial

        assert initial["name"] == "2 tests failed in Nightly"
        assert "Pay with card" in initial["description"] and "Apply a coupon" in initial["description"]
        assert "Sign in" not in initial["description"]

    @pytest.mark.parametrize("kind", ["case", "run", "result", "requirement"])
    def test_artefacts_of_another_project_cannot_be_linked_at_creation(self, client, member, project, kind):
        other = {
            "case": TestCaseFactory,
            "run": TestRunFactory,
            "result": TestResultFactory,
            "requirement": RequirementFactory,
        }[kind]()
        assert client.get(url("create"), {kind: other.pk}).status_code == 404
        assert client.post(f"{url('create')}?{kind}={other.pk}", form_data()).status_code == 404
        assert not Issue.objects.exists()

    def test_a_malformed_artefact_id_is_not_found(self, client, member):
        assert client.get(url("create"), {"result": "1 OR 1=1"}).status_code == 404

    def test_linking_at_creation_works_for_every_artefact_kind(self, client, member, project):
        requirement = RequirementFactory(project=project)
        client.post(f"{url('create')}?requirement={requirement.pk}", form_data())
        assert Link.objects.get().requirement == requirement


class IssueDetailTests:
    def test_shows_fields_tags_attachments_and_links(self, client, viewer, project):
        tag = TagFactory(project=project, name="ui", color="#2563eb")
        issue = make_issue(project, name="Crash", description="# Heading\n\n- item", tags=[tag], reporter=viewer)
        add_attachment(issue, SimpleUploadedFile("log.txt", b"trace"))
        case = TestCaseFactory(project=project, title="Pay with card")
        link(artefact=case, issue=issue)
        response = client.get(url("detail", 1))
        assert "<h1>Heading</h1>" in response.text and "<li>item</li>" in response.text
        assert 'style="background:#2563eb"' in response.text and ">ui</span>" in response.text
        assert "log.txt" in response.text
        assert reverse("projects:case", args=["SHOP", case.pk]) in response.text

    def test_viewers_get_no_edit_controls(self, client, viewer, project):
        issue = make_issue(project)
        add_attachment(issue, SimpleUploadedFile("log.txt", b"trace"))
        link(artefact=TestCaseFactory(project=project), issue=issue)
        text = client.get(url("detail", 1)).text
        for control in ('id="edit-issue"', "Unlink", "Delete", "Attach</button>", "Link more"):
            assert control not in text

    def test_unknown_numbers_are_not_found(self, client, viewer):
        assert client.get(url("detail", 99)).status_code == 404

    def test_a_huge_pasted_table_is_formatted_up_to_the_limit_and_rendered_once(
        self, client, viewer, project, monkeypatch
    ):
        from integrations.richtext import html

        rows = "\n".join(f"| {uuid.uuid4()} | passed | {number} ms |" for number in range(15_000))
        make_issue(project, name="Nightly", description=f"| Test | Outcome | Time |\n|---|---|---|\n{rows}")
        renders = []
        render = html._render
        monkeypatch.setattr(html, "_render", lambda markdown: renders.append(1) or render(markdown))

        first, second = client.get(url("detail", 1)), client.get(url("detail", 1))

        assert first.status_code == second.status_code == 200
        assert (
            "characters, shown as plain text: only the first 100,000 characters of a text are formatted." in first.text
        )
        assert renders == [1] and first.text.count("<td>passed</td>") == second.text.count("<td>passed</td>") > 1000


class EditIssueTests:
    def test_member_edits_and_the_version_moves_on(self, client, member, project):
        issue = make_issue(project, name="Old", tags=[TagFactory(project=project, name="ui")])
        page = client.get(url("edit", 1))
        assert 'name="version" value="1"' in page.text and 'value="ui"' in page.text
        response = client.post(url("edit", 1), form_data(name="New", status="resolved", tags="backend", version="1"))
        assert response["Location"] == url("detail", 1)
        issue.refresh_from_db()
        assert (issue.name, issue.status, issue.version) == ("New", "resolved", 2)
        assert [tag.name for tag in issue.tags.all()] == ["backend"]

    def test_a_stale_version_shows_the_conflict_and_keeps_what_the_user_typed(self, client, member, project):
        issue = make_issue(project, name="Original", description="original text")
        update_issue(issue, expected_version=1, name="Changed by Bob", description="Bob's text")
        response = client.post(
            url("edit", 1),
            form_data(name="My new name", description="my careful description", tags="brand-new", version="1"),
        )
        assert response.status_code == 409
        assert "SHOP#1 was changed by someone else while you were editing." in response.text
        current = response.text.split('id="current-values"')[1].split("</dl>")[0]
        assert "Changed by Bob" in current and "<p>Bob's text</p>" in current
        form = response.text.split('id="issue-form"')[1]
        assert 'value="My new name"' in form and "my careful description" in form and 'value="brand-new"' in form
        assert 'name="version" value="2"' in form
        issue.refresh_from_db()
        assert (issue.name, issue.version) == ("Changed by Bob", 2)
        assert not Tag.objects.filter(name="brand-new").exists()

    def test_saving_again_after_a_conflict_replaces_the_newer_version(self, client, member, project):
        issue = make_issue(project, name="Original")
        update_issue(issue, expected_version=1, name="Changed by Bob")
        client.post(url("edit", 1), form_data(name="Mine", version="2"))
        issue.refresh_from_db()
        assert (issue.name, issue.version) == ("Mine", 3)

    def test_invalid_edits_change_nothing(self, client, member, project):
        issue = make_issue(project, name="Keep")
        response = client.post(url("edit", 1), form_data(name="", version="1"))
        assert "This field is required." in response.text
        issue.refresh_from_db()
        assert (issue.name, issue.version) == ("Keep", 1)

    def test_viewers_cannot_open_or_post_the_edit_form(self, client, viewer, project):
        issue = make_issue(project, name="Keep")
        assert client.get(url("edit", 1)).status_code == 403
        assert client.post(url("edit", 1), form_data(name="Forged", version="1")).status_code == 403
        assert client.post(url("create"), form_data()).status_code == 403
        issue.refresh_from_db()
        assert (issue.name, Issue.objects.count()) == ("Keep", 1)


class AttachmentTests:
    def test_member_attaches_files_to_an_existing_issue(self, client, member, project):
        issue = make_issue(project)
        response = client.post(
            url("attachment_add", 1),
            {"attachments": [SimpleUploadedFile("a.txt", b"1"), SimpleUploadedFile("b.txt", b"2")]},
        )
        assert response["Location"] == f"{url('detail', 1)}#attachments"
        assert sorted(issue.attachments.values_list("original_name", flat=True)) == ["a.txt", "b.txt"]
        assert "Attached a.txt, b.txt." in client.get(url("detail", 1)).text

    def test_oversized_or_missing_files_are_refused(self, client, member, project, settings):
        settings.ATTACHMENT_MAX_BYTES = 10
        make_issue(project)
        client.post(url("attachment_add", 1), {"attachments": [SimpleUploadedFile("big.bin", b"x" * 11)]})
        assert "Nothing was attached: big.bin is 11\xa0bytes." in client.get(url("detail", 1)).text
        client.post(url("attachment_add", 1), {})
        assert "Choose at least one file to attach." in client.get(url("detail", 1)).text
        assert not Attachment.objects.exists()

    def test_images_are_shown_inline_with_their_type(self, client, viewer, project):
        attachment = add_attachment(make_issue(project), SimpleUploadedFile("shot.PNG", b"\x89PNG", "image/png"))
        response = client.get(url("attachment", 1, attachment.pk))
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline")
        assert b"".join(response.streaming_content) == b"\x89PNG"

    @pytest.mark.parametrize(
        "name,claimed_type",
        [
            ("page.html", "text/html"),
            ("logo.svg", "image/svg+xml"),
            ("fake.txt", "image/png"),
            ("trace.log", ""),
        ],
    )
    def test_everything_else_downloads_and_cannot_run_in_the_page(self, client, viewer, project, name, claimed_type):
        attachment = add_attachment(
            make_issue(project), SimpleUploadedFile(name, b"<script>alert(1)</script>", claimed_type)
        )
        response = client.get(url("attachment", 1, attachment.pk))
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert name in response["Content-Disposition"]
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_a_missing_file_is_not_found(self, client, viewer, project):
        attachment = add_attachment(make_issue(project), SimpleUploadedFile("a.txt", b"1"))
        attachment.file.storage.delete(attachment.file.name)
        assert client.get(url("attachment", 1, attachment.pk)).status_code == 404

    def test_an_attachment_is_only_served_under_its_own_issue(self, client, viewer, project):
        make_issue(project)
        attachment = add_attachment(make_issue(project), SimpleUploadedFile("a.txt", b"1"))
        assert client.get(url("attachment", 1, attachment.pk)).status_code == 404

    def test_deleting_asks_for_confirmation_first(self, client, member, project, django_capture_on_commit_callbacks):
        attachment = add_attachment(make_issue(project), SimpleUploadedFile("a.txt", b"1"))
        confirm = client.get(url("attachment_delete", 1, attachment.pk))
        assert "Delete the attachment “a.txt” of SHOP#1?" in confirm.text
        assert Attachment.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):  # the file goes once the delete is committed
            client.post(url("attachment_delete", 1, attachment.pk))
        assert not Attachment.objects.exists()
        assert not attachment.file.storage.exists(attachment.file.name)

    def test_viewers_cannot_attach_or_delete(self, client, viewer, project):
        attachment = add_attachment(make_issue(project), SimpleUploadedFile("a.txt", b"1"))
        assert (
            client.post(url("attachment_add", 1), {"attachments": [SimpleUploadedFile("b.txt", b"2")]}).status_code
            == 403
        )
        assert client.get(url("attachment_delete", 1, attachment.pk)).status_code == 403
        assert client.post(url("attachment_delete", 1, attachment.pk)).status_code == 403
        assert list(Attachment.objects.all()) == [attachment]


class LinkTests:
    def test_member_finds_and_links_artefacts_of_every_kind(self, client, member, project):
        issue = make_issue(project)
        case = TestCaseFactory(project=project, title="Pay with card")
        TestCaseFactory(project=project, title="Sign up")
        run = TestRunFactory(project=project, name="Nightly card run")
        result = TestResultFactory(run=run, case=case)
        requirement = RequirementFactory(project=project, title="Card payments")
        found = client.get(url("detail", 1), {"kind": "case", "q": "card"})
        assert [c.title for c in found.context["candidates"]] == ["Pay with card"]
        for kind, artefact in (("case", case), ("run", run), ("result", result), ("requirement", requirement)):
            response = client.post(url("link_add", 1), {"kind": kind, "artefact": artefact.pk, "q": "card"})
            assert response["Location"] == f"{url('detail', 1)}?kind={kind}&q=card#links"
        assert Link.objects.filter(issue=issue).count() == 4
        again = client.get(url("detail", 1), {"kind": "case", "q": "card"})
        assert list(again.context["candidates"]) == []
        assert "Nothing unlinked matches “card”." in again.text

    def test_linking_twice_keeps_one_link(self, client, member, project):
        make_issue(project)
        case = TestCaseFactory(project=project)
        client.post(url("link_add", 1), {"kind": "case", "artefact": case.pk})
        client.post(url("link_add", 1), {"kind": "case", "artefact": case.pk})
        assert Link.objects.count() == 1

    def test_a_bad_link_request_is_explained(self, client, member, project):
        make_issue(project)
        client.post(url("link_add", 1), {"kind": "build", "artefact": "x"})
        assert "Choose a test case, run, result or requirement to link." in client.get(url("detail", 1)).text
        assert not Link.objects.exists()

    def test_unlinking_asks_for_confirmation_and_keeps_both_sides(self, client, member, project):
        issue = make_issue(project)
        case = TestCaseFactory(project=project, title="Pay with card")
        created = link(artefact=case, issue=issue)
        confirm = client.get(url("link_remove", 1, created.pk))
        assert "Unlink “SHOP · Pay with card” from SHOP#1?" in confirm.text
        assert Link.objects.exists()
        client.post(url("link_remove", 1, created.pk))
        assert not Link.objects.exists()
        assert case.__class__.objects.filter(pk=case.pk).exists() and Issue.objects.filter(pk=issue.pk).exists()

    def test_a_link_is_only_removed_through_its_own_issue(self, client, member, project):
        make_issue(project)
        other = link(artefact=TestCaseFactory(project=project), issue=make_issue(project))
        assert client.post(url("link_remove", 1, other.pk)).status_code == 404
        assert Link.objects.exists()

    def test_viewers_cannot_link_or_unlink(self, client, viewer, project):
        issue = make_issue(project)
        case = TestCaseFactory(project=project)
        existing = link(artefact=case, issue=issue)
        assert (
            client.post(
                url("link_add", 1), {"kind": "case", "artefact": TestCaseFactory(project=project).pk}
            ).status_code
            == 403
        )
        assert client.post(url("link_remove", 1, existing.pk)).status_code == 403
        assert list(Link.objects.all()) == [existing]
        assert client.get(url("detail", 1), {"kind": "case", "q": ""}).context["candidates"] is None


class _ElementCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))


def _elements(html):
    """(tag, attributes) of every element a browser would build from the HTML."""
    collector = _ElementCollector()
    collector.feed(html)
    return collector.elements


class InertMarkdownTests:
    @pytest.mark.parametrize(
        "attack",
        [
            "<script>alert('x')</script>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "<img src=x onerror=alert(1)>",
            "![img](javascript:alert(1))",
            '<a href="#" onclick="alert(1)">x</a>',
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        ],
    )
    def test_issue_descriptions_render_inert(self, client, viewer, project, attack):
        make_issue(project, description=f"Before\n\n{attack}\n\nAfter")
        text = client.get(url("detail", 1)).text
        elements = _elements(text.split('id="description">')[1].split("</section>")[0])
        assert [tag for tag, _ in elements if tag in ("script", "iframe", "object", "embed", "style")] == []
        for tag, attributes in elements:
            for name, value in attributes:
                assert not name.startswith("on"), (tag, name)
                if name in ("href", "src"):
                    assert (value or "").split(":")[0].lower() in ("http", "https", "mailto", "x", "#"), (tag, value)
        assert "Before" in text and "After" in text

    def test_tag_names_and_issue_names_are_escaped_everywhere(self, client, member, project):
        evil = "<img src=x onerror=alert(1)>"
        client.post(url("create"), form_data(name="<script>alert(1)</script>", tags=evil))
        result = TestResultFactory(run__project=project)
        link(artefact=result, issue=Issue.objects.get())
        for page in (
            url("list"),
            url("detail", 1),
            url("edit", 1),
            reverse("projects:run", args=["SHOP", result.run.pk]),
            reverse("projects:result", args=["SHOP", result.run.pk, result.pk]),
        ):
            text = client.get(page).text
            assert "<img src=x" not in text and "<script>alert(1)" not in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in client.get(url("list")).text


def _query_count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


class QueryCountTests:
    """Pages cost the same number of queries however many rows or links they show."""

    def test_issue_list(self, client, viewer, project):
        tags = [TagFactory(project=project, name=name) for name in ("ui", "api")]
        make_issue(project, assignee=viewer, tags=tags)
        few = _query_count(client, url("list"))
        for _ in range(20):
            make_issue(project, assignee=viewer, tags=tags)
        assert _query_count(client, url("list")) == few

    def test_issue_list_reads_tags_flat_for_5_or_500_issues(self, client, viewer, project):
        """The page's tags come from one flat query (as /api/issues reads them), not one queryset per issue."""
        tags = [TagFactory(project=project, name="ui", color="#d97706"), TagFactory(project=project, name="api")]

        def add_tagged(count):
            first = project.issues.count() + 1
            issues = Issue.objects.bulk_create(
                Issue(project=project, number=number, name=f"Issue {number}") for number in range(first, first + count)
            )
            Issue.tags.through.objects.bulk_create(
                Issue.tags.through(issue=issue, tag=tag) for issue in issues for tag in tags
            )

        add_tagged(5)
        few = _query_count(client, url("list"))
        add_tagged(495)
        page = client.get(url("list")).text

        assert _query_count(client, url("list")) == few
        row = page.split(f'href="{url("detail", 500)}"', 1)[1].split("</tr>", 1)[0]
        assert row.index(">api<") < row.index(">ui<") and "background:#d97706" in row

    def test_artefact_pages_with_many_links(self, client, viewer, project):
        case = TestCaseFactory(project=project)
        result = TestResultFactory(run__project=project, case=case)
        link(artefact=case, issue=make_issue(project))
        link(artefact=result, issue=make_issue(project))
        pages = [
            reverse("projects:case", args=["SHOP", case.pk]),
            reverse("projects:run", args=["SHOP", result.run.pk]),
            reverse("projects:result", args=["SHOP", result.run.pk, result.pk]),
        ]
        few = [_query_count(client, page) for page in pages]
        for _ in range(10):
            link(artefact=case, issue=make_issue(project))
            link(artefact=case, reference=ExternalReferenceFactory())
            link(artefact=result, issue=make_issue(project))
            extra = TestResultFactory(run=result.run)
            link(artefact=extra, issue=make_issue(project))
        assert [_query_count(client, page) for page in pages] == few

    def test_issue_detail_with_many_links(self, client, viewer, project):
        issue = make_issue(project)
        link(artefact=TestResultFactory(run__project=project), issue=issue)
        few = _query_count(client, url("detail", 1))
        for _ in range(5):
            link(artefact=TestResultFactory(run__project=project), issue=issue)
            link(artefact=TestCaseFactory(project=project), issue=issue)
            link(artefact=RequirementFactory(project=project), issue=issue)
        assert _query_count(client, url("detail", 1)) == few
