"""Signals of the links domain, for the sync (which sits above it) to act on."""

from django.dispatch import Signal

# A source's references were moved to another source (links.source_moves). Sent with ``target``
# (the source they belong to now) and ``references``; a receiver answers how many it queued for
# refreshing from the new source.
references_moved = Signal()
