from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        """Connect every receiver of the app, in this order: results are recorded ->
        known failures are recognized first, so that a recognized failure is tracked, not counted as
        recurring; then recurrences; then the requirement pull's receivers on project integrations;
        then sync (defects follow edits and new links; "Refresh now" from the sources admin). The
        issue history's receiver only describes snapshots, and attachment files leave the disk with their
        rows, so those two may come anywhere."""
        from issues.core import history
        from issues.core import receivers as core_receivers
        from issues.pulls import requirements
        from issues.quality import known_failures, recurrences
        from issues.sync import receivers

        known_failures.connect()
        recurrences.connect()
        requirements.connect()
        receivers.connect()
        history.connect()
        core_receivers.connect()
