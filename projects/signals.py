"""Signals the projects app sends, so that apps building on it (which it must not import) can act."""

from django.dispatch import Signal

# Test results were recorded (by hand, through the API or from a JUnit report): in the TestRun
# ``run``, those of the test cases whose ids are ``case_ids``. Sent inside the recording
# transaction, so what receivers write commits or rolls back with the results.
results_recorded = Signal()
