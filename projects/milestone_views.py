"""Milestones and plans made in the project: their pages, with the releases and sprints pulled from
trackers shown alongside (through the issues app's template tag, as this app imports neither)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import MilestoneForm, PlanForm
from .permissions import Action
from .views import render_project_page

SECTION = "milestones"


@login_required
def milestone_list(request, key):
    project = selectors.project_for(request.user, key, Action.VIEW)
    milestones = selectors.milestones_of(project)
    page = selectors.page_of(milestones, request.GET.get("page"))
    counts = selectors.counts_per_milestone(page.object_list)
    rows = [(milestone, selectors.progress(counts[milestone.pk])) for milestone in page]
    return render_project_page(request, "projects/milestone_list.html", project, SECTION, {"page": page, "rows": rows})


@login_required
def milestone_detail(request, key, pk):
    project = selectors.project_for(request.user, key, Action.VIEW)
    milestone = selectors.milestone_in(project, pk)
    counts = selectors.milestone_counts(milestone)
    return render_project_page(
        request,
        "projects/milestone_detail.html",
        project,
        SECTION,
        {
            "milestone": milestone,
            "counts": counts,
            "progress": selectors.progress(counts),
            "runs": selectors.with_result_counts(milestone.runs.all()).order_by("-created_at", "-id"),
            "plans": selectors.plans_of(project).filter(milestone=milestone),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def milestone_edit(request, key, pk=None):
    """Create (no pk) or edit a milestone."""
    project = selectors.project_for(request.user, key, Action.EDIT)
    milestone = selectors.milestone_in(project, pk) if pk else None
    form = MilestoneForm(request.POST or None, instance=milestone)
    if request.method == "POST" and form.is_valid():
        values = {field: form.cleaned_data[field] for field in services.MILESTONE_FIELDS}
        if milestone is None:
            milestone = services.create_milestone(project=project, actor=request.user, **values)
        else:
            services.update_milestone(milestone, **values)
        messages.success(request, f"Milestone “{milestone.name}” saved.")
        return redirect("projects:milestone", project.key, milestone.pk)
    return render_project_page(
        request, "projects/milestone_form.html", project, SECTION, {"form": form, "milestone": milestone}
    )


@login_required
@require_http_methods(["GET", "POST"])
def milestone_delete(request, key, pk):
    project = selectors.project_for(request.user, key, Action.EDIT)
    milestone = selectors.milestone_in(project, pk)
    if request.method == "POST":
        milestone.delete()
        messages.success(request, f"Milestone “{milestone.name}” deleted; its runs were kept.")
        return redirect("projects:milestones", project.key)
    return render_project_page(
        request,
        "projects/confirm_delete.html",
        project,
        SECTION,
        {
            "object_name": f"milestone “{milestone.name}”",
            "consequence": f"Its {milestone.plans.count()} plan(s) are deleted too; its runs and their results stay.",
            "cancel_to": ("projects:milestone", project.key, milestone.pk),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, key, pk=None):
    """Create (no pk; `?milestone=` preselects one) or edit a plan."""
    project = selectors.project_for(request.user, key, Action.EDIT)
    plan = selectors.plan_in(project, pk) if pk else None
    initial = {"milestone": request.GET.get("milestone")} if plan is None else {}
    form = PlanForm(request.POST or None, instance=plan, initial=initial, project=project)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        values = {"name": data["name"], "description": data["description"], "milestone": data["milestone"]}
        if plan is None:
            plan = services.create_plan(project=project, actor=request.user, runs=data["runs"], **values)
        else:
            services.update_plan(plan, runs=data["runs"], **values)
        messages.success(request, f"Plan “{plan.name}” saved.")
        return redirect("projects:milestone", project.key, plan.milestone_id)
    return render_project_page(request, "projects/plan_form.html", project, SECTION, {"form": form, "plan": plan})


@login_required
@require_http_methods(["GET", "POST"])
def plan_delete(request, key, pk):
    project = selectors.project_for(request.user, key, Action.EDIT)
    plan = selectors.plan_in(project, pk)
    if request.method == "POST":
        plan.delete()
        messages.success(request, f"Plan “{plan.name}” deleted; its runs were kept.")
        return redirect("projects:milestone", project.key, plan.milestone_id)
    return render_project_page(
        request,
        "projects/confirm_delete.html",
        project,
        SECTION,
        {
            "object_name": f"plan “{plan.name}”",
            "consequence": "Its runs and their results stay.",
            "cancel_to": ("projects:milestone", project.key, plan.milestone_id),
        },
    )
