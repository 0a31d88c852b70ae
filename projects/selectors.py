"""Read queries shared by pages and the API."""

from django.db.models import Count, Q

from .models import ResultStatus, TestCase, TestRun
from .permissions import visible_projects


def projects_for(user):
    return visible_projects(user).annotate(case_count=Count("test_cases", distinct=True)).order_by("key")


def cases_of(project):
    return TestCase.objects.filter(project=project).order_by("folder", "title", "id")


def runs_of(project):
    return (
        TestRun.objects.filter(project=project)
        .annotate(
            result_count=Count("results"),
            failed_count=Count("results", filter=Q(results__status=ResultStatus.FAILED)),
            passed_count=Count("results", filter=Q(results__status=ResultStatus.PASSED)),
        )
        .order_by("-created_at", "-id")
    )
