"""Recurring failures: a test fails again after the issue linked to it was resolved.

A failed (or blocked) result recurs when its test case has no unresolved issue linked (to the case
or to any of its results) but has a resolved one: an internal issue resolved or closed, a tracker
issue in a done status. Testers are offered to reopen the internal issue or to file a follow-up
issue, linked to the failure, to its test case and (``FollowUp``) to the first issue. A project
that opts in (``RecurrencePolicy``) gets the follow-up filed as soon as the failure is recorded.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from issues.core import services as core_services
from issues.core.artefacts import inline_markdown
from issues.core.models import Issue, IssueStatus, StatusCategory
from issues.links import services as links_services
from issues.links.models import ExternalReference, Link
from issues.quality.models import FollowUp, RecurrencePolicy
from projects.models import Project, ResultStatus, TestResult
from projects.signals import results_recorded

FAILURES = (ResultStatus.FAILED, ResultStatus.BLOCKED)


RESOLVED = (IssueStatus.RESOLVED, IssueStatus.CLOSED)


BATCH = 500


def is_resolved(link: Link) -> bool:
    if link.issue is not None:
        return link.issue.status in RESOLVED
    reference = link.external_reference
    return reference.status_category == StatusCategory.DONE and not reference.deleted_remotely


@dataclass(frozen=True)
class Recurrence:
    """A failure whose test's linked issues are all resolved; ``resolved`` are those issues (internal
    issues and tracker references), the most recently linked first."""

    result: TestResult
    resolved: tuple

    @property
    def latest(self) -> Issue | ExternalReference:
        return self.resolved[0]


def recurrences(results) -> list[Recurrence]:
    """The recurring failures among ``results`` (a TestResult queryset), in three queries."""
    failures = list(results.filter(status__in=FAILURES).select_related("case", "run__project").order_by("pk"))
    case_ids = {result.case_id for result in failures}
    links = (
        Link.objects.filter(Q(test_case_id__in=case_ids) | Q(test_result__case_id__in=case_ids))
        .select_related("issue__project", "external_reference", "test_result")
        .order_by("-created_at", "-id")
    )
    open_cases, resolved_by_case = set(), {}
    for link in links:
        case_id = link.test_case_id or link.test_result.case_id
        if not is_resolved(link):
            open_cases.add(case_id)
            continue
        sides = resolved_by_case.setdefault(case_id, [])
        if link.issue_side not in sides:
            sides.append(link.issue_side)
    return [
        Recurrence(result, tuple(resolved_by_case[result.case_id]))
        for result in failures
        if result.case_id not in open_cases and result.case_id in resolved_by_case
    ]


def recurrences_of_run(run) -> list[Recurrence]:
    return recurrences(TestResult.objects.filter(run=run))


@transaction.atomic
def reopen(issue: Issue, result: TestResult, *, actor=None) -> Issue:
    """Reopen the internal issue and link it to the new failure."""
    core_services.update_issue(issue, expected_version=issue.version, status=IssueStatus.OPEN)
    links_services.link(artefact=result, issue=issue, actor=actor)
    issue.refresh_from_db()
    return issue


def _original_text(original: Issue | ExternalReference) -> str:
    if isinstance(original, Issue):
        url = reverse("issues:detail", args=[original.project.key, original.number])
        return f"[{original.key}]({url}) “{inline_markdown(original.name)}”, {original.get_status_display().lower()}"
    status = original.status or original.get_status_category_display()
    where = f"[{original.key}]({original.url})" if original.url else original.key
    return f"{inline_markdown(original.source_name)} {where} “{inline_markdown(original.title)}”, {status.lower()}"


@transaction.atomic
def follow_up(original: Issue | ExternalReference, result: TestResult, *, actor=None) -> Issue:
    """File an internal issue about the failure, following up the resolved ``original``: linked to the
    failure and its test case, and to the original through ``FollowUp``. Its description links this
    site's pages by path (it is shown here only)."""
    run, case = result.run, result.case
    result_url = reverse("projects:result", args=[run.project.key, run.pk, result.pk])
    title = original.name if isinstance(original, Issue) else original.title or original.key
    description = (
        f"[{inline_markdown(case.title)}]({result_url}) fails again in {inline_markdown(run.name)}, "
        f"after {_original_text(original)}." + (f"\n\n{result.comment.strip()}" if result.comment.strip() else "")
    )
    issue = links_services.report_issue(
        project=run.project,
        reporter=actor,
        name=f"Fails again: {title}"[:300],
        description=description,
        artefact=result,
    )
    links_services.link(artefact=case, issue=issue, actor=actor)
    FollowUp.objects.create(
        issue=issue,
        result=result,
        original_issue=original if isinstance(original, Issue) else None,
        original_reference=original if isinstance(original, ExternalReference) else None,
    )
    return issue


def creates_follow_ups(project: Project) -> bool:
    return RecurrencePolicy.objects.filter(project=project, create_follow_ups=True).exists()


def set_policy(project: Project, *, create_follow_ups: bool) -> RecurrencePolicy:
    policy, _ = RecurrencePolicy.objects.update_or_create(
        project=project, defaults={"create_follow_ups": create_follow_ups}
    )
    return policy


def _results_recorded(sender, run, case_ids, **kwargs) -> None:
    """A project that opts in gets a follow-up of the latest resolved issue of each recurring failure."""
    if not creates_follow_ups(run.project):
        return
    for start in range(0, len(case_ids), BATCH):
        chunk = TestResult.objects.filter(run=run, case_id__in=case_ids[start : start + BATCH])
        for recurrence in recurrences(chunk):
            follow_up(recurrence.latest, recurrence.result)


def connect() -> None:
    """File follow-ups when results are recorded, where projects opt in (IssuesConfig.ready calls this)."""
    results_recorded.connect(_results_recorded, dispatch_uid="recurrences.results_recorded")
