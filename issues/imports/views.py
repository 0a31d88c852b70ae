"""Pages of the TestRail import: upload, preview with mapping, progress and log, a JSON status.

Importing creates and changes test cases, a run, results and links, all of which members
(Action.EDIT) may do by hand; it is the same work in bulk, so it asks for EDIT, not MANAGE.
The pages live in the issues app because the preview checks defects against the project's
trackers (integrations) and the import links them (issues).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from issues.imports import services
from issues.imports.forms import ImportSettingsForm, UploadForm
from projects.importers.testrail import TestRailError
from projects.models import ImportJob, ImportStatus
from projects.permissions import Action
from projects.selectors import page_of, project_for
from projects.views import render_project_page

LOG_PER_PAGE = 100


def _job(request, key, pk, defer=("data",)) -> ImportJob:
    project = project_for(request.user, key, Action.EDIT)
    jobs = ImportJob.objects.select_related("project", "created_by", "run").defer(*defer)
    return get_object_or_404(jobs, project=project, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request, key):
    project = project_for(request.user, key, Action.EDIT)
    form = UploadForm(request.POST or None, request.FILES or None)
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.upload(project, request.user, upload.name, upload.read())
        except TestRailError as error:
            form.add_error("file", str(error))
        else:
            return redirect("imports:job", project.key, job.pk)
    jobs = ImportJob.objects.filter(project=project).exclude(status=ImportStatus.PREVIEW).defer("data", "log")
    return render_project_page(
        request,
        "projects/import.html",
        project,
        "import",
        {
            "form": form,
            "jobs": jobs.select_related("created_by", "run")[:20],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_job(request, key, pk):
    job = _job(request, key, pk)
    project = job.project
    if job.status != ImportStatus.PREVIEW:
        if request.method == "POST":
            messages.info(request, "This import has already been started.")
            return redirect("imports:job", project.key, job.pk)
        return _progress_page(request, job)

    preview = services.preview(job)
    form = ImportSettingsForm(request.POST or None, preview=preview)
    if form.is_bound and form.is_valid():
        if request.POST.get("action") == "import":
            try:
                services.queue(job, form.options())
            except ValidationError as error:
                messages.error(request, error.messages[0])
            return redirect("imports:job", project.key, job.pk)
        services.save_options(job, form.options())
        preview = services.preview(job)
        form = ImportSettingsForm(preview=preview)
    return render_project_page(
        request,
        "projects/import_preview.html",
        project,
        "import",
        {
            "job": job,
            "preview": preview,
            "form": form,
            "sample": preview.sample,
            "folders": preview.export.folders(),
        },
    )


def _progress_page(request, job):
    show = request.GET.get("show", "")
    show = show if show in services.LOG_ACTIONS else ""
    entries = [entry for entry in job.log if entry["action"] == show] if show else job.log
    return render_project_page(
        request,
        "projects/import_job.html",
        job.project,
        "import",
        {
            "job": job,
            "processed": job.live_processed(),
            "show": show,
            "summary": services.summary(job),
            "log_actions": services.LOG_ACTIONS,
            "page": page_of(entries, request.GET.get("page"), per_page=LOG_PER_PAGE),
        },
    )


@login_required
@require_POST
def import_cancel(request, key, pk):
    job = _job(request, key, pk, defer=("data", "log"))
    try:
        services.discard(job)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("imports:job", job.project.key, job.pk)
    messages.success(request, f"Import of {job.filename} cancelled; nothing was changed.")
    return redirect("imports:start", job.project.key)


@login_required
@require_GET
def import_status(request, key, pk):
    """Polled by the progress page while the job is queued or running."""
    job = _job(request, key, pk, defer=("data", "log"))
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "finished": job.finished,
            "processed": job.live_processed(),
            "total": job.total,
            "counts": job.counts,
            "error": job.error,
        }
    )
