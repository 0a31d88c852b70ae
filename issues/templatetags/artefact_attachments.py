"""`{% artefact_attachments case "case" %}`: the files of a test case, requirement or test result on the projects
app's pages (which must not import issues), with upload and delete for editors."""

from django import template

from issues.core import artefacts
from issues.core.forms import AttachmentForm
from issues.core.selectors import attachments_of_artefact
from projects.permissions import Action, can

register = template.Library()


@register.inclusion_tag("issues/_artefact_attachments.html", takes_context=True)
def artefact_attachments(context, artefact, kind):
    project = artefacts.artefact_project(artefact)
    return {
        "project": project,
        "artefact": artefact,
        "kind": kind,
        "attachments": list(attachments_of_artefact(artefact)),
        "form": AttachmentForm(),
        "can_edit": can(context["user"], Action.EDIT, project),
        "csrf_token": context.get("csrf_token"),
    }
