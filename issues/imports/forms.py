"""Forms of the TestRail import: the upload, and the preview's mapping and run settings."""

from django import forms

from issues.imports.services import Preview
from projects.importers.testrail import (
    FIELD_TARGETS,
    LABEL_MAX,
    LEAVE_OUT,
    MAX_FILE_BYTES,
    RUN_NAME_MAX,
    project_field_target,
)
from projects.models import CasePriority, ResultStatus


class UploadForm(forms.Form):
    file = forms.FileField(
        label="TestRail export",
        help_text="The XML export of a suite, or the CSV export of cases or of a run's tests. "
        f"At most {MAX_FILE_BYTES // (1024 * 1024)} MB.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        return upload


class ImportSettingsForm(forms.Form):
    """One field per value found in the file: how each TestRail priority, type, custom field
    and status is carried over; for a run's export, the run's name and the defects' tracker."""

    def __init__(self, *args, preview: Preview, **kwargs):
        super().__init__(*args, **kwargs)
        self.preview = preview
        export, mapping = preview.export, preview.mapping
        self.priorities = export.values_of("priority")
        self.types = export.values_of("type")
        self.custom_fields = list(export.custom_fields.values())
        self.statuses = export.statuses()
        for index, (value, _) in enumerate(self.priorities):
            self.fields[f"priority_{index}"] = forms.ChoiceField(
                label=value,
                choices=[*CasePriority.choices, (LEAVE_OUT, "Leave out")],
                initial=mapping.priorities[value],
                required=False,
            )
        for index, (value, _) in enumerate(self.types):
            self.fields[f"type_{index}"] = forms.CharField(
                label=value,
                max_length=LABEL_MAX,
                required=False,
                initial=mapping.types[value],
            )
        targets = self._field_targets(preview.job.project)
        for index, custom in enumerate(self.custom_fields):
            rule = mapping.fields[custom.name]
            self.fields[f"field_{index}_label"] = forms.CharField(
                label=f"{custom.name} label",
                max_length=LABEL_MAX,
                initial=rule["label"],
            )
            self.fields[f"field_{index}_target"] = forms.ChoiceField(
                label=f"{custom.name} goes to",
                choices=targets,
                initial=rule["target"],
                required=False,
            )
        for index, (value, _) in enumerate(self.statuses):
            self.fields[f"status_{index}"] = forms.ChoiceField(
                label=value,
                choices=ResultStatus.choices,
                initial=mapping.statuses[value],
            )
        if export.result_count:
            self.fields["run_name"] = forms.CharField(
                label="Run",
                max_length=RUN_NAME_MAX,
                initial=preview.run_name,
                help_text="Results go into the newest run of this name, created when there is none: "
                "importing the same run again updates its results.",
            )
        if preview.has_defects:
            self.fields["integration"] = forms.TypedChoiceField(
                label="Link defects to",
                coerce=int,
                empty_value=None,
                required=False,
                choices=[(integration.pk, self._integration_label(integration)) for integration in preview.integrations]
                + [("", "Do not link defects")],
                initial=preview.defects.integration.pk if preview.defects.integration else "",
            )

    @staticmethod
    def _field_targets(project) -> list:
        """Where a TestRail custom field can go: the fixed places, and each custom field the project has
        (whatever its name), so "Automation Type" can land in the project's "tool"."""
        fields = [
            (project_field_target(field.name), f"{field.label} ({field.name})") for field in project.case_fields.all()
        ]
        return [*FIELD_TARGETS.items(), *([("Project's custom field", fields)] if fields else [])]

    @staticmethod
    def _integration_label(integration) -> str:
        target = f" → {integration.external_project}" if integration.external_project else ""
        return f"{integration.source.name}{target}{' (primary)' if integration.is_primary else ''}"

    def _rows(self, values, prefix):
        return [(value, count, self[f"{prefix}_{index}"]) for index, (value, count) in enumerate(values)]

    def priority_rows(self):
        return self._rows(self.priorities, "priority")

    def type_rows(self):
        return self._rows(self.types, "type")

    def status_rows(self):
        return self._rows(self.statuses, "status")

    def field_rows(self):
        return [
            (custom, self[f"field_{index}_label"], self[f"field_{index}_target"])
            for index, custom in enumerate(self.custom_fields)
        ]

    def clean(self):
        data = super().clean()
        for index, _ in enumerate(self.custom_fields):
            label = data.get(f"field_{index}_label", "")
            if label is not None and not label.strip():
                self.add_error(f"field_{index}_label", "A label is needed; choose “Leave out” to drop the field.")
        return data

    def options(self) -> dict:
        """The choices as the job stores them (ImportJob.options)."""
        data = self.cleaned_data
        return {
            "mapping": {
                "priorities": {value: data[f"priority_{i}"] for i, (value, _) in enumerate(self.priorities)},
                "types": {value: data[f"type_{i}"].strip() for i, (value, _) in enumerate(self.types)},
                "fields": {
                    custom.name: {"label": data[f"field_{i}_label"].strip(), "target": data[f"field_{i}_target"]}
                    for i, custom in enumerate(self.custom_fields)
                },
                "statuses": {value: data[f"status_{i}"] for i, (value, _) in enumerate(self.statuses)},
            },
            "run_name": data.get("run_name", self.preview.run_name).strip(),
            "integration": data["integration"]
            if "integration" in self.fields
            else self.preview.job.options.get("integration"),
        }
