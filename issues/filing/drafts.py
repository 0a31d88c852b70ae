"""What a new tracker issue says before anyone edits it: the title and description drafted from a
failed result, a run's failures or any test artefact (Markdown, escaped where a title is inlined)."""

from urllib.parse import urljoin

from issues.core.artefacts import artefact_path, inline_markdown
from projects.models import ResultStatus, TestCase, TestResult, TestRun, steps_markdown

TITLE_MAX = 255  # the longest title every tracker takes


FILEABLE_RESULTS = (ResultStatus.FAILED, ResultStatus.BLOCKED)


def draft_from_result(result: TestResult, result_url: str) -> dict:
    """Name and Markdown description of an issue about a failed result, to be edited before filing."""
    case, run = result.case, result.run
    where = f" ({inline_markdown(run.environment)})" if run.environment else ""
    sections = [
        f"Found in run [{inline_markdown(run.name)}]({result_url}){where}: **{result.get_status_display()}**.",
        f"**Test case:** {inline_markdown(case.title)}"
        + (f" in {inline_markdown(case.folder)}" if case.folder else ""),
    ]
    failed = [
        f"Step {number}: {step['action'] or '—'}"
        + (f"\n\n**Expected:** {step['expected']}" if step["expected"] else "")
        for number, step in enumerate(result.step_results, start=1)
        if step.get("status") in FILEABLE_RESULTS
    ]
    for heading, body in (
        ("Failed step" if len(failed) == 1 else "Failed steps", "\n\n".join(failed)),
        ("Preconditions", case.preconditions),
        ("Steps to reproduce", steps_markdown(result.step_results or case.steps)),
        ("Actual result", result.comment),
    ):
        if body.strip():
            sections.append(f"### {heading}\n\n{body.strip()}")
    sections.append(f"[Open the test result]({result_url})")
    name = f"{case.title} failed in {run.name}"
    return {"name": name if len(name) <= 300 else f"{name[:299]}…", "description": "\n\n".join(sections)}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def draft_for(artefact, site_url: str) -> dict:
    """Title and Markdown description of a tracker issue about an artefact, to edit before filing."""
    url = urljoin(site_url, artefact_path(artefact))
    if isinstance(artefact, TestResult):
        draft = draft_from_result(artefact, url)
    elif isinstance(artefact, TestRun):
        draft = draft_from_results(fileable_results(artefact), site_url, run=artefact)
    elif isinstance(artefact, TestCase):
        where = f" in {inline_markdown(artefact.folder)}" if artefact.folder else ""
        sections = [f"**Test case:** [{inline_markdown(artefact.title)}]({url}){where}"]
        for heading, body in (
            ("Preconditions", artefact.preconditions),
            ("Steps to reproduce", artefact.steps_markdown()),
        ):
            if body.strip():
                sections.append(f"### {heading}\n\n{body.strip()}")
        draft = {"name": artefact.title, "description": "\n\n".join(sections)}
    else:
        facts = f"{artefact.get_priority_display()}, {artefact.get_state_display().lower()}"
        sections = [f"**Requirement:** [{inline_markdown(artefact.title)}]({url}) ({facts})"]
        if artefact.description.strip():
            sections.append(artefact.description.strip())
        draft = {"name": artefact.title, "description": "\n\n".join(sections)}
    return {"name": _shorten(draft["name"], TITLE_MAX), "description": draft["description"]}


def draft_of_test_case(case: TestCase, site_url: str) -> dict:
    """Title and Markdown description of the issue a test case is kept as in a tracker (a sync): the
    case itself, what it checks, its preconditions, its steps each with its expected result, and a
    link to its page."""
    url = urljoin(site_url, artefact_path(case))
    where = f" in {inline_markdown(case.folder)}" if case.folder else ""
    sections = [f"**Test case:** [{inline_markdown(case.title)}]({url}){where}"]
    for heading, body in (
        ("Description", case.description),
        ("Preconditions", case.preconditions),
        ("Steps", case.steps_markdown()),
    ):
        if body.strip():
            sections.append(f"### {heading}\n\n{body.strip()}")
    return {"name": _shorten(case.title, TITLE_MAX), "description": "\n\n".join(sections)}


def fileable_results(run):
    """The run's results an issue is filed for (failed or blocked), in the run page's order."""
    return (
        run.results.filter(status__in=FILEABLE_RESULTS)
        .select_related("case", "run")
        .order_by("case__folder", "case__title", "id")
    )


def _cell(text: str) -> str:
    return inline_markdown(text) or " "


def draft_from_results(results, site_url: str, run=None) -> dict:
    """Title and description of one issue for several results of a run: a table of them."""
    results = list(results)
    if len(results) == 1:
        result = results[0]
        draft = draft_from_result(result, urljoin(site_url, artefact_path(result)))
        return {"name": _shorten(draft["name"], TITLE_MAX), "description": draft["description"]}
    run = run or results[0].run
    where = f" ({inline_markdown(run.environment)})" if run.environment else ""
    found_in = f"Found in run [{inline_markdown(run.name)}]({urljoin(site_url, artefact_path(run))}){where}"
    if not results:
        return {"name": _shorten(f"Problem in {run.name}", TITLE_MAX), "description": f"{found_in}."}
    rows = [
        f"| [{_cell(result.case.title)}]({urljoin(site_url, artefact_path(result))}) | {_cell(result.case.folder)} "
        f"| {result.get_status_display()} | {_cell(result.comment)} |"
        for result in results
    ]
    description = "\n".join(
        [
            f"{found_in}: {len(results)} tests did not pass.",
            "",
            "| Test case | Folder | Status | Actual result |",
            "| --- | --- | --- | --- |",
            *rows,
        ]
    )
    return {"name": _shorten(f"{len(results)} tests failed in {run.name}", TITLE_MAX), "description": description}
