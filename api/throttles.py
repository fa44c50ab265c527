"""Rates come from settings.API_THROTTLE_RATES on every request, so they can change at run time.

Counts live in the default cache, which every process shares (the database or Redis: see
CACHES in config/settings.py). Password guessing is not throttled here but locked out by
django-axes, the same counters the login page uses (accounts/).
"""

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from accounts.addresses import client_ip


class _SettingsRate:
    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        #  Never DRF's default, which believes a client-sent X-Forwarded-For.
        return client_ip(request)


class UserThrottle(_SettingsRate, UserRateThrottle):
    """Every call, per user (per address before login)."""

    scope = "user"


class UploadThrottle(_SettingsRate, UserRateThrottle):
    """Calls that run the model, per user."""

    scope = "upload"
