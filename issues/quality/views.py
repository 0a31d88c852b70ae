"""Pages of failure triage: known-failure rules, a run's new failures, its recurring failures.
Thin: parse, authorize with projects.permissions, call known_failures or recurrences, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from issues.core.models import Issue
from issues.links.models import Link
from issues.quality import known_failures, recurrences
from issues.quality.forms import KnownFailureRuleForm, RecurrenceActionForm
from projects.permissions import Action, can
from projects.selectors import page_of, project_for, run_in
from projects.views import render_project_page


def _initial_from_link(project, link_id: str) -> dict:
    """The form's values suggested by a link of a failed result to an issue (``?link=<id>``)."""
    if not link_id.isdigit():
        return {}
    link = get_object_or_404(
        Link.objects.filter(project=project, test_result__isnull=False).select_related(
            "issue__project", "external_reference", "test_result"
        ),
        pk=int(link_id),
    )
    issue = link.issue.key if link.issue else link.external_reference.key
    return {"pattern": known_failures.suggested_pattern(link.test_result.comment), "issue": issue}


@login_required
@require_http_methods(["GET", "POST"])
def rules(request, key):
    project = project_for(request.user, key, Action.EDIT if request.method == "POST" else Action.VIEW)
    if request.method == "POST":
        form = KnownFailureRuleForm(request.POST, project=project)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rule = known_failures.create_rule(
                    project,
                    pattern=data["pattern"],
                    test_pattern=data["test_pattern"],
                    issue_side=data["issue"],
                    actor=request.user,
                    apply_to_recent_runs=data["apply_to_recent_runs"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Failures matching /{rule.pattern}/ are now known as {data['issue']}.")
                return redirect("traceability:known_failures", project.key)
    else:
        form = KnownFailureRuleForm(initial=_initial_from_link(project, request.GET.get("link", "")), project=project)
    may_edit = can(request.user, Action.EDIT, project)
    return render_project_page(
        request,
        "issues/known_failure_rules.html",
        project,
        "runs",
        {
            "rules": known_failures.rules_of(project),
            "form": form if may_edit else None,
            "suggestions": known_failures.suggestions(project) if may_edit else [],
        },
    )


@login_required
@require_POST
def rule_delete(request, key, pk):
    project = project_for(request.user, key, Action.EDIT)
    rule = known_failures.rule_in(project, pk)
    known_failures.delete_rule(rule)
    messages.success(request, f"The rule /{rule.pattern}/ is deleted; the failures it linked stay linked.")
    return redirect("traceability:known_failures", project.key)


@login_required
@require_POST
def rule_toggle(request, key, pk):
    project = project_for(request.user, key, Action.EDIT)
    rule = known_failures.rule_in(project, pk)
    known_failures.set_rule_enabled(rule, not rule.enabled)
    state = "resumed" if rule.enabled else "paused: it recognizes nothing until resumed"
    messages.success(request, f"The rule /{rule.pattern}/ is {state}.")
    return redirect("traceability:known_failures", project.key)


@login_required
@require_GET
def new_failures(request, key, run_pk):
    project = project_for(request.user, key, Action.VIEW)
    run = run_in(project, run_pk)
    failures = known_failures.new_failures(run)
    return render_project_page(
        request,
        "issues/known_failure_new.html",
        project,
        "runs",
        {
            "run": run,
            "page": page_of(failures, request.GET.get("page"), per_page=100),
            "known": known_failures.failures_of(run).count() - failures.count(),
        },
    )


def _recurrence(run, result_pk: int, original: str):
    """The recurring failure of the run named by a form: its result and one of its resolved issues."""
    for recurrence in recurrences.recurrences_of_run(run):
        if recurrence.result.pk != result_pk:
            continue
        for side in recurrence.resolved:
            if original == f"{'issue' if isinstance(side, Issue) else 'reference'}-{side.pk}":
                return recurrence, side
    raise Http404("No such recurring failure.")


@login_required
@require_http_methods(["GET", "POST"])
def recurring(request, key, run_pk):
    """The run's failures whose test's issues were all resolved: reopen one, or file a follow-up."""
    project = project_for(request.user, key, Action.EDIT if request.method == "POST" else Action.VIEW)
    run = run_in(project, run_pk)
    if request.method == "POST":
        form = RecurrenceActionForm(request.POST)
        if not form.is_valid():
            raise Http404("No such recurring failure.")
        recurrence, original = _recurrence(run, form.cleaned_data["result"], form.cleaned_data["original"])
        if form.cleaned_data["action"] == "reopen":
            if not isinstance(original, Issue):
                raise Http404("A tracker issue is reopened in its tracker.")
            recurrences.reopen(original, recurrence.result, actor=request.user)
            messages.success(request, f"{original.key} is open again and linked to this failure.")
        else:
            issue = recurrences.follow_up(original, recurrence.result, actor=request.user)
            messages.success(request, f"{issue.key} follows up {original.key}.")
        return redirect("traceability:recurring", project.key, run.pk)
    return render_project_page(
        request,
        "issues/known_failure_recurring.html",
        project,
        "runs",
        {
            "run": run,
            "recurrences": recurrences.recurrences_of_run(run),
            "creates_follow_ups": recurrences.creates_follow_ups(project),
            "can_manage": can(request.user, Action.MANAGE, project),
        },
    )


@login_required
@require_POST
def recurrence_policy(request, key):
    """Project admins choose whether follow-ups are filed by themselves."""
    project = project_for(request.user, key, Action.MANAGE)
    create = request.POST.get("create_follow_ups") == "on"
    recurrences.set_policy(project, create_follow_ups=create)
    messages.success(
        request,
        "Follow-ups are now filed as soon as a failure recurs." if create else "Follow-ups are now only offered.",
    )
    run = request.POST.get("run", "")
    if run.isdigit():
        return redirect("traceability:recurring", project.key, int(run))
    return redirect("traceability:known_failures", project.key)
