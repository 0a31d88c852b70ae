"""Who may open and post every member page, and that no page reveals another project's objects.

Every page URL is listed once here; a new page must join these lists.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import AuthType, Provider
from issues.core.models import Attachment, Issue, Tag
from issues.core.services import add_attachment
from issues.filing.models import FilingJob
from issues.filing.services import new_marker
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from projects.models import Role, TestCase, TestResult, TestRun
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    SourceFactory,
    TestResultFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


def _world(key, issues=1):
    project = ProjectFactory(key=key)
    result = TestResultFactory(run__project=project, case__project=project)
    for _ in range(issues):
        issue = make_issue(project)
    # A tracker known by its URLs only: filing and linking pages work without any request.
    bugzilla = SourceFactory(
        provider=Provider.CUSTOM,
        name=f"Bugzilla {key}",
        auth_type=AuthType.NONE,
        credentials={},
        base_url="https://bugs.example.com",
        can_create_issues=True,
        create_url_template="{baseUrl}/enter_bug.cgi",
    )
    tracker = ProjectIntegrationFactory(project=project, source=bugzilla, external_project="", default_issue_type="")
    return {
        "project": project,
        "case": result.case,
        "run": result.run,
        "result": result,
        "requirement": RequirementFactory(project=project),
        "issue": issue,
        "attachment": add_attachment(issue, SimpleUploadedFile("log.txt", b"trace")),
        "link": link(artefact=result.case, issue=issue),
        "job": FilingJob.objects.create(
            project=project, run=result.run, integration=tracker, marker=new_marker(), site_url="http://testserver/"
        ),
    }


@pytest.fixture
def shop():
    return _world("SHOP")


@pytest.fixture
def other():
    # More issues than SHOP, so its issue numbers do not exist in SHOP.
    return _world("OTHER", issues=3)


def p(name, *args):
    return reverse(f"projects:{name}", args=args)


def i(name, *args):
    return reverse(f"issues:{name}", args=args)


# Each entry builds a URL from a project key and a set of objects (possibly another project's).
READ_PAGES = {
    "home": lambda key, o: p("home", key),
    "cases": lambda key, o: p("cases", key),
    "case": lambda key, o: p("case", key, o["case"].pk),
    "runs": lambda key, o: p("runs", key),
    "run": lambda key, o: p("run", key, o["run"].pk),
    "result": lambda key, o: p("result", key, o["run"].pk, o["result"].pk),
    "requirements": lambda key, o: p("requirements", key),
    "requirement": lambda key, o: p("requirement", key, o["requirement"].pk),
    "issues": lambda key, o: i("list", key),
    "issue": lambda key, o: i("detail", key, o["issue"].number),
    "attachment": lambda key, o: i("attachment", key, o["issue"].number, o["attachment"].pk),
    "filing_job": lambda key, o: i("filing_job", key, o["job"].pk),
    "filing_job_status": lambda key, o: i("filing_job_status", key, o["job"].pk),
}
WRITE_FORMS = {
    "case_create": lambda key, o: p("case_create", key),
    "case_edit": lambda key, o: p("case_edit", key, o["case"].pk),
    "run_create": lambda key, o: p("run_create", key),
    "issue_create": lambda key, o: i("create", key),
    "issue_create_from_result": lambda key, o: f"{i('create', key)}?result={o['result'].pk}",
    "issue_edit": lambda key, o: i("edit", key, o["issue"].number),
    "attachment_delete": lambda key, o: i("attachment_delete", key, o["issue"].number, o["attachment"].pk),
    "link_remove": lambda key, o: i("link_remove", key, o["issue"].number, o["link"].pk),
    "file_issue": lambda key, o: f"{i('file_issue', key)}?result={o['result'].pk}",
    "file_bulk": lambda key, o: i("file_bulk", key, o["run"].pk),
    "link_issue": lambda key, o: f"{i('link_issue', key)}?case={o['case'].pk}",
    "unlink": lambda key, o: i("unlink", key, o["link"].pk),
}
ISSUE_FORM = {"name": "Forged", "status": "open", "priority": "major", "tags": "forged", "tag_color": "#000000"}
WRITE_POSTS = {
    "case_create": (WRITE_FORMS["case_create"], lambda o: {"title": "Forged"}),
    "case_edit": (WRITE_FORMS["case_edit"], lambda o: {"title": "Forged"}),
    "run_create": (WRITE_FORMS["run_create"], lambda o: {"name": "Forged"}),
    "result": (READ_PAGES["result"], lambda o: {"status": "passed", "comment": "forged"}),
    "issue_create": (WRITE_FORMS["issue_create"], lambda o: ISSUE_FORM),
    "issue_create_from_result": (WRITE_FORMS["issue_create_from_result"], lambda o: ISSUE_FORM),
    "issue_edit": (WRITE_FORMS["issue_edit"], lambda o: {**ISSUE_FORM, "version": o["issue"].version}),
    "attachment_add": (
        lambda key, o: i("attachment_add", key, o["issue"].number),
        lambda o: {"attachments": [SimpleUploadedFile("forged.txt", b"x")]},
    ),
    "attachment_delete": (WRITE_FORMS["attachment_delete"], lambda o: {}),
    "link_add": (
        lambda key, o: i("link_add", key, o["issue"].number),
        lambda o: {"kind": "requirement", "artefact": o["requirement"].pk},
    ),
    "link_remove": (WRITE_FORMS["link_remove"], lambda o: {}),
    "file_issue": (WRITE_FORMS["file_issue"], lambda o: {}),
    "file_bulk": (WRITE_FORMS["file_bulk"], lambda o: {"mode": "each", "results": [o["result"].pk]}),
    "filing_job_retry": (lambda key, o: i("filing_job_retry", key, o["job"].pk), lambda o: {}),
    "link_issue": (WRITE_FORMS["link_issue"], lambda o: {"key": "4711"}),
    "unlink": (WRITE_FORMS["unlink"], lambda o: {}),
}


def everything():
    """A snapshot of every row a forged write could change."""
    return (
        list(TestCase.objects.values_list("id", "title", "updated_at")),
        list(TestRun.objects.values_list("id", "name")),
        list(TestResult.objects.values_list("id", "status", "comment", "recorded_at")),
        list(Issue.objects.values_list("id", "name", "version")),
        list(Tag.objects.values_list("id", "name")),
        list(Attachment.objects.values_list("id", "file")),
        list(Link.objects.values_list("id", "issue", "test_case", "requirement")),
        list(ExternalReference.objects.values_list("id", "key")),
        list(FilingJob.objects.values_list("id", "marker")),
    )


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture(params=[Role.MEMBER, Role.ADMIN, "superuser"])
def editor(request, client, shop):
    if request.param == "superuser":
        return logged_in(client, UserFactory(is_superuser=True, is_staff=True))
    return logged_in(client, MembershipFactory(project=shop["project"], role=request.param).user)


@pytest.fixture
def viewer(client, shop):
    return logged_in(client, MembershipFactory(project=shop["project"], role=Role.VIEWER).user)


@pytest.mark.parametrize("page", list(READ_PAGES) + list(WRITE_FORMS))
def test_editors_open_every_page(editor, shop, page):
    url = {**READ_PAGES, **WRITE_FORMS}[page]("SHOP", shop)
    assert editor.get(url).status_code == 200


@pytest.mark.parametrize("page", READ_PAGES)
def test_viewers_read_every_page(viewer, shop, page):
    assert viewer.get(READ_PAGES[page]("SHOP", shop)).status_code == 200


@pytest.mark.parametrize("page", WRITE_FORMS)
def test_viewers_are_refused_every_form(viewer, shop, page):
    assert viewer.get(WRITE_FORMS[page]("SHOP", shop)).status_code == 403


@pytest.mark.parametrize("endpoint", WRITE_POSTS)
def test_viewers_forged_posts_are_refused_and_change_nothing(viewer, shop, endpoint):
    build_url, build_data = WRITE_POSTS[endpoint]
    before = everything()
    assert viewer.post(build_url("SHOP", shop), build_data(shop)).status_code == 403
    assert everything() == before


@pytest.mark.parametrize("page", list(READ_PAGES) + list(WRITE_FORMS))
def test_outsiders_get_404_for_every_page(client, shop, page):
    logged_in(client, MembershipFactory(role=Role.ADMIN).user)  # admin elsewhere only
    response = client.get({**READ_PAGES, **WRITE_FORMS}[page]("SHOP", shop))
    assert response.status_code == 404
    assert "SHOP" not in response.text


@pytest.mark.parametrize("endpoint", WRITE_POSTS)
def test_outsiders_get_404_for_every_write(client, shop, endpoint):
    logged_in(client, MembershipFactory(role=Role.ADMIN).user)
    build_url, build_data = WRITE_POSTS[endpoint]
    before = everything()
    assert client.post(build_url("SHOP", shop), build_data(shop)).status_code == 404
    assert everything() == before


@pytest.mark.parametrize("page", list(READ_PAGES) + list(WRITE_FORMS))
def test_anonymous_visitors_are_sent_to_log_in(client, shop, page):
    response = client.get({**READ_PAGES, **WRITE_FORMS}[page]("SHOP", shop))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "page",
    [
        name
        for name in {**READ_PAGES, **WRITE_FORMS}
        if name not in ("home", "cases", "runs", "requirements", "issues", "case_create", "run_create", "issue_create")
    ],
)
def test_another_projects_ids_under_my_project_are_not_found(client, shop, other, page):
    """A project admin guessing ids or numbers of another project's objects learns nothing."""
    logged_in(client, MembershipFactory(project=shop["project"], role=Role.ADMIN).user)
    url = {**READ_PAGES, **WRITE_FORMS}[page]("SHOP", other)
    assert client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "endpoint", [name for name in WRITE_POSTS if name not in ("case_create", "run_create", "issue_create")]
)
def test_another_projects_ids_cannot_be_written_through_my_project(client, shop, other, endpoint):
    logged_in(client, MembershipFactory(project=shop["project"], role=Role.ADMIN).user)
    build_url, build_data = WRITE_POSTS[endpoint]
    before = everything()
    assert client.post(build_url("SHOP", other), build_data(other)).status_code == 404
    assert everything() == before


def test_linking_another_projects_artefact_to_my_issue_is_not_found(client, shop, other):
    logged_in(client, MembershipFactory(project=shop["project"], role=Role.MEMBER).user)
    for kind in ("case", "run", "result", "requirement"):
        response = client.post(i("link_add", "SHOP", shop["issue"].number), {"kind": kind, "artefact": other[kind].pk})
        assert response.status_code == 404
    assert Link.objects.filter(issue=shop["issue"]).count() == 1


def test_an_unknown_project_key_looks_like_a_hidden_one(client, shop):
    logged_in(client, MembershipFactory(project=shop["project"]).user)
    assert client.get(p("home", "NOPE")).status_code == 404
    assert client.get(i("list", "NOPE")).status_code == 404


def test_a_result_is_not_found_under_another_projects_run(client, shop, other):
    """A result id of my project under another project's run id (and the reverse) is not found."""
    logged_in(client, MembershipFactory(project=shop["project"]).user)
    assert client.get(p("result", "SHOP", other["run"].pk, shop["result"].pk)).status_code == 404
    assert client.get(p("result", "SHOP", shop["run"].pk, other["result"].pk)).status_code == 404
