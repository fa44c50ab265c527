"""Rates come from settings.API_THROTTLE_RATES on every request, so they can change at run time.

Counts are rows in the database (accounts.throttling), counted up atomically, so every worker
sees the same ones: N workers do not allow N times the rate. Password guessing is not throttled
here but locked out by django-axes, with the same counts as the login page (accounts/).
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts import throttling
from lib.addresses import client_ip


class _WindowThrottle(BaseThrottle):
    scope = ""

    def allow_request(self, request, view) -> bool:
        rate = settings.API_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        allowed, _ = SimpleRateThrottle.parse_rate(None, rate)
        counts = getattr(request, "throttle_counts", None)
        if counts is None or self.scope not in counts:
            scopes = {self.scope} if counts is not None else \
                {self.scope} | {t.scope for t in view.get_throttles() if isinstance(t, _WindowThrottle)}
            counts = request.throttle_counts = {**(counts or {}), **_count(request, scopes)}
        count, self.remaining = counts[self.scope]
        return count <= allowed

    def wait(self) -> float:
        return max(1.0, self.remaining)


def _count(request, scopes: set[str]) -> dict[str, tuple[int, float]]:
    """This call counted in each of these scopes that has a rate, in one statement: the first throttle
    DRF asks counts the view's every window throttle (DRF asks them all, whatever the first answers)."""
    rates = {s: SimpleRateThrottle.parse_rate(None, settings.API_THROTTLE_RATES[s]) for s in sorted(scopes)
             if settings.API_THROTTLE_RATES.get(s)}
    user = request.user
    #  Never DRF's default address, which believes a client-sent X-Forwarded-For.
    who = f"user-{user.pk}" if user and user.is_authenticated else f"addr-{client_ip(request)}"
    found = throttling.hit_many([(scope, who, duration) for scope, (_, duration) in rates.items()])
    return dict(zip(rates, found))


class UserThrottle(_WindowThrottle):
    """Every call, per user (per address before login)."""

    scope = "user"


class UploadThrottle(_WindowThrottle):
    """Calls that run the model, per user."""

    scope = "upload"
