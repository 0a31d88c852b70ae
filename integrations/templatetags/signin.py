"""The login page's "Sign in with …" buttons (projects' login page cannot import integrations)."""

from django import template

from integrations.signin.selectors import available_kinds

register = template.Library()


@register.inclusion_tag("integrations/_signin_buttons.html", takes_context=True)
def signin_buttons(context):
    return {"kinds": available_kinds(), "next": context.get("next", ""), "csrf_token": context.get("csrf_token")}
