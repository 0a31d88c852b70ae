from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from . import requirements_pull

        requirements_pull.connect()
