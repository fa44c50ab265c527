"""Token use cases, shared by the profile page, the API and manage.py api_token.

A key is 32 random bytes (`secrets.token_urlsafe`), so a plain SHA-256 of it cannot be
reversed or guessed; a slow password hash would only make every API call slower.

A token ends at its expiry (API_TOKEN_DAYS after it was made) and when its owner's password
changes, whatever changed it: the token keeps an HMAC of the password hash it was made under.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from api.models import ApiToken

KEY_PREFIX = "nl_"
#  last_used is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)
#  The token POST /api/v1/auth/token gives when the caller names none.
SIGN_IN_NAME = "Obtained with a password"


class TooManyTokens(Exception):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_mark(user) -> str:
    return salted_hmac("api.tokens.password_mark", user.password or "", algorithm="sha256").hexdigest()


def _expiry():
    days = settings.API_TOKEN_DAYS
    return timezone.now() + timedelta(days=days) if days else None


def _new(user, name: str) -> tuple[ApiToken, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    #  The stored hash, not the one on this object, which may predate a password change.
    user.password = get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True).get()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_key(key), prefix=key[:10],
                                    expires=_expiry(), password_mark=password_mark(user))
    return token, key


def create_token(user, name: str) -> tuple[ApiToken, str]:
    """A new token and its key; the key is not stored and cannot be shown again."""
    if user.api_tokens.count() >= settings.API_MAX_TOKENS_PER_USER:
        raise TooManyTokens(f"You already have {settings.API_MAX_TOKENS_PER_USER} tokens; revoke one first.")
    return _new(user, name.strip() or "API token")


@transaction.atomic
def sign_in_token(user, name: str = "") -> tuple[ApiToken, str]:
    """The token a password sign-in gives: a fresh key for the caller's token of that name, which
    replaces the old key, so a script that signs in on every run keeps one token, not one per run."""
    name = name.strip() or SIGN_IN_NAME
    ApiToken.objects.filter(user=user, name=name).delete()
    return create_token(user, name)


def revoke_token(user, pk: int) -> bool:
    """Delete one of the user's tokens; False if they have none with that id."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)


def is_live(token: ApiToken) -> bool:
    if not token.user.is_active:
        return False
    if token.expires is not None and token.expires <= timezone.now():
        return False
    return secrets.compare_digest(token.password_mark, password_mark(token.user))


def token_for_key(key: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None or not is_live(token):
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token
