"""Signals this app sends for the issues app to act on, so that nothing here imports it."""

from django.dispatch import Signal

# Someone asked for a source's linked issues to be refreshed now (the sources admin). Sent with
# ``source`` and ``actor``; a receiver answers how many references it queued for refreshing.
refresh_requested = Signal()
