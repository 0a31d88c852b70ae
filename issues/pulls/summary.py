"""What one pull did, counted: the summary every pull returns (requirements, releases and sprints,
bugs) and the runner turns into words."""

from dataclasses import dataclass


@dataclass
class PullSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0  # items deleted in the tracker
    # What became of the rows of deleted items, when the pull says so (requirements: "now deprecated").
    deleted_became: str = ""

    def __str__(self):
        became = f" ({self.deleted_became})" if self.deleted_became else ""
        return (
            f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.deleted} deleted in the tracker{became}"
        )
