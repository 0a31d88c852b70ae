"""A project seeded the way real data breaks pages: unbroken titles far wider than a phone, every
kind of status badge, linked internal and tracker issues. Shared by the 390 px and the axe tests."""

from dataclasses import dataclass

from issues.links.services import link
from projects.models import ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    RequirementFactory,
    TestCaseFactory,
    TestResultFactory,
    TestRunFactory,
    make_issue,
)

# No spaces to break at: a pasted URL, a stack frame, a generated test name.
UNBROKEN = "checkout_" + "payment_with_saved_card_and_3ds_challenge_" * 3 + "fails"


@dataclass
class PagesWorld:
    project: object
    member: object
    run: object
    result: object
    issue: object
    requirement: object


def seed_pages_world() -> PagesWorld:
    project = ProjectFactory(key="SHOP", name=f"Web shop {UNBROKEN}")
    member = MembershipFactory(project=project, role=Role.MEMBER).user
    run = TestRunFactory(project=project, name=f"Nightly {UNBROKEN}", environment=UNBROKEN)
    results = [
        TestResultFactory(run=run, case=TestCaseFactory(project=project, title=f"{status} {UNBROKEN}"), status=status)
        for status in ResultStatus.values
    ]
    failed = next(result for result in results if result.status == ResultStatus.FAILED)
    failed.comment = f"Failed with {UNBROKEN} " * 4  # cut on the run page, whole on hover
    failed.save(update_fields=["comment"])
    requirement = RequirementFactory(project=project, title=f"Requirement {UNBROKEN}")
    issue = make_issue(project, name=UNBROKEN, description=f"See `{UNBROKEN}`", reporter=member)
    link(artefact=failed, issue=issue, actor=member)
    link(artefact=requirement, issue=issue, actor=member)
    for category in ("todo", "in_progress", "done", "unknown"):
        reference = ExternalReferenceFactory(title=f"{category} {UNBROKEN}", status=category, status_category=category)
        link(artefact=failed, reference=reference, actor=member)
    return PagesWorld(project=project, member=member, run=run, result=failed, issue=issue, requirement=requirement)


def main_pages(world: PagesWorld) -> dict[str, str]:
    """The pages issue 20 names, by a short name: project home, run, result, issue list, issue,
    filing form (a new issue from the failed result) and traceability."""
    run, result, issue = world.run, world.result, world.issue
    return {
        "home": "/projects/SHOP/",
        "run": f"/projects/SHOP/runs/{run.pk}/",
        "result": f"/projects/SHOP/runs/{run.pk}/results/{result.pk}/",
        "issue-list": "/projects/SHOP/issues/",
        "issue": f"/projects/SHOP/issues/{issue.number}/",
        "filing-form": f"/projects/SHOP/issues/new/?result={result.pk}",
        "traceability": "/projects/SHOP/traceability/",
    }


def daily_pages(world: PagesWorld) -> dict[str, str]:
    """The other pages of daily work: lists, details and the forms that write them."""
    case_id, requirement = world.result.case_id, world.requirement
    return {
        "cases": "/projects/SHOP/cases/",
        "case": f"/projects/SHOP/cases/{case_id}/",
        "case-form": "/projects/SHOP/cases/new/",
        "case-edit": f"/projects/SHOP/cases/{case_id}/edit/",
        "runs": "/projects/SHOP/runs/",
        "run-form": "/projects/SHOP/runs/new/",
        "milestones": "/projects/SHOP/milestones/",
        "milestone-form": "/projects/SHOP/milestones/new/",
        "my-results": "/projects/my-results/",
        "requirements": "/projects/SHOP/requirements/",
        "requirement": f"/projects/SHOP/requirements/{requirement.pk}/",
        "requirement-edit": f"/projects/SHOP/requirements/{requirement.pk}/edit/",
        "issue-edit": f"/projects/SHOP/issues/{world.issue.number}/edit/",
        "new-failures": f"/projects/SHOP/runs/{world.run.pk}/new-failures/",
        "import": "/projects/SHOP/import/",
        "trackers": "/projects/SHOP/integrations/",
    }
