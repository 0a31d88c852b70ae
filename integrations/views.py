"""The project settings page for tracker assignments (project admins), where members also authorize
their own accounts for trackers that act as each member (OAuth 2.0)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from projects.models import Project
from projects.permissions import Action, can, ensure
from projects.views import render_project_page

from . import field_mapping_services, selectors, services, signals
from . import field_mappings as fm
from .errors import TrackerError
from .forms import FieldMappingsForm, MemberTokenForm, ProjectIntegrationForm
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
        _add_errors(form, error)
        return False
    return True


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.error_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error)


@login_required
def integration_list(request, key):
    """Project admins manage the trackers here; members see them and their own authorization."""
    project = get_object_or_404(Project, key=key)
    ensure(request.user, Action.EDIT, project)
    integrations = list(selectors.project_integrations(project))
    tokens = selectors.member_tokens(request.user)
    for integration in integrations:
        integration.webhook = selectors.webhook_status(integration)
        integration.webhook_url = request.build_absolute_uri(selectors.webhook_path(integration.source))
        integration.member_token = tokens.get(integration.source_id)
        integration.can_authorize = selectors.may_authorize(integration.source, request.user)
        integration.authorize_refusal = (
            None
            if integration.can_authorize
            else selectors.refusal(
                integration.source, selectors.TrackerAction.AUTHORIZE, user=request.user, integration=integration
            )
        )
        integration.can_enter_token = selectors.may_enter_token(integration.source, request.user)
        integration.token_label = selectors.member_token_label(integration.source)
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
            "authorizations": (
                list(selectors.project_authorizations(project)) if can(request.user, Action.MANAGE, project) else []
            ),
            "settings_tab": "trackers",
        },
    )


def _report_saved(request, integration: ProjectIntegration, done: str) -> None:
    """Say it is saved, and when the tracker could not confirm the choices, that it is not verified and why."""
    if integration.unverified:
        messages.warning(
            request,
            f"{done} It is not verified: {integration.verification_error} "
            "Use “Check again” on this page once the tracker answers.",
        )
    else:
        messages.success(request, done)


def _form_context(project, form, integration=None) -> dict:
    """The connect/edit form and where its pickers read the tracker's lists from."""
    return {
        "project": project,
        "form": form,
        "integration": integration,
        "options_url": reverse("api-project-tracker-options", args=[project.key]),
        "source_id": integration.source_id if integration is not None else "",
    }


@login_required
def authorization_revoke(request, key, token_pk):
    """A project admin revokes a member's own token for one of the project's trackers, after confirming."""
    project = _managed_project(request, key)
    token = get_object_or_404(selectors.project_authorizations(project), pk=token_pk)
    if request.method == "POST":
        services.revoke_member_token(token, actor=request.user)
        messages.success(
            request,
            f"The authorization of {token.user.get_username()} for {token.source.name} is revoked: testmanager forgot "
            "the token.",
        )
        return redirect("integrations:list", project.key)
    return render(request, "integrations/authorization_revoke.html", {"project": project, "token": token})


@login_required
def integration_create(request, key):
    project = _managed_project(request, key)
    form = ProjectIntegrationForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        source = data.pop("source")
        data["webhook_url"] = request.build_absolute_uri(selectors.webhook_path(source))
        assigned = []
        if _apply(form, lambda: assigned.append(services.assign_source(project, source, actor=request.user, **data))):
            _report_saved(request, assigned[0], f"{source.name} is assigned to {project.key}.")
            return redirect("integrations:list", project.key)
    return render(request, "integrations/integration_form.html", _form_context(project, form))


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
        _report_saved(request, integration, f"{integration} is saved.")
        return redirect("integrations:list", project.key)
    return render(request, "integrations/integration_form.html", _form_context(project, form, integration))


@require_POST
@login_required
def integration_check(request, key, pk):
    """Ask the tracker again whether it has the integration's external project, issue types and board."""
    project = _managed_project(request, key)
    integration = _integration(project, pk)
    checked = services.check_integration_again(integration, actor=request.user)
    if checked is None:
        messages.info(request, f"{integration}: there is nothing to check against the tracker.")
    elif checked.error:
        messages.warning(request, f"{integration} is still not verified: {checked.error}")
    else:
        messages.success(request, f"{integration} is verified: the tracker has its project, issue types and board.")
    return redirect("integrations:list", project.key)


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


@login_required
def member_token(request, key, pk):
    """A member enters their own token for the integration's source (write-only: never shown again)."""
    project = get_object_or_404(Project, key=key)
    ensure(request.user, Action.EDIT, project)
    integration = _integration(project, pk)
    source = integration.source
    if not selectors.may_enter_token(source, request.user):
        raise Http404("This tracker takes no token of yours.")
    form = MemberTokenForm(request.POST or None, source=source)
    if request.method == "POST" and form.is_valid():
        try:
            token = services.save_member_token(
                request.user,
                source,
                access_token=form.cleaned_data["token"],
                refresh_token=form.cleaned_data.get("refresh_token", ""),
            )
        except ValidationError as error:
            _add_errors(form, error)
        except TrackerError as error:
            form.add_error(None, f"Nothing was stored: {error}")
        else:
            messages.success(
                request,
                f"Your {form.fields['token'].label.lower()} for {source.name} is stored: {source.name} now "
                f"shows {token.remote_account} as the author of what you file and comment.",
            )
            return redirect("integrations:list", project.key)
    return render(
        request,
        "integrations/member_token.html",
        {
            "project": project,
            "integration": integration,
            "source": source,
            "form": form,
            "token": selectors.member_token(source, request.user),
            "label": selectors.member_token_label(source),
        },
    )
