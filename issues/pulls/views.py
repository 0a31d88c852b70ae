"""Pages of tracker pulls: settings, "Pull now", and "Sync" on the Plans page. Thin: parse, authorize
with projects.permissions, call a service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from integrations.models import ProjectIntegration
from issues.pulls import bugs, plans, requirements, runner, tasks
from issues.pulls import pull_settings as pull_settings_service
from issues.pulls.forms import PullSettingsForm
from projects.permissions import Action, can
from projects.selectors import project_for
from projects.views import render_project_page


def _integration(project, pk) -> ProjectIntegration:
    # Another project's integration answers 404 like a missing one.
    return get_object_or_404(ProjectIntegration.objects.select_related("source", "project"), pk=pk, project=project)


def _pull(request, integration) -> None:
    """Start the integration's pulls and say how they went (or that they run in the background)."""
    outcome = tasks.pull_integration.delay(integration.pk)
    if not outcome.ready():
        messages.info(request, f"Pulling from {integration.source.name} in the background.")
        return
    report = messages.success if all(part["ok"] for part in outcome.result) else messages.error
    report(request, f"Pulled from {integration.source.name}: {runner.in_words(outcome.result)}.")


def _form_errors(form, error: ValidationError) -> None:
    """A refusal by field (a filter the tracker refused) under that field; anything else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def _report_checks(request, integration, checks) -> None:
    """ "Saved", with what each filter matches; a warning for each filter saved unverified."""
    verified = " ".join(check.message for check in checks if check.verified)
    messages.success(request, " ".join(filter(None, [f"What {integration} pulls is saved.", verified])))
    for check in checks:
        if not check.verified:
            messages.warning(request, check.message)


@login_required
@require_http_methods(["GET", "POST"])
def pull_settings(request, key, pk):
    project = project_for(request.user, key, Action.MANAGE)
    integration = _integration(project, pk)
    settings, bug_settings = requirements.settings_of(integration), bugs.bug_settings_of(integration)
    form = PullSettingsForm(request.POST or None, integration=integration, settings=settings, bug_settings=bug_settings)
    if request.method == "POST" and form.is_valid():
        try:
            checks = pull_settings_service.save(integration, form.settings(), form.bug_settings())
        except ValidationError as error:
            _form_errors(form, error)
        else:
            _report_checks(request, integration, checks)
            return redirect("traceability:pull_settings", project.key, integration.pk)
    return render_project_page(
        request,
        "issues/traceability_pull_settings.html",
        project,
        "settings",
        {
            "settings_tab": "pulls",
            "integration": integration,
            "settings": settings,
            "bug_settings": bug_settings,
            "form": form,
        },
    )


@login_required
@require_POST
def pull_now(request, key, pk):
    """Run one integration's pulls now: at once without a worker, else in the background."""
    project = project_for(request.user, key, Action.EDIT)
    integration = _integration(project, pk)
    if not runner.pulls_anything(integration):
        messages.error(
            request,
            f"{integration} pulls nothing: it is not active, its source does not sync, or no pull is switched on.",
        )
    else:
        _pull(request, integration)
    if request.POST.get("back") == "settings" and can(request.user, Action.MANAGE, project):
        return redirect("traceability:pull_settings", project.key, integration.pk)
    return redirect("projects:requirements", project.key)


@login_required
@require_POST
def plans_sync(request, key):
    """Pull now from every tracker the project pulls from."""
    project = project_for(request.user, key, Action.EDIT)
    integrations = list(runner.integrations_pulling(project))
    if not integrations:
        messages.error(
            request, f"No tracker pulls into {project.key}: a project admin switches pulls on under Trackers › Pulls."
        )
    for integration in integrations:
        _pull(request, integration)
    return redirect("traceability:plans", project.key)


@login_required
@require_POST
def plans_choose(request, key):
    """Project admins choose which trackers' releases and sprints the Plans page shows and syncs."""
    project = project_for(request.user, key, Action.MANAGE)
    chosen = [int(pk) for pk in request.POST.getlist("shown") if pk.isdigit()]
    shown = plans.choose_plans(project, chosen)
    names = ", ".join(integration.source.name for integration in shown) or "no tracker"
    messages.success(request, f"Plans shows the releases and sprints of {names}.")
    return redirect("traceability:plans", project.key)
