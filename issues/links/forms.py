"""The admin's "Move links to another source" form."""

from django import forms
from django.core.exceptions import ValidationError

from integrations.models import Source
from issues.links import source_moves


class MoveLinksForm(forms.Form):
    """The "Move links to another source" admin page: the target and the key rule (issues.links.source_moves)."""

    target = forms.ModelChoiceField(queryset=None, label="Move to", empty_label="Choose the source to move to")
    pattern = forms.CharField(
        required=False,
        max_length=200,
        label="Rewrite keys matching",
        help_text="Blank: every key stays as it is. Otherwise an RE2 regular expression the whole key must match, "
        "e.g. JIRA-([A-Z]+-\\d+); keys it does not match stay as they are.",
    )
    replacement = forms.CharField(
        required=False,
        max_length=200,
        label="into",
        help_text="The new key; \\1 (or \\g<name>) is what the pattern's first (or named) group matched.",
    )

    def __init__(self, *args, source, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.fields["target"].queryset = Source.objects.exclude(pk=source.pk).order_by("name")

    def clean(self):
        data = super().clean()
        try:
            data["rule"] = source_moves.key_rule(data.get("pattern", ""), data.get("replacement", ""))
        except ValidationError as error:
            self.add_error(None, error)
        if data.get("target") is not None:
            try:
                source_moves.check_target(self.source, data["target"])
            except ValidationError as error:
                self.add_error(None, error)
        return data
