from django.apps import AppConfig
from django.db.models.signals import post_save


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self):
        from .models import Project
        from .services import seed_case_types_of_new_project

        post_save.connect(seed_case_types_of_new_project, sender=Project, dispatch_uid="projects.seed_case_types")
