"""Every endpoint against every role: viewer, member, admin, outsider (admin of another project), anonymous.

Outsiders get 404 for the project's objects (their existence stays secret), viewers 403 for
writes, anonymous callers 401; a refused request leaves the database as it was.
"""

from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from issues.links.services import link
from tests.factories import TestCaseFactory

from .conftest import ROLES
from .helpers import database_state, junit_fixture

pytestmark = pytest.mark.django_db


def expect(viewer, member, admin, outsider, anonymous=401):
    return dict(zip(ROLES, (viewer, member, admin, outsider, anonymous), strict=True))


LIST = expect(200, 200, 200, 200)
READ = expect(200, 200, 200, 404)
CREATE = expect(403, 201, 201, 400)  # the outsider names a project (or run) it cannot see: "no such ..."
CHANGE = expect(403, 200, 200, 404)
DELETE = expect(403, 204, 204, 404)
MANAGE = expect(403, 403, 200, 404)
MANAGE_DELETE = expect(403, 403, 204, 404)
SYSTEM_ADMIN_ONLY = expect(403, 403, 403, 403)
SYSTEM_ADMIN_DELETE = expect(403, 403, 403, 404)
LINK = expect(403, 201, 201, 404)
UNLINK = expect(403, 204, 204, 404)
EVERYONE = expect(200, 200, 200, 200)
TOKEN_OWNER = expect(204, 204, 204, 204)


def linked(world):
    link(artefact=world.mine.case, issue=world.mine.issue)
    return {"type": "case", "id": world.mine.case.pk}


# (label, method, path, body, expected): path and body take the world; body may create what it needs.
ENDPOINTS = [
    ("projects list", "get", lambda w: "/api/projects", None, LIST),
    ("project detail", "get", lambda w: "/api/projects/SHOP", None, READ),
    ("project create", "post", lambda w: "/api/projects", lambda w: {"key": "NEW", "name": "New"}, SYSTEM_ADMIN_ONLY),
    ("project change", "patch", lambda w: "/api/projects/SHOP", lambda w: {"name": "Renamed"}, MANAGE),
    ("project delete", "delete", lambda w: "/api/projects/SHOP", None, SYSTEM_ADMIN_DELETE),
    ("cases list", "get", lambda w: "/api/testcases", None, LIST),
    ("case detail", "get", lambda w: f"/api/testcases/{w.mine.case.pk}", None, READ),
    ("case create", "post", lambda w: "/api/testcases", lambda w: {"project": "SHOP", "title": "Pay"}, CREATE),
    ("case change", "patch", lambda w: f"/api/testcases/{w.mine.case.pk}", lambda w: {"title": "Paid"}, CHANGE),
    ("case delete", "delete", lambda w: f"/api/testcases/{w.mine.case.pk}", None, DELETE),
    ("runs list", "get", lambda w: "/api/testruns", None, LIST),
    ("run detail", "get", lambda w: f"/api/testruns/{w.mine.run.pk}", None, READ),
    ("run create", "post", lambda w: "/api/testruns", lambda w: {"project": "SHOP", "name": "Nightly"}, CREATE),
    ("run change", "patch", lambda w: f"/api/testruns/{w.mine.run.pk}", lambda w: {"name": "Weekly"}, CHANGE),
    ("run delete", "delete", lambda w: f"/api/testruns/{w.mine.run.pk}", None, DELETE),
    (
        "junit upload",
        "post",
        lambda w: f"/api/testruns/{w.mine.run.pk}/junit",
        lambda w: {"file": ("pytest.xml", junit_fixture("pytest.xml"))},
        CHANGE,
    ),
    ("results list", "get", lambda w: "/api/testresults", None, LIST),
    ("result detail", "get", lambda w: f"/api/testresults/{w.mine.result.pk}", None, READ),
    (
        "result create",
        "post",
        lambda w: "/api/testresults",
        lambda w: {"run": w.mine.run.pk, "case": TestCaseFactory(project=w.project).pk, "status": "passed"},
        CREATE,
    ),
    (
        "result change",
        "patch",
        lambda w: f"/api/testresults/{w.mine.result.pk}",
        lambda w: {"status": "passed"},
        CHANGE,
    ),
    ("result delete", "delete", lambda w: f"/api/testresults/{w.mine.result.pk}", None, DELETE),
    ("requirements list", "get", lambda w: "/api/requirements", None, LIST),
    ("requirement detail", "get", lambda w: f"/api/requirements/{w.mine.requirement.pk}", None, READ),
    (
        "requirement create",
        "post",
        lambda w: "/api/requirements",
        lambda w: {"project": "SHOP", "title": "Refunds"},
        CREATE,
    ),
    (
        "requirement change",
        "patch",
        lambda w: f"/api/requirements/{w.mine.requirement.pk}",
        lambda w: {"state": "active"},
        CHANGE,
    ),
    ("requirement delete", "delete", lambda w: f"/api/requirements/{w.mine.requirement.pk}", None, DELETE),
    ("issues list", "get", lambda w: "/api/issues", None, LIST),
    ("issue detail", "get", lambda w: f"/api/issues/{w.mine.issue.pk}", None, READ),
    ("issue detail by key", "get", lambda w: f"/api/issues/{quote(w.mine.issue.key)}", None, READ),
    ("issue create", "post", lambda w: "/api/issues", lambda w: {"project": "SHOP", "name": "Broken"}, CREATE),
    (
        "issue create (seed path)",
        "post",
        lambda w: "/api/issues/create",
        lambda w: {"project": "SHOP", "name": "Broken"},
        CREATE,
    ),
    ("issue change", "patch", lambda w: f"/api/issues/{w.mine.issue.pk}", lambda w: {"status": "closed"}, CHANGE),
    ("issue delete", "delete", lambda w: f"/api/issues/{w.mine.issue.pk}", None, MANAGE_DELETE),
    (
        "issue link",
        "post",
        lambda w: f"/api/issues/{w.mine.issue.pk}/link",
        lambda w: {"type": "result", "id": w.mine.result.pk},
        LINK,
    ),
    ("issue unlink", "post", lambda w: f"/api/issues/{w.mine.issue.pk}/unlink", linked, UNLINK),
    ("defects list", "get", lambda w: "/api/defects", None, LIST),
    ("defect detail", "get", lambda w: f"/api/defects/{quote(w.mine.issue.key)}", None, READ),
    ("defect create", "post", lambda w: "/api/defects", lambda w: {"project": "SHOP", "name": "Broken"}, CREATE),
    ("defect change", "patch", lambda w: f"/api/defects/{w.mine.issue.pk}", lambda w: {"priority": "minor"}, CHANGE),
    ("defect delete", "delete", lambda w: f"/api/defects/{w.mine.issue.pk}", None, MANAGE_DELETE),
    ("who am I", "get", lambda w: "/api/auth/me", None, EVERYONE),
    ("revoke own token", "delete", lambda w: "/api/auth/token", None, TOKEN_OWNER),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label, method, path, body, expected", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_endpoint_answers_each_role(world, client_as, role, label, method, path, body, expected):
    client = client_as(role)
    data = body(world) if body else None
    before = database_state()
    multipart = isinstance(data, dict) and "file" in data
    if multipart:
        name, content = data["file"]
        data = {"file": SimpleUploadedFile(name, content, content_type="application/xml")}
    response = getattr(client, method)(path(world), data, format="multipart" if multipart else "json")

    assert response.status_code == expected[role], (label, role, response.content[:300])
    if response.status_code >= 400:
        assert database_state() == before
        assert set(response.json()) == {"message", "errors"}
        assert response.json()["message"]


def test_an_outsider_lists_nothing_of_the_project(world, client_as):
    client = client_as("outsider")
    for resource in ("testcases", "testruns", "testresults", "requirements", "issues", "defects"):
        listed = client.get(f"/api/{resource}?project=SHOP").json()
        assert listed["count"] == 0, resource
    assert [p["key"] for p in client.get("/api/projects").json()["results"]] == ["BANK"]
