"""Token use cases, shared by the profile page, the API and manage.py api_token.

A key is 32 random bytes (`secrets.token_urlsafe`), so a plain SHA-256 of it cannot be
reversed or guessed; a slow password hash would only make every API call slower.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from api.models import ApiToken

KEY_PREFIX = "nl_"
#  last_used is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


class TooManyTokens(Exception):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(user, name: str) -> tuple[ApiToken, str]:
    """A new token and its key; the key is not stored and cannot be shown again."""
    if user.api_tokens.count() >= settings.API_MAX_TOKENS_PER_USER:
        raise TooManyTokens(f"You already have {settings.API_MAX_TOKENS_PER_USER} tokens; revoke one first.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name.strip() or "API token", key_hash=hash_key(key),
                                    prefix=key[:10])
    return token, key


def revoke_token(user, pk: int) -> bool:
    """Delete one of the user's tokens; False if they have none with that id."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)


def token_for_key(key: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token
