"""Invariants of issues, references and links."""

import threading

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from issues.core.models import Issue, Tag
from issues.core.services import create_issue
from issues.links.models import ExternalReference, Link
from tests.factories import (
    ExternalReferenceFactory,
    ProjectFactory,
    RequirementFactory,
    SourceFactory,
    TagFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db


def test_issues_are_numbered_per_project():
    shop, crm = ProjectFactory(key="SHOP"), ProjectFactory(key="CRM")
    keys = [make_issue(shop).key, make_issue(shop).key, make_issue(crm).key, make_issue(shop).key]
    assert keys == ["SHOP#1", "SHOP#2", "CRM#1", "SHOP#3"]


def test_issue_number_is_unique_within_a_project():
    issue = make_issue()
    with pytest.raises(IntegrityError):
        Issue.objects.create(project=issue.project, number=issue.number, name="dup")


@pytest.mark.parametrize("field,value", [("status", "wontfix"), ("priority", "urgent"), ("name", "")])
def test_issue_choices_are_enforced(field, value):
    issue = make_issue()
    setattr(issue, field, value)
    with pytest.raises(IntegrityError):
        issue.save()


def test_tag_names_are_unique_per_project_and_colours_are_hex():
    tag = TagFactory(name="ui")
    TagFactory(name="ui")  # another project
    with pytest.raises(IntegrityError):
        Tag.objects.create(project=tag.project, name="ui")


def test_tag_colour_must_be_hex():
    with pytest.raises(IntegrityError):
        TagFactory(color="red")


def test_external_reference_is_unique_per_source_and_key():
    reference = ExternalReferenceFactory(key="SHOP-1")
    ExternalReferenceFactory(key="SHOP-1")  # another source: fine
    with pytest.raises(IntegrityError):
        ExternalReference.objects.create(source=reference.source, source_name="x", key="SHOP-1")


def _link(**sides):
    project = ProjectFactory()
    return Link.objects.create(project=project, **sides)


def test_link_needs_exactly_one_issue_side():
    case = TestCaseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        _link(test_case=case)
    with pytest.raises(IntegrityError), transaction.atomic():
        _link(issue=make_issue(case.project), external_reference=ExternalReferenceFactory(), test_case=case)


def test_link_needs_exactly_one_artefact_side():
    issue = make_issue()
    with pytest.raises(IntegrityError), transaction.atomic():
        _link(issue=issue)
    with pytest.raises(IntegrityError), transaction.atomic():
        _link(issue=issue, test_case=TestCaseFactory(), requirement=RequirementFactory())


@pytest.mark.parametrize("artefact", ["test_case", "test_run", "test_result", "requirement"])
@pytest.mark.parametrize("issue_side", ["issue", "external_reference"])
def test_the_same_link_cannot_exist_twice(issue_side, artefact):
    factories = {
        "test_case": TestCaseFactory,
        "test_run": TestRunFactory,
        "test_result": TestResultFactory,
        "requirement": RequirementFactory,
    }
    target = factories[artefact]()
    side = make_issue() if issue_side == "issue" else ExternalReferenceFactory()
    _link(**{issue_side: side, artefact: target})
    with pytest.raises(IntegrityError):
        _link(**{issue_side: side, artefact: target})


def test_deleting_a_source_keeps_references_links_and_snapshots():
    source = SourceFactory(name="Company Jira")
    reference = ExternalReferenceFactory(source=source, key="SHOP-7", title="Checkout crash")
    case = TestCaseFactory()
    link = Link.objects.create(project=case.project, external_reference=reference, test_case=case)
    source.delete()
    reference.refresh_from_db()
    assert reference.source is None
    assert (reference.source_name, reference.key, reference.title) == ("Company Jira", "SHOP-7", "Checkout crash")
    assert reference.url.endswith("/browse/SHOP-7")
    assert Link.objects.filter(pk=link.pk, external_reference=reference).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_numbering_is_safe_under_twenty_concurrent_creators():
    assert connection.vendor == "postgresql"
    project = ProjectFactory(key="RACE")
    reporter = UserFactory()
    barrier = threading.Barrier(20)
    errors = []

    def creator():
        try:
            barrier.wait()
            create_issue(project=project, name="concurrent", reporter=reporter)
        except Exception as error:  # noqa: BLE001 - any error of a creator thread is collected and asserted below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=creator) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Issue.objects.filter(project=project).values_list("number", flat=True))
    assert numbers == list(range(1, 21))
