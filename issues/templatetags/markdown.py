"""`{{ issue.description|markdown }}`: user Markdown as sanitized HTML (integrations.richtext)."""

from django import template
from django.utils.safestring import mark_safe

from integrations.richtext import markdown_to_safe_html

register = template.Library()


@register.filter
def markdown(value):
    # Safe to mark: markdown_to_safe_html disables raw HTML and passes the output through nh3.
    return mark_safe(markdown_to_safe_html(str(value or "")))
