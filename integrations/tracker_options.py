"""What a project admin chooses from when connecting a source to a project: the tracker's own projects
(Jira projects, GitHub repositories, GitLab projects under groups and subgroups, Azure DevOps projects,
Linear teams), boards, issue (work item) types, fields, components and sprints, read from the tracker
as the admin asks for them.

A read shared by the project's Trackers page, the admin and the API. When the tracker will not list
(no permission, not implemented, down), the answer says so and why: the form keeps its text input then.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from .errors import TrackerError
from .models import Source
from .providers.base import TrackerProvider
from .services import interactive, with_member_token

KINDS = ("projects", "boards", "issue_types", "fields", "components", "sprints")
# The kinds that only make sense inside one external project.
NEEDS_PROJECT = frozenset(KINDS) - {"projects"}
# At most this many options are answered; a search (``q``) narrows the rest down.
OPTIONS_LIMIT = 200


@dataclass(frozen=True)
class Option:
    value: str  # what the form field takes
    label: str  # what the admin reads


@dataclass(frozen=True)
class TrackerOptions:
    """The options of one kind, or (``listable`` False) why the tracker gave none: the field stays free
    text then, with ``reason`` shown next to it."""

    kind: str
    options: list[Option] = field(default_factory=list)
    listable: bool = True
    reason: str = ""
    truncated: bool = False

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "listable": self.listable,
            "reason": self.reason,
            "truncated": self.truncated,
            "options": [{"value": option.value, "label": option.label} for option in self.options],
        }


def _labelled(value: str, name: str) -> Option:
    return Option(value=value, label=value if not name or name == value else f"{name} ({value})")


def _lister(kind: str, project: str, issue_type: str, board: str) -> Callable[[TrackerProvider], list[Option]]:
    """The provider call that lists ``kind``, as options."""
    if kind == "projects":
        return lambda provider: [_labelled(found.key, found.name) for found in provider.projects()]
    if kind == "boards":
        return lambda provider: [_labelled(board.id, board.name) for board in provider.boards(project)]
    if kind == "issue_types":
        return lambda provider: [Option(t.name, t.name) for t in provider.issue_types(project)]
    if kind == "components":
        return lambda provider: [Option(c.name, c.name) for c in provider.components(project)]
    if kind == "sprints":
        return lambda provider: [
            _labelled(plan.id, plan.name) for plan in provider.plans(project, board) if plan.kind == "sprint"
        ]

    def fields(provider: TrackerProvider) -> list[Option]:
        offered = provider.issue_types(project)
        chosen = issue_type or (offered[0].name if offered else "")
        return [_labelled(found.id, found.name) for found in provider.fields(project, chosen)] if chosen else []

    return fields


def tracker_options(
    source: Source, user, kind: str, *, project: str = "", issue_type: str = "", board: str = "", q: str = ""
) -> TrackerOptions:
    """The ``kind`` of things ``source``'s tracker offers (within the external ``project``), as ``user``
    sees them (their own token where the source acts as each member), narrowed to those whose value or
    label contains ``q``. ``ValidationError`` for a kind that does not exist or lacks its project."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Choose one of: {', '.join(KINDS)}."})
    project = project.strip()
    if kind in NEEDS_PROJECT and not project:
        raise ValidationError(
            {"project": f"Choose the external project first: {kind.replace('_', ' ')} belong to one."}
        )
    try:
        with interactive(source):
            options = with_member_token(user, source, _lister(kind, project, issue_type.strip(), board.strip()))
    except TrackerError as error:
        return TrackerOptions(kind=kind, listable=False, reason=str(error))
    wanted = q.strip().casefold()
    if wanted:
        options = [o for o in options if wanted in o.value.casefold() or wanted in o.label.casefold()]
    return TrackerOptions(kind=kind, options=options[:OPTIONS_LIMIT], truncated=len(options) > OPTIONS_LIMIT)
