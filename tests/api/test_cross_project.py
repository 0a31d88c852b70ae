"""Cross-project enumeration: a project admin probes every endpoint with every id of a project
they are not in. Each answer is exactly the answer for an id that does not exist, and nothing changes."""

from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from issues.core.models import Issue
from projects.models import Requirement, TestCase, TestResult, TestRun
from tests.factories import (
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
    make_issue,
)

from .helpers import database_state, junit_fixture

pytestmark = pytest.mark.django_db

MISSING = 987654

# (method, path template, the model whose ids fill {id}, body)
ID_ENDPOINTS = [
    *[(method, "/api/testcases/{id}", TestCase) for method in ("get", "put", "patch", "delete")],
    *[(method, "/api/testruns/{id}", TestRun) for method in ("get", "put", "patch", "delete")],
    ("post", "/api/testruns/{id}/junit", TestRun),
    *[(method, "/api/testresults/{id}", TestResult) for method in ("get", "put", "patch", "delete")],
    *[(method, "/api/requirements/{id}", Requirement) for method in ("get", "put", "patch", "delete")],
    *[
        (method, f"/api/{prefix}/{{id}}", Issue)
        for prefix in ("issues", "defects")
        for method in ("get", "put", "patch", "delete")
    ],
    *[
        ("post", f"/api/{prefix}/{{id}}/{verb}", Issue)
        for prefix in ("issues", "defects")
        for verb in ("link", "unlink")
    ],
]

BODIES = {
    TestCase: lambda w: {"project": "SHOP", "title": "Probe"},
    TestRun: lambda w: {"project": "SHOP", "name": "Probe"},
    TestResult: lambda w: {"run": w.mine.run.pk, "case": w.mine.case.pk, "status": "passed"},
    Requirement: lambda w: {"project": "SHOP", "title": "Probe"},
    Issue: lambda w: {"project": "SHOP", "name": "Probe", "type": "case", "id": w.mine.case.pk},
}


@pytest.fixture
def probe(world, client_as):
    """A SHOP admin's client, with BANK holding several objects of every kind."""
    bank = world.other.project
    for _ in range(2):
        case, run = TestCaseFactory(project=bank), TestRunFactory(project=bank)
        TestResultFactory(run=run, case=case)
        RequirementFactory(project=bank)
        make_issue(bank)
    return client_as("admin")


def other_project_ids(model, world):
    project_path = "run__project" if model is TestResult else "project"
    return list(model.objects.filter(**{project_path: world.other.project}).values_list("pk", flat=True))


def request(client, method, path, body):
    if path.endswith("/junit"):
        upload = SimpleUploadedFile("report.xml", junit_fixture("pytest.xml"), content_type="application/xml")
        return client.post(path, {"file": upload}, format="multipart")
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize("method, path, model", ID_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ID_ENDPOINTS])
def test_every_id_of_another_project_answers_like_a_missing_one(world, probe, method, path, model):
    body = BODIES[model](world)
    before = database_state()
    missing = request(probe, method, path.format(id=MISSING), body)
    assert missing.status_code == 404
    ids = other_project_ids(model, world)
    assert len(ids) >= 3
    for pk in ids:
        response = request(probe, method, path.format(id=pk), body)
        assert (response.status_code, response.json()) == (missing.status_code, missing.json()), pk
    assert database_state() == before


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_another_projects_key_answers_like_a_missing_one(world, probe, method):
    before = database_state()
    missing = getattr(probe, method)("/api/projects/NOPE", {"name": "Probe"}, format="json")
    hidden = getattr(probe, method)("/api/projects/BANK", {"name": "Probe"}, format="json")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json() == {"message": "Not found.", "errors": {}}
    issue = Issue.objects.filter(project=world.other.project).first()
    for prefix in ("issues", "defects"):
        assert probe.get(f"/api/{prefix}/{quote(issue.key)}").json() == probe.get(f"/api/{prefix}/BANK-999").json()
    assert database_state() == before


@pytest.mark.parametrize("resource", ["testcases", "testruns", "testresults", "requirements", "issues", "defects"])
def test_lists_never_show_another_projects_objects(world, probe, resource):
    listed = probe.get(f"/api/{resource}?page_size=500").json()
    assert listed["count"] > 0
    assert all(item.get("project", "SHOP") == "SHOP" for item in listed["results"])
    assert probe.get(f"/api/{resource}?project=BANK").json()["count"] == 0
    assert probe.get(f"/api/{resource}?project=NOPE").json()["count"] == 0


def test_results_filtered_by_another_projects_run_or_case_are_empty_like_unknown_ones(world, probe):
    for name, obj in (("run", world.other.run), ("case", world.other.case)):
        hidden = probe.get(f"/api/testresults?{name}={obj.pk}")
        missing = probe.get(f"/api/testresults?{name}={MISSING}")
        assert hidden.status_code == missing.status_code == 200
        assert hidden.json()["count"] == missing.json()["count"] == 0


def _without(value, *secrets):
    text = str(value)
    for secret in secrets:
        text = text.replace(str(secret), "<id>")
    return text


REFERENCES = [
    (
        "project key",
        "post",
        "/api/testcases",
        lambda w, ref: {"project": ref, "title": "Probe"},
        lambda w: w.other.project.key,
        "NOPE",
    ),
    (
        "project key of a run",
        "post",
        "/api/testruns",
        lambda w, ref: {"project": ref, "name": "Probe"},
        lambda w: w.other.project.key,
        "NOPE",
    ),
    (
        "project key of a requirement",
        "post",
        "/api/requirements",
        lambda w, ref: {"project": ref, "title": "Probe"},
        lambda w: w.other.project.key,
        "NOPE",
    ),
    (
        "project key of an issue",
        "post",
        "/api/issues",
        lambda w, ref: {"project": ref, "name": "Probe"},
        lambda w: w.other.project.key,
        "NOPE",
    ),
    (
        "run of a result",
        "post",
        "/api/testresults",
        lambda w, ref: {"run": ref, "case": w.mine.case.pk, "status": "passed"},
        lambda w: w.other.run.pk,
        MISSING,
    ),
    (
        "case of a result",
        "post",
        "/api/testresults",
        lambda w, ref: {"run": w.mine.run.pk, "case": ref, "status": "passed"},
        lambda w: w.other.case.pk,
        MISSING,
    ),
    (
        "case of a new run",
        "post",
        "/api/testruns",
        lambda w, ref: {"project": "SHOP", "name": "Probe", "cases": [ref]},
        lambda w: w.other.case.pk,
        MISSING,
    ),
    (
        "artefact to link",
        "post",
        "/api/issues/{issue}/link",
        lambda w, ref: {"type": "case", "id": ref},
        lambda w: w.other.case.pk,
        MISSING,
    ),
    (
        "result to link",
        "post",
        "/api/issues/{issue}/link",
        lambda w, ref: {"type": "result", "id": ref},
        lambda w: w.other.result.pk,
        MISSING,
    ),
    (
        "requirement to unlink",
        "post",
        "/api/issues/{issue}/unlink",
        lambda w, ref: {"type": "requirement", "id": ref},
        lambda w: w.other.requirement.pk,
        MISSING,
    ),
    ("assignee", "patch", "/api/issues/{issue}", lambda w, ref: {"assignee": ref}, lambda w: "banker", "nobody"),
]


@pytest.mark.parametrize("label, method, path, body, hidden, missing", REFERENCES, ids=[r[0] for r in REFERENCES])
def test_naming_another_projects_object_in_a_body_answers_like_a_missing_one(
    world,
    probe,
    label,
    method,
    path,
    body,
    hidden,
    missing,
):
    UserFactory(username="banker").memberships.create(project=world.other.project, role="member")
    path = path.format(issue=world.mine.issue.pk)
    before = database_state()
    hidden_ref = hidden(world)
    answer_hidden = getattr(probe, method)(path, body(world, hidden_ref), format="json")
    answer_missing = getattr(probe, method)(path, body(world, missing), format="json")
    assert answer_hidden.status_code == answer_missing.status_code == 400
    assert _without(answer_hidden.json(), hidden_ref) == _without(answer_missing.json(), missing)
    assert database_state() == before
