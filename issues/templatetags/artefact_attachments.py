"""`{% artefact_attachments case "case" %}`: the files of a test case or requirement on the projects
app's pages (which must not import issues), with upload and delete for editors."""

from django import template

from issues.core.forms import AttachmentForm
from projects.permissions import Action, can

register = template.Library()


@register.inclusion_tag("issues/_artefact_attachments.html", takes_context=True)
def artefact_attachments(context, artefact, kind):
    return {
        "project": artefact.project,
        "artefact": artefact,
        "kind": kind,
        "attachments": list(artefact.attachments.select_related("uploaded_by")),
        "form": AttachmentForm(),
        "can_edit": can(context["user"], Action.EDIT, artefact.project),
        "csrf_token": context.get("csrf_token"),
    }
