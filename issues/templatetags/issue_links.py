"""What the issues app shows on test artefact pages: linked issues and their status badges.

The projects app renders the pages but must not import issues; its templates load these
tags instead.
"""

from django import template
from django.urls import reverse

from integrations import selectors as integration_selectors
from issues.core.artefacts import artefact_project, kind_of, web_url
from issues.core.models import Issue, StatusCategory
from issues.core.selectors import CATEGORY_OF_STATUS, UNRESOLVED, issues_of
from issues.links.selectors import issues_of_results_in, link_page, links_by_result
from issues.sync import refresh
from projects.models import TestRun
from projects.permissions import Action, can

register = template.Library()

LINKS_PAGE = "links_page"  # the query parameter of the linked issues' page (``page`` is a run's results')


@register.filter
def issue_category(status: str) -> str:
    """The status category of an internal issue status, for the same badge colours as tracker issues."""
    return CATEGORY_OF_STATUS.get(status, StatusCategory.UNKNOWN)


# The URL if it is an http(s) address, else '' (a tracker could report javascript:...).
register.filter("web_url", web_url)


@register.filter
def get_item(mapping, key):
    return mapping.get(key, [])


@register.inclusion_tag("issues/_linked_issues.html", takes_context=True)
def linked_issues(context, artefact):
    """Panel of an artefact's linked internal issues and tracker references: their counts by status and
    one page of them (``?links_page=``), whose stale tracker issues it asks to refresh; editors also get
    "Create issue" (in a tracker or internally), "Link existing issue", "Unlink" and "Refresh now"."""
    project = artefact_project(artefact)
    create_url = link_url = ""
    can_edit = can(context["user"], Action.EDIT, project)
    if can_edit:
        about = f"?{kind_of(artefact)}={artefact.pk}"
        create_url = reverse("issues:file_issue", args=[project.key]) + about
        link_url = reverse("issues:link_issue", args=[project.key]) + about
    # A run's panel also counts the issues linked to its results (where failures are filed).
    of_results = issues_of_results_in(artefact) if isinstance(artefact, TestRun) else None
    page = link_page(artefact, context["request"].GET.get(LINKS_PAGE, 1))
    refresh.request_refresh(page.references)
    return {
        "page": page,
        "links": page.links,
        "trackers_in_error": integration_selectors.sources_in_error(ref.source for ref in page.references),
        "of_results": of_results,
        "create_url": create_url,
        "link_url": link_url,
        "project_key": project.key,
        "can_refresh": can_edit and page.to_trackers > 0,
        "kind": kind_of(artefact),
        "pk": artefact.pk,
    }


@register.filter
def is_internal_issue(item) -> bool:
    """Whether an entry of the issue list is an internal issue (else a tracker reference)."""
    return isinstance(item, Issue)


@register.simple_tag
def result_links(results):
    """`{% result_links page %}`: links of a page of results at once, by result id."""
    return links_by_result(results)


@register.simple_tag
def unresolved_issue_count(project) -> int:
    return issues_of(project, status=UNRESOLVED).count()
