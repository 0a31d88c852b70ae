"""The Markdown editor in Chromium: toolbar, live preview rendered by the server, the form still
posting plain Markdown, a pasted screenshot attached to the issue or test case written about."""

import pytest
from playwright.sync_api import expect

from issues.core.models import ArtefactAttachment, Attachment, Issue
from projects.models import Role, TestCase
from tests.factories import MembershipFactory, ProjectFactory, TestCaseFactory, make_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(project):
    return MembershipFactory(project=project, role=Role.MEMBER).user


def test_the_preview_shows_bold_text_and_the_form_posts_markdown(page, log_in, project, member):
    log_in(member)
    page.goto("/projects/SHOP/cases/new/")
    page.fill("#id_title", "Pay by card")
    page.locator("#id_description").fill("Checks that **cards** are taken.\n\n- one\n- two")

    preview = page.locator("#id_description-preview")
    expect(preview.locator("strong")).to_have_text("cards")
    expect(preview.locator("li")).to_have_count(2)

    page.get_by_role("button", name="Create test case").click()

    expect(page.locator("h1")).to_have_text("Pay by card")
    # The textarea itself is posted: Markdown, with the browser's CRLF line ends.
    assert (
        TestCase.objects.get().description.replace("\r\n", "\n") == "Checks that **cards** are taken.\n\n- one\n- two"
    )
    assert page.locator(".prose strong").first.inner_text() == "cards"


def test_the_toolbar_writes_markdown_around_the_selection(page, log_in, project, member):
    log_in(member)
    page.goto("/projects/SHOP/issues/new/")
    description = page.locator("#id_description")
    description.fill("slow")
    description.press("Control+a")
    page.get_by_role("toolbar", name="Formatting").get_by_role("button", name="Italic").click()
    expect(description).to_have_value("_slow_")
    description.press("End")
    description.press("Control+b")
    expect(description).to_have_value("_slow_**bold text**")
    expect(page.locator("#id_description-preview em")).to_have_text("slow")


def paste_screenshot(textarea):
    """A 1x1 PNG put on the clipboard the way a screenshot tool does, then pasted into the textarea."""
    textarea.evaluate(
        """textarea => {
            const bytes = Uint8Array.from(atob(
              'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
            ), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], 'image.png', {type: 'image/png'}));
            textarea.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
        }"""
    )


def test_a_pasted_screenshot_becomes_an_attachment_shown_in_the_preview(page, log_in, project, member):
    issue = make_issue(project, name="Spinner forever")
    log_in(member)
    page.goto(f"/projects/SHOP/issues/{issue.number}/edit/")
    description = page.locator("#id_description")
    description.fill("See: ")
    description.press("End")
    paste_screenshot(description)

    expect(page.locator(".md-status").first).to_contain_text("Attached screenshot-")
    attachment = Attachment.objects.get(issue=issue)
    assert f"![{attachment.original_name}](/projects/SHOP/issues/{issue.number}/attachments/{attachment.pk}/)" in (
        description.input_value()
    )
    expect(page.locator("#id_description-preview img")).to_have_count(1)
    page.get_by_role("button", name="Save").click()
    assert "attachments/" in Issue.objects.get(pk=issue.pk).description


def test_a_screenshot_pasted_into_a_test_case_is_the_cases_attachment(page, log_in, project, member):
    case = TestCaseFactory(project=project, title="Pay by card", description="")
    log_in(member)
    page.goto(f"/projects/SHOP/cases/{case.pk}/edit/")
    description = page.locator("#id_description")
    description.fill("The card form: ")
    description.press("End")
    paste_screenshot(description)

    expect(page.locator(".md-status").first).to_contain_text("Attached screenshot-")
    attachment = case.attachments.get()
    assert f"(/projects/SHOP/issues/artefacts/case/{case.pk}/attachments/{attachment.pk}/)" in description.input_value()
    expect(page.locator("#id_description-preview img")).to_have_count(1)
    page.get_by_role("button", name="Save").click()

    expect(page.locator("h1")).to_have_text("Pay by card")
    expect(page.locator(".prose img").first).to_be_visible()
    expect(page.locator("#attachments")).to_contain_text(attachment.original_name)


def test_a_new_case_asks_to_be_saved_before_a_screenshot_is_pasted(page, log_in, project, member):
    log_in(member)
    page.goto("/projects/SHOP/cases/new/")
    paste_screenshot(page.locator("#id_description"))
    expect(page.locator(".md-status").first).to_contain_text("Save first, then paste screenshots")
    assert not ArtefactAttachment.objects.exists()


def test_every_toolbar_button_writes_markdown_the_preview_renders(page, log_in, project, member):
    log_in(member)
    page.goto("/projects/SHOP/issues/new/")
    description = page.locator("#id_description")
    toolbar = page.get_by_role("toolbar", name="Formatting")
    for button in ("Heading", "Bulleted list", "Numbered list", "Code", "Link", "Table"):
        description.press("End")
        description.press("Enter")
        description.press("Enter")
        toolbar.get_by_role("button", name=button).click()

    written = description.input_value()
    for markdown in ("### Heading", "- item", "1. item", "`code`", "[text](https://)", "| --- | --- |"):
        assert markdown in written, (markdown, written)
    preview = page.locator("#id_description-preview")
    for element in ("h3", "ul li", "ol li", "code", "a", "table td"):
        expect(preview.locator(element).first).to_be_visible()


def test_without_javascript_the_plain_textarea_posts_markdown(chromium, live_server, project, member):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", member.username)
        page.fill("#id_password", "correct horse battery staple")
        page.click("button[type=submit]")
        page.goto("/projects/SHOP/issues/new/")
        expect(page.get_by_role("toolbar", name="Formatting")).to_have_count(0)
        page.fill("#id_name", "Checkout fails")
        page.fill("#id_description", "Fails with **every** card:\n\n- Visa\n- Amex")
        page.get_by_role("button", name="Create issue").click()
        page.wait_for_url("**/projects/SHOP/issues/1/")
        assert Issue.objects.get().description.replace("\r\n", "\n") == "Fails with **every** card:\n\n- Visa\n- Amex"
        expect(page.locator(".prose strong").first).to_have_text("every")
    finally:
        context.close()
