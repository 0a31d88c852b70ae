"""Admin pages of internal issues, their tags and attachments."""

from django.contrib import admin

from issues.core import services
from issues.core.models import Attachment, Issue, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "color"]
    list_filter = ["project"]
    search_fields = ["name"]
    autocomplete_fields = ["project"]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "status", "priority", "assignee", "updated_at"]
    list_filter = ["status", "priority", "project"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["project", "assignee", "reporter", "tags"]
    readonly_fields = ["number", "version", "created_at", "updated_at", "resolved_at", "resolved_at_estimated"]
    inlines = [AttachmentInline]
    list_select_related = ["project", "assignee"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New issues take their number from the project counter, like every other creator.
        created = services.create_issue(
            project=obj.project,
            name=obj.name,
            reporter=obj.reporter or request.user,
            description=obj.description,
            status=obj.status,
            priority=obj.priority,
            assignee=obj.assignee,
        )
        obj.pk, obj.number = created.pk, created.number
        obj._state.adding = False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "issue", "size", "uploaded_at"]
    search_fields = ["original_name"]
    readonly_fields = ["file", "size", "uploaded_at"]
