"""`{{ result.comment|shortened:120 }}`: text cut to a length for a table cell, the whole text on hover.

Every page that cuts a text goes through here, so nothing is cut without its full text in a title.
"""

from django import template
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html

register = template.Library()


@register.filter
def shortened(text, length: int):
    text = str(text or "")
    if len(text) <= int(length):
        return text
    return format_html('<span class="shortened" title="{}">{}</span>', text, truncatechars(text, length))
