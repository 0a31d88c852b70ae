"""Test artefacts as the issues app sees them: the kinds an issue can be linked to (test case, run,
result, requirement), how each is named, found in a project, titled and addressed, and the absolute
address of this site that links back to them."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from projects.models import Project, Requirement, TestCase, TestResult, TestRun

# The artefact kinds of the pages' query strings (`?result=17`) and forms.
ARTEFACT_KINDS = {"case": TestCase, "run": TestRun, "result": TestResult, "requirement": Requirement}


ARTEFACT_LABELS = {"case": "Test case", "run": "Test run", "result": "Test result", "requirement": "Requirement"}


_MARKDOWN_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>#|])")


def artefacts_of(project, kind: str):
    """Test artefacts of one kind in the project; KeyError for an unknown kind."""
    model = ARTEFACT_KINDS[kind]
    if model is TestResult:
        return TestResult.objects.filter(run__project=project).select_related("case", "run")
    return model.objects.filter(project=project)


def artefact_in(project, kind: str, pk) -> object:
    """One artefact of the project; Http404 for another project's object or an unknown kind."""
    if kind not in ARTEFACT_KINDS:
        raise Http404("No such kind of test artefact.")
    return get_object_or_404(artefacts_of(project, kind), pk=pk)


def kind_of(artefact) -> str:
    return next(kind for kind, model in ARTEFACT_KINDS.items() if isinstance(artefact, model))


def inline_markdown(text: str) -> str:
    """Text that Markdown shows as it is, inside a line or a link label."""
    return _MARKDOWN_INLINE_SPECIALS.sub(r"\\\1", " ".join(text.split()))


def web_url(url: str) -> str:
    """The URL if it is an http(s) address, else '' (a tracker could report javascript:...)."""
    return url if urlsplit(url or "").scheme.lower() in ("http", "https") else ""


def artefact_title(artefact) -> str:
    if isinstance(artefact, TestResult):
        return f"{artefact.case.title} in {artefact.run.name}"
    return artefact.name if isinstance(artefact, TestRun) else artefact.title


def artefact_path(artefact) -> str:
    """The page of a test artefact."""
    project = artefact_project(artefact)
    if isinstance(artefact, TestResult):
        return reverse("projects:result", args=[project.key, artefact.run_id, artefact.pk])
    return reverse(f"projects:{kind_of(artefact)}", args=[project.key, artefact.pk])


ARTEFACT_FIELDS = {TestCase: "test_case", TestRun: "test_run", TestResult: "test_result", Requirement: "requirement"}


def artefact_project(artefact) -> Project:
    return artefact.run.project if isinstance(artefact, TestResult) else artefact.project


def artefact_field(artefact) -> str:
    try:
        return ARTEFACT_FIELDS[type(artefact)]
    except KeyError:
        raise ValidationError(
            f"Issues can be linked to test cases, runs, results and requirements, not {type(artefact).__name__}."
        ) from None


def site_url(request) -> str:
    """This testmanager's address as the member reaches it, for links in issues and on trackers."""
    return request.build_absolute_uri("/")
