"""Signals of the issues app: writes that other parts of the app act on (issues.sync)."""

from django.dispatch import Signal

# An internal issue was edited (services.update_issue). Sent with ``issue`` (as saved) and ``changed``,
# the names of the fields the edit set.
issue_updated = Signal()
