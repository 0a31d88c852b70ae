"""Known failures: rules that recognize a failure as a known issue when results are recorded.

A rule of a project is an RE2 regular expression searched in a failed (or blocked) result's
comment, where the failure message and stack trace are recorded, and optionally one searched in
the test's name (its title or its automation key). When results are recorded (by hand, through
the API, from a JUnit report: ``projects.signals.results_recorded``) each failure without a known
issue yet is linked to the issue of the first enabled rule that matches, and the link is marked as
a known failure, so testers look at the new failures only. Patterns run on RE2, in time linear in
the text, so no pattern can hang a worker.
"""

import re

import re2
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404

from integrations.keys import KeyPatternError, compile_key_pattern
from issues.core.keys import internal_number_in
from issues.core.models import Issue
from issues.links import services
from issues.links.models import ExternalReference, Link
from issues.quality.models import KnownFailure, KnownFailureRule
from projects.models import ResultStatus, TestResult, TestRun
from projects.signals import results_recorded

FAILURES = (ResultStatus.FAILED, ResultStatus.BLOCKED)


BATCH = 500


RECENT_RUNS = 10


SUGGESTION_CHARS = 200


# What varies between two occurrences of one failure: addresses and numbers (ids, ports, counts).
_VARYING = re.compile(r"0x[0-9a-fA-F]+|\d+")


def check_pattern(pattern: str) -> str:
    """The pattern if RE2 compiles it, else ``ValidationError`` saying why."""
    try:
        compile_key_pattern(pattern)
    except KeyPatternError as error:
        raise ValidationError(
            f"Not a valid RE2 regular expression ({error}). RE2 has the usual syntax without backreferences "
            "or look-around, which is what guarantees a pattern cannot hang the server."
        ) from None
    return pattern


def issue_side_in(project, text: str) -> Issue | ExternalReference:
    """The issue a rule points to, as typed: an internal issue by number (12, #12, SHOP#12, SHOP-12) or a
    tracker issue by key among those linked in the project."""
    text = text.strip()
    number = internal_number_in(project.key, text)
    if number is not None:
        issue = Issue.objects.filter(project=project, number=number).first()
        if issue is not None:
            return issue
    reference = ExternalReference.objects.filter(key__iexact=text, links__project=project).distinct().first()
    if reference is None:
        raise ValidationError(
            f"{project.key} has no issue {text}: give an internal issue's number or the key of a tracker issue "
            "already linked in the project."
        )
    return reference


@transaction.atomic
def create_rule(
    project, *, pattern: str, test_pattern: str = "", issue_side, actor=None, apply_to_recent_runs: bool = False
) -> KnownFailureRule:
    """A new rule; with ``apply_to_recent_runs`` the failures of the project's RECENT_RUNS newest runs
    are recognized at once (otherwise the rule applies from the next recorded results on)."""
    rule = KnownFailureRule.objects.create(
        project=project,
        pattern=check_pattern(pattern.strip()),
        test_pattern=check_pattern(test_pattern.strip()) if test_pattern.strip() else "",
        issue=issue_side if isinstance(issue_side, Issue) else None,
        external_reference=issue_side if isinstance(issue_side, ExternalReference) else None,
        created_by=actor,
    )
    if apply_to_recent_runs:
        recent = TestRun.objects.filter(project=project).order_by("-created_at", "-id").values("pk")[:RECENT_RUNS]
        apply_known_failure_rules(TestResult.objects.filter(run__in=recent))
    return rule


def set_rule_enabled(rule: KnownFailureRule, enabled: bool) -> None:
    """Pause a rule (it recognizes nothing until resumed) or resume it."""
    rule.enabled = enabled
    rule.save(update_fields=["enabled"])


def delete_rule(rule: KnownFailureRule) -> None:
    """Delete the rule; the links it made stay (their failures were that issue), still marked known."""
    rule.delete()


def matches(rule: KnownFailureRule, result: TestResult) -> bool:
    if compile_key_pattern(rule.pattern).search(result.comment) is None:
        return False
    if not rule.test_pattern:
        return True
    names = compile_key_pattern(rule.test_pattern)
    return any(names.search(name) is not None for name in (result.case.title, result.case.automation_key) if name)


def apply_known_failure_rules(results) -> list[KnownFailure]:
    """Link each failure among ``results`` (a TestResult queryset) that no rule recognized yet to the
    issue of the first enabled rule of its project that matches it; the marks made."""
    failures = results.filter(status__in=FAILURES).exclude(comment="").exclude(issue_links__known_failure__isnull=False)
    rules_by_project: dict[int, list[KnownFailureRule]] = {}
    made = []
    for result in failures.select_related("case", "run").order_by("pk"):
        project_id = result.run.project_id
        if project_id not in rules_by_project:
            rules_by_project[project_id] = list(
                KnownFailureRule.objects.filter(project_id=project_id, enabled=True)
                .select_related("issue", "external_reference")
                .order_by("pk")
            )
        rule = next((rule for rule in rules_by_project[project_id] if matches(rule, result)), None)
        if rule is None:
            continue
        link = services.link(artefact=result, issue=rule.issue, reference=rule.external_reference)
        mark, _ = KnownFailure.objects.get_or_create(link=link, defaults={"rule": rule})
        made.append(mark)
    return made


def rules_of(project):
    """The project's rules with how many failures each recognized, oldest first (the order they apply in)."""
    return (
        KnownFailureRule.objects.filter(project=project)
        .select_related("issue__project", "external_reference")
        .annotate(match_count=Count("matches"))
        .order_by("pk")
    )


def rule_in(project, pk: int) -> KnownFailureRule:
    return get_object_or_404(KnownFailureRule.objects.filter(project=project), pk=pk)


def failures_of(run):
    return TestResult.objects.filter(run=run, status__in=FAILURES)


def new_failures(run):
    """The run's failures no rule recognized: what testers still have to look at."""
    return (
        failures_of(run)
        .exclude(issue_links__known_failure__isnull=False)
        .select_related("case")
        .order_by("case__folder", "case__title", "id")
    )


def known_failures_among(results) -> dict[int, KnownFailure]:
    """The known-failure marks of some results (a page of them), by result id, in one query."""
    marks = KnownFailure.objects.filter(link__test_result__in=[result.pk for result in results])
    return {mark.link.test_result_id: mark for mark in marks.select_related("link", "rule")}


def _results_recorded(sender, run, case_ids, **kwargs) -> None:
    if not KnownFailureRule.objects.filter(project_id=run.project_id, enabled=True).exists():
        return
    for start in range(0, len(case_ids), BATCH):
        apply_known_failure_rules(TestResult.objects.filter(run=run, case_id__in=case_ids[start : start + BATCH]))


def connect() -> None:
    """Recognize failures whenever results are recorded (IssuesConfig.ready calls this)."""
    results_recorded.connect(_results_recorded, dispatch_uid="known_failures.results_recorded")


def suggested_pattern(message: str) -> str:
    """An RE2 pattern for failures like this one: its first line, literally, except that numbers
    and addresses may differ."""
    line = next((line.strip() for line in message.splitlines() if line.strip()), "")[:SUGGESTION_CHARS]
    parts, position = [], 0
    for varying in _VARYING.finditer(line):
        parts += [
            re2.escape(line[position : varying.start()]),
            r"0x[0-9a-fA-F]+" if varying.group().lower().startswith("0x") else r"\d+",
        ]
        position = varying.end()
    return "".join([*parts, re2.escape(line[position:])])


def suggestions(project, limit: int = 10) -> list[tuple[Link, str]]:
    """Recent links of failed results to issues that no rule made, each with the rule it suggests."""
    links = (
        Link.objects.filter(project=project, test_result__status__in=FAILURES, known_failure__isnull=True)
        .exclude(test_result__comment="")
        .select_related("issue__project", "external_reference", "test_result__case", "test_result__run")
        .order_by("-created_at", "-id")
    )
    found, seen = [], set()
    for link in links[: limit * 5]:
        pattern = suggested_pattern(link.test_result.comment)
        identity = (pattern, link.issue_id, link.external_reference_id)
        if pattern and identity not in seen:
            seen.add(identity)
            found.append((link, pattern))
        if len(found) == limit:
            break
    return found
