"""``{% reauthorization_notices %}`` (base.html): what a member is told after a tracker they use changed how
it authenticates, on every page until they authorize again or dismiss it."""

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("integrations/_reauthorization_notices.html", takes_context=True)
def reauthorization_notices(context):
    request = context["request"]
    here = request.get_full_path()
    notices = [
        {
            "notice": notice,
            "authorize_url": selectors.authorization_url(notice.source, here)
            if selectors.may_authorize(notice.source, request.user)
            else "",
        }
        for notice in selectors.reauthorization_notices(request.user)
    ]
    return {"notices": notices, "next": here}
