"""The Markdown editor's server side: the live preview renders with the pages' sanitized renderer,
and pasted screenshots are stored as attachments of the issue, test case or requirement written
about, answered as Markdown to insert."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from issues.core.models import ArtefactAttachment, Attachment
from projects.models import Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


def logged_in(client, project, role):
    client.force_login(MembershipFactory(project=project, role=role).user)


def preview(client, text, key="SHOP"):
    return client.post(reverse("issues:markdown_preview", args=[key]), {"text": text})


def test_the_preview_renders_markdown_as_the_pages_do_and_sanitizes_it(client, project):
    logged_in(client, project, Role.VIEWER)
    response = preview(
        client,
        "**bold** _it_\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n<script>alert(1)</script>[x](javascript:alert(1))",
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "<strong>bold</strong>" in response.text and "<em>it</em>" in response.text
    assert "<table>" in response.text
    assert "<script" not in response.text and "&lt;script&gt;" in response.text
    assert 'href="javascript:' not in response.text


def test_only_members_of_the_project_may_preview(client, project):
    client.force_login(UserFactory())
    assert preview(client, "**x**").status_code == 404
    client.logout()
    assert preview(client, "**x**").status_code == 302  # to the login page
    assert client.get(reverse("issues:markdown_preview", args=["SHOP"])).status_code in (302, 405)


def test_a_text_too_long_to_preview_is_refused(client, project):
    logged_in(client, project, Role.MEMBER)
    assert preview(client, "x" * 200_001).status_code == 413


def test_every_description_textarea_asks_for_the_editor(client, project):
    logged_in(client, project, Role.MEMBER)
    issue = make_issue(project)
    pages = [
        reverse("issues:create", args=["SHOP"]),
        reverse("issues:edit", args=["SHOP", issue.number]),
        reverse("issues:detail", args=["SHOP", issue.number]),  # the comment box
        reverse("projects:case_create", args=["SHOP"]),
    ]
    for url in pages:
        page = client.get(url).text
        assert "data-markdown-editor" in page, url
        assert (
            f'<meta name="tm-markdown-preview" content="{reverse("issues:markdown_preview", args=["SHOP"])}">' in page
        )
        assert "/static/editor/markdown-editor.js" in page


def test_a_pasted_screenshot_is_attached_and_answered_as_markdown(client, project):
    logged_in(client, project, Role.MEMBER)
    issue = make_issue(project)
    response = client.post(
        reverse("issues:attachment_add", args=["SHOP", issue.number]),
        {"attachments": [SimpleUploadedFile("screenshot [1].png", b"\x89PNG", content_type="image/png")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    attachment = Attachment.objects.get(issue=issue)
    url = reverse("issues:attachment", args=["SHOP", issue.number, attachment.pk])
    assert response.json() == {
        "attachments": [{"name": "screenshot [1].png", "url": url, "markdown": f"![screenshot \\[1\\].png]({url})"}]
    }


def test_a_refused_paste_answers_the_reason_and_stores_nothing(client, project, settings):
    logged_in(client, project, Role.MEMBER)
    issue = make_issue(project)
    response = client.post(
        reverse("issues:attachment_add", args=["SHOP", issue.number]), {}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and response.json()["message"].startswith("Nothing was attached:")
    assert not Attachment.objects.exists()


@pytest.fixture(params=["case", "requirement"])
def artefact(request, project):
    return request.param, (TestCaseFactory if request.param == "case" else RequirementFactory)(project=project)


def paste_into(client, key, kind, artefact, **files):
    return client.post(
        reverse("issues:artefact_attachment_add", args=[key, kind, artefact.pk]),
        {"attachments": [SimpleUploadedFile("image.png", b"\x89PNG", content_type="image/png")]} if files else {},
        HTTP_ACCEPT="application/json",
    )


def test_a_screenshot_pasted_while_writing_a_case_or_requirement_is_its_attachment(client, project, artefact):
    kind, item = artefact
    logged_in(client, project, Role.MEMBER)

    response = paste_into(client, "SHOP", kind, item, png=True)

    assert response.status_code == 201
    attachment = item.attachments.get()
    url = reverse("issues:artefact_attachment", args=["SHOP", kind, item.pk, attachment.pk])
    assert response.json() == {"attachments": [{"name": "image.png", "url": url, "markdown": f"![image.png]({url})"}]}
    assert client.get(url).status_code == 200


def test_a_refused_paste_into_a_case_answers_the_reason_and_stores_nothing(client, project, artefact):
    kind, item = artefact
    logged_in(client, project, Role.MEMBER)
    response = paste_into(client, "SHOP", kind, item)
    assert response.status_code == 400 and response.json()["message"].startswith("Nothing was attached:")
    assert not ArtefactAttachment.objects.exists()


@pytest.mark.parametrize(("role", "status"), [(Role.VIEWER, 403), (None, 404)])
def test_only_editors_of_the_project_may_paste_into_a_case(client, project, artefact, role, status):
    kind, item = artefact
    if role is None:
        client.force_login(UserFactory())
    else:
        logged_in(client, project, role)
    assert paste_into(client, "SHOP", kind, item, png=True).status_code == status
    assert not ArtefactAttachment.objects.exists()


def test_another_projects_case_answers_404(client, project, artefact):
    kind, item = artefact
    client.force_login(MembershipFactory(project=ProjectFactory(key="CRM"), role=Role.ADMIN).user)
    assert paste_into(client, "CRM", kind, item, png=True).status_code == 404
    assert not ArtefactAttachment.objects.exists()


def test_the_case_edit_page_names_where_pasted_screenshots_go(client, project):
    logged_in(client, project, Role.MEMBER)
    case = TestCaseFactory(project=project)
    page = client.get(reverse("projects:case_edit", args=["SHOP", case.pk])).text
    upload = reverse("issues:artefact_attachment_add", args=["SHOP", "case", case.pk])
    assert f'<meta name="tm-attachment-upload" content="{upload}">' in page


def test_the_editor_is_served_from_the_installations_static_files_no_cdn(client, project):
    logged_in(client, project, Role.MEMBER)
    page = client.get(reverse("issues:create", args=["SHOP"])).text
    scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page)
    styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', page)
    assert "/static/editor/markdown-editor.js" in scripts and "/static/editor/markdown-editor.css" in styles
    assert [url for url in scripts + styles if not url.startswith("/static/")] == []
