"""Pages of reports: the traceability matrix (and its CSV), a requirement's coverage, and the Plans
page. Thin: parse, authorize with projects.permissions, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from integrations import selectors as integration_selectors
from integrations.models import IntegrationState
from issues.core.artefacts import site_url
from issues.pulls import coverage, runner
from issues.pulls import plans as pull_plans
from issues.pulls.forms import CaseSearchForm, CoverForm
from issues.pulls.models import Coverage
from issues.reports import plans, traceability
from issues.reports.forms import CaseCoverageForm, MatrixFilterForm
from projects.permissions import Action, can
from projects.selectors import case_in, cases_of, page_of, project_for, requirement_in, requirements_of
from projects.views import render_project_page


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


CASES_OFFERED = 20


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
                    coverage.uncover(found, site_url=site_url(request))
                messages.success(request, f"“{case.title}” no longer covers this requirement.")
            else:
                coverage.cover(requirement, case, actor=request.user, site_url=site_url(request))
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


@login_required
@require_http_methods(["POST"])
def case_coverage(request, key, pk):
    """From the test case page: start or stop covering one of the project's requirements."""
    project = project_for(request.user, key, Action.EDIT)
    case = case_in(project, pk)
    form = CaseCoverageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a requirement.")
    else:
        requirement = get_object_or_404(requirements_of(project), pk=form.cleaned_data["requirement"])
        if form.cleaned_data["remove"]:
            found = Coverage.objects.filter(requirement=requirement, test_case=case).first()
            if found is not None:
                coverage.uncover(found, site_url=site_url(request))
            messages.success(request, f"This case no longer covers “{requirement.title}”.")
        else:
            coverage.cover(requirement, case, actor=request.user, site_url=site_url(request))
            messages.success(request, f"This case covers “{requirement.title}”.")
    return redirect(f"{reverse('projects:case', args=[project.key, case.pk])}#covered-requirements")


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
            "integrations": list(runner.integrations_pulling(project)),
            "plan_sources": [
                {"integration": integration, "shown": pull_plans.shows_plans(integration)}
                for integration in integration_selectors.project_integrations(project).exclude(
                    state=IntegrationState.ARCHIVED
                )
            ],
            "can_manage": can(request.user, Action.MANAGE, project),
        },
    )
