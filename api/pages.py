"""The profile page where a user creates, sees and revokes their API tokens."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens


class NewTokenForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What will use it, e.g. “PACS bridge”.")


@require_http_methods(["GET", "POST"])
def token_page(request: HttpRequest) -> HttpResponse:
    form = NewTokenForm(request.POST or None)
    ctx = {"form": form, "new_key": None}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                ctx["new_token"], ctx["new_key"] = tokens.create_token(request.user, form.cleaned_data["name"])
                ctx["form"] = NewTokenForm()
            except tokens.TooManyTokens as exc:
                form.add_error(None, str(exc))
        if form.errors:
            status = 422
    ctx["tokens"] = request.user.api_tokens.all()
    #  The key is in this one answer only: keep it out of caches and the back button.
    response = render(request, "api/tokens.html", ctx, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if tokens.revoke_token(request.user, pk):
        messages.success(request, "Token revoked: programs using it can no longer sign in.")
    else:
        messages.error(request, "No such token.")
    return redirect("account:tokens")
