"""Time and peak memory of large JUnit and TestRail imports on the real path, against issue 21's targets.

Run by hand with PostgreSQL: `DATABASE_URL=postgres://... .venv/bin/python bench/imports.py [kind ...]`
(kinds: junit, testrail, testrail-csv; all by default).

Each import runs in a fresh process (so its peak resident memory is its own): a JUnit report is
recorded into a run by `junit.import_junit`, as the upload API does; a TestRail suite export
and a TestRail run's CSV export go through the Import page's steps (upload, preview, confirm,
`run_job`, which the worker runs; the uploaded bytes are dropped once stored, as the upload's
request ends). Two sizes each show whether time grows linearly: the per-case time of the large
file may be at most 1.5 times that of the small one. Targets: peak memory <= 200 MiB for 100,000
JUnit cases and 50,000 TestRail cases (suite XML and run CSV). The figures are printed, never
asserted in tests.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")

# The environment as given: bench/testrail_import.py points DATABASE_URL at SQLite when imported.
ENVIRONMENT = dict(os.environ)
PEAK_TARGET_MIB = 200
LINEAR_SLACK = 1.5
RUNS = (
    ("junit", 10_000),
    ("junit", 100_000),
    ("testrail", 5_000),
    ("testrail", 50_000),
    ("testrail-csv", 5_000),
    ("testrail-csv", 50_000),
)
KINDS = ("junit", "testrail", "testrail-csv")


def junit_report(cases: int, per_suite: int = 1_000) -> bytes:
    parts = ["<testsuites>"]
    for suite in range(0, cases, per_suite):
        parts.append(f'<testsuite name="suite {suite // per_suite}">')
        for number in range(suite, min(suite + per_suite, cases)):
            opening = (
                f'<testcase classname="shop.module{number // per_suite}.Checkout" name="test_{number}" time="0.01"'
            )
            if number % 10:
                parts.append(opening + "/>")
            else:
                parts.append(f'{opening}><failure message="boom">Traceback {number}\n  line 1</failure></testcase>')
        parts.append("</testsuite>")
    parts.append("</testsuites>")
    return "".join(parts).encode()


def rss_mib() -> float:
    """This process's peak resident memory (VmHWM: getrusage's maxrss would include the parent's, kept across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def one_import(kind: str, path: str) -> None:
    """In the child process: import the file once and print the figures as JSON."""
    import django

    django.setup()
    from projects.models import ImportStatus, Project, TestRun

    data = Path(path).read_bytes()
    project = Project.objects.create(key=f"B{time.time_ns() % 10**8}", name=f"Bench {kind}")
    before = rss_mib()
    started = time.perf_counter()
    if kind == "junit":
        from projects.importers import junit

        summary = junit.import_junit(TestRun.objects.create(project=project, name="Bench"), data)
        count = summary.results_created
    else:
        from issues.imports import services

        job = services.upload(project, None, Path(path).name, data)
        del data  # the upload's request ends here; the worker imports the stored file
        services.preview(job)
        services.confirm(job, job.options)
        job = services.run_job(job.pk)
        assert job.status == ImportStatus.DONE, job.error
        count = job.counts["result" if kind == "testrail-csv" else "case"]["created"]
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss_before": before, "rss_peak": rss_mib(), "count": count}))


def run(kind: str, size: int, workdir: Path) -> dict:
    if kind == "junit":
        data = junit_report(size)
    else:
        import testrail_import  # its generators; importing it made an empty work directory

        shutil.rmtree(testrail_import.WORK_DIR, ignore_errors=True)
        data = testrail_import.suite_xml(size) if kind == "testrail" else testrail_import.run_csv(size)
    path = workdir / f"{kind}-{size}.{'csv' if kind == 'testrail-csv' else 'xml'}"
    path.write_bytes(data)
    child = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=ENVIRONMENT,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    assert figures["count"] == size, figures
    return {**figures, "megabytes": len(data) / 1e6}


def main(kinds: list[str]) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (the production stack); it is migrated and written to.")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    results = {}
    with tempfile.TemporaryDirectory(prefix="testmanager-bench-") as workdir:
        for kind, size in [(kind, size) for kind, size in RUNS if kind in kinds]:
            figures = results[kind, size] = run(kind, size, Path(workdir))
            print(
                f"{kind:<8} {size:>7,} cases ({figures['megabytes']:5.1f} MB): {figures['seconds']:6.1f} s, "
                f"per case {figures['seconds'] / size * 1e6:6.1f} µs, "
                f"peak RSS {figures['rss_peak']:5.0f} MiB (before the import {figures['rss_before']:4.0f} MiB)"
            )
    print("\nTargets")
    for kind in kinds:
        (small, small_size), (large, large_size) = [(results[k, s], s) for k, s in RUNS if k == kind]
        peak = large["rss_peak"]
        print(
            f"  {kind} {large_size:,} cases peak memory <= {PEAK_TARGET_MIB} MiB: {peak:.0f} MiB "
            f"{'met' if peak <= PEAK_TARGET_MIB else 'MISSED'}"
        )
        ratio = (large["seconds"] / large_size) / (small["seconds"] / small_size)
        print(
            f"  {kind} time linear (per-case time at {large_size:,} / at {small_size:,} <= {LINEAR_SLACK}): "
            f"{ratio:.2f} {'met' if ratio <= LINEAR_SLACK else 'MISSED'}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one_import(sys.argv[2], sys.argv[3])
    else:
        main([kind for kind in KINDS if kind in sys.argv[1:]] or list(KINDS))
