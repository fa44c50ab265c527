"""Sessions that end when the user was told they would, and an expiry that HTMX pages survive.

A session ends SESSION_COOKIE_AGE seconds after sign-in, or after the last "Stay signed in";
its deadline is kept in the session itself, so incidental saves (a message shown) do not move it.
When a request arrives without a live session, the login page answers with a `next` that is a
page (never the POST-only address the form was sent to) and says the session expired; an HTMX
request gets that address in HX-Redirect, so the whole page goes there instead of the login page
landing inside a result pane.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

DEADLINE = "nl_deadline"


def _extend(session) -> float:
    session[DEADLINE] = time.time() + settings.SESSION_COOKIE_AGE
    return session[DEADLINE]


@receiver(user_logged_in)
def _start_deadline(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        _extend(request.session)


def remaining_seconds(request) -> int:
    if not request.user.is_authenticated:
        return 0
    deadline = request.session.get(DEADLINE)
    if deadline is None:  # signed in before deadlines were kept: start one now
        deadline = _extend(request.session)
    return max(0, int(deadline - time.time()))


class SessionDeadlineMiddleware:
    """Signs out a session whose deadline has passed (after AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.session_expired = False
        deadline = request.session.get(DEADLINE) if request.user.is_authenticated else None
        if deadline is not None and time.time() >= deadline:
            logout(request)
            request.session_expired = True
        return self.get_response(request)


def _same_site(request, url: str) -> str | None:
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return None


def return_address(request) -> str:
    """A GET page to come back to after signing in."""
    if getattr(request, "htmx", False):
        found = _same_site(request, request.headers.get("HX-Current-URL", ""))
        if found:
            return found
    if request.method in ("GET", "HEAD") and not getattr(request, "htmx", False):
        return request.get_full_path()
    return _same_site(request, request.headers.get("Referer", "")) or resolve_url(settings.LOGIN_REDIRECT_URL)


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, with an expired-session message and HTMX-aware redirect."""

    def handle_no_permission(self, request, view_func):
        expired = request.session_expired or settings.SESSION_COOKIE_NAME in request.COOKIES
        query = {"next": return_address(request)}
        if expired:
            query["expired"] = "1"
        url = f"{resolve_url(self.get_login_url(view_func))}?{urlencode(query)}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = url
            return response
        return redirect(url)


@never_cache
@login_not_required
@require_GET
def session_status(request):
    """How long the session has left; asking does not extend it."""
    return JsonResponse({"remaining": remaining_seconds(request)})


@never_cache
@require_POST
def stay_signed_in(request):
    _extend(request.session)
    return JsonResponse({"remaining": remaining_seconds(request)})
