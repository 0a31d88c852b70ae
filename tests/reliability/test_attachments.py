"""Uploaded files never run in the application's origin: HTML, SVG and anything that is not a plain image
is served as a download with a neutral type, every answer is sandboxed by its CSP and not sniffed, a
file name cannot inject a header, and the storage folder is not served at all."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from issues.core.models import Attachment
from tests.factories import MembershipFactory, make_issue

pytestmark = pytest.mark.django_db

HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HOSTILE = [
    ("page.html", "text/html", HTML),
    ("PAGE.HTM", "text/html", HTML),
    ("drawing.svg", "image/svg+xml", SVG),
    ("page.png.html", "image/png", HTML),
    ("page.xhtml", "application/xhtml+xml", HTML),
    ("noextension", "text/html", HTML),
    ('quote".html', "text/html", HTML),
]


@pytest.fixture
def member(client):
    issue = make_issue(name="Upload target")
    client.force_login(MembershipFactory(project=issue.project).user)
    client.issue = issue
    return client


def upload(client, name, content_type, content):
    issue = client.issue
    response = client.post(
        reverse("issues:attachment_add", args=[issue.project.key, issue.number]),
        {"attachments": [SimpleUploadedFile(name, content, content_type=content_type)]},
    )
    assert response.status_code == 302
    return Attachment.objects.get(issue=issue, original_name=name)


def download(client, attachment):
    issue = client.issue
    return client.get(reverse("issues:attachment", args=[issue.project.key, issue.number, attachment.pk]))


def assert_never_rendered_here(response):
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("name", "content_type", "content"), HOSTILE, ids=[name for name, _, _ in HOSTILE])
def test_markup_is_a_download_with_a_neutral_type(member, name, content_type, content):
    response = download(member, upload(member, name, content_type, content))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert_never_rendered_here(response)
    assert b"".join(response.streaming_content) == content


def test_an_image_is_inline_but_still_sandboxed(member):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    response = download(member, upload(member, "screen.png", "image/png", png))

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert_never_rendered_here(response)


def test_html_named_as_an_image_is_not_sniffed_into_html(member):
    response = download(member, upload(member, "fake.png", "image/png", HTML))

    assert response["Content-Type"] == "image/png"
    assert_never_rendered_here(response)


def test_a_file_name_cannot_add_a_header(member):
    attachment = upload(member, "report.txt", "text/plain", b"log")
    Attachment.objects.filter(pk=attachment.pk).update(original_name="x.txt\r\nSet-Cookie: session=stolen")
    attachment.refresh_from_db()

    response = download(member, attachment)

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "\n" not in response["Content-Disposition"] and "\r" not in response["Content-Disposition"]


def test_the_storage_folder_is_not_served(member, settings):
    attachment = upload(member, "page.html", "text/html", HTML)

    for prefix in ("/media/", settings.MEDIA_URL or "/media/", "/var/media/"):
        assert member.get(f"{prefix}{attachment.file.name}").status_code == 404
