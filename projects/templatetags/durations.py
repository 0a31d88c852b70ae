"""`{{ result.duration|duration }}` -> '1m 30s', the notation the result form accepts."""

from django import template

from projects.forms import format_duration

register = template.Library()


@register.filter
def duration(value):
    return format_duration(value)
