"""The profile page of personal API tokens: list them, create one (shown once), revoke one."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache

from .models import ApiToken

app_name = "tokens"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “CI uploads”.")


@never_cache
@login_required
def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, raw = ApiToken.objects.issue(user=request.user, name=form.cleaned_data["name"])
        # Rendered, not redirected: the plain token never lands in a session or a URL.
        return render(request, "account/token_created.html", {"token": token, "raw": raw})
    tokens = ApiToken.objects.active().filter(user=request.user)
    return render(request, "account/token_list.html", {"tokens": tokens, "form": form})


@never_cache
@login_required
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.active(), pk=pk, user=request.user)
    if request.method == "POST":
        token.revoke()
        messages.success(request, f"Token “{token.name}” revoked. Requests using it are refused from now on.")
        return redirect("tokens:list")
    return render(request, "account/token_revoke.html", {"token": token})


urlpatterns = [
    path("", token_list, name="list"),
    path("<int:pk>/revoke/", token_revoke, name="revoke"),
]
