"""Pages of internal issues: list, create (also from a test artefact), detail, edit, attachments, links.

Thin: parse, authorize with projects.permissions, call a service or selector, render."""

import os
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.richtext import markdown_to_safe_html
from issues.core import artefacts
from issues.core import selectors as core_selectors
from issues.core import services as core_services
from issues.core.forms import (
    AttachmentForm,
    IssueCreateForm,
    IssueEditForm,
    IssueFilterForm,
    IssueForm,
    LinkForm,
    LinkSearchForm,
)
from issues.core.models import ArtefactAttachment
from issues.filing import drafts
from issues.links import selectors as links_selectors
from issues.links import services as links_services
from projects.permissions import Action, can
from projects.selectors import page_of, project_for
from projects.views import render_project_page

# Only raster images are shown in the browser; everything else (SVG and HTML included) downloads.
INLINE_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

HISTORY_PER_PAGE = 20


def _page(request, template, project, context, status=200):
    response = render_project_page(request, template, project, "issues", context)
    response.status_code = status
    return response


def _artefact_in_query(project, query):
    """The artefact an issue is being filed from (`?result=17`), or None; Http404 for a foreign one."""
    for kind in artefacts.ARTEFACT_KINDS:
        if kind in query:
            if not query[kind].isdigit():
                raise Http404("No such test artefact.")
            return artefacts.artefact_in(project, kind, int(query[kind]))
    return None


def _detail_url(project, issue, **query):
    url = reverse("issues:detail", args=[project.key, issue.number])
    query = {name: value for name, value in query.items() if value}
    return f"{url}?{urlencode(query)}" if query else url


@login_required
@require_GET
def issue_list(request, key):
    project = project_for(request.user, key, Action.VIEW)
    form = IssueFilterForm(request.GET, project=project, sources=links_selectors.reference_sources(project))
    form.is_valid()
    filters = form.cleaned_data
    rows = links_selectors.issues_and_references(
        project,
        status=filters.get("status", ""),
        priority=filters.get("priority", ""),
        tag=filters.get("tag"),
        assignee=filters.get("assignee", ""),
        text=filters.get("q", ""),
        source=filters.get("source", ""),
        category=filters.get("category", ""),
    )
    page = page_of(rows, request.GET.get("page"))
    page.object_list = links_selectors.objects_of_rows(page.object_list)
    return _page(
        request,
        "issues/issue_list.html",
        project,
        {
            "form": form,
            "page": page,
            "filtered": any(filters.values()),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def issue_create(request, key):
    project = project_for(request.user, key, Action.EDIT)
    artefact = _artefact_in_query(project, request.GET)
    if request.method == "POST":
        form = IssueCreateForm(request.POST, request.FILES, project=project)
        if form.is_valid():
            data = form.cleaned_data
            try:
                issue = links_services.report_issue(
                    project=project,
                    reporter=request.user,
                    tag_names=data["tags"],
                    tag_color=data["tag_color"],
                    attachments=data["attachments"],
                    artefact=artefact,
                    **form.issue_fields(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"{issue.key} created" + (f" and linked to {artefact}." if artefact else "."))
                return redirect("issues:detail", project.key, issue.number)
    else:
        # Filed from a result, run, case or requirement: the same draft a tracker would get, to edit.
        initial = drafts.draft_for(artefact, artefacts.site_url(request)) if artefact else {}
        form = IssueCreateForm(initial=initial, project=project)
    return _page(
        request,
        "issues/issue_form.html",
        project,
        {
            "form": form,
            "issue": None,
            "artefact": artefact,
            "artefact_label": artefacts.ARTEFACT_LABELS[artefacts.kind_of(artefact)].lower() if artefact else "",
            "cancel_url": artefacts.artefact_path(artefact) if artefact else reverse("issues:list", args=[project.key]),
        },
    )


@login_required
@require_GET
def issue_detail(request, key, number):
    project = project_for(request.user, key, Action.VIEW)
    issue = core_selectors.issue_in(project, number)
    search = LinkSearchForm(request.GET if "kind" in request.GET else None)
    candidates = None
    if search.is_bound and search.is_valid() and can(request.user, Action.EDIT, project):
        candidates = links_selectors.linkable_artefacts(issue, search.cleaned_data["kind"], search.cleaned_data["q"])
    history = page_of(core_selectors.history_of(issue), request.GET.get("history_page"), per_page=HISTORY_PER_PAGE)
    history.object_list = core_selectors.history_entries(issue, history.object_list)
    return _page(
        request,
        "issues/issue_detail.html",
        project,
        {
            "issue": issue,
            "links": links_selectors.links_of_issue(issue),
            "search": search,
            "candidates": candidates,
            "attachment_form": AttachmentForm(),
            "history": history,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def issue_edit(request, key, number):
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    if request.method == "GET":
        form = IssueEditForm(initial=IssueForm.initial_for(issue), project=project)
        return _page(request, "issues/issue_form.html", project, {"form": form, "issue": issue})
    form = IssueEditForm(request.POST, project=project)
    if form.is_valid():
        data = form.cleaned_data
        try:
            core_services.edit_issue(
                issue,
                expected_version=data["version"],
                tag_names=data["tags"],
                tag_color=data["tag_color"],
                actor=request.user,
                **form.issue_fields(),
            )
        except core_services.EditConflict as conflict:
            # Keep everything the user typed; saving again deliberately replaces the newer version.
            typed = request.POST.copy()
            typed["version"] = conflict.issue.version
            return _page(
                request,
                "issues/issue_form.html",
                project,
                {
                    "form": IssueEditForm(typed, project=project),
                    "issue": conflict.issue,
                    "conflict": conflict,
                },
                status=409,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{issue.key} saved.")
            return redirect("issues:detail", project.key, issue.number)
    return _page(request, "issues/issue_form.html", project, {"form": form, "issue": issue})


@login_required
@require_POST
def attachment_add(request, key, number):
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    form = AttachmentForm(request.POST, request.FILES)
    problems = list(form.errors.get("attachments", []))
    if not problems:
        try:
            stored = core_services.add_attachments(issue, form.cleaned_data["attachments"], uploaded_by=request.user)
        except ValidationError as error:
            problems = error.messages
        else:
            messages.success(request, f"Attached {', '.join(attachment.original_name for attachment in stored)}.")
    if _wants_json(request):
        return _attachments_json(
            problems,
            [] if problems else stored,
            core_selectors.download_path,
        )
    if problems:
        messages.error(request, "Nothing was attached: " + " ".join(problems))
    return redirect(f"{_detail_url(project, issue)}#attachments")


def _wants_json(request) -> bool:
    """The editor's paste upload asks for JSON; a plain form post gets the page back."""
    return "application/json" in request.headers.get("Accept", "")


def _attachments_json(problems, stored, url_of) -> JsonResponse:
    """What the editor inserts for pasted files: a Markdown image or link per attachment (at url_of(it))."""
    if problems:
        return JsonResponse({"message": "Nothing was attached: " + " ".join(problems)}, status=400)
    attachments = []
    for attachment in stored:
        url = url_of(attachment)
        is_image = (attachment.content_type or "").startswith("image/")
        label = artefacts.inline_markdown(attachment.original_name)
        attachments.append(
            {"name": attachment.original_name, "url": url, "markdown": f"{'!' * is_image}[{label}]({url})"}
        )
    return JsonResponse({"attachments": attachments}, status=201)


PREVIEW_MAX_CHARS = 200_000


@login_required
@require_POST
def markdown_preview(request, key):
    """The editor's live preview: the text as the pages show it (the sanitized renderer the trackers'
    formats start from), so what is previewed is what is saved and sent."""
    project_for(request.user, key, Action.VIEW)
    text = request.POST.get("text", "")
    if len(text) > PREVIEW_MAX_CHARS:
        return HttpResponse(f"At most {PREVIEW_MAX_CHARS:,} characters can be previewed.", status=413)
    return HttpResponse(markdown_to_safe_html(text), content_type="text/html; charset=utf-8")


@login_required
@require_GET
def attachment_download(request, key, number, pk):
    project = project_for(request.user, key, Action.VIEW)
    return _serve(get_object_or_404(core_selectors.issue_in(project, number).attachments, pk=pk))


def _serve(attachment):
    """An attachment's file: raster images inline, everything else downloaded, sandboxed either way."""
    inline_type = INLINE_IMAGE_TYPES.get(os.path.splitext(attachment.file.name)[1].lower())
    try:
        stored_file = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this attachment is missing from storage.") from None
    response = FileResponse(
        stored_file,
        as_attachment=inline_type is None,
        filename=attachment.original_name,
        content_type=inline_type or "application/octet-stream",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def attachment_delete(request, key, number, pk):
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    attachment = get_object_or_404(issue.attachments, pk=pk)
    if request.method == "POST":
        core_services.delete_attachment(attachment)
        messages.success(request, f"Deleted attachment {attachment.original_name}.")
        return redirect(f"{_detail_url(project, issue)}#attachments")
    return _page(
        request,
        "issues/confirm.html",
        project,
        {
            "issue": issue,
            "question": f"Delete the attachment “{attachment.original_name}” of {issue.key}?",
            "consequence": "The file is removed for everyone. This cannot be undone.",
            "button": "Delete attachment",
        },
    )


@login_required
@require_POST
def link_add(request, key, number):
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a test case, run, result or requirement to link.")
        return redirect(_detail_url(project, issue))
    kind = form.cleaned_data["kind"]
    artefact = artefacts.artefact_in(project, kind, form.cleaned_data["artefact"])
    links_services.link(artefact=artefact, issue=issue, actor=request.user)
    messages.success(request, f"Linked {artefacts.ARTEFACT_LABELS[kind].lower()} “{artefact}”.")
    return redirect(f"{_detail_url(project, issue, kind=kind, q=form.cleaned_data['q'])}#links")


@login_required
@require_http_methods(["GET", "POST"])
def link_remove(request, key, number, pk):
    project = project_for(request.user, key, Action.EDIT)
    issue = core_selectors.issue_in(project, number)
    link = get_object_or_404(links_selectors.links_of_issue(issue), pk=pk)
    if request.method == "POST":
        links_services.unlink(link, actor=request.user)
        messages.success(request, f"Unlinked “{link.artefact}”.")
        return redirect(f"{_detail_url(project, issue)}#links")
    return _page(
        request,
        "issues/confirm.html",
        project,
        {
            "issue": issue,
            "question": f"Unlink “{link.artefact}” from {issue.key}?",
            "consequence": "Both stay; only the link between them is removed.",
            "button": "Unlink",
        },
    )


def _artefact(project, kind: str, pk: int):
    """The project's test case, requirement or test result; anything else answers 404."""
    if kind not in ArtefactAttachment.ARTEFACT_FIELDS:
        raise Http404("No such kind of artefact.")
    return artefacts.artefact_in(project, kind, pk)


def _attachments_url(artefact) -> str:
    return artefacts.artefact_path(artefact) + "#attachments"


@login_required
@require_POST
def artefact_attachment_add(request, key, kind, pk):
    """Attach files to a test case, a requirement or a test result (all or none)."""
    project = project_for(request.user, key, Action.EDIT)
    artefact = _artefact(project, kind, pk)
    form = AttachmentForm(request.POST, request.FILES)
    problems = list(form.errors.get("attachments", []))
    if not problems:
        try:
            stored = core_services.add_artefact_attachments(
                artefact, form.cleaned_data["attachments"], uploaded_by=request.user
            )
        except ValidationError as error:
            problems = error.messages
        else:
            messages.success(request, f"Attached {', '.join(attachment.original_name for attachment in stored)}.")
    if _wants_json(request):
        return _attachments_json(
            problems,
            [] if problems else stored,
            core_selectors.download_path,
        )
    if problems:
        messages.error(request, "Nothing was attached: " + " ".join(problems))
    return redirect(_attachments_url(artefact))


@login_required
@require_GET
def artefact_attachment_download(request, key, kind, pk, attachment_pk):
    project = project_for(request.user, key, Action.VIEW)
    artefact = _artefact(project, kind, pk)
    return _serve(get_object_or_404(artefact.attachments, pk=attachment_pk))


@login_required
@require_http_methods(["GET", "POST"])
def artefact_attachment_delete(request, key, kind, pk, attachment_pk):
    project = project_for(request.user, key, Action.EDIT)
    artefact = _artefact(project, kind, pk)
    attachment = get_object_or_404(artefact.attachments, pk=attachment_pk)
    if request.method == "POST":
        core_services.delete_attachment(attachment)
        messages.success(request, f"Deleted attachment {attachment.original_name}.")
        return redirect(_attachments_url(artefact))
    title = artefacts.artefact_title(artefact)
    return _page(
        request,
        "issues/confirm.html",
        project,
        {
            "question": f"Delete the attachment “{attachment.original_name}” of “{title}”?",
            "consequence": "The file is removed for everyone. This cannot be undone.",
            "button": "Delete attachment",
            "cancel_url": _attachments_url(artefact),
        },
    )
