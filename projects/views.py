"""Pages of a project's test artefacts. Thin: parse, authorize, call a service or selector, render.

Linked issues on these pages come from the issues app's template tags, so this module
imports neither issues nor integrations.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import CaseFilterForm, CaseForm, RequirementFilterForm, ResultForm, RunForm, RunResultFilterForm
from .models import ResultStatus
from .permissions import Action, can

RESULTS_PER_PAGE = 100


def render_project_page(request, template, project, section, context):
    """Render a page of the project; `section` highlights the navigation, `can_edit` shows edit controls."""
    context = {"project": project, "section": section, "can_edit": can(request.user, Action.EDIT, project), **context}
    return render(request, template, context)


def _filters(form_class, request):
    """The valid filter values of a query string; an invalid one is reported and ignored."""
    form = form_class(request.GET)
    form.is_valid()
    return form, form.cleaned_data


@login_required
def project_list(request):
    return render(request, "projects/project_list.html", {"projects": selectors.projects_for(request.user)})


@login_required
def project_home(request, key):
    project = selectors.project_for(request.user, key, Action.VIEW)
    return render_project_page(
        request,
        "projects/project_home.html",
        project,
        "home",
        {
            "counts": selectors.project_counts(project),
            "runs": selectors.runs_of(project)[:10],
            "cases": selectors.recent_cases(project),
        },
    )


@login_required
def case_list(request, key):
    project = selectors.project_for(request.user, key, Action.VIEW)
    form, filters = _filters(CaseFilterForm, request)
    cases = selectors.cases_of(project, folder=filters.get("folder", ""), text=filters.get("q", ""))
    return render_project_page(
        request,
        "projects/case_list.html",
        project,
        "cases",
        {
            "form": form,
            "folder": filters.get("folder", ""),
            "folders": selectors.folders_of(project),
            "page": selectors.page_of(cases, request.GET.get("page")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request, key):
    project = selectors.project_for(request.user, key, Action.EDIT)
    if request.method == "POST":
        form = CaseForm(request.POST)
    else:
        form = CaseForm(initial={"folder": request.GET.get("folder", "")})
    if form.is_bound and form.is_valid():
        case = services.create_case(project=project, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Test case “{case.title}” created.")
        return redirect("projects:case", project.key, case.pk)
    return render_project_page(request, "projects/case_form.html", project, "cases", {"form": form, "case": None})


@login_required
def case_detail(request, key, pk):
    project = selectors.project_for(request.user, key, Action.VIEW)
    case = selectors.case_in(project, pk)
    return render_project_page(
        request,
        "projects/case_detail.html",
        project,
        "cases",
        {
            "case": case,
            "results": selectors.results_of_case(case)[:20],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request, key, pk):
    project = selectors.project_for(request.user, key, Action.EDIT)
    case = selectors.case_in(project, pk)
    if request.method == "POST":
        form = CaseForm(request.POST)
        if form.is_valid():
            services.update_case(case, **form.cleaned_data)
            messages.success(request, f"Test case “{case.title}” saved.")
            return redirect("projects:case", project.key, case.pk)
    else:
        form = CaseForm(initial={field: getattr(case, field) for field in services.CASE_FIELDS})
    return render_project_page(request, "projects/case_form.html", project, "cases", {"form": form, "case": case})


@login_required
def run_list(request, key):
    project = selectors.project_for(request.user, key, Action.VIEW)
    return render_project_page(
        request,
        "projects/run_list.html",
        project,
        "runs",
        {
            "page": selectors.page_of(selectors.runs_of(project), request.GET.get("page")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def run_create(request, key):
    project = selectors.project_for(request.user, key, Action.EDIT)
    options = {"folders": selectors.folders_of(project), "milestones": selectors.milestones_of(project)}
    form = RunForm(request.POST, **options) if request.method == "POST" else RunForm(**options)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        run = services.create_run(
            project=project,
            actor=request.user,
            name=data["name"],
            environment=data["environment"],
            description=data["description"],
            cases=selectors.cases_of(project, folder=data["folder"]),
            milestone=data["milestone"],
        )
        messages.success(request, f"Run “{run.name}” created.")
        return redirect("projects:run", project.key, run.pk)
    return render_project_page(request, "projects/run_form.html", project, "runs", {"form": form})


@login_required
def run_detail(request, key, pk):
    project = selectors.project_for(request.user, key, Action.VIEW)
    run = selectors.run_in(project, pk)
    form, filters = _filters(RunResultFilterForm, request)
    results = selectors.results_of(run, status=filters.get("status", ""))
    counts = selectors.status_counts(run)
    return render_project_page(
        request,
        "projects/run_detail.html",
        project,
        "runs",
        {
            "run": run,
            "form": form,
            "counts": counts,
            "progress": selectors.progress(counts),
            "statuses": ResultStatus.choices,
            "executors": selectors.executors_of(project),
            "page": selectors.page_of(results, request.GET.get("page"), per_page=RESULTS_PER_PAGE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def result_detail(request, key, run_pk, pk):
    project = selectors.project_for(request.user, key, Action.EDIT if request.method == "POST" else Action.VIEW)
    result = selectors.result_in(selectors.run_in(project, run_pk), pk)
    if request.method == "POST":
        form = ResultForm(request.POST)
        if form.is_valid():
            services.record_result(result, actor=request.user, **form.cleaned_data)
            messages.success(request, f"Recorded {result.get_status_display().lower()} for “{result.case.title}”.")
            return redirect(f"{reverse('projects:run', args=[project.key, result.run_id])}#result-{result.pk}")
    else:
        form = ResultForm(initial={"status": result.status, "comment": result.comment, "duration": result.duration})
    return render_project_page(
        request,
        "projects/result_detail.html",
        project,
        "runs",
        {
            "result": result,
            "form": form,
        },
    )


@login_required
def requirement_list(request, key):
    project = selectors.project_for(request.user, key, Action.VIEW)
    form, filters = _filters(RequirementFilterForm, request)
    requirements = selectors.requirements_of(project, state=filters.get("state", ""), text=filters.get("q", ""))
    return render_project_page(
        request,
        "projects/requirement_list.html",
        project,
        "requirements",
        {
            "form": form,
            "page": selectors.page_of(requirements, request.GET.get("page")),
        },
    )


@login_required
def requirement_detail(request, key, pk):
    project = selectors.project_for(request.user, key, Action.VIEW)
    return render_project_page(
        request,
        "projects/requirement_detail.html",
        project,
        "requirements",
        {
            "requirement": selectors.requirement_in(project, pk),
        },
    )
