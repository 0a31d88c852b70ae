"""Pages of tracker pulls (settings, Pull now, Sync), coverage, traceability and plans. Thin: parse,
authorize with projects.permissions, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.models import ProjectIntegration
from projects.permissions import Action, can
from projects.selectors import cases_of, page_of, project_for, requirement_in
from projects.views import render_project_page

from . import bug_pull, coverage, plans, pulls, requirements_pull, tasks, traceability
from .models import Coverage
from .traceability_forms import CaseSearchForm, CoverForm, MatrixFilterForm, PullSettingsForm

CASES_OFFERED = 20


def _integration(project, pk) -> ProjectIntegration:
    # Another project's integration answers 404 like a missing one.
    return get_object_or_404(ProjectIntegration.objects.select_related("source", "project"), pk=pk, project=project)


def _site_url(request) -> str:
    return request.build_absolute_uri("/")


def _pull(request, integration) -> None:
    """Start the integration's pulls and say how they went (or that they run in the background)."""
    outcome = tasks.pull_integration.delay(integration.pk)
    if not outcome.ready():
        messages.info(request, f"Pulling from {integration.source.name} in the background.")
        return
    report = messages.success if all(part["ok"] for part in outcome.result) else messages.error
    report(request, f"Pulled from {integration.source.name}: {pulls.in_words(outcome.result)}.")


@login_required
@require_http_methods(["GET", "POST"])
def pull_settings(request, key, pk):
    project = project_for(request.user, key, Action.MANAGE)
    integration = _integration(project, pk)
    settings, bug_settings = requirements_pull.settings_of(integration), bug_pull.bug_settings_of(integration)
    form = PullSettingsForm(request.POST or None, integration=integration, settings=settings, bug_settings=bug_settings)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                requirements_pull.save_settings(integration, **form.settings())
                bug_pull.save_bug_settings(integration, **form.bug_settings())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"What {integration} pulls is saved.")
            return redirect("traceability:pull_settings", project.key, integration.pk)
    return render_project_page(
        request,
        "issues/traceability_pull_settings.html",
        project,
        "requirements",
        {
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
    if not pulls.pulls_anything(integration):
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
@require_http_methods(["GET", "POST"])
def requirement_coverage(request, key, pk):
    """The test cases covering a requirement: listed, added (found by a search) and removed."""
    project = project_for(request.user, key, Action.EDIT if request.method == "POST" else Action.VIEW)
    requirement = requirement_in(project, pk)
    if request.method == "POST":
        form = CoverForm(request.POST)
        if form.is_valid():
            case = get_object_or_404(cases_of(project), pk=form.cleaned_data["case"])
            if "remove" in request.POST:
                found = Coverage.objects.filter(requirement=requirement, test_case=case).first()
                if found is not None:
                    coverage.uncover(found, site_url=_site_url(request))
                messages.success(request, f"“{case.title}” no longer covers this requirement.")
            else:
                coverage.cover(requirement, case, actor=request.user, site_url=_site_url(request))
                messages.success(request, f"“{case.title}” covers this requirement.")
        page = reverse("traceability:coverage", args=[project.key, requirement.pk])
        return redirect(f"{page}?{request.GET.urlencode()}")
    search = CaseSearchForm(request.GET)
    search.is_valid()
    text = search.cleaned_data.get("q", "")
    candidates = None
    if text and can(request.user, Action.EDIT, project):
        candidates = cases_of(project, text=text).exclude(coverage__requirement=requirement)[:CASES_OFFERED]
    [row] = traceability.matrix(traceability.requirements_for(project).filter(pk=requirement.pk))
    return render_project_page(
        request,
        "issues/traceability_coverage.html",
        project,
        "requirements",
        {
            "requirement": requirement,
            "row": row,
            "search": search,
            "candidates": candidates,
        },
    )


def _matrix_rows(request, project):
    form = MatrixFilterForm(request.GET, releases=traceability.releases_of(project))
    form.is_valid()
    filters = form.cleaned_data
    requirements = traceability.requirements_for(
        project,
        release=filters.get("release", ""),
        state=filters.get("state", ""),
        text=filters.get("q", ""),
    )
    return form, traceability.matrix(requirements, coverage=filters.get("coverage", ""))


@login_required
@require_GET
def matrix(request, key):
    project = project_for(request.user, key, Action.VIEW)
    form, rows = _matrix_rows(request, project)
    return render_project_page(
        request,
        "issues/traceability_matrix.html",
        project,
        "traceability",
        {
            "form": form,
            "totals": traceability.totals(rows),
            "page": page_of(rows, request.GET.get("page")),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_GET
def matrix_csv(request, key):
    project = project_for(request.user, key, Action.VIEW)
    _, rows = _matrix_rows(request, project)
    response = HttpResponse(traceability.matrix_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.key}-traceability.csv"'
    return response


@login_required
@require_GET
def plans_page(request, key):
    """Releases and sprints on a timeline, and per release its requirements, coverage, results and open issues."""
    project = project_for(request.user, key, Action.VIEW)
    found = list(plans.plans_of(project))
    return render_project_page(
        request,
        "issues/plans.html",
        project,
        "plans",
        {
            "timeline": plans.timeline(found, timezone.localdate()),
            "releases": plans.release_overviews(project, [plan for plan in found if not plan.deleted_remotely]),
            "integrations": list(pulls.integrations_pulling(project)),
        },
    )


@login_required
@require_POST
def plans_sync(request, key):
    """Pull now from every tracker the project pulls from."""
    project = project_for(request.user, key, Action.EDIT)
    integrations = list(pulls.integrations_pulling(project))
    if not integrations:
        messages.error(
            request, f"No tracker pulls into {project.key}: a project admin switches pulls on under Trackers › Pulls."
        )
    for integration in integrations:
        _pull(request, integration)
    return redirect("traceability:plans", project.key)
