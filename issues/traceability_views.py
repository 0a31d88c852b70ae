"""Pages of requirement pulls, coverage and traceability. Thin: parse, authorize with
projects.permissions, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.errors import TrackerError
from integrations.models import ProjectIntegration
from projects.permissions import Action, can
from projects.selectors import cases_of, page_of, project_for, requirement_in
from projects.views import render_project_page

from . import coverage, requirements_pull, tasks, traceability
from .models import Coverage
from .traceability_forms import CaseSearchForm, CoverForm, MatrixFilterForm, PullSettingsForm

CASES_OFFERED = 20


def _integration(project, pk) -> ProjectIntegration:
    # Another project's integration answers 404 like a missing one.
    return get_object_or_404(ProjectIntegration.objects.select_related("source", "project"), pk=pk, project=project)


def _site_url(request) -> str:
    return request.build_absolute_uri("/")


@login_required
@require_http_methods(["GET", "POST"])
def pull_settings(request, key, pk):
    project = project_for(request.user, key, Action.MANAGE)
    integration = _integration(project, pk)
    settings = requirements_pull.settings_of(integration)
    form = PullSettingsForm(request.POST or None, integration=integration, settings=settings)
    if request.method == "POST" and form.is_valid():
        try:
            requirements_pull.save_settings(integration, **form.settings())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"The requirement pull of {integration} is saved.")
            return redirect("traceability:pull_settings", project.key, integration.pk)
    return render_project_page(request, "issues/traceability_pull_settings.html", project, "requirements", {
        "integration": integration, "settings": settings, "form": form,
    })


@login_required
@require_POST
def pull_now(request, key, pk):
    """Pull one integration's requirements now: at once without a worker, else in the background."""
    project = project_for(request.user, key, Action.EDIT)
    integration = _integration(project, pk)
    if not requirements_pull.pulls(integration):
        messages.error(request, f"{integration} does not pull requirements.")
    else:
        try:
            outcome = tasks.pull_requirements.delay(integration.pk)
        except TrackerError as error:
            messages.error(request, f"Pulling from {integration.source.name} failed: {error}")
        else:
            summary = outcome.result if outcome.ready() else "started in the background"
            messages.success(request, f"Requirements from {integration.source.name}: {summary}.")
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
    return render_project_page(request, "issues/traceability_coverage.html", project, "requirements", {
        "requirement": requirement, "row": row, "search": search, "candidates": candidates,
    })


def _matrix_rows(request, project):
    form = MatrixFilterForm(request.GET, releases=traceability.releases_of(project))
    form.is_valid()
    filters = form.cleaned_data
    requirements = traceability.requirements_for(
        project, release=filters.get("release", ""), state=filters.get("state", ""), text=filters.get("q", ""),
    )
    return form, traceability.matrix(requirements, coverage=filters.get("coverage", ""))


@login_required
@require_GET
def matrix(request, key):
    project = project_for(request.user, key, Action.VIEW)
    form, rows = _matrix_rows(request, project)
    return render_project_page(request, "issues/traceability_matrix.html", project, "traceability", {
        "form": form, "totals": traceability.totals(rows), "page": page_of(rows, request.GET.get("page")),
        "query": request.GET.urlencode(),
    })


@login_required
@require_GET
def matrix_csv(request, key):
    project = project_for(request.user, key, Action.VIEW)
    _, rows = _matrix_rows(request, project)
    response = HttpResponse(traceability.matrix_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.key}-traceability.csv"'
    return response

