"""Template helpers of every page (templates/base.html)."""

from django import template

register = template.Library()

SITE = "testmanager"


@register.filter(is_safe=True)
def page_title(title: str) -> str:
    """A page's <title> ends with the site's name, whether or not the page's title block wrote it:
    "Issues · SHOP" -> "Issues · SHOP · testmanager"."""
    title = " ".join(str(title).split())
    if not title or title == SITE:
        return SITE
    return title if title.endswith(f"· {SITE}") else f"{title} · {SITE}"
