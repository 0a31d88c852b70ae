"""Pages pushing internal issues to a tracker: "Push to <tracker>" on an issue (a preview to confirm,
then the push), "Keep in step with an existing tracker issue" (by key), and "Push selected" on the
issues list (a background job whose page follows it). Thin: permissions, then ``pushes``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations import selectors as integration_selectors
from integrations.errors import TrackerError
from integrations.providers.base import Capability
from issues.core import selectors as core_selectors
from issues.core.artefacts import site_url
from issues.core.models import Issue
from issues.filing import pushes, services
from issues.filing.selectors import who_can_fix
from projects.permissions import Action
from projects.selectors import project_for
from projects.views import render_project_page


def _problem(error: TrackerError, project) -> str:
    return " ".join(filter(None, [str(error), who_can_fix(error.code, project)]))


def _to_issue(project, issue):
    return redirect("issues:detail", project.key, issue.number)


@login_required
@require_http_methods(["GET", "POST"])
def push_issue(request, key, number, integration_id):
    """GET: what the tracker will receive (title, description, issue type, priority, labels), to confirm.
    POST: push it; the issue page then shows the tracker issue it is kept in step with."""
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    try:
        integration = pushes.push_target(project, integration_id)
        pushes.refuse_if_pushed(issue)
        if request.method == "POST":
            pushed = pushes.push_issue(
                issue=issue, integration=integration, actor=request.user, site_url=site_url(request)
            )
            messages.success(request, f"Pushed to {integration.source.name} as {pushed.reference.key}.")
            for note in pushed.notes:
                messages.warning(request, note)
            return _to_issue(project, issue)
        preview = pushes.push_draft(integration, issue, request.user, site_url(request))
    except pushes.AlreadyPushed as refused:
        messages.error(request, str(refused))
        return _to_issue(project, issue)
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return _to_issue(project, issue)
    except TrackerError as error:
        messages.error(request, f"Nothing was pushed: {_problem(error, project)}")
        return _to_issue(project, issue)
    return render_project_page(
        request,
        "issues/push_confirm.html",
        project,
        "issues",
        {"issue": issue, "integration": integration, "preview": preview, "draft": preview.draft},
    )


@login_required
@require_POST
def link_tracker(request, key, number):
    """Keep the issue in step with an existing tracker issue, named by its key."""
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    try:
        integration = pushes.push_target(project, request.POST.get("integration", ""))
        linked = pushes.link_to_tracker(
            issue=issue,
            integration=integration,
            actor=request.user,
            typed_key=request.POST.get("key", ""),
            site_url=site_url(request),
        )
    except pushes.AlreadyPushed as refused:
        messages.error(request, str(refused))
    except ValidationError as invalid:
        messages.error(request, "Not linked: " + " ".join(invalid.messages))
    except TrackerError as error:
        messages.error(request, f"Not linked: {_problem(error, project)}")
    else:
        messages.success(request, f"{issue.key} is now kept in step with {linked.reference.key}.")
    return _to_issue(project, issue)


@login_required
@require_GET
def link_tracker_search(request, key, number):
    """Tracker issues matching ``q`` (a key, or words), each with "Keep in step" to tie the issue to it."""
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    text = request.GET.get("q", "").strip()[:200]
    found, problem = [], ""
    try:
        integration = pushes.push_target(project, request.GET.get("integration", ""))
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return _to_issue(project, issue)
    if not text:
        problem = "Type a key or words to search for."
    elif not integration_selectors.can(integration.source, Capability.READ_DETAILS):
        problem = f"{integration.source.name} cannot be searched from testmanager: type the issue's key."
    else:
        try:
            found = services.as_member(integration, request.user, lambda provider: provider.search(text))
        except TrackerError as error:
            problem = _problem(error, project)
    return render_project_page(
        request,
        "issues/push_link_search.html",
        project,
        "issues",
        {"issue": issue, "integration": integration, "q": text, "found": found, "problem": problem},
    )


@login_required
@require_POST
def push_selected(request, key):
    """Push the issues selected on the list, each on its own, in the background."""
    project = project_for(request.user, key, Action.EDIT)
    numbers = [value for value in request.POST.getlist("issue") if value.isdigit()]
    issues = list(Issue.objects.filter(project=project, number__in=numbers).order_by("number"))
    if not issues:
        messages.error(request, "Select the issues to push first.")
        return redirect("issues:list", project.key)
    try:
        integration = pushes.push_target(project, request.POST.get("integration", ""))
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return redirect("issues:list", project.key)
    job = pushes.start_push_job(integration=integration, issues=issues, actor=request.user, site_url=site_url(request))
    return redirect("issues:filing_job", project.key, job.pk)
