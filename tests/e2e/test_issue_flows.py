"""Issue flows in a real browser: filing from a failed result, the viewer's read-only pages, an edit conflict."""

import re

import pytest

from issues.core.models import Issue
from issues.core.services import update_issue
from issues.links.models import Link
from projects.models import ResultStatus, Role
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory, make_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


def test_member_files_an_issue_from_a_failed_result_and_sees_it_linked(page, log_in, project):
    result = TestResultFactory(
        run__project=project,
        run__name="Nightly",
        status=ResultStatus.FAILED,
        case__title="Pay with card",
        case__steps=[{"action": "Open the cart", "expected": ""}, {"action": "Press Pay", "expected": "Receipt"}],
        comment="Spinner forever",
    )
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    log_in(member)

    page.goto(f"/projects/SHOP/runs/{result.run.pk}/")
    page.locator(f"#result-{result.pk}").get_by_role("link", name="Create issue").click()
    assert page.locator("#id_name").input_value() == "Pay with card failed in Nightly"
    prefilled = page.locator("#id_description").input_value()
    assert "Spinner forever" in prefilled and "1. Open the cart" in prefilled
    page.fill("#id_description", prefilled + "\n\nSeen with **Visa** only, see `trace.txt`.")
    page.fill("#id_tags", "checkout")
    page.select_option("#id_priority", "critical")
    page.set_input_files(
        "#id_attachments",
        files=[
            {"name": "trace.txt", "mimeType": "text/plain", "buffer": b"Timeout after 30s"},
        ],
    )
    page.get_by_role("button", name="Create issue").click()

    assert page.locator("h1").inner_text() == "SHOP#1 Pay with card failed in Nightly"
    assert page.locator("#description strong").last.inner_text() == "Visa"
    assert page.locator("#description code").last.inner_text() == "trace.txt"
    assert page.locator("#issue-tags").inner_text().strip() == "checkout"
    assert "Pay with card" in page.locator("#links").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="trace.txt").click()
    assert download.value.suggested_filename == "trace.txt"

    page.locator("#links").get_by_role("link", name="Pay with card").click()
    linked = page.locator("#linked-issues")
    assert "SHOP#1" in linked.inner_text() and "Open" in linked.locator("#linked-issues-table .badge").inner_text()
    page.goto(f"/projects/SHOP/runs/{result.run.pk}/")
    assert "SHOP#1" in page.locator(f"#result-{result.pk}").inner_text()
    assert Link.objects.get().test_result_id == result.pk


def test_viewer_sees_no_edit_controls_and_a_forged_post_is_refused(page, log_in, project):
    issue = make_issue(project, name="Read only for viewers")
    viewer = MembershipFactory(project=project, role=Role.VIEWER).user
    log_in(viewer)

    page.goto("/projects/SHOP/issues/1/")
    assert page.locator("h1").inner_text() == "SHOP#1 Read only for viewers"
    assert page.locator("#edit-issue").count() == 0
    assert page.get_by_role("button", name=re.compile("Attach|Link|Find")).count() == 0
    page.goto("/projects/SHOP/issues/")
    assert page.get_by_role("link", name="New issue").count() == 0

    # Forge the edit form's POST from the page, with a valid CSRF token taken from the logout form.
    with page.expect_navigation() as navigation:
        page.evaluate("""() => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = '/projects/SHOP/issues/1/edit/';
            form.appendChild(document.querySelector('input[name=csrfmiddlewaretoken]').cloneNode());
            for (const [name, value] of Object.entries({name: 'Forged', status: 'closed', priority: 'major',
                                                        tags: '', tag_color: '#000000', version: '1'})) {
                const input = document.createElement('input');
                input.name = name; input.value = value; form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""")
    assert navigation.value.status == 403
    assert "Not allowed" in page.locator("h1").inner_text()
    issue.refresh_from_db()
    assert (issue.name, issue.status, issue.version) == ("Read only for viewers", "open", 1)


def test_an_edit_conflict_keeps_what_the_member_typed(page, log_in, project):
    issue = make_issue(project, name="Original")
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    log_in(member)

    page.goto("/projects/SHOP/issues/1/edit/")
    page.fill("#id_name", "My better name")
    page.fill("#id_description", "My careful analysis")
    update_issue(Issue.objects.get(pk=issue.pk), expected_version=1, name="Changed meanwhile")
    page.get_by_role("button", name="Save").click()

    assert "changed by someone else" in page.locator("#edit-conflict").inner_text()
    assert "Changed meanwhile" in page.locator("#current-values").inner_text()
    assert page.locator("#id_name").input_value() == "My better name"
    assert page.locator("#id_description").input_value() == "My careful analysis"
    page.get_by_role("button", name="Save").click()
    assert page.locator("h1").inner_text() == "SHOP#1 My better name"
    issue.refresh_from_db()
    assert (issue.name, issue.description, issue.version) == ("My better name", "My careful analysis", 3)
