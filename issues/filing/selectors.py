"""Reads of filing pages: a project's filing jobs and their progress, and who can fix a tracker
error (the project's admins or the source's)."""

from django.shortcuts import get_object_or_404

from issues.core.selectors import admins_of
from issues.filing.models import FilingJob, FilingState


def filing_job_in(project, pk: int) -> FilingJob:
    jobs = FilingJob.objects.filter(project=project).select_related("run", "integration__source", "created_by")
    return get_object_or_404(jobs, pk=pk)


def job_items(job: FilingJob):
    return job.items.select_related("result__case", "result__run", "issue__project", "reference").order_by("id")


def job_progress(job: FilingJob) -> dict:
    """How far a filing job is, for its progress bar: counts per state and whether it is over."""
    counts = dict.fromkeys(FilingState.values, 0)
    for state in job.items.values_list("state", flat=True):
        counts[state] += 1
    total = sum(counts.values())
    return {
        "total": total,
        "filed": counts[FilingState.FILED],
        "failed": counts[FilingState.FAILED],
        "pending": counts[FilingState.PENDING],
        "done": counts[FilingState.PENDING] == 0,
        "percent": round(100 * (total - counts[FilingState.PENDING]) / total) if total else 100,
    }


# Whose settings a tracker error points at, by TrackerError.code: the project integration's
# (project admins) or the source's (administrators of integrations); others usually pass.
PROJECT_SETTINGS, SOURCE_SETTINGS = "project", "source"


_OWNERS = {
    **dict.fromkeys(("not_configured", "not_found"), PROJECT_SETTINGS),
    **dict.fromkeys(
        ("auth", "permission", "credentials_unreadable", "address_not_allowed", "deployment_mismatch", "unsupported"),
        SOURCE_SETTINGS,
    ),
}


def settings_at_fault(code: str) -> str:
    return _OWNERS.get(code, "")


def who_can_fix(code: str, project) -> str:
    """A sentence naming who can fix a problem with a tracker, so nobody waits for it to go away;
    "" when the member fixes it as the message says (refused values, their own authorization)."""
    if code in ("validation", "authorization_required"):  # the message says what the member does
        return ""
    owner = settings_at_fault(code)
    if owner == PROJECT_SETTINGS:
        admins = ", ".join(user.get_username() for user in admins_of(project))
        who = f"A project administrator of {project.key} ({admins})" if admins else "A system administrator"
        return f"{who} can fix this in the project's tracker settings."
    if owner == SOURCE_SETTINGS:
        return "An administrator of integrations can fix this in the source's settings (Admin › Integrations)."
    return "This is usually temporary: try again in a few minutes, and tell an administrator if it persists."
