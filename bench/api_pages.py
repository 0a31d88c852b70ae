"""Issue list API at 100,000 issues: first, middle and last page by number and by cursor, on the production stack.

    .venv/bin/python bench/api_pages.py [requests per page]      (default: 30)

Starts what `make prod` runs and seeds one project as bench/api_load.py does, with 100,000 issues
(two tags and a link each), then reads each of six pages `requests` times with one keep-alive
client, one after the other: `GET /api/issues?project=DEEP&page=N` for the first, middle and last
page of 50, and the same pages by `cursor` (the first with an empty cursor, the others with the
cursor the `next` link of the page before carries, made in the stack's Django). It checks that
both ways show the same issues and prints each page's p50 against issue 21's target, met/missed:

    any page p50 <= 40 ms

Figures are for information only; no test times anything.
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.api_load import PAGE_SIZE, seeded_stack, verdicts  # noqa: E402

ISSUES = 100_000
KEY = "DEEP"
TARGET_MS = 40
PAGES = {"first": 1, "middle": ISSUES // PAGE_SIZE // 2, "last": ISSUES // PAGE_SIZE}


def cursors() -> None:
    """Inside the stack's Django: the cursor of each page of PAGES (after the last issue of the page before)."""
    import django

    django.setup()
    from projects.models import Project
    from projects.pagination import CursorPosition

    project = Project.objects.get(key=KEY)
    for page in PAGES.values():
        after = ISSUES - (page - 1) * PAGE_SIZE + 1  # issues are numbered 1..ISSUES, listed newest first
        position = CursorPosition(["-project_id", "-number"], [project.pk, after], backward=False)
        print(position.encode() if page > 1 else "")


def p50_of(session, url: str, params: dict, requests: int) -> tuple[float, list[int]]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = session.get(url, params=params, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return statistics.median(timings), [issue["number"] for issue in answer.json()["results"]]


def main() -> None:
    import requests as http

    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with seeded_stack(ISSUES, KEY) as (stack, token):
        made = subprocess.run(
            [sys.executable, __file__, "cursors"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            env={**stack.env, "DJANGO_SETTINGS_MODULE": "testmanager.settings"},
            check=True,
        )
        page_cursors = dict(zip(PAGES, made.stdout.rstrip("\n").split("\n"), strict=True))
        session = http.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        url = f"{stack.base_url}/api/issues"
        for _ in range(3):  # warm-up: workers connected, code loaded
            session.get(url, params={"project": KEY}, timeout=30)
        measured = {}
        for name, page in PAGES.items():
            by_number, shown = p50_of(session, url, {"project": KEY, "page": page}, requests)
            by_cursor, shown_by_cursor = p50_of(session, url, {"project": KEY, "cursor": page_cursors[name]}, requests)
            if shown != shown_by_cursor or len(shown) != PAGE_SIZE:
                sys.exit(f"The {name} page differs: by number {shown[:3]}..., by cursor {shown_by_cursor[:3]}...")
            print(f"{name} page ({page}): p50 by number {by_number:.1f} ms, by cursor {by_cursor:.1f} ms", flush=True)
            measured[f"{name} page by number p50"] = by_number
            measured[f"{name} page by cursor p50"] = by_cursor
    verdicts(measured, dict.fromkeys(measured, (TARGET_MS, "ms", True)))


if __name__ == "__main__":
    if sys.argv[1:] == ["cursors"]:
        cursors()
    else:
        main()
