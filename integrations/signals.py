"""Signals this app sends for the issues app to act on, so that nothing here imports it."""

from dataclasses import dataclass

from django.contrib import messages
from django.dispatch import Signal

# Someone asked for a source's linked issues to be refreshed now (the sources admin, a project's Trackers
# page). Sent with ``source``, ``actor`` and optionally ``project`` (only the issues linked there); a
# receiver answers with a ``RefreshOutcome``.
refresh_requested = Signal()


@dataclass
class RefreshOutcome:
    """What "Refresh now" did, as the person who asked is told: how many linked issues the tracker
    answered for, how many it failed (with its redacted reason), how many are still being refreshed
    in the background (no answer within the wait, or left for the next minute by the request budget)."""

    refreshed: int = 0
    failed: int = 0
    background: int = 0
    error: str = ""

    def add(self, other: "RefreshOutcome") -> "RefreshOutcome":
        self.refreshed += other.refreshed
        self.failed += other.failed
        self.background += other.background
        self.error = self.error or other.error
        return self

    @property
    def total(self) -> int:
        return self.refreshed + self.failed + self.background

    @property
    def level(self) -> int:
        """How the page tells it: a warning when anything failed, never a success banner over failures."""
        if self.failed:
            return messages.WARNING
        return messages.INFO if self.background or not self.total else messages.SUCCESS

    @classmethod
    def of_answers(cls, answers) -> "RefreshOutcome":
        """The outcomes the receivers of ``refresh_requested`` answered, together."""
        outcome = cls()
        for _, answer in answers:
            if isinstance(answer, cls):
                outcome.add(answer)
        return outcome

    def sentence(self) -> str:
        """e.g. "0 of 3 linked issues refreshed, 3 failed: Jira did not answer." """
        if not self.total:
            return "no linked issue to refresh."
        parts = [f"{self.refreshed} of {self.total} linked issue(s) refreshed"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.background:
            parts.append(f"{self.background} still refreshing in the background")
        text = ", ".join(parts)
        return f"{text}: {self.error}" if self.failed and self.error else f"{text}."
