"""Moving a source's references and links to another source ("Move links to another source").

A team that linked issues through a URL-only (custom) tracker, then configures a full integration
of the same tracker, moves every reference of the old source to the new one: each key is kept or
rewritten by a rule, a reference whose new key the target already knows is merged into that one,
and the moved references are refreshed from the new source (the sync hears of the move through
``links.signals.references_moved``; links sit below the sync and do not import it).

This lives beside ExternalReference and Link, which it moves: integrations never imports issues. The
admin action that drives it is attached to the Source admin from this side (issues/links/admin.py).
``plan_move`` reads (the preview); ``move_references`` writes, all or nothing.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, UniqueConstraint

from integrations import keys
from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.models import AuditAction, ProjectIntegration, Source
from integrations.providers import provider_class
from integrations.providers.base import Capability
from issues.links.models import STATE_FIELDS, ExternalReference, Link, ReferenceAlias
from issues.links.signals import references_moved

_EPOCH = datetime.min.replace(tzinfo=UTC)


PREVIEW_ROWS = 300  # rows the preview lists; a source may have tens of thousands


# The group references of a replacement as RE2's expand reads them: \1, \g<1>, \g<name>.
_GROUP_REFERENCE = re.compile(r"\\(\d+)|\\g<([^>]*)>")


@dataclass(frozen=True)
class KeyRule:
    """How an old key becomes a new one: kept (no pattern), or rewritten when the whole key matches
    ``pattern`` (RE2) into ``replacement`` (\\1 or \\g<name> for the groups). A key the pattern does
    not match is kept as it is."""

    pattern: str = ""
    replacement: str = ""

    @property
    def rewrites(self) -> bool:
        return bool(self.pattern)

    def apply(self, key: str) -> str:
        if not self.pattern:
            return key
        match = keys.compile_key_pattern(self.pattern).fullmatch(key)
        return key if match is None else match.expand(self.replacement).strip()

    def describe(self) -> str:
        return f"{self.pattern} → {self.replacement}" if self.pattern else "keys kept as they are"


def key_rule(pattern: str = "", replacement: str = "") -> KeyRule:
    """The rule, checked: ``ValidationError`` (on ``pattern`` or ``replacement``) saying what is wrong."""
    pattern = pattern.strip()
    if not pattern:
        if replacement.strip():
            raise ValidationError({"pattern": "Enter the pattern whose matches the replacement rewrites."})
        return KeyRule()
    try:
        keys.validate_key_pattern(pattern)
    except ValidationError as error:
        raise ValidationError({"pattern": error.messages}) from None
    compiled = keys.compile_key_pattern(pattern)
    if not replacement.strip():
        raise ValidationError({"replacement": "Enter the new key, e.g. \\1 for the first group of the pattern."})
    if replacement.replace("\\\\", "").endswith("\\"):
        raise ValidationError({"replacement": "The replacement ends with a lone backslash: write \\\\ for one."})
    for number, name in _GROUP_REFERENCE.findall(replacement):
        if number and int(number) > compiled.groups:
            raise ValidationError(
                {"replacement": f"\\{number} names a group the pattern does not have (it has {compiled.groups})."}
            )
        if name and not (name.isdigit() and int(name) <= compiled.groups) and name not in compiled.groupindex:
            raise ValidationError({"replacement": f"\\g<{name}> names a group the pattern does not have."})
    return KeyRule(pattern, replacement)


def check_target(source: Source, target: Source) -> None:
    """``ValidationError`` (on ``target``) when references of ``source`` cannot move to ``target``."""
    if target.pk == source.pk:
        raise ValidationError({"target": "Choose another source: the references are already on this one."})
    provider = provider_class(target.provider)
    if Capability.READ_DETAILS not in provider.capabilities:
        raise ValidationError(
            {
                "target": f"{target.name} is a {provider.label} source, which cannot read issues: "
                "moving references there would leave them without updates."
            }
        )


class Outcome:
    """What happens to one reference."""

    MOVED = "moved"
    MERGED_WITH_TARGET = "merged_with_target"  # the target already has a reference with the new key
    MERGED_WITH_MOVED = "merged_with_moved"  # another reference of the source gets the same new key
    REFUSED = "refused"  # the target would not accept the new key


@dataclass(frozen=True)
class PlannedKey:
    reference_id: int
    old_key: str
    new_key: str
    links: int
    outcome: str
    problem: str = ""


@dataclass
class MovePlan:
    source: Source
    target: Source
    rule: KeyRule
    rows: list[PlannedKey] = field(default_factory=list)

    def _count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def moving(self) -> int:
        return self._count(Outcome.MOVED)

    @property
    def merging_with_target(self) -> int:
        return self._count(Outcome.MERGED_WITH_TARGET)

    @property
    def merging_with_moved(self) -> int:
        return self._count(Outcome.MERGED_WITH_MOVED)

    @property
    def links(self) -> int:
        return sum(row.links for row in self.rows)

    @property
    def rewritten(self) -> int:
        return sum(1 for row in self.rows if row.old_key != row.new_key)

    @property
    def refused(self) -> list[PlannedKey]:
        return [row for row in self.rows if row.outcome == Outcome.REFUSED]

    @property
    def preview(self) -> list[PlannedKey]:
        """The rows a page lists: the refused ones, then the merges (what needs a look), then plain
        moves, at most ``PREVIEW_ROWS``; the counts cover every row."""
        order = {Outcome.REFUSED: 0, Outcome.MERGED_WITH_TARGET: 1, Outcome.MERGED_WITH_MOVED: 1, Outcome.MOVED: 2}
        return sorted(self.rows, key=lambda row: order[row.outcome])[:PREVIEW_ROWS]

    @property
    def not_listed(self) -> int:
        return max(0, len(self.rows) - PREVIEW_ROWS)


def _problem(target: Source, key: str, projects: list[str]) -> str:
    """Why ``target`` would not accept ``key``; "" when it would."""
    if not key:
        return "The rule leaves no key."
    if len(key) > keys.MAX_KEY_LENGTH:
        return f"Longer than {keys.MAX_KEY_LENGTH} characters."
    if not integration_selectors.key_matches(target, key):
        return f"Not a key of {target.name} (keys match {integration_selectors.key_pattern(target)})."
    provider = provider_class(target.provider)
    for project in projects:
        qualified = provider.qualify_key(key, project)
        if qualified != key:
            return f"A short key, ambiguous on {target.name}: rewrite it to the full key, e.g. {qualified}."
    return ""


def plan_move(source: Source, target: Source, rule: KeyRule) -> MovePlan:
    """Every reference of ``source``: its old and new key, its links and what the move does with it.
    ``ValidationError`` when the target itself is refused (``check_target``)."""
    check_target(source, target)
    references = list(
        ExternalReference.objects.filter(source=source).annotate(link_count=Count("links")).order_by("key", "pk")
    )
    new_keys = {reference.pk: rule.apply(reference.key) for reference in references}
    on_target = set(
        ExternalReference.objects.filter(source=target, key__in=set(new_keys.values())).values_list("key", flat=True)
    )
    projects = sorted(
        {project for project in target.project_integrations.values_list("external_project", flat=True) if project}
    )
    claimed: set[str] = set()  # new keys an earlier reference of the source moves under
    plan = MovePlan(source=source, target=target, rule=rule)
    for reference in references:
        new_key = new_keys[reference.pk]
        problem = _problem(target, new_key, projects)
        if problem:
            outcome = Outcome.REFUSED
        elif new_key in on_target:
            outcome = Outcome.MERGED_WITH_TARGET
        elif new_key in claimed:
            outcome = Outcome.MERGED_WITH_MOVED
        else:
            outcome = Outcome.MOVED
            claimed.add(new_key)
        plan.rows.append(PlannedKey(reference.pk, reference.key, new_key, reference.link_count, outcome, problem))
    return plan


@dataclass(frozen=True)
class MoveReport:
    moved: int  # references now on the target under their own row
    merged: int  # references merged into another one and deleted
    links_repointed: int
    links_dropped: int  # duplicates of a link the surviving reference already had
    refresh_queued: int
    handed_over: int = 0  # pulled requirements and bugs, defect syncs now owned by the target's integrations


def _freshness(reference: ExternalReference) -> tuple:
    """Which reference's cached values are better: a known remote change time first, then the newest."""
    return (
        reference.remote_updated_at is not None,
        reference.remote_updated_at or _EPOCH,
        reference.last_synced_at or _EPOCH,
        bool(reference.title),
    )


def _unique_scopes(model, field_name: str) -> list[list[str]]:
    """For each unique constraint of ``model`` that holds ``field_name``, the columns of its other fields."""
    return [
        [model._meta.get_field(name).attname for name in constraint.fields if name != field_name]
        for constraint in model._meta.constraints
        if isinstance(constraint, UniqueConstraint) and field_name in constraint.fields
    ]


# Every row that refers to a reference, hidden relations (related_name="+") included.
_RELATIONS = [
    relation
    for relation in ExternalReference._meta.get_fields(include_hidden=True)
    if (relation.one_to_many or relation.one_to_one) and relation.auto_created and not relation.concrete
]


def merge_into(keeper: ExternalReference, merged: ExternalReference) -> tuple[int, int]:
    """Point everything that refers to ``merged`` (links, rules, defects, pulls...) at ``keeper``; a row that
    would duplicate one ``keeper`` already has (the unique constraints say which) is dropped instead.
    Returns the links re-pointed and dropped."""
    repointed = dropped = 0
    for relation in _RELATIONS:
        model, name = relation.related_model, relation.field.name
        scopes = _unique_scopes(model, name)
        for row in model.objects.select_for_update().filter(**{name: merged}):
            duplicate = any(
                all(getattr(row, column) is not None for column in scope)
                and model.objects.filter(
                    **{name: keeper}, **{column: getattr(row, column) for column in scope}
                ).exists()
                for scope in scopes
            )
            if duplicate:
                row.delete()
            else:
                model.objects.filter(pk=row.pk).update(**{name: keeper})
            if model is Link:
                dropped += duplicate
                repointed += not duplicate
    return repointed, dropped


# What a project integration keeps up to date about a reference: owned by the integration of the
# reference's source, so a move hands them to the target's integration of the same project.
_OWNED_BY_INTEGRATION = [
    relation
    for relation in _RELATIONS
    if any(
        getattr(f, "related_model", None) is ProjectIntegration
        for f in relation.related_model._meta.concrete_fields
        if f.name == "integration"
    )
]


def _hand_over(source: Source, target: Source, keepers: list[ExternalReference]) -> int:
    """Rows about the moved references owned by one of ``source``'s project integrations (pulled
    requirements and bugs, defect syncs) move to ``target``'s integration of the same project, when the
    project has one: otherwise the old integration's next pull or sync would speak for a reference that
    is no longer its source's. A row the target's integration already has for that reference stays as is."""
    successors = {
        integration.project_id: integration for integration in ProjectIntegration.objects.filter(source=target)
    }
    handed = 0
    for relation in _OWNED_BY_INTEGRATION:
        model, name = relation.related_model, relation.field.name
        for row in model.objects.select_related("integration").filter(
            **{f"{name}__in": keepers}, integration__source=source
        ):
            successor = successors.get(row.integration.project_id)
            if successor is None or model.objects.filter(integration=successor, **{name: getattr(row, name)}).exists():
                continue
            model.objects.filter(pk=row.pk).update(integration=successor)
            handed += 1
    return handed


def keep_best_values(keeper: ExternalReference, group: list[ExternalReference]) -> bool:
    """Give ``keeper`` the freshest cached values of its group; whether they came from another reference."""
    best = max(group, key=_freshness)
    if best.pk == keeper.pk:
        return False
    for name in (*STATE_FIELDS, "last_synced_at", "last_error"):
        setattr(keeper, name, getattr(best, name))
    keeper.url = keeper.url or best.url
    return True


def _store_moved(target: Source, plain: list[ExternalReference], renamed: list[ExternalReference]) -> None:
    """Write the moved references that took no other one's values in a few statements, not one per
    reference, so that a move of tens of thousands fits in an admin request: those keeping their key
    in one UPDATE per thousand, the renamed ones in batches (bulk_update is slow with many fields)."""
    ids = [reference.pk for reference in plain]
    for start in range(0, len(ids), 1000):
        ExternalReference.objects.filter(pk__in=ids[start : start + 1000]).update(
            source=target, source_name=target.name
        )
    ExternalReference.objects.bulk_update(renamed, ["source", "source_name", "key"], batch_size=200)


def _move_aliases(source: Source, target: Source) -> None:
    """The keys the moved references' issues had before they moved in their tracker go with them; one
    the target already knows (a reference's key or another alias) is dropped."""
    taken = {key.lower() for key in ExternalReference.objects.filter(source=target).values_list("key", flat=True)}
    taken |= {key.lower() for key in ReferenceAlias.objects.filter(source=target).values_list("key", flat=True)}
    aliases = list(ReferenceAlias.objects.filter(source=source))
    ReferenceAlias.objects.filter(pk__in=[alias.pk for alias in aliases if alias.key.lower() in taken]).delete()
    ReferenceAlias.objects.filter(pk__in=[alias.pk for alias in aliases if alias.key.lower() not in taken]).update(
        source=target
    )


@transaction.atomic
def move_references(source: Source, target: Source, rule: KeyRule, *, actor) -> MoveReport:
    """Move every reference of ``source`` to ``target`` under its new key, merging where the key is taken,
    then queue a refresh of the moved references from the target. ``ValidationError`` (nothing changed)
    when the target is refused or any new key would be. Audited (counts, never a credential)."""
    list(ExternalReference.objects.select_for_update().filter(source__in=[source, target]).values_list("pk"))
    plan = plan_move(source, target, rule)
    if plan.refused:
        shown = "; ".join(f"{row.old_key} → {row.new_key or '(nothing)'}: {row.problem}" for row in plan.refused[:5])
        more = f" (and {len(plan.refused) - 5} more)" if len(plan.refused) > 5 else ""
        raise ValidationError(
            f"{len(plan.refused)} key(s) would not be accepted by {target.name}, so nothing was moved. {shown}{more}"
        )
    by_new_key: dict[str, list[ExternalReference]] = defaultdict(list)
    references = ExternalReference.objects.in_bulk([row.reference_id for row in plan.rows])
    for row in plan.rows:
        by_new_key[row.new_key].append(references[row.reference_id])
    existing = {
        reference.key: reference
        for reference in ExternalReference.objects.filter(source=target, key__in=list(by_new_key))
    }
    keepers, plain, renamed, merged, repointed, dropped = [], [], [], 0, 0, 0
    for new_key, group in by_new_key.items():
        keeper = existing.get(new_key) or group[0]
        for other in group:
            if other.pk != keeper.pk:
                links = merge_into(keeper, other)
                repointed, dropped = repointed + links[0], dropped + links[1]
        took_values = keep_best_values(keeper, [keeper, *group])
        ExternalReference.objects.filter(pk__in=[other.pk for other in group if other.pk != keeper.pk]).delete()
        merged += sum(1 for other in group if other.pk != keeper.pk)
        if took_values or keeper.source_id == target.pk:  # merges: few, saved one by one
            keeper.source, keeper.source_name, keeper.key = target, target.name, new_key
            keeper.save()
        else:
            (plain if keeper.key == new_key else renamed).append(keeper)
            keeper.source, keeper.source_name, keeper.key = target, target.name, new_key
        keepers.append(keeper)
    _store_moved(target, plain, renamed)
    _move_aliases(source, target)
    handed = _hand_over(source, target, keepers)
    queued = sum(answer for _, answer in references_moved.send(sender=Source, target=target, references=keepers))
    report = MoveReport(
        moved=len(plan.rows) - merged,
        merged=merged,
        links_repointed=repointed,
        links_dropped=dropped,
        refresh_queued=queued,
        handed_over=handed,
    )
    integration_services.record_audit(
        AuditAction.LINKS_MOVED,
        actor=actor,
        source=source,
        target=target.name,
        message=f"{len(plan.rows)} reference(s) moved from {source.name} to {target.name}.",
        details={
            "to_source": target.name,
            "to_source_id": target.pk,
            "pattern": rule.pattern,
            "replacement": rule.replacement,
            "references": len(plan.rows),
            "rewritten": plan.rewritten,
            "moved": report.moved,
            "merged": report.merged,
            "links_repointed": repointed,
            "links_dropped": dropped,
            "refresh_queued": queued,
            "handed_over": handed,
        },
    )
    return report
