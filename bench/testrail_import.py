"""Time and SQL queries of TestRail imports. Run by hand: `.venv/bin/python bench/testrail_import.py`.

Generates a suite XML export with 5,000 cases (nested sections, separated steps, custom
fields) and a run's CSV export with 5,000 tests (every fifth with two defects), imports them
into a throwaway SQLite database the way the Import page's task does (upload, confirm, run),
and prints the seconds and SQL queries of each step. The same steps at 1,000 cases show that
the query count grows with batches of 500 rows, not with each case; the times are for
information only and are never asserted anywhere.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

BASE_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = Path(tempfile.mkdtemp(prefix="testmanager-bench-"))
sys.path.insert(0, str(BASE_DIR))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "testmanager.settings",
        "DATABASE_URL": f"sqlite:///{WORK_DIR / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(WORK_DIR / "media"),
        "REDIS_URL": "",
    }
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from integrations.models import AuthType, ProjectIntegration, Provider, Source  # noqa: E402
from issues.imports import services  # noqa: E402
from projects.importers import testrail  # noqa: E402
from projects.models import ImportStatus, Project  # noqa: E402

SIZES = (1_000, 5_000)
SECTIONS_PER_LEVEL = 10
PRIORITIES = ("Critical", "High", "Medium", "Low")


def suite_xml(cases: int, title_prefix: str = "Case") -> bytes:
    """A suite of `cases` cases in 10 top sections with 10 subsections each."""
    per_section = max(1, cases // (SECTIONS_PER_LEVEL * SECTIONS_PER_LEVEL))
    parts, number = ['<?xml version="1.0" encoding="UTF-8"?>\n<suite><id>S1</id><name>Bench</name><sections>'], 0
    for top in range(SECTIONS_PER_LEVEL):
        parts.append(f"<section><name>Area {top}</name><sections>")
        for sub in range(SECTIONS_PER_LEVEL):
            parts.append(f"<section><name>Feature {top}.{sub}</name><cases>")
            for _ in range(per_section if (top, sub) != (9, 9) else cases - number):
                number += 1
                steps = "".join(
                    f"<step><index>{i}</index><content>Do step {i} of case {number}</content>"
                    f"<expected>Step {i} works</expected></step>"
                    for i in range(1, 4)
                )
                parts.append(
                    f"<case><id>C{number}</id><title>{escape(title_prefix)} {number} – überprüfen</title>"
                    f"<template>Test Case (Steps)</template><type>Functional</type>"
                    f"<priority>{PRIORITIES[number % 4]}</priority><estimate>{number % 50 + 1}m</estimate>"
                    f"<references>REQ-{number % 300}</references><custom>"
                    f"<automation_type><id>1</id><value>Selenium</value></automation_type>"
                    f"<preconds>Logged in as tester {number % 7}</preconds>"
                    f"<steps_separated>{steps}</steps_separated></custom></case>"
                )
            parts.append("</cases></section>")
        parts.append("</sections></section>")
    parts.append("</sections></suite>")
    return "".join(parts).encode()


def run_csv(cases: int) -> bytes:
    lines = ['"ID","Title","Case ID","Status","Comment","Defects","Elapsed","Section Hierarchy","Run"']
    statuses = ("Passed", "Failed", "Blocked", "Retest", "Untested")
    for number in range(1, cases + 1):
        defects = f"BENCH-{number % 400}, BENCH-{number % 400 + 1}" if number % 5 == 0 else ""
        lines.append(
            f'"T{number}","Case {number}","C{number}","{statuses[number % 5]}","Comment {number}",'
            f'"{defects}","{number % 90}s","Area 1 > Feature 1.1","Bench run"'
        )
    return ("\n".join(lines) + "\n").encode()


def measure(label: str, action):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        outcome = action()
        seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:7.2f} s  {len(queries):5d} queries")
    return outcome


def import_file(project: Project, name: str, data: bytes):
    job = services.upload(project, None, name, data)
    services.confirm(job, job.options)
    job = services.run_job(job.pk)
    assert job.status == ImportStatus.DONE, job.error
    return job


def bench(size: int, source: Source) -> None:
    project = Project.objects.create(key=f"B{size}", name=f"Bench {size}")
    ProjectIntegration.objects.create(project=project, source=source, external_project="BENCH", is_primary=True)
    xml, renamed, csv = suite_xml(size), suite_xml(size, "Renamed case"), run_csv(size)
    print(f"{size:,} cases (suite XML {len(xml) / 1e6:.1f} MB, run CSV {len(csv) / 1e6:.1f} MB)")
    measure("parse the suite XML (no database)", lambda: testrail.parse_export(xml, "suite.xml"))
    measure("upload and preview", lambda: services.preview(services.upload(project, None, "suite.xml", xml)))
    measure("import: every case created", lambda: import_file(project, "suite.xml", xml))
    measure("import again: every case unchanged", lambda: import_file(project, "suite.xml", xml))
    measure("import a newer export: every case updated", lambda: import_file(project, "suite.xml", renamed))
    job = measure("import the run: results and defect links", lambda: import_file(project, "run.csv", csv))
    print(f"    {job.counts}")
    measure("import the run again: everything updated", lambda: import_file(project, "run.csv", csv))


def main():
    try:
        call_command("migrate", verbosity=0)
        source = Source.objects.create(
            provider=Provider.CUSTOM,
            name="Bench tracker",
            base_url="https://tracker.example.com",
            auth_type=AuthType.NONE,
            issue_url_template="{baseUrl}/issues/{key}",
            key_pattern=r"^BENCH-\d+$",
        )
        print(f"SQLite in {WORK_DIR}")
        for size in SIZES:
            bench(size, source)
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
