"""Import TestRail exports from the command line: `manage.py import_testrail SHOP suite.xml run.csv`.

The same import as the Import page, with the preview's default mapping: each file is one
transaction (a broken file changes nothing and the others still import), and importing a file
again updates what the previous import created. It lives in the issues app because it touches
all three apps (imports point issues -> others), like seed_demo.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.selectors import pickable_integrations
from issues.imports import services
from projects.importers.testrail import TestRailError
from projects.models import ImportStatus, Project


class Command(BaseCommand):
    help = (
        "Import TestRail exports (suite XML, cases CSV, a run's CSV) into a project. "
        "Each file is imported completely or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="Project key, e.g. SHOP.")
        parser.add_argument("files", nargs="+", help="TestRail export files.")
        parser.add_argument(
            "--run",
            dest="run_name",
            help="Run a run's results go into (default: the export's "
            "Run column, else the file name). Importing again "
            "updates that run.",
        )
        parser.add_argument(
            "--tracker",
            help="Name of the tracker source defects link to, or 'none' (default: the project's primary tracker).",
        )
        parser.add_argument("--user", help="Username recorded as creator of cases, runs, results and links.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be imported; change nothing.")

    def handle(self, *args, project, files, run_name, tracker, user, dry_run, verbosity, **options):
        project = Project.objects.filter(key=project).first()
        if project is None:
            raise CommandError("No project with that key.")
        actor = self._user(user)
        overrides = {"run_name": run_name} if run_name else {}
        if tracker is not None:
            overrides["integration"] = self._integration(project, tracker)
        failed = [path for path in files if not self._import(project, Path(path), actor, overrides, dry_run, verbosity)]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(files)} file{'s' * (len(files) != 1)} not imported: " + ", ".join(failed)
            )

    def _user(self, username):
        if username is None:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username}.")
        return user

    def _integration(self, project, name: str):
        if name.lower() == "none":
            return None
        integrations = list(pickable_integrations(project))
        for integration in integrations:
            if integration.source.name.lower() == name.lower():
                return integration.pk
        names = ", ".join(integration.source.name for integration in integrations) or "none assigned"
        raise CommandError(f"{project.key} has no active tracker named {name} (available: {names}).")

    def _import(self, project, path: Path, actor, overrides: dict, dry_run: bool, verbosity: int) -> bool:
        try:
            data = path.read_bytes()
            job = (
                services.new_job(project, actor, path.name, data)
                if dry_run
                else services.upload(project, actor, path.name, data)
            )
        except (OSError, TestRailError) as error:
            self.stderr.write(f"{path}: {error}")
            return False
        if dry_run:  # the job is never saved
            self._describe_preview(path, job, overrides)
            return True
        services.confirm(job, {**job.options, **overrides})
        job = services.run_job(job.pk)
        if job.status != ImportStatus.DONE:
            self.stderr.write(f"{path}: {job.error}")
            return False
        into = f" into run “{job.run.name}”" if job.run else ""
        self.stdout.write(self.style.SUCCESS(f"{path}: imported") + into)
        for label, counts in services.summary(job):
            self.stdout.write(f"  {label}: " + ", ".join(f"{count} {action}" for action, count in counts))
        for entry in job.log:
            if entry["action"] == "skipped" or verbosity > 1:
                self.stdout.write(f"  {entry['action']} {entry['kind']} {entry['item']}: {entry['message']}")
        return True

    def _describe_preview(self, path: Path, job, overrides: dict) -> None:
        job.options = {**job.options, **overrides}
        preview = services.preview(job)
        self.stdout.write(f"{path}: {preview.export.description} (dry run, nothing changed)")
        self.stdout.write(
            f"  Test cases: {preview.count_created} to create, {preview.count_updated} to update, "
            f"{preview.count_unchanged} unchanged or existing"
        )
        if preview.export.result_count:
            where = "existing run" if preview.run else "new run"
            self.stdout.write(f"  Results: {preview.export.result_count} into the {where} “{preview.run_name}”")
        if preview.defects is not None and preview.has_defects:
            self.stdout.write(f"  Defect links: {preview.defects.link_count}, skipped {len(preview.defects.skipped)}")
        for entry in [*preview.export.problems, *(preview.defects.skipped if preview.defects else [])]:
            self.stdout.write(f"  skipped {entry.kind} {entry.item}: {entry.message}")
