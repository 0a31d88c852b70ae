"""The convergence machine (tests/issues/sync/convergence.py) run long, on new random examples.

    .venv/bin/python bench/sync_soak.py [--steps 10000] [--steps-per-example 50]

Runs tests/issues/sync/test_convergence.py under pytest (PostgreSQL and Redis from DATABASE_URL and
REDIS_URL, as ``make test``) with hypothesis' randomness on (CI's run is derandomized: this one explores
examples CI never sees). Prints the steps run, what they did (tasks, worker deaths, deliveries, quiet
points checked), the failures found (0 or 1: hypothesis stops at the first and shrinks it) and the shrunk
counterexample, as hypothesis writes it, when there is one. Exits 1 when it found one.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
TEST = "tests/issues/sync/test_convergence.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="steps to run at most (default 10,000)")
    parser.add_argument("--steps-per-example", type=int, default=50)
    options = parser.parse_args()
    examples = max(1, -(-options.steps // options.steps_per_example))
    with tempfile.TemporaryDirectory(prefix="sync-soak-") as work:
        report = Path(work) / "report.json"
        env = {
            **os.environ,
            "PYTHONPATH": str(BASE_DIR),
            "CONVERGENCE_RANDOM": "1",
            "CONVERGENCE_EXAMPLES": str(examples),
            "CONVERGENCE_STEPS_PER_EXAMPLE": str(options.steps_per_example),
            "CONVERGENCE_REPORT": str(report),
        }
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0", "-x", TEST],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        stats = json.loads(report.read_text()) if report.exists() else {}
    failed = run.returncode != 0
    print(
        f"steps: {stats.get('steps', 0)} (asked: {options.steps}, {examples} examples of up to "
        f"{options.steps_per_example}) in {seconds:.0f} s"
    )
    for name, count in sorted(stats.items()):
        if name != "steps":
            print(f"  {name}: {count}")
    print(f"failures found: {1 if failed else 0}")
    if failed:
        print("shrunk counterexample:")
        print(counterexample(run.stdout + run.stderr))
    return 1 if failed else 0


def counterexample(output: str) -> str:
    """Hypothesis' report of the shrunk failure: the failing assertion and the steps that lead to it."""
    lines = output.splitlines()
    keep = [
        line
        for line in lines
        if re.search(r"state\.|state = |AssertionError|Error:|Falsifying|Explanation|@seed|seed\(", line)
    ]
    return "\n".join(keep) or output[-5000:]


if __name__ == "__main__":
    sys.exit(main())
