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
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from api.models import ApiToken
from lib.prepared import prepared_cursor
from scans.permissions import remember_roles

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
    """The live token of this key, its user attached and the user's roles known (every API call asks)."""
    token = _lookup(hash_key(key))
    if token is None or not is_live(token):
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def _lookup(key_hash: str) -> ApiToken | None:
    """The token, its user and the user's group names in one round trip (one row per group).

    Written as SQL, because it runs on every API call: the ORM took 1.5 ms of CPU to build and read
    the token query and then the role query, this takes 0.4 ms (bench_serve profile, README)."""
    sql, token_cols, user_cols = _lookup_sql()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [key_hash])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    token = ApiToken.from_db(connection.alias, [f.attname for f, *_ in token_cols],
                             _converted(first[:len(token_cols)], token_cols))
    user_model = get_user_model()
    token.user = user_model.from_db(connection.alias, [f.attname for f, *_ in user_cols],
                                    _converted(first[len(token_cols):-1], user_cols))
    remember_roles(token.user, {row[-1] for row in rows if row[-1] is not None})
    return token


def _lookup_sql():
    """The lookup's SQL and the (field, column, converters) of its token and user columns, built once per
    database vendor from the models, so a column added to either is read too."""
    cached = _LOOKUP.get(connection.vendor)
    if cached is None:
        user_model = get_user_model()
        groups = user_model._meta.get_field("groups")
        through = groups.remote_field.through._meta
        q = connection.ops.quote_name

        def columns(model, alias):
            found = []
            for f in model._meta.concrete_fields:
                col = f.get_col(alias)
                found.append((f, col, [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]))
            return found

        token_cols, user_cols = columns(ApiToken, "t"), columns(user_model, "u")
        select = ", ".join([*(f"t.{q(f.column)}" for f, *_ in token_cols), *(f"u.{q(f.column)}" for f, *_ in user_cols)])
        sql = (f"SELECT {select}, g.{q('name')} FROM {q(ApiToken._meta.db_table)} t "
               f"JOIN {q(user_model._meta.db_table)} u ON u.{q(user_model._meta.pk.column)} = "
               f"t.{q(ApiToken._meta.get_field('user').column)} "
               f"LEFT JOIN {q(through.db_table)} ug ON ug.{q(groups.m2m_column_name())} = u.{q(user_model._meta.pk.column)} "
               f"LEFT JOIN {q(groups.related_model._meta.db_table)} g "
               f"ON g.{q(groups.related_model._meta.pk.column)} = ug.{q(groups.m2m_reverse_name())} "
               f"WHERE t.{q(ApiToken._meta.get_field('key_hash').column)} = %s")
        cached = _LOOKUP[connection.vendor] = (sql, token_cols, user_cols)
    return cached


_LOOKUP: dict[str, tuple] = {}


def _converted(values, cols) -> list:
    out = []
    for value, (_, col, converters) in zip(values, cols):
        for convert in converters:
            value = convert(value, col, connection)
        out.append(value)
    return out
