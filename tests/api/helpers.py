"""Helpers shared by the API tests."""

from pathlib import Path

from django.forms.models import model_to_dict

from issues.core.models import Issue, Tag
from issues.links.models import Link
from projects.models import Project, Requirement, TestCase, TestResult, TestRun

JUNIT_FIXTURES = Path(__file__).parent / "fixtures" / "junit"
WRITABLE_MODELS = [Project, TestCase, TestRun, TestResult, Requirement, Issue, Tag, Link]


def junit_fixture(name: str) -> bytes:
    return (JUNIT_FIXTURES / name).read_bytes()


def database_state() -> dict:
    """Every row of every model the API writes, to prove that a refused request changed nothing."""
    return {model.__name__: sorted(map(repr, map(model_to_dict, model.objects.all()))) for model in WRITABLE_MODELS}
