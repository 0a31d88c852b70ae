"""``{% source_health source %}``: a source's real health where pages show a tracker (the project's
Trackers page, artefact pages): a badge, and the redacted reason when it is in error."""

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("integrations/_source_health.html")
def source_health(source, *, reason=True):
    return {"source": source, "health": selectors.health_of(source), "show_reason": reason}
