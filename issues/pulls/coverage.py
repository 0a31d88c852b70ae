"""Which test cases cover (verify) which requirements, and the comment that tells the tracker.

When a test case is linked to a requirement pulled from a tracker, and the pulling integration
comments linked tests on its source with the "add comments" capability, the remote item gets one
comment listing the covering tests. Its id is remembered: when the coverage changes the comment
is edited, never posted again. A comment deleted in the tracker is posted anew; a tracker that
cannot edit comments keeps the first one.
"""

from urllib.parse import urljoin

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from integrations import selectors as integration_selectors
from integrations.errors import NotFound
from integrations.models import IntegrationState
from integrations.providers import provider_for
from integrations.providers.base import Capability, Unsupported
from issues.core.artefacts import artefact_path, inline_markdown
from issues.pulls.models import Coverage, PulledRequirement
from projects.models import Requirement, TestCase

NO_COVERAGE = "No test in testmanager covers this any more."


def cover(requirement: Requirement, test_case: TestCase, *, actor=None, site_url: str) -> Coverage:
    """Record that the test case covers the requirement (again: a no-op); the tracker hears of it."""
    if test_case.project_id != requirement.project_id:
        raise ValidationError("A test case can only cover requirements of its own project.")
    try:
        with transaction.atomic():
            coverage, created = Coverage.objects.get_or_create(
                requirement=requirement,
                test_case=test_case,
                defaults={"project_id": requirement.project_id, "created_by": actor},
            )
    except IntegrityError:  # a concurrent request recorded it first
        coverage, created = Coverage.objects.get(requirement=requirement, test_case=test_case), False
    if created:
        _tell_tracker(requirement, site_url)
    return coverage


def uncover(coverage: Coverage, *, site_url: str) -> None:
    requirement = coverage.requirement
    coverage.delete()
    _tell_tracker(requirement, site_url)


def _tell_tracker(requirement: Requirement, site_url: str) -> None:
    if PulledRequirement.objects.filter(requirement=requirement).exists():
        from issues.pulls.tasks import update_coverage_comment  # imported here: the task imports this module's callers

        transaction.on_commit(lambda: update_coverage_comment.delay(requirement.pk, site_url))


def comment_text(requirement: Requirement, site_url: str) -> str:
    """The covering tests as Markdown: one linked line per test case, in the requirement page's order."""
    cases = [coverage.test_case for coverage in requirement.coverage.select_related("test_case__project")]
    if not cases:
        return NO_COVERAGE
    lines = [f"- [{inline_markdown(case.title)}]({urljoin(site_url, artefact_path(case))})" for case in cases]
    count = f"{len(cases)} test{'s' if len(cases) != 1 else ''}"
    return f"Covered by {count} in testmanager:\n\n" + "\n".join(lines)


def update_comment(requirement_id: int, site_url: str) -> str:
    """Bring the remote item's covering-tests comment up to date; what was done, in words.

    The row lock keeps two changes in quick succession from both posting a first comment."""
    with transaction.atomic():
        pulled = (
            # of=("self",): PostgreSQL cannot lock the nullable side of the outer joins below.
            PulledRequirement.objects.select_for_update(of=("self",))
            .select_related("requirement", "reference", "integration__source")
            .filter(requirement_id=requirement_id)
            .first()
        )
        integration = pulled.integration if pulled is not None else None
        if integration is None or pulled.reference is None or not integration.comment_linked_tests:
            return "not commented: the requirement is not pulled by an integration that comments linked tests"
        source = integration.source
        if integration.state != IntegrationState.ACTIVE or not source.syncs:
            return "not commented: the integration or its source is not connected"
        if not integration_selectors.can(source, Capability.ADD_COMMENTS):
            return f"not commented: {source.name} may not add comments"
        body = comment_text(pulled.requirement, site_url)
        if pulled.coverage_comment_id and body == pulled.coverage_comment:
            return "unchanged"
        provider, key = provider_for(source), pulled.reference.key
        outcome = "posted"
        if pulled.coverage_comment_id:
            try:
                provider.update_comment(key, pulled.coverage_comment_id, body)
                outcome = "updated"
            except NotFound:  # deleted in the tracker: post it again
                pulled.coverage_comment_id = ""
            except Unsupported:  # this tracker cannot edit comments: the first one stays
                return "unchanged: the tracker cannot edit comments"
        if not pulled.coverage_comment_id:
            pulled.coverage_comment_id = provider.add_comment(key, body)
        pulled.coverage_comment = body
        pulled.save(update_fields=["coverage_comment_id", "coverage_comment"])
        return outcome
