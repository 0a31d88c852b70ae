from django.apps import AppConfig


class TestmanagerConfig(AppConfig):
    name = "testmanager"
    verbose_name = "testmanager"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
