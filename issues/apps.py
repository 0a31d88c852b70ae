from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from . import known_failures, requirements_pull, sync

        known_failures.connect()
        requirements_pull.connect()
        sync.connect()
