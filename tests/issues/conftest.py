"""Fixtures shared by the issues app's tests."""

import pytest


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a write and what it left for after its commit (tasks queued with on_commit)."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run
