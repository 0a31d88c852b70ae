from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from . import known_failures, recurrences, requirements_pull, sync

        known_failures.connect()
        recurrences.connect()  # after known_failures: a failure it recognized is tracked, not recurring
        requirements_pull.connect()
        sync.connect()
