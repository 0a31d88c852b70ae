"""Pages of a project's test artefacts. Thin: parse, authorize, call a service or selector, render.

Linked issues on these pages come from the issues app's template tags, so this module
imports neither issues nor integrations.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import (
    CaseFieldForm,
    CaseFilterForm,
    CaseForm,
    CaseTypeForm,
    RequirementFilterForm,
    RequirementForm,
    ResultForm,
    RunForm,
    RunResultFilterForm,
    StepFormSet,
)
from .models import Requirement, ResultStatus
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
            "can_manage": can(request.user, Action.MANAGE, project),
        },
    )


def _case_forms(request, project, case=None):
    """The case form and its steps formset, bound on POST, else filled from the case (or the query's folder)."""
    if request.method == "POST":
        return CaseForm(request.POST, project=project), StepFormSet(request.POST, prefix="steps")
    initial = CaseForm.initial_of(case) if case else {"folder": request.GET.get("folder", "")}
    steps = case.steps if case else []
    return CaseForm(initial=initial, project=project), StepFormSet(initial=steps, prefix="steps")


def _save_case(request, project, form, steps, case=None):
    """Create or change the case from valid forms; a service's refusal lands on the form."""
    fields = {**form.case_fields(), "steps": steps.steps()}
    try:
        if case is None:
            return services.create_case(project=project, actor=request.user, **fields)
        return services.update_case(case, **fields)
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return None


def _case_form_page(request, project, case=None):
    form, steps = _case_forms(request, project, case)
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        saved = _save_case(request, project, form, steps, case)
        if saved is not None:
            messages.success(request, f"Test case “{saved.title}” {'saved' if case else 'created'}.")
            return redirect("projects:case", project.key, saved.pk)
    context = {"form": form, "steps": steps, "case": case}
    return render_project_page(request, "projects/case_form.html", project, "cases", context)


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request, key):
    return _case_form_page(request, selectors.project_for(request.user, key, Action.EDIT))


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
            "custom_values": selectors.custom_values_of(case),
            "results": selectors.results_of_case(case)[:20],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request, key, pk):
    project = selectors.project_for(request.user, key, Action.EDIT)
    return _case_form_page(request, project, selectors.case_in(project, pk))


def _case_settings_post(request, project):
    """One change of the project's case types or custom fields; the form back when it is refused."""
    action = request.POST.get("action")
    if action == "add_type":
        form = CaseTypeForm(request.POST)
        if form.is_valid():
            _try(request, form, lambda: services.add_case_type(project, form.cleaned_data["name"]), "Case type added.")
        return {"type_form": form}
    if action == "add_field":
        form = CaseFieldForm(request.POST)
        if form.is_valid():
            _try(request, form, lambda: services.add_case_field(project, **form.cleaned_data), "Custom field added.")
        return {"field_form": form}
    if action == "remove_type":
        case_type = get_object_or_404(project.case_types, pk=request.POST.get("pk") or 0)
        count = services.remove_case_type(case_type)
        messages.success(request, f"Case type “{case_type.name}” removed; {count} case(s) now have no type.")
    elif action == "remove_field":
        field = get_object_or_404(project.case_fields, pk=request.POST.get("pk") or 0)
        count = services.remove_case_field(field)
        messages.success(request, f"Custom field “{field.label}” removed with its values in {count} case(s).")
    return {}


def _try(request, form, write, success: str) -> None:
    try:
        write()
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        messages.success(request, success)


@login_required
@require_http_methods(["GET", "POST"])
def case_settings(request, key):
    """The project's case types and custom fields: project admins add and remove them."""
    project = selectors.project_for(request.user, key, Action.MANAGE)
    forms_shown = {"type_form": CaseTypeForm(), "field_form": CaseFieldForm()}
    if request.method == "POST":
        refused = _case_settings_post(request, project)
        if not any(form.errors for form in refused.values()):
            return redirect("projects:case_settings", project.key)
        forms_shown.update(refused)
    return render_project_page(
        request,
        "projects/case_settings.html",
        project,
        "cases",
        {
            **forms_shown,
            "case_types": selectors.case_types_with_counts(project),
            "case_fields": selectors.case_fields_with_counts(project),
        },
    )


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
    # Steps recorded earlier are shown as they were executed; otherwise the case's current steps.
    steps = result.step_results or result.case.steps
    if request.method == "POST":
        form = ResultForm(request.POST, steps=steps)
        if form.is_valid():
            services.record_result(result, actor=request.user, **form.result_fields())
            messages.success(request, f"Recorded {result.get_status_display().lower()} for “{result.case.title}”.")
            return redirect(f"{reverse('projects:run', args=[project.key, result.run_id])}#result-{result.pk}")
    else:
        initial = {"status": result.status, "comment": result.comment, "duration": result.duration}
        form = ResultForm(initial={**initial, **ResultForm.initial_steps(result.step_results)}, steps=steps)
    return render_project_page(
        request,
        "projects/result_detail.html",
        project,
        "runs",
        {
            "result": result,
            "steps": steps,
            "form": form,
        },
    )


@login_required
def requirement_list(request, key):
    project = selectors.project_for(request.user, key, Action.VIEW)
    form, filters = _filters(RequirementFilterForm, request)
    folder = filters.get("folder", "")
    requirements = selectors.requirements_of(
        project, state=filters.get("state", ""), text=filters.get("q", ""), folder=folder
    )
    return render_project_page(
        request,
        "projects/requirement_list.html",
        project,
        "requirements",
        {
            "form": form,
            "folder": folder,
            "folders": selectors.folders_of(project, Requirement),
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


@login_required
@require_http_methods(["GET", "POST"])
def requirement_edit(request, key, pk=None):
    """Write a requirement (no pk) or change one; a pulled requirement keeps what its tracker owns."""
    project = selectors.project_for(request.user, key, Action.EDIT)
    requirement = selectors.requirement_in(project, pk) if pk else Requirement(project=project)
    form = RequirementForm(request.POST or None, instance=requirement)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.REQUIREMENT_FIELDS}
        try:
            services.save_requirement(requirement, **values)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Requirement “{requirement.title}” saved.")
            return redirect("projects:requirement", project.key, requirement.pk)
    return render_project_page(
        request,
        "projects/requirement_form.html",
        project,
        "requirements",
        {"form": form, "requirement": requirement if requirement.pk else None},
    )


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, problems in error.message_dict.items():
            form.add_error(name if name in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


@login_required
def members(request, key):
    """Settings › Members: who is in the project and with which role."""
    project = selectors.project_for(request.user, key, Action.EDIT)
    return render_project_page(
        request, "projects/members.html", project, "settings", {"memberships": selectors.memberships_of(project)}
    )
