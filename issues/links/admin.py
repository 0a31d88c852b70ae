"""Admin pages of tracker references and links, and the "Move links to another source" action of the
Source admin.

The action moves ExternalReference and Link rows, which live here; integrations never imports issues,
so the Source admin gets the action from this side: ``SourceAdmin`` below extends integrations'
admin with it and takes its place on the admin site (unregister, register). Everything else about
sources stays in integrations/admin.py."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from integrations import admin as integration_admin
from integrations.models import Source
from issues.links import source_moves
from issues.links.forms import MoveLinksForm
from issues.links.models import ExternalReference, Link


@admin.register(ExternalReference)
class ExternalReferenceAdmin(admin.ModelAdmin):
    list_display = ["key", "source_name", "title", "status", "status_category", "last_synced_at", "deleted_remotely"]
    list_filter = ["status_category", "deleted_remotely", "source"]
    search_fields = ["key", "title", "source_name"]
    readonly_fields = ["created_at", "last_synced_at", "etag", "remote_created_at", "remote_resolved_at"]


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "created_by", "created_at"]
    list_filter = ["project"]
    autocomplete_fields = [
        "project",
        "issue",
        "external_reference",
        "test_case",
        "test_run",
        "test_result",
        "requirement",
    ]


class SourceAdmin(integration_admin.SourceAdmin):
    actions = [*integration_admin.SourceAdmin.actions, "move_links"]
    change_form_template = "admin/issues/source_change_form.html"

    def get_urls(self):
        move = path(
            "<path:object_id>/move-links/",
            self.admin_site.admin_view(self.move_links_view),
            name="integrations_source_move_links",
        )
        return [move, *super().get_urls()]

    @admin.action(description="Move links to another source", permissions=["change"])
    def move_links(self, request, queryset):
        sources = list(queryset[:2])
        if len(sources) != 1:
            self.message_user(request, "Select exactly one source whose links to move.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:integrations_source_move_links", args=[sources[0].pk]))

    def move_links_view(self, request, object_id):
        """Choose the target and the key rule, preview every key (GET), then move them all (POST)."""
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404("No such source.")
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else request.GET if "target" in request.GET else None
        form = MoveLinksForm(data, source=source)
        plan = None
        if form.is_valid():
            rule, target = form.cleaned_data["rule"], form.cleaned_data["target"]
            if request.method == "POST":
                try:
                    report = source_moves.move_references(source, target, rule, actor=request.user)
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.message_user(request, _moved_message(source, target, report), messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:integrations_source_changelist"))
            plan = source_moves.plan_move(source, target, rule)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Move the links of {source.name} to another source",
            "source": source,
            "form": form,
            "plan": plan,
            "outcome": source_moves.Outcome,
        }
        return TemplateResponse(request, "admin/integrations/source/move_links.html", context)


def _moved_message(source: Source, target: Source, report: source_moves.MoveReport) -> str:
    refresh = (
        f"refreshing {report.refresh_queued} from {target.name}."
        if report.refresh_queued
        else f"{target.name} does not sync now, so nothing is refreshed yet."
    )
    return (
        f"{report.moved + report.merged} reference(s) of {source.name} moved to {target.name}: "
        f"{report.merged} merged with a reference with the same key, {report.links_repointed} link(s) "
        f"re-pointed, {report.links_dropped} duplicate link(s) dropped"
        + (
            f", {report.handed_over} pull(s) and defect sync(s) handed to {target.name}'s project integrations"
            if report.handed_over
            else ""
        )
        + f"; {refresh}"
    )


admin.site.unregister(Source)


admin.site.register(Source, SourceAdmin)
