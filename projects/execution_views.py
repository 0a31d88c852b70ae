"""Executing a run: one result saved from its row (a status button, a keystroke, the comment or
duration edited in place), several results at once, and the results assigned to me.

Each endpoint answers a plain form post with a redirect back to the run (the page works without
JavaScript) and a fetch asking for JSON with the saved values and the run's new counts.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import BulkResultForm, QuickResultForm, format_duration
from .permissions import Action


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _run_url(project, run, anchor: str = "") -> str:
    return reverse("projects:run", args=[project.key, run.pk]) + (f"#{anchor}" if anchor else "")


def _errors_text(form) -> str:
    return " ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


def run_progress(run) -> dict:
    counts = selectors.status_counts(run)
    return {"counts": counts, "progress": selectors.progress(counts)}


@login_required
@require_POST
def result_save(request, key, run_pk, pk):
    project = selectors.project_for(request.user, key, Action.EDIT)
    run = selectors.run_in(project, run_pk)
    result = selectors.result_in(run, pk)
    form = QuickResultForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        messages.error(request, f"“{result.case.title}” was not saved: {_errors_text(form)}")
        return redirect(_run_url(project, run, f"result-{result.pk}"))
    services.save_result(result, actor=request.user, **form.changes())
    if _wants_json(request):
        return JsonResponse(
            {
                "id": result.pk,
                "status": result.status,
                "status_label": result.get_status_display(),
                "comment": result.comment,
                "duration": format_duration(result.duration),
                **run_progress(run),
            }
        )
    messages.success(request, f"Recorded {result.get_status_display().lower()} for “{result.case.title}”.")
    return redirect(_run_url(project, run, f"result-{result.pk}"))


@login_required
@require_POST
def results_bulk(request, key, run_pk):
    project = selectors.project_for(request.user, key, Action.EDIT)
    run = selectors.run_in(project, run_pk)
    form = BulkResultForm(request.POST, results=selectors.results_of(run), executors=selectors.executors_of(project))
    if not form.is_valid():
        messages.error(request, f"Nothing was changed: {_errors_text(form)}")
        return redirect(_run_url(project, run, "results"))
    data = form.cleaned_data
    if data["action"] == BulkResultForm.FILE:
        query = urlencode({"result": [result.pk for result in data["result"]]}, doseq=True)
        return redirect(f"{reverse('issues:file_bulk', args=[project.key, run.pk])}?{query}")
    if data["action"] == BulkResultForm.SET_STATUS:
        count = services.record_results(data["result"], status=data["status"], actor=request.user)
        label = dict(form.fields["status"].choices)[data["status"]].lower()
        messages.success(request, f"Set {count} result{'s' if count != 1 else ''} to {label}.")
    else:
        count = services.assign_results(data["result"], project=project, assignee=data["assignee"])
        who = data["assignee"].get_username() if data["assignee"] else "nobody"
        messages.success(request, f"Assigned {count} result{'s' if count != 1 else ''} to {who}.")
    return redirect(_run_url(project, run, "results"))


@login_required
def my_results(request):
    """What is assigned to me across the runs of every project I can see."""
    page = selectors.page_of(selectors.assigned_to(request.user), request.GET.get("page"))
    return render(request, "projects/my_results.html", {"page": page})
