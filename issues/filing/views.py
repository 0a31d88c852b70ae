"""Pages of filing: create a tracker issue from a test artefact (one, or a run's failures in bulk),
link an existing one, unlink, and follow a bulk job.

Thin: parse, authorize with projects.permissions, call a service or selector, render."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations import selectors as integration_selectors
from integrations.errors import AuthorizationRequired, TrackerError
from integrations.providers import provider_class
from integrations.providers.base import Capability
from issues.core import artefacts
from issues.core import selectors as core_selectors
from issues.core.artefacts import site_url
from issues.core.views import _artefact_in_query, _page
from issues.filing import drafts, test_cases
from issues.filing import selectors as filing_selectors
from issues.filing import services as filing_services
from issues.filing.forms import BulkFilingForm, LinkIssueForm, TrackerIssueForm
from issues.filing.models import TestCaseSync
from issues.links import selectors as links_selectors
from issues.links import services as links_services
from projects.permissions import Action, can, can_administer_integrations
from projects.selectors import project_for, run_in


def _artefact_required(project, query):
    artefact = _artefact_in_query(project, query)
    if artefact is None:
        raise Http404("Choose the test artefact the issue is about.")
    return artefact


def _about(artefact) -> dict:
    """The query naming an artefact (`result=17`) and how pages name it."""
    kind = artefacts.kind_of(artefact)
    return {
        "artefact": artefact,
        "artefact_label": artefacts.ARTEFACT_LABELS[kind].lower(),
        "artefact_query": urlencode({kind: artefact.pk}),
        "cancel_url": artefacts.artefact_path(artefact),
    }


def _chosen(integrations, wanted: str | None):
    """The integration the member picked (`?to=`), else the project's primary one, else the first."""
    integrations = list(integrations)
    picked = next((integration for integration in integrations if str(integration.pk) == wanted), None)
    primary = next((integration for integration in integrations if integration.is_primary), None)
    return picked or primary or (integrations[0] if integrations else None)


def _pickable(project, pk: str | None):
    """One integration members of the project may file or link with; 404 for any other."""
    if not (pk or "").isdigit():
        raise Http404("No such tracker in this project.")
    return get_object_or_404(integration_selectors.pickable_integrations(project), pk=int(pk))


def _problem(request, integration, error: TrackerError) -> dict:
    """A tracker error as a notice: what is wrong, who can fix it and, for them, where."""
    project = integration.project
    owner = filing_selectors.settings_at_fault(error.code)
    fix_url = ""
    if owner == filing_selectors.PROJECT_SETTINGS and can(request.user, Action.MANAGE, project):
        fix_url = reverse("integrations:edit", args=[project.key, integration.pk])
    elif owner == filing_selectors.SOURCE_SETTINGS and can_administer_integrations(request.user):
        fix_url = reverse("admin:integrations_source_change", args=[integration.source_id])
    return {"message": str(error), "who": filing_selectors.who_can_fix(error.code, project), "fix_url": fix_url}


def _discover(request, integration, context: dict, wanted_type: str = ""):
    """The tracker's create screen, or None with what stands in the way (authorization, settings,
    an unreachable tracker) put in the context for the page to say."""
    source = integration.source
    if integration_selectors.needs_authorization(source, request.user):
        context["authorize_url"] = integration_selectors.authorization_url(source, request.get_full_path())
        return None
    try:
        return filing_services.discover(integration, request.user, wanted_type)
    except AuthorizationRequired:
        context["authorize_url"] = integration_selectors.authorization_url(source, request.get_full_path())
    except TrackerError as error:
        context["problem"] = _problem(request, integration, error)
    return None


def _form_options(request, integration, discovery) -> dict:
    source = integration.source
    users_url = f"{reverse('issues:file_users', args=[integration.project.key])}?to={integration.pk}"
    provider = provider_class(source.provider)
    return {
        "discovery": discovery,
        "fills": provider.draft_field_ids,
        "tracker": source.name,
        "users_url": users_url,
        "takes_files": provider.uploads_files,
    }


def _report(request, notes) -> None:
    for note in notes:
        messages.warning(request, note)


@login_required
@require_http_methods(["GET", "POST"])
def file_issue(request, key):
    project = project_for(request.user, key, Action.EDIT)
    artefact = _artefact_required(project, request.GET)
    about = _about(artefact)
    internal_url = f"{reverse('issues:create', args=[project.key])}?{about['artefact_query']}"
    targets = [
        integration
        for integration in integration_selectors.pickable_integrations(project)
        if integration_selectors.can(integration.source, Capability.CREATE_ISSUES)
    ]
    unavailable = integration_selectors.refusals_of_project(project, integration_selectors.TrackerAction.CREATE)
    chosen = _chosen(targets, request.GET.get("to"))
    if chosen is None and not unavailable:
        return redirect(internal_url)  # no tracker at all: an internal issue is the only kind there is
    context = {**about, "targets": targets, "chosen": chosen, "internal_url": internal_url, "unavailable": unavailable}
    if chosen is None:  # trackers, but none takes new issues: say why, never fall back silently
        return _page(request, "issues/filing_form.html", project, context)
    source = chosen.source
    if not integration_selectors.creates_through_api(source):
        text = drafts.draft_for(artefact, site_url(request))
        context["create_url"] = integration_selectors.create_url(
            source,
            external_project=chosen.external_project,
            title=text["name"],
            description=text["description"],
        )
        link_url = reverse("issues:link_issue", args=[project.key])
        context["link_url"] = f"{link_url}?{about['artefact_query']}&to={chosen.pk}"
        return _page(request, "issues/filing_form.html", project, context)
    wanted_type = request.POST.get("issue_type") or request.GET.get("issue_type", "")
    discovery = _discover(request, chosen, context, wanted_type)
    if discovery is None:
        return _page(request, "issues/filing_form.html", project, context)
    options = _form_options(request, chosen, discovery)
    if request.method == "POST":
        form = TrackerIssueForm(request.POST, request.FILES, **options)
        if form.is_valid():
            data = form.cleaned_data
            draft = filing_services.build_draft(
                chosen,
                issue_type=data["issue_type"],
                title=data["title"],
                description=data["description"],
                values=form.values(),
                kinds=form.kinds(),
                reporter=request.user,
            )
            try:
                filed = filing_services.file_issue(
                    integration=chosen,
                    actor=request.user,
                    draft=draft,
                    artefacts=[artefact],
                    marker=data["marker"],
                    site_url=site_url(request),
                    attachments=(
                        *filing_services.files_of_results([artefact], site_url(request)),
                        *filing_services.uploaded_files(data.get("files") or []),
                    ),
                )
            except TrackerError as error:
                form.add_tracker_error(error)
                context["uncertain"] = filing_services.may_have_been_created(error)
                context["problem_owner"] = filing_selectors.who_can_fix(error.code, project)
            else:
                messages.success(
                    request,
                    f"{filed.reference.key} is filed in {source.name} and linked to "
                    f"{about['artefact_label']} “{artefact}”.",
                )
                _report(request, filed.notes)
                return redirect(f"{artefacts.artefact_path(artefact)}#linked-issues")
    else:
        text = drafts.draft_for(artefact, site_url(request))
        form = TrackerIssueForm(
            **options,
            prefill={
                "marker": filing_services.new_marker(),
                "title": text["name"],
                "description": text["description"],
                "values": filing_services.prefill(chosen, discovery.fields, artefact),
            },
        )
    context.update(
        form=form,
        discovery=discovery,
        links_files=not options["takes_files"],
        result_files=list(core_selectors.attachments_of_results([artefact])),
    )
    return _page(request, "issues/filing_form.html", project, context)


@login_required
@require_GET
def file_users(request, key):
    """Tracker accounts matching `q`, for the user fields of a filing form."""
    project = project_for(request.user, key, Action.EDIT)
    integration = _pickable(project, request.GET.get("to"))
    try:
        text = request.GET.get("q", "")[:100]
        found = filing_services.users(integration, request.user, text)
    except TrackerError as error:
        return JsonResponse({"users": [], "message": str(error)})
    return JsonResponse({"users": [{"id": user.id, "name": user.name} for user in found[:20]], "message": ""})


@login_required
@require_http_methods(["GET", "POST"])
def link_issue(request, key):
    project = project_for(request.user, key, Action.EDIT)
    artefact = _artefact_required(project, request.GET)
    about = _about(artefact)
    targets = list(integration_selectors.pickable_integrations(project))
    chosen = _chosen(targets, request.GET.get("to"))
    context = {**about, "targets": targets, "chosen": chosen}
    if chosen is None:
        return _page(request, "issues/link_form.html", project, context)
    source = chosen.source
    reads = integration_selectors.can(source, Capability.READ_DETAILS)
    if reads and integration_selectors.needs_authorization(source, request.user):
        context["authorize_url"] = integration_selectors.authorization_url(source, request.get_full_path())
        return _page(request, "issues/link_form.html", project, context)
    form = LinkIssueForm(request.POST or None, reads_details=reads)
    if request.method == "POST" and form.is_valid():
        try:
            linked = filing_services.link_existing(
                integration=chosen,
                actor=request.user,
                typed_key=form.cleaned_data["key"],
                artefact=artefact,
                site_url=site_url(request),
                title=form.cleaned_data.get("title", ""),
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except TrackerError as error:
            form.add_error(
                None, " ".join(filter(None, [str(error), filing_selectors.who_can_fix(error.code, project)]))
            )
        else:
            label = about["artefact_label"]
            messages.success(request, f"{linked.reference.key} is linked to {label} “{artefact}”.")
            _report(request, linked.notes)
            return redirect(f"{artefacts.artefact_path(artefact)}#linked-issues")
    query = f"?to={chosen.pk}"
    context.update(
        form=form,
        reads=reads,
        search_url=reverse("issues:link_search", args=[project.key]) + query if reads else "",
        check_url=reverse("issues:link_check", args=[project.key]) + query,
    )
    return _page(request, "issues/link_form.html", project, context)


@login_required
@require_GET
def link_search(request, key):
    """Tracker issues matching `q` (a key, or words of the title or description), for linking."""
    project = project_for(request.user, key, Action.EDIT)
    integration = _pickable(project, request.GET.get("to"))
    text = request.GET.get("q", "").strip()[:200]
    if not text:
        return JsonResponse({"issues": [], "message": ""})
    if not integration_selectors.can(integration.source, Capability.READ_DETAILS):
        return JsonResponse(
            {
                "issues": [],
                "message": f"{integration.source.name} cannot be searched from testmanager: type the issue's key.",
            }
        )
    try:
        found = filing_services.search(integration, request.user, text)
    except TrackerError as error:
        return JsonResponse({"issues": [], "message": str(error)})
    return JsonResponse(
        {
            "issues": [
                {
                    "key": issue.key,
                    "title": issue.title,
                    "status": issue.status,
                    "status_category": issue.status_category,
                    "url": artefacts.web_url(issue.url),
                }
                for issue in found
            ],
            "message": "" if found else f"Nothing in {integration.source.name} matches “{text}”.",
        }
    )


@login_required
@require_GET
def link_check(request, key):
    """Whether a typed key is one of the tracker's keys (its key pattern), before anything is saved."""
    project = project_for(request.user, key, Action.EDIT)
    integration = _pickable(project, request.GET.get("to"))
    try:
        stored = filing_services.check_key(integration, request.GET.get("key", "")[:300])
    except ValidationError as error:
        return JsonResponse({"ok": False, "message": " ".join(error.message_dict["key"])})
    known = links_selectors.reference_for(integration, stored)
    return JsonResponse(
        {
            "ok": True,
            "key": stored,
            "title": known.title if known else "",
            "url": artefacts.web_url(
                integration_selectors.issue_url(
                    integration.source, stored, external_project=integration.external_project
                )
            ),
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def unlink(request, key, pk):
    """Remove a link from an artefact's page; the issue (or tracker reference) stays."""
    project = project_for(request.user, key, Action.EDIT)
    found = links_selectors.link_in(project, pk)
    back = f"{artefacts.artefact_path(found.artefact)}#linked-issues"
    side = found.issue.key if found.issue else found.external_reference.key
    if request.method == "POST":
        links_services.unlink(found, actor=request.user)
        messages.success(request, f"{side} is no longer linked to “{found.artefact}”.")
        return redirect(back)
    return _page(request, "issues/link_unlink.html", project, {"link": found, "side": side, "cancel_url": back})


@login_required
@require_http_methods(["GET", "POST"])
def file_bulk(request, key, run_pk):
    project = project_for(request.user, key, Action.EDIT)
    run = run_in(project, run_pk)
    results = drafts.fileable_results(run)
    targets = [
        integration
        for integration in integration_selectors.pickable_integrations(project)
        if integration_selectors.creates_through_api(integration.source)
    ]
    chosen = _chosen(targets, request.GET.get("to"))
    selected = [pk for pk in request.GET.getlist("result") if pk.isdigit()]
    context = {
        "run": run,
        "targets": targets,
        "chosen": chosen,
        "selection": urlencode({"result": selected}, doseq=True),
        "cancel_url": reverse("projects:run", args=[project.key, run.pk]),
    }
    wanted_type = request.POST.get("issue_type") or request.GET.get("issue_type", "")
    discovery = _discover(request, chosen, context, wanted_type) if chosen else None
    if discovery is None:
        return _page(request, "issues/filing_bulk.html", project, context)
    options = {**_form_options(request, chosen, discovery), "results": results}
    if request.method == "POST":
        form = BulkFilingForm(request.POST, **options)
        if form.is_valid():
            data = form.cleaned_data
            job = filing_services.start_job(
                integration=chosen,
                run=run,
                results=data["results"],
                mode=data["mode"],
                issue_type=data["issue_type"],
                values=form.values(),
                kinds=form.kinds(),
                actor=request.user,
                site_url=site_url(request),
                marker=data["marker"],
            )
            return redirect("issues:filing_job", project.key, job.pk)
    else:
        form = BulkFilingForm(
            initial={"results": selected},
            **options,
            prefill={
                "marker": filing_services.new_marker(),
                "values": filing_services.prefill(chosen, discovery.fields, run),
            },
        )
    context.update(form=form, discovery=discovery, links_files=not options["takes_files"])
    return _page(request, "issues/filing_bulk.html", project, context)


@login_required
@require_GET
def filing_job(request, key, pk):
    project = project_for(request.user, key, Action.VIEW)
    job = filing_selectors.filing_job_in(project, pk)
    return _page(
        request,
        "issues/filing_job.html",
        project,
        {
            "job": job,
            "items": filing_selectors.job_items(job),
            "progress": filing_selectors.job_progress(job),
        },
    )


@login_required
@require_GET
def filing_job_status(request, key, pk):
    """How far the job is and how each result went, for the progress bar of its page."""
    project = project_for(request.user, key, Action.VIEW)
    job = filing_selectors.filing_job_in(project, pk)
    items = [
        {
            "id": item.pk,
            "state": item.state,
            "error": item.error,
            "notes": item.notes,
            "key": item.reference.key if item.reference else "",
            "display_key": item.reference.display_key if item.reference else "",
            "url": artefacts.web_url(item.reference.url) if item.reference else "",
        }
        for item in filing_selectors.job_items(job)
    ]
    return JsonResponse({**filing_selectors.job_progress(job), "items": items})


@login_required
@require_POST
def filing_job_retry(request, key, pk):
    project = project_for(request.user, key, Action.EDIT)
    job = filing_selectors.filing_job_in(project, pk)
    count = filing_services.retry_job(job)
    if count:
        messages.success(request, f"Filing {count} result{'s' if count != 1 else ''} again.")
    else:
        messages.error(request, "Nothing to retry: no result failed, or the job is still running.")
    return redirect("issues:filing_job", project.key, job.pk)


def _synced_message(synced, integration) -> str:
    reference = synced.sync.reference
    done = "created" if synced.created else "updated"
    text = f"{reference.key} is {done} in {integration.source.name}."
    return " ".join([text, *synced.notes])


@require_POST
@login_required
def case_sync(request, key, pk):
    """ "Sync with <tracker>" on a test case: the first time creates its issue, then edits that issue."""
    project = project_for(request.user, key, Action.EDIT)
    case = get_object_or_404(project.test_cases, pk=pk)
    integration = _pickable(project, request.POST.get("integration"))
    try:
        synced = test_cases.sync_case(case, integration, actor=request.user, site_url=site_url(request))
    except TrackerError as error:
        problem = _problem(request, integration, error)
        messages.error(request, " ".join(filter(None, [f"Nothing was synced: {problem['message']}", problem["who"]])))
    else:
        messages.success(request, _synced_message(synced, integration))
    return redirect("projects:case", project.key, case.pk)


@require_POST
@login_required
def case_sync_refresh(request, key, pk, sync_pk):
    """ "Refresh" on a synced test case: its issue's status and comments as the tracker has them now."""
    project = project_for(request.user, key, Action.EDIT)
    case = get_object_or_404(project.test_cases, pk=pk)
    sync = get_object_or_404(
        TestCaseSync.objects.select_related("reference", "integration__source", "integration__project"),
        pk=sync_pk,
        case=case,
    )
    try:
        test_cases.refresh_case_sync(sync, actor=request.user)
    except TrackerError as error:
        messages.error(request, f"{sync.reference.key} was not refreshed: {error}")
    else:
        messages.success(request, f"{sync.reference.key} is refreshed from {sync.integration.source.name}.")
    return redirect("projects:case", project.key, case.pk)
