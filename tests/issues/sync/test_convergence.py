"""The two-way sync converges: under duplicated, late and lost webhook deliveries, tasks whose worker
dies and are delivered again, an expired member token and edits on both sides, every quiet point finds
the references equal to Jira, the defects equal to the mapped state, every comment once on each side,
no link lost and no issue created (tests/issues/sync/convergence.py says how).

CI runs a fixed, derandomized budget (12 examples of 25 steps); ``bench/sync_soak.py`` runs the same
machine long, with new random examples, through the ``CONVERGENCE_*`` variables."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.issues.sync.convergence import STATS, SyncMachine

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("CONVERGENCE_EXAMPLES", "12"))
STEPS = int(os.environ.get("CONVERGENCE_STEPS_PER_EXAMPLE", "25"))


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


def test_two_way_sync_converges_whatever_order_things_happen_in():
    STATS.clear()
    try:
        run_state_machine_as_test(
            SyncMachine,
            settings=settings(
                derandomize=os.environ.get("CONVERGENCE_RANDOM") != "1",
                database=None,
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        if report := os.environ.get("CONVERGENCE_REPORT"):  # bench/sync_soak.py tells what was run
            Path(report).write_text(json.dumps(STATS))
