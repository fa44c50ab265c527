"""Rates come from settings.API_THROTTLE_RATES on every request, so they can change at run time."""

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class _SettingsRate:
    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)


class UserThrottle(_SettingsRate, UserRateThrottle):
    """Every call, per user (per address before login)."""

    scope = "user"


class UploadThrottle(_SettingsRate, UserRateThrottle):
    """Calls that run the model, per user."""

    scope = "upload"


class LoginAddressThrottle(_SettingsRate, SimpleRateThrottle):
    """Password attempts from one address."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(_SettingsRate, SimpleRateThrottle):
    """Password attempts against one account, from anywhere."""

    scope = "login"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        username = str(data.get("username", "")).strip().lower()
        if not username:
            return None
        #  Hashed, so that any text a caller sends makes a valid cache key.
        return self.cache_format % {"scope": "login-user", "ident": hashlib.sha256(username.encode()).hexdigest()}
