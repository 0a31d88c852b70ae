"""The project settings page for tracker assignments (project admins), where members also authorize
their own accounts for trackers that act as each member (OAuth 2.0)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from projects.models import Project
from projects.permissions import Action, can, ensure
from projects.views import render_project_page

from . import field_mapping_services, selectors, services, signals
from . import field_mappings as fm
from .errors import TrackerError
from .forms import FieldMappingsForm, ProjectIntegrationForm
from .models import IntegrationState, ProjectIntegration, Source

TRANSITION_MESSAGES = {
    "archive": "archived: hidden from the project's pickers, its data kept",
    "unarchive": "restored",
    "disconnect": "disconnected: it stops syncing",
    "reconnect": "reconnected",
}


def _managed_project(request, key) -> Project:
    project = get_object_or_404(Project, key=key)
    ensure(request.user, Action.MANAGE, project)
    return project


def _integration(project, pk) -> ProjectIntegration:
    # Another project's integration answers 404 like a missing one.
    return get_object_or_404(ProjectIntegration.objects.select_related("source", "project"), pk=pk, project=project)


def _apply(form, call) -> bool:
    """Run a service with the form's data; its rule violations become form errors."""
    try:
        call()
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, problems in error.error_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            form.add_error(None, error)
        return False
    return True


@login_required
def integration_list(request, key):
    """Project admins manage the trackers here; members see them and their own authorization."""
    project = get_object_or_404(Project, key=key)
    ensure(request.user, Action.EDIT, project)
    integrations = list(selectors.project_integrations(project))
    tokens = selectors.member_tokens(request.user)
    for integration in integrations:
        integration.member_token = tokens.get(integration.source_id)
        integration.can_authorize = selectors.may_authorize(integration.source, request.user)
    return render_project_page(
        request,
        "integrations/project_integrations.html",
        project,
        "settings",
        {
            "current": [i for i in integrations if i.state != IntegrationState.ARCHIVED],
            "archived": [i for i in integrations if i.state == IntegrationState.ARCHIVED],
            "can_assign": selectors.assignable_sources(project).exists(),
            "can_manage": can(request.user, Action.MANAGE, project),
            "settings_tab": "trackers",
        },
    )


@login_required
def integration_create(request, key):
    project = _managed_project(request, key)
    form = ProjectIntegrationForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        source = data.pop("source")
        if _apply(form, lambda: services.assign_source(project, source, actor=request.user, **data)):
            messages.success(request, f"{source.name} is assigned to {project.key}.")
            return redirect("integrations:list", project.key)
    return render(request, "integrations/integration_form.html", {"project": project, "form": form})


@login_required
def integration_edit(request, key, pk):
    project = _managed_project(request, key)
    integration = _integration(project, pk)
    form = ProjectIntegrationForm(request.POST or None, project=project, integration=integration)
    if (
        request.method == "POST"
        and form.is_valid()
        and _apply(
            form, lambda: services.update_project_integration(integration, actor=request.user, **form.cleaned_data)
        )
    ):
        messages.success(request, f"{integration} is saved.")
        return redirect("integrations:list", project.key)
    return render(
        request, "integrations/integration_form.html", {"project": project, "form": form, "integration": integration}
    )


# What each destructive step does, told on its confirmation page before anything changes.
CONSEQUENCES = {
    "archive": "It is hidden from the project's pickers and stops syncing; its issues, references, links and "
    "pulled data are kept, and its releases and sprints leave Plans until it is unarchived. A primary tracker "
    "stops being the primary one.",
    "disconnect": "It stops syncing: no refresh, pull or push goes through it until it is reconnected. Its links "
    "and data are kept. A primary tracker stops being the primary one.",
    "remove": "The assignment and its settings (mappings, pulls) are removed; issues, references and links stay.",
}


def _confirm(request, project, integration, action: str, url: str):
    """The confirmation page of a destructive step: a plain form, no script needed."""
    return render_project_page(
        request,
        "integrations/confirm.html",
        project,
        "settings",
        {"integration": integration, "action": action, "consequence": CONSEQUENCES[action], "confirm_url": url},
    )


@require_http_methods(["GET", "POST"])
@login_required
def integration_transition(request, key, pk, transition):
    """GET: archive and disconnect ask for confirmation first; POST: do it."""
    project = _managed_project(request, key)
    integration = _integration(project, pk)
    if request.method == "GET":
        if transition not in CONSEQUENCES:
            return redirect("integrations:list", project.key)
        return _confirm(request, project, integration, transition, request.path)
    try:
        services.change_integration_state(integration, transition, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{integration} is {TRANSITION_MESSAGES[transition]}.")
    return redirect("integrations:list", project.key)


@require_http_methods(["GET", "POST"])
@login_required
def integration_remove(request, key, pk):
    """GET: the confirmation page; POST: remove the assignment."""
    project = _managed_project(request, key)
    integration = _integration(project, pk)
    if request.method == "GET":
        return _confirm(request, project, integration, "remove", request.path)
    services.remove_project_integration(integration, actor=request.user)
    messages.success(request, f"{integration} is removed; issues, references and links stay.")
    return redirect("integrations:list", project.key)


@require_POST
@login_required
def integration_refresh(request, key, pk):
    """ "Refresh now": the tracker issues linked in the project through this integration's source are read
    again, and the page says how many were refreshed and how many failed (a warning when any did)."""
    project = get_object_or_404(Project, key=key)
    ensure(request.user, Action.EDIT, project)
    integration = _integration(project, pk)
    source = integration.source
    if not source.syncs:
        health = selectors.health_of(source)
        messages.warning(request, f"{source.name} is {health.label.lower()}: nothing was refreshed. {health.reason}")
        return redirect("integrations:list", project.key)
    answers = signals.refresh_requested.send(sender=Source, source=source, actor=request.user, project=project)
    outcome = signals.RefreshOutcome.of_answers(answers)
    messages.add_message(request, outcome.level, f"{source.name}: {outcome.sentence()}")
    return redirect("integrations:list", project.key)


def edit_field_mappings(request, integration, *, template: str, done_url: str, context: dict):
    """The field mappings form of an integration, shown and saved: the project's Trackers page and the
    admin both use it. The tracker is asked for the fields; when it cannot be reached, the saved
    mappings are shown and nothing can be saved until it answers."""
    discovered = {
        purpose: field_mapping_services.discover_or_saved(integration, request.user, purpose) for purpose in fm.PURPOSES
    }
    form = FieldMappingsForm(request.POST or None, discovered=discovered, integration=integration)
    if request.method == "POST" and form.is_valid():
        try:
            field_mapping_services.save(integration, form.document(), actor=request.user)
        except ValidationError as error:
            form.add_errors(error)
        except TrackerError as error:
            form.add_error(None, f"Nothing was saved: {error}")
        else:
            messages.success(request, f"The field mappings of {integration} are saved.")
            return redirect(done_url)
    purposes = [
        {
            "purpose": purpose,
            "label": label,
            "found": discovered[purpose],
            "unmapped": fm.unmapped_required(integration.field_mappings, purpose, discovered[purpose].fields),
            "issue_type": form[f"{purpose}__issue_type"],
            "rows": form.rows[purpose],
        }
        for purpose, label in fm.PURPOSES.items()
    ]
    context = {**context, "integration": integration, "form": form, "purposes": purposes}
    return render(request, template, {**context, "placeholders": fm.PLACEHOLDERS})


@login_required
def field_mappings(request, key, pk):
    """Where each tracker field of a defect and of a synced test case takes its value from (project admins)."""
    project = _managed_project(request, key)
    integration = _integration(project, pk)
    done = reverse("integrations:field_mappings", args=[project.key, integration.pk])
    return edit_field_mappings(
        request,
        integration,
        template="integrations/field_mappings.html",
        done_url=done,
        context={"project": project, "cancel_url": reverse("integrations:list", args=[project.key])},
    )
