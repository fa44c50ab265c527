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
        allowed, duration = SimpleRateThrottle.parse_rate(None, rate)
        user = request.user
        #  Never DRF's default address, which believes a client-sent X-Forwarded-For.
        who = f"user-{user.pk}" if user and user.is_authenticated else f"addr-{client_ip(request)}"
        count, self.remaining = throttling.hit(self.scope, who, duration)
        return count <= allowed

    def wait(self) -> float:
        return max(1.0, self.remaining)


class UserThrottle(_WindowThrottle):
    """Every call, per user (per address before login)."""

    scope = "user"


class UploadThrottle(_WindowThrottle):
    """Calls that run the model, per user."""

    scope = "upload"
